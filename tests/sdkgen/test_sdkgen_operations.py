"""What the generator derives from the spec about each operation, and what it refuses to guess."""

from __future__ import annotations

from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from sdkgen.codes import read_code_table
from sdkgen.operations import OperationSpec, derive_operations, status_server
from sdkgen.spec import SpecDocument, SpecError

SPEC = Path(__file__).resolve().parents[2] / "spec" / "esms-zalo.openapi.yaml"

CREDENTIALS = {
    "type": "object",
    "required": ["ApiKey", "SecretKey"],
    "properties": {"ApiKey": {"type": "string"}, "SecretKey": {"type": "string"}},
}
RESULT_CODE = {"type": "string", "pattern": "^[0-9]+$"}
REQUEST_ID = {"type": "string", "maxLength": 50}


def _spec(request: dict[str, Any], response: dict[str, Any], **operation: Any) -> SpecDocument:
    """A one-operation spec around a request and a response schema."""
    op = {
        "operationId": "do_it",
        "tags": ["sending"],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}},
        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Res"}}}}},
        **operation,
    }
    return SpecDocument(
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "0.0.1"},
            "servers": [{"url": "https://main.test"}],
            "paths": {"/do": {"post": op}},
            "components": {
                "schemas": {
                    "Credentials": CREDENTIALS,
                    "ResultCode": RESULT_CODE,
                    "RequestId": REQUEST_ID,
                    "Req": {"allOf": [{"$ref": "#/components/schemas/Credentials"}, request]},
                    "Res": response,
                }
            },
        }
    )


def _only(spec: SpecDocument) -> OperationSpec:
    (operation,) = derive_operations(spec)
    return operation


STRING_CODE = {
    "type": "object",
    "required": ["CodeResult"],
    "properties": {"CodeResult": {"$ref": "#/components/schemas/ResultCode"}, "ErrorMessage": {"type": "string"}},
}


@pytest.fixture(scope="module")
def real() -> dict[str, OperationSpec]:
    return {op.operation_id: op for op in derive_operations(SpecDocument.load(SPEC))}


# ---------------------------------------------------------------- the real spec
def test_the_real_spec_has_31_operations_with_request_and_response_models(real: dict[str, OperationSpec]) -> None:
    assert len(real) == 31
    assert all(op.request_model and op.response_model for op in real.values())


@pytest.mark.parametrize(
    ("operation_id", "field", "kind"),
    [
        ("send_zns_v6", "CodeResult", "string"),
        ("get_send_status", "CodeResponse", "string"),
        ("get_balance", "CodeResponse", "string"),
        ("get_callback_data", "Code", "number"),
        ("get_template_info", "Error", "number"),
    ],
)
def test_the_code_field_comes_from_the_response_schema(
    real: dict[str, OperationSpec], operation_id: str, field: str, kind: str
) -> None:
    assert (real[operation_id].code_field, real[operation_id].code_type) == (field, kind)


def test_request_ids_are_found_at_every_level_of_the_real_spec(real: dict[str, OperationSpec]) -> None:
    assert real["send_zns_v6"].request_id_paths == (("RequestId",),)
    assert real["send_zns_bulk"].request_id_paths == (("RequestId",), ("Data", "*", "RequestId"))
    assert real["send_multichannel_message"].request_id_paths == (("Data", "*", "RequestId"),)
    assert real["get_balance"].request_id_paths == ()


def test_encodings_and_hosts_of_the_real_spec(real: dict[str, OperationSpec]) -> None:
    assert real["send_full_content_form"].encoding == "form"
    assert {op.operation_id for op in real.values() if op.encoding == "query"} == {
        "check_otp",
        "get_send_status",
        "get_receiver_status",
        "get_template_info",
    }
    assert real["get_send_status"].request_model == "GetSendStatusParametersQuery"
    assert [op.operation_id for op in real.values() if op.server == "status"] == ["get_callback_data"]
    assert status_server(SpecDocument.load(SPEC)) == "https://status-sms.esms.vn"


def test_only_a_send_without_request_id_is_unsafe_to_replay(real: dict[str, OperationSpec]) -> None:
    assert [op.operation_id for op in real.values() if not op.replay_safe] == ["send_auto_generated_otp"]


