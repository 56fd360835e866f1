"""A scripted stand-in for eSMS behind httpx.MockTransport (no network), and the spec's examples.

Imported by the tests of tests/sdk as `sdk_fakes` (pytest puts this folder on sys.path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

import esms_spec


SPEC_PATH = esms_spec.spec_path(esms_spec.ESMS_SPEC)
API_KEY = "test-api-key"
SECRET_KEY = "test-secret-key"
ACCEPTED = {"CodeResult": "100", "CountRegenerate": 0, "SMSID": "9c4d2f7a1be04c1fa0b1d2e3f4a5b6c7250"}

# One scripted step: an answer to give, or an exception the transport raises.
Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeEsms:
    """Answers requests from a script of steps; once the script runs out, repeats `default`."""

    script: list[Step] = field(default_factory=list)
    default: Step | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        step = self.script.pop(0) if self.script else self.default
        if step is None:
            raise AssertionError(f"unexpected request {request.method} {request.url.path}")
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def answer(body: dict[str, Any] | str, status: int = 200) -> httpx.Response:
    if isinstance(body, str):
        return httpx.Response(status, text=body)
    return httpx.Response(status, json=body)


def json_body(request: httpx.Request) -> dict[str, Any]:
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


def form_body(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode("ascii"), keep_blank_values=True)


class Sleeps:
    """Records the waits the client asks for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)

    async def async_sleep(self, delay: float) -> None:
        self.delays.append(delay)


# ---------------------------------------------------------------------- the spec's own examples
@dataclass(frozen=True)
class OperationExample:
    """One request example of the spec, with the success answer the spec shows for it."""

    operation_id: str
    method: str
    path: str
    on_status_host: bool
    media_type: str | None  # None: a GET, everything in the query string
    example_name: str
    wire: dict[str, Any]  # the request as the spec shows it: aliases, credentials included
    success_answer: dict[str, Any]

    def kwargs(self) -> dict[str, Any]:
        """The example as keyword arguments of the client method."""
        from esms_zalo import _operations

        model = getattr(_operations, self.operation_id.upper()).request_model
        names = {info.alias or name: name for name, info in model.model_fields.items()}
        return {names[key]: value for key, value in self.wire.items() if key not in ("ApiKey", "SecretKey")}

    def expected_wire(self) -> dict[str, Any]:
        return {**self.wire, "ApiKey": API_KEY, "SecretKey": SECRET_KEY}


def _is_success(body: dict[str, Any]) -> bool:
    codes = (body.get("CodeResult"), body.get("CodeResponse"), body.get("Code"), body.get("Error"))
    return codes[0] == "100" or codes[1] == "100" or codes[2] == 100 or codes[3] == 0


def load_operation_examples() -> list[OperationExample]:
    document = esms_spec.load_spec(esms_spec.ESMS_SPEC)
    found = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post"):
                continue
            response = esms_spec.resolve(document, op["responses"]["200"])
            examples = response["content"]["application/json"]["examples"].values()
            answers = [esms_spec.resolve(document, example)["value"] for example in examples]
            success = next(a for a in answers if _is_success(a))
            common = {
                "operation_id": op["operationId"],
                "method": method.upper(),
                "path": path,
                "on_status_host": "servers" in item or "servers" in op,
                "success_answer": success,
            }
            if "requestBody" in op:
                media_type, content = next(iter(op["requestBody"]["content"].items()))
                for name, example in content["examples"].items():
                    found.append(
                        OperationExample(media_type=media_type, example_name=name, wire=example["value"], **common)
                    )
            else:
                parameters = [esms_spec.resolve(document, p) for p in op["parameters"]]
                wire = {p["name"]: p["example"] for p in parameters}
                found.append(OperationExample(media_type=None, example_name="parameters", wire=wire, **common))
    return found


def spec_success_answers(request: httpx.Request) -> httpx.Response:
    """The spec's own success example of whichever operation was called."""
    global _SUCCESS_BY_PATH
    if _SUCCESS_BY_PATH is None:
        _SUCCESS_BY_PATH = {e.path: e.success_answer for e in load_operation_examples()}
    return answer(_SUCCESS_BY_PATH[request.url.path])


_SUCCESS_BY_PATH: dict[str, dict[str, Any]] | None = None


def sent_fields_of(request: httpx.Request) -> dict[str, Any]:
    """What a request carried, whatever its encoding: JSON body, form, or query string."""
    if request.method == "GET":
        return dict(request.url.params)
    if request.headers.get("content-type") == "application/x-www-form-urlencoded":
        return {key: values[-1] for key, values in form_body(request).items()}
    return dict(json.loads(request.content))
