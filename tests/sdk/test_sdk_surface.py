"""The public surface is small, and has one method per operation of the spec."""

from __future__ import annotations

import importlib.metadata
import inspect
from typing import Any

import yaml
from sdk_fakes import SPEC_PATH

import esms_zalo
from esms_zalo import AsyncClient, Client, models


def _operations() -> dict[str, dict[str, Any]]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    return {
        op["operationId"]: op
        for item in document["paths"].values()
        for method, op in item.items()
        if method in ("get", "post")
    }


def test_there_is_one_client_method_per_operation_of_the_spec() -> None:
    operations = _operations()
    methods = {name for name, _ in inspect.getmembers(Client, inspect.isfunction) if not name.startswith("_")}

    assert len(operations) == 31
    assert methods - {"close"} == set(operations)


def test_each_method_returns_the_response_model_of_its_operation() -> None:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        responses = yaml.safe_load(handle)["components"]["responses"]
    for operation_id, op in _operations().items():
        response = op["responses"]["200"]
        if "$ref" in response:
            response = responses[response["$ref"].rsplit("/", 1)[1]]
        schema_name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        annotation = inspect.signature(getattr(Client, operation_id)).return_annotation
        assert annotation == schema_name, operation_id
        assert hasattr(models, schema_name)


def test_arguments_are_keyword_only() -> None:
    for name, method in inspect.getmembers(AsyncClient, inspect.isfunction):
        if name.startswith("_") or name == "aclose":
            continue
        parameters = list(inspect.signature(method).parameters.values())[1:]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters), name


def test_the_package_exports_only_clients_errors_models_and_the_callback_parser() -> None:
    exported = set(esms_zalo.__all__)
    errors = {name for name in exported if name.endswith("Error")}

    assert exported - errors == {
        "AsyncClient",
        "Client",
        "DeliveryReport",
        "models",
        "parse_delivery_callback",
        "__version__",
    }
    for name in errors:
        assert issubclass(getattr(esms_zalo, name), esms_zalo.EsmsError), name


def test_the_version_is_the_sdks_own_and_the_installed_distributions() -> None:
    # The SDK's version moves with its interface, not with the spec's info.version.
    assert esms_zalo.__version__ == importlib.metadata.version("esms-zalo-sdk")
    assert int(esms_zalo.__version__.split(".")[0]) >= 2  # 2.0.0: the SDK chose its own names


def test_every_method_takes_the_per_call_options_and_keyword_arguments_only() -> None:
    for client_class in (Client, AsyncClient):
        for name in _operations():
            parameters = inspect.signature(getattr(client_class, name)).parameters
            assert {"timeout", "extra_body"} <= parameters.keys(), (client_class.__name__, name)
            assert all(
                p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in parameters.items() if n != "self"
            ), (client_class.__name__, name)