def test_the_bulk_answer_prefers_error_message_over_message(real: dict[str, OperationSpec]) -> None:
    assert real["send_zns_bulk"].message_fields == ("ErrorMessage", "Message")
    assert real["get_callback_data"].message_fields == ("Message",)


# ---------------------------------------------------------------- the rules, on small specs
def test_a_required_integer_is_the_code_when_no_property_is_a_result_code() -> None:
    response = {
        "type": "object",
        "required": ["Status"],
        "properties": {"Status": {"type": "integer"}, "Message": {"type": "string"}},
    }

    operation = _only(_spec({}, response))

    assert (operation.code_field, operation.code_type, operation.message_fields) == ("Status", "number", ("Message",))


def test_two_result_code_properties_are_refused() -> None:
    response = deepcopy(STRING_CODE)
    response["properties"]["Other"] = {"$ref": "#/components/schemas/ResultCode"}

    with pytest.raises(SpecError, match="several result-code properties"):
        derive_operations(_spec({}, response))


def test_a_response_without_a_code_is_refused() -> None:
    with pytest.raises(SpecError, match="result code"):
        derive_operations(_spec({}, {"type": "object", "properties": {"A": {"type": "string"}}}))


def test_request_ids_inside_one_of_list_items_are_found_once() -> None:
    leg = {"type": "object", "properties": {"RequestId": {"$ref": "#/components/schemas/RequestId"}}}
    request = {"type": "object", "properties": {"Legs": {"type": "array", "items": {"oneOf": [leg, deepcopy(leg)]}}}}

    assert _only(_spec(request, STRING_CODE)).request_id_paths == (("Legs", "*", "RequestId"),)


def test_a_request_id_wrapped_in_all_of_counts() -> None:
    request = {"type": "object", "properties": {"RequestId": {"allOf": [{"$ref": "#/components/schemas/RequestId"}]}}}

    assert _only(_spec(request, STRING_CODE)).request_id_paths == (("RequestId",),)


def test_a_send_without_request_id_is_not_replay_safe_but_other_tags_are() -> None:
    assert _only(_spec({}, STRING_CODE)).replay_safe is False
    assert _only(_spec({}, STRING_CODE, tags=["account"])).replay_safe is True


def test_a_body_without_credentials_is_refused() -> None:
    spec = _spec({}, STRING_CODE)
    spec.document["components"]["schemas"]["Req"] = {"type": "object", "properties": {"A": {"type": "string"}}}

    with pytest.raises(SpecError, match="ApiKey"):
        derive_operations(spec)


def test_an_unknown_request_content_type_is_refused() -> None:
    spec = _spec({}, STRING_CODE)
    body = spec.document["paths"]["/do"]["post"]["requestBody"]
    body["content"] = {"application/xml": body["content"]["application/json"]}

    with pytest.raises(SpecError, match="content type"):
        derive_operations(spec)


def test_a_get_with_a_path_parameter_is_refused() -> None:
    spec = _spec({}, STRING_CODE)
    op = spec.document["paths"]["/do"].pop("post")
    del op["requestBody"]
    op["parameters"] = [{"name": "Id", "in": "path", "required": True, "schema": {"type": "string"}}]
    spec.document["paths"]["/do"]["get"] = op

    with pytest.raises(SpecError, match="only query parameters"):
        derive_operations(spec)


# ---------------------------------------------------------------- the result-code table
def test_families_follow_the_table_in_order_of_first_appearance() -> None:
    table = read_code_table(SpecDocument.load(SPEC))

    assert table.success_code == "100"
    assert [f.class_name for f in table.families] == [
        "PayloadError",
        "AuthorizationError",
        "BalanceError",
        "TemplateError",
        "NotFoundError",
        "DuplicateRequestError",
        "RateLimitError",
        "OaError",
    ]


@pytest.mark.parametrize(
    "rows",
    [
        [{"code": "1", "family": "payload", "message": "a"}],
        [{"code": "100", "family": "success"}, {"code": "100", "family": "payload"}],
        [{"code": "100", "family": "success"}, {"code": "7", "family": "not an identifier"}],
    ],
    ids=["no-success-code", "code-twice", "family-not-identifier"],
)
def test_a_broken_code_table_is_refused(rows: list[dict[str, str]]) -> None:
    spec = _spec({}, STRING_CODE)
    spec.document["x-esms-result-codes"] = rows

    with pytest.raises(SpecError):
        read_code_table(spec)
