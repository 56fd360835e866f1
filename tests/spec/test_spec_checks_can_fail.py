"""The spec checks can fail: each test breaks a copy of the spec (written to a temp dir) the way a
careless edit would, and asserts the check that guards against it reports the breakage.

Without these, a check that walks nothing (a wrong path, an empty loop) would pass forever."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import esms_reference_tables as ref
import esms_spec_checks as checks
import esms_spec_support as support
from esms_node_tools import ecmascript_pattern_problems, prism_mock, spectral_lint, yaml_parity_problems
from esms_spec_support import SPEC_PATH, example_cases, the_spec, validation_errors

P = "/MainService.svc/json/"


def broken_copy(tmp_path: Path, mutate) -> dict:
    """A copy of the spec, broken by `mutate`, written to tmp_path (as JSON: re-dumping YAML
    could change what it means, see the YAML parity test) and read back."""
    spec = the_spec()
    mutate(spec)
    path = tmp_path / "esms-zalo.openapi.yaml"
    path.write_text(json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


def broken_text_copy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the spec's YAML text with one exact substitution (for the Node tools)."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the substitution target occurs {text.count(old)} times"
    path = tmp_path / "esms-zalo.openapi.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def op(spec, path, method="post"):
    return spec["paths"][P + path][method]


def json_examples(spec, path):
    return op(spec, path)["requestBody"]["content"]["application/json"]["examples"]


# ============================================================================ 1, 2


def test_validity_check_rejects_an_operation_without_responses(tmp_path):
    spec = broken_copy(tmp_path, lambda s: op(s, "GetBalance_json").pop("responses"))
    assert any("responses" in p for p in checks.openapi_validity_problems(spec))


def test_example_check_names_the_operation_and_example_that_break_their_schema(tmp_path):
    def mutate(s):
        json_examples(s, "SendZaloMessage_V5_post/")["otp"]["value"]["TempData"] = {"otp": "1"}
        s["components"]["examples"]["Accepted"]["value"]["CodeResult"] = 100
        s["components"]["schemas"]["OaId"]["example"] = 4097311281936189049

    spec = broken_copy(tmp_path, mutate)
    failing = {c.label: validation_errors(spec, c.schema_ptr, c.value) for c in example_cases(spec)}
    failing = {label: errors for label, errors in failing.items() if errors}
    assert any(label.startswith("send_zns_v5 (POST") and "request application/json, example 'otp'" in label for label in failing), failing
    assert any("response 200 application/json, example 'accepted'" in label for label in failing)
    assert any(label.startswith("components/schemas/OaId") for label in failing)
    otp = next(errors for label, errors in failing.items() if "example 'otp'" in label and "send_zns_v5" in label)
    assert any("TempData" in e and "array" in e for e in otp), otp


def test_example_check_applies_nullable_and_the_discriminator():
    spec = the_spec()
    item = "/components/schemas/CallbackDataItem"
    nullable_ok = {"SMSID": "x", "RequestId": None}
    assert validation_errors(spec, item, nullable_ok) == []
    assert validation_errors(spec, item, {"SMSID": None})  # not nullable
    button = "/components/schemas/Button"
    assert validation_errors(spec, button, {"title": "t", "type": "oa.query.show", "payload": "#x"}) == []
    assert validation_errors(spec, button, {"title": "t", "type": "oa.open.url", "payload": "#x"})
    assert validation_errors(spec, button, {"title": "t", "type": "oa.open.nothing", "payload": "#x"})


def test_unused_component_example_check_notices_an_orphan(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["components"]["examples"].update(Orphan={"value": {}}))
    assert checks.unused_component_example_problems(spec) == [
        "components/examples/Orphan is referenced nowhere, so no schema checks it"
    ]


def test_duplicate_key_check_rejects_a_repeated_key():
    text = "a: 1\nb:\n  c: 2\n  c: 3\n"
    assert checks.duplicate_key_problems(text) and "'c'" in checks.duplicate_key_problems(text)[0]


def test_ref_check_rejects_dangling_and_external_refs(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["requestBody"]["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}
        op(s, "ZNS/GetListZOA/")["requestBody"]["content"]["application/json"]["schema"] = {"$ref": "other.yaml#/X"}

    spec = broken_copy(tmp_path, mutate)
    problems = checks.ref_problems(spec)
    assert any("Nope" in p for p in problems) and any("not a local reference" in p for p in problems)


def test_nullable_and_discriminator_checks_notice_misuse(tmp_path):
    def mutate(s):
        s["components"]["schemas"]["SendResponse"]["properties"]["SMSID"] = {"nullable": True}
        s["components"]["schemas"]["OpenPhoneButton"]["properties"]["type"]["enum"] = ["oa.open.phone", "oa.open.sms"]

    spec = broken_copy(tmp_path, mutate)
    assert any("SendResponse" in p for p in checks.nullable_problems(spec))
    assert any("OpenPhoneButton" in p for p in checks.discriminator_problems(spec))


# ============================================================================ 3


def test_endpoint_check_notices_a_missing_endpoint_and_a_renamed_operation_id(tmp_path):
    def mutate(s):
        s["paths"].pop(P + "QueryListUID/")
        op(s, "ZNS/GetQuota/")["operationId"] = "get_oa_quota"

    problems = checks.endpoint_problems(broken_copy(tmp_path, mutate))
    assert any("#29" in p and "missing" in p for p in problems)
    assert any("#25" in p and "get_oa_quota" in p for p in problems)


def test_status_host_check_notices_a_missing_per_path_server(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["paths"]["/ZaloCallback/GetCallback"].pop("servers"))
    assert any("per-path" in p for p in checks.status_host_problems(spec))


def test_request_field_check_notices_a_missing_field_and_a_required_field_made_optional(tmp_path):
    def mutate(s):
        s["components"]["schemas"]["ZnsCommon"]["required"].remove("TempID")
        s["components"]["schemas"]["ZnsCommon"]["properties"].pop("campaignid")

    spec = broken_copy(tmp_path, mutate)
    row = next(r for r in ref.REQUEST_FIELDS if r.operation_id == "send_zns_v5")
    problems = checks.request_field_problems(spec, row)
    assert any("'TempID' is required by §4.1 but optional here" in p for p in problems), problems
    assert any("'campaignid'" in p and "missing" in p for p in problems), problems


def test_request_field_check_looks_into_nested_objects(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["components"]["schemas"]["TableRow"]["properties"].pop("style"))
    row = next(r for r in ref.REQUEST_FIELDS if r.schema == "TableRow")
    assert checks.request_field_problems(spec, row)


def test_enum_and_limit_checks_notice_loosened_values(tmp_path):
    def mutate(s):
        schemas = s["components"]["schemas"]
        schemas["TransactionPayload"]["properties"]["template_type"]["enum"].remove("transaction_rating")
        schemas["Sandbox"]["enum"].append("2")
        schemas["RequestId"]["maxLength"] = 64
        schemas["TransactionPayload"]["properties"]["buttons"]["maxItems"] = 5
        schemas["MessageText"]["maxLength"] = 4000

    spec = broken_copy(tmp_path, mutate)
    assert any("transaction_rating" in p for p in checks.follower_enum_problems(spec))
    assert checks.enum_problems_for_field(spec, "Sandbox", ref.SANDBOX_VALUES, ref.SANDBOX_OPERATIONS)
    limit_problems = checks.request_id_and_text_limit_problems(spec)
    assert any("RequestId has maxLength 64" in p for p in limit_problems)
    assert any("text has maxLength 4000" in p for p in limit_problems)
    buttons = next(l for l in ref.LIMITS if l.schema == "TransactionPayload")
    assert checks.limit_problems(spec, buttons) == [
        "components/schemas/TransactionPayload: buttons has maxItems 5, §3.6 says 4"
    ]


def test_result_code_field_check_notices_a_code_of_the_wrong_type(tmp_path):
    def mutate(s):
        s["components"]["schemas"]["CallbackDataResponse"]["properties"]["Code"] = {"type": "string"}

    spec = broken_copy(tmp_path, mutate)
    assert any("'Code' has type ['string']" in p for p in checks.result_code_field_problems(spec))


def test_delivery_callback_check_notices_a_missing_query_parameter(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["components"]["schemas"]["DeliveryCallback"]["properties"].pop("partnerids"))
    assert any("partnerids" in p for p in checks.delivery_callback_problems(spec))


# ============================================================================ 4


def test_code_table_check_notices_duplicates_bad_families_and_missing_reference_codes(tmp_path):
    def mutate(s):
        table = s["x-esms-result-codes"]
        table.append(dict(table[2]))  # 101 again
        table[3]["family"] = "misc"
        s["x-esms-result-codes"] = [e for e in table if e["code"] != "854"]

    problems = checks.code_table_problems(broken_copy(tmp_path, mutate))
    assert any("code 101 appears 2 times" in p for p in problems)
    assert any("'misc'" in p for p in problems)
    assert any("854" in p for p in problems)


def test_unknown_code_check_notices_codes_outside_the_table(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["x-esms-result-codes"].append("999")
        op(s, "ZNS/GetQuota/")["x-esms-invalid-request-code"] = "998"
        s["components"]["schemas"]["Credentials"]["properties"]["ApiKey"]["x-esms-error-codes"]["missing"] = "997"

    problems = checks.unknown_code_problems(broken_copy(tmp_path, mutate))
    for code in ("999", "998", "997"):
        assert any(code in p for p in problems), (code, problems)


def test_operation_code_check_notices_an_answer_the_operation_does_not_list(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["x-esms-result-codes"].remove("101")
        op(s, "ZNS/GetQuota/")["x-esms-result-codes"].remove("110")

    problems = checks.operation_code_problems(broken_copy(tmp_path, mutate))
    assert any("get_balance" in p and "'authorize_failed' carries code 101" in p for p in problems), problems
    assert any("get_quota" in p and "x-esms-invalid-request-code 110" in p for p in problems), problems


def test_success_example_check_notices_a_missing_authorization_example(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["responses"]["200"]["content"]["application/json"]["examples"].pop("authorize_failed")

    problems = checks.success_and_authorization_example_problems(broken_copy(tmp_path, mutate))
    assert problems == [
        "get_balance (POST /MainService.svc/json/GetBalance_json): no named example of authorization failure (101) in its 2xx responses"
    ]


def test_reference_code_check_notices_a_dropped_code(tmp_path):
    spec = broken_copy(tmp_path, lambda s: op(s, "SendZaloMessage_V6/zalo_uid/")["x-esms-result-codes"].remove("852"))
    assert any("code 852" in p and "#5" in p for p in checks.reference_code_assignment_problems(spec))


def test_phone_and_twin_checks_notice_a_phone_without_108(tmp_path):
    def mutate(s):
        s["components"]["schemas"]["FullContentFormRequest"]["properties"]["Phone"].pop("x-esms-error-codes")

    spec = broken_copy(tmp_path, mutate)
    assert any("send_full_content_form" in p for p in checks.phone_error_code_problems(spec))
    assert any("Phone maps failures to {}" in p for p in checks.twin_operation_problems(spec))


# ============================================================================ 5


def test_callback_check_notices_a_callback_url_without_callbacks(tmp_path):
    spec = broken_copy(tmp_path, lambda s: op(s, "SendZaloMessage_V5_post/").pop("callbacks"))
    assert checks.callback_url_problems(spec) == [
        "send_zns_v5 (POST /MainService.svc/json/SendZaloMessage_V5_post/): the request takes ['CallbackUrl'] but the operation declares no `callbacks`"
    ]


def test_callback_check_notices_an_expression_that_points_nowhere(tmp_path):
    def mutate(s):
        callback = s["components"]["callbacks"]["ZnsLegDeliveryReport"]
        callback["{$request.body#/Data/0/CallbakUrl}"] = callback.pop("{$request.body#/Data/0/CallbackUrl}")

    problems = checks.callback_url_problems(broken_copy(tmp_path, mutate))
    assert any("/Data/0/CallbakUrl is not a field of the request" in p for p in problems), problems


def test_link_checks_notice_a_missing_status_link_and_bad_targets(tmp_path):
    def mutate(s):
        s["components"]["responses"]["ZnsSendResult"]["links"].pop("get_send_status")
        s["components"]["links"]["ReceiverStatusOfSmsid"]["parameters"]["Smsid"] = "$response.body#/SMSID"
        s["components"]["links"]["ZnsStatusOfSmsid"]["operationId"] = "query_zns_state"
        s["components"]["links"]["SendStatusOfSmsid"]["parameters"]["RefId"] = "$response.body#/SMSId"

    spec = broken_copy(tmp_path, mutate)
    assert any("send_zns_v5" in p and "no link to get_send_status" in p for p in checks.send_link_problems(spec))
    problems = checks.link_problems(spec)
    assert any("'Smsid' is not a parameter of get_receiver_status" in p for p in problems), problems
    assert any("'query_zns_state' does not exist" in p for p in problems), problems
    assert any("/SMSId is not a field of the response body" in p for p in problems), problems


# ============================================================================ 6


def test_operation_id_check_rejects_keywords_camel_case_and_duplicates(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["operationId"] = "class"
        op(s, "ZNS/GetQuota/")["operationId"] = "getQuota"
        op(s, "ZNS/GetQuality/")["operationId"] = "list_oas"

    problems = checks.operation_id_problems(broken_copy(tmp_path, mutate))
    assert any("'class' is a Python keyword" in p for p in problems)
    assert any("'getQuota' is not snake_case" in p for p in problems)
    assert any("'list_oas' is used 2 times" in p for p in problems)


def test_tag_check_wants_exactly_one_known_tag(tmp_path):
    def mutate(s):
        op(s, "GetBalance_json")["tags"] = ["account", "status"]
        op(s, "ZNS/GetQuota/")["tags"] = ["quota"]

    problems = checks.tag_problems(broken_copy(tmp_path, mutate))
    assert any("get_balance" in p for p in problems) and any("'quota' is not declared" in p for p in problems)


# ============================================================================ 7


def test_node_tool_lookup_fails_and_says_to_run_make_install(monkeypatch, tmp_path):
    monkeypatch.setattr(support, "NODE_BIN", tmp_path / "nowhere")
    with pytest.raises(AssertionError, match="run `make install`"):
        support.node_tool("prism")


def test_node_tools_are_skipped_only_when_asked(monkeypatch):
    monkeypatch.delenv("ESMS_SKIP_NODE_TOOLS", raising=False)
    assert support.node_tools_skip_reason() is None
    monkeypatch.setenv("ESMS_SKIP_NODE_TOOLS", "0")
    assert support.node_tools_skip_reason() is None
    monkeypatch.setenv("ESMS_SKIP_NODE_TOOLS", "1")
    assert "ESMS_SKIP_NODE_TOOLS=1" in support.node_tools_skip_reason()


def test_python_pattern_check_rejects_ecmascript_only_syntax(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["components"]["schemas"]["Phone"].update(pattern=r"^\p{N}+$"))
    assert any("Phone" in p for p in checks.python_pattern_problems(spec))


needs_node = pytest.mark.skipif(os.environ.get("ESMS_SKIP_NODE_TOOLS") == "1", reason="ESMS_SKIP_NODE_TOOLS=1")


@needs_node
def test_ecmascript_pattern_check_rejects_python_only_syntax(tmp_path):
    spec = broken_copy(tmp_path, lambda s: s["components"]["schemas"]["Phone"].update(pattern=r"^(?P<lead>0)[0-9]{9}$"))
    assert any("Phone" in p for p in ecmascript_pattern_problems(spec))


@needs_node
def test_yaml_parity_check_notices_a_number_that_only_yaml_1_1_reads_as_a_string(tmp_path):
    path = broken_text_copy(tmp_path, 'PhoneNumber: "0900000114"', "PhoneNumber: 0900000114")
    problems = yaml_parity_problems(path)
    assert problems and all("PhoneNumber" in p and "'0900000114'" in p for p in problems), problems


@needs_node
def test_spectral_reports_an_error_for_a_broken_copy(tmp_path):
    path = broken_text_copy(tmp_path, "operationId: list_oas", "operationId: get_quota")
    findings = spectral_lint(path, tmp_path)
    assert any(f.severity == 0 and f.code == "operation-operationId-unique" for f in findings), [str(f) for f in findings]


@needs_node
def test_prism_refuses_to_serve_an_answer_that_breaks_its_schema(tmp_path):
    path = broken_text_copy(tmp_path, 'value: {Balance: 125000, CodeResponse: "100", UserID: 12345}', 'value: {Balance: lots, CodeResponse: "100", UserID: 12345}')
    with prism_mock(path, tmp_path) as server:
        status, body = server.request("POST", P + "GetBalance_json", json_body={"ApiKey": "k", "SecretKey": "s"})
        process = server.process
    assert status == 500 and "Balance" in json.dumps(body), (status, body)
    assert process.poll() is not None, "prism was left running"
