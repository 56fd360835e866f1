"""The vendor's quirks the mock reproduces: paths, content types, where the input is read from,
and the answer's envelope.

* Paths match case-insensitively, with or without the trailing slash, and with a doubled slash
  (the vendor's own samples use `https://rest.esms.vn//MainService.svc/...`).
* JSON bodies are read whatever the content type: `application/json`, `text/plain` (the
  follower samples) or none at all.
* GET operations read the query string; the form operation reads form fields, `Apikey` included.
* `ZaloCallback/GetCallback` lives on its own path, without the `MainService.svc/json` prefix.
* `MainService.svc/xml/...` is not served: a JSON 404 names the `/json/` path to use.
* Every documented outcome is HTTP 200, with the operation's code field: `CodeResult` or
  `CodeResponse` (strings), `Code` or `Error` (numbers).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from esms_mock_support import (
    API_KEY,
    CREDENTIALS,
    SECRET_KEY,
    Esms,
    api_spec,
    code_of,
    operation,
    spec_problems,
    fresh_request,
)
from werkzeug.serving import make_server

ALL_OPERATIONS = sorted(api_spec().operations)
JSON_OPERATIONS = sorted(op_id for op_id, op in api_spec().operations.items()
                         if not op.reads_query and not op.is_form)
QUERY_OPERATIONS = sorted(op_id for op_id, op in api_spec().operations.items() if op.reads_query)


def toggle_trailing_slash(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


def swap_case(path: str) -> str:
    return path.swapcase()


PATH_FORMS = {
    "lower": str.lower,
    "upper": str.upper,
    "swapped_case": swap_case,
    "trailing_slash_toggled": toggle_trailing_slash,
    "doubled_inner_slash": lambda path: path[:path.index("/", 1)] + "/" + path[path.index("/", 1):],
    "lower_and_toggled": lambda path: toggle_trailing_slash(path.lower()),
}


def expected_code(shared_esms: Esms, op_id: str) -> str:
    """What the canonical path answers to the operation's valid request."""
    return shared_esms.call(op_id, fresh_request(op_id)).code


# ---------------------------------------------------------------------------- paths
@pytest.mark.parametrize("form", sorted(PATH_FORMS))
@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_path_variants_reach_the_same_operation(shared_esms, op_id, form):
    canonical = expected_code(shared_esms, op_id)
    path = PATH_FORMS[form](operation(op_id).path)
    assert path != operation(op_id).path
    answer = shared_esms.call(op_id, fresh_request(op_id), path=path)
    assert answer.code == canonical, (path, answer.body)


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_doubled_slash_after_the_host_reaches_the_operation(shared_app, op_id):
    """`//MainService.svc/...` as the request target: the WSGI path starts with two slashes."""
    op = operation(op_id)
    body = fresh_request(op_id)
    client = shared_app.test_client()
    path = "/" + op.path
    if op.reads_query:
        response = client.get("/", environ_overrides={"PATH_INFO": path}, query_string=urlencode(body))
    elif op.is_form:
        response = client.post("/", environ_overrides={"PATH_INFO": path}, data=urlencode(body),
                               content_type="application/x-www-form-urlencoded")
    else:
        response = client.post("/", environ_overrides={"PATH_INFO": path}, data=json.dumps(body),
                               content_type="application/json")
    assert response.status_code == 200, response.data[:300]
    assert not spec_problems(op_id, 200, response.get_json())
    assert code_of(op_id, response.get_json()) == expected_code(Esms(client), op_id)


@pytest.fixture(scope="module")
def served(shared_app) -> Iterator[tuple[str, int]]:
    """The shared app over real HTTP on 127.0.0.1, for request targets a test client cannot send."""
    server = make_server("127.0.0.1", 0, shared_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    server.shutdown()
    thread.join(timeout=5)


def raw_http(address: tuple[str, int], request_line: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    with socket.create_connection(address, timeout=10) as sock:
        head = (f"{request_line}\r\nHost: rest.esms.vn\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_part, _, payload = data.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), payload


@pytest.mark.parametrize("target", [
    "//MainService.svc/json/GetBalance_json",
    "//mainservice.svc/json/getbalance_json/",
    "/MainService.svc/json//GetBalance_json",
    "/MAINSERVICE.SVC/JSON/GETBALANCE_JSON",
])
def test_doubled_slash_and_case_over_real_http(served, target):
    status, payload = raw_http(served, f"POST {target} HTTP/1.1", json.dumps(CREDENTIALS).encode())
    assert status == 200, payload[:300]
    body = json.loads(payload)
    assert not spec_problems("get_balance", 200, body)
    assert body["CodeResponse"] == "100"


def test_unknown_path_is_a_json_404(shared_esms):
    response = shared_esms.client.post("/MainService.svc/json/NoSuchOperation/", json=CREDENTIALS)
    assert response.status_code == 404
    assert "NoSuchOperation".lower() in response.get_json()["message"].lower()


@pytest.mark.parametrize("op_id", ["send_zns_v5", "get_balance", "get_send_status"])
@pytest.mark.parametrize("form", ["documented", "lower"])
def test_xml_endpoint_is_a_json_404_naming_the_json_path(shared_esms, op_id, form):
    """The vendor documents the Zalo operations over JSON only: `/MainService.svc/xml/...` is not served."""
    op = operation(op_id)
    xml_path = op.path.replace("/json/", "/xml/")
    if form == "lower":
        xml_path = xml_path.lower()
    response = shared_esms.client.open(xml_path, method=op.method, data="<RQST/>", content_type="text/xml")
    assert (response.status_code, response.mimetype) == (404, "application/json")
    message = response.get_json()["message"]
    assert f"use {op.path}" in message and "/MainService.svc/json/" in message


def test_unknown_xml_endpoint_is_a_json_404_pointing_at_the_json_endpoints(shared_esms):
    response = shared_esms.client.post("/MainService.svc/xml/SendMultipleSMSBrandname", data="<RQST/>")
    assert response.status_code == 404
    assert "JSON endpoints (/MainService.svc/json/...) only" in response.get_json()["message"]


def test_wrong_method_is_a_json_405(shared_esms):
    response = shared_esms.client.get(operation("get_balance").path, query_string=CREDENTIALS)
    assert response.status_code == 405
    assert response.mimetype == "application/json" and "error" in response.get_json()


# ---------------------------------------------------------------------------- content types
@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None, "application/json; charset=utf-8",
                                          "text/plain; charset=utf-8", "application/octet-stream",
                                          "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_json_body_is_read_whatever_the_content_type(shared_esms, op_id, content_type):
    canonical = expected_code(shared_esms, op_id)
    answer = shared_esms.call(op_id, fresh_request(op_id), content_type=content_type)
    assert answer.status == 200 and answer.code == canonical, answer.body


@pytest.mark.parametrize("op_id", ["send_follower_message_v4", "send_follower_message_v5"])
def test_follower_operations_accept_json_sent_as_text_plain(esms, op_id):
    body = esms.ok(op_id, fresh_request(op_id), content_type="text/plain")
    assert body["SMSID"]


def test_json_body_with_a_byte_order_mark_or_whitespace_is_read(shared_esms):
    raw = "\n  " + json.dumps(CREDENTIALS) + "  \n"
    assert shared_esms.call("get_balance", raw=raw.encode()).code == "100"


def test_json_body_in_utf8_with_vietnamese_text(esms):
    body = fresh_request("send_follower_message_v4", Content="Cảm ơn bạn đã theo dõi chúng tôi 🎉")
    esms.ok("send_follower_message_v4", raw=json.dumps(body, ensure_ascii=False).encode("utf-8"))


# ---------------------------------------------------------------------------- query strings and forms
@pytest.mark.parametrize("op_id", QUERY_OPERATIONS)
def test_get_operations_read_the_query_string(shared_esms, op_id):
    body = fresh_request(op_id)
    canonical = shared_esms.call(op_id, body).code
    assert canonical != "101"
    # The vendor's link writes `?&ApiKey=...`; extra parameters are ignored.
    answer = shared_esms.call(op_id, query="&" + urlencode({**body, "Unused": "x"}))
    assert answer.code == canonical


@pytest.mark.parametrize("op_id", QUERY_OPERATIONS)
def test_get_operation_without_its_parameters_is_refused_not_crashed(shared_esms, op_id):
    answer = shared_esms.call(op_id, query=urlencode(CREDENTIALS))
    assert answer.status == 200 and answer.code == operation(op_id).invalid_request_code


def test_form_operation_accepts_the_vi_samples_apikey(esms):
    body = fresh_request("send_full_content_form")
    body["Apikey"] = body.pop("ApiKey")
    assert esms.ok("send_full_content_form", body)["SMSID"]


def test_form_operation_accepts_apikey_as_the_table_spells_it(esms):
    assert esms.ok("send_full_content_form", fresh_request("send_full_content_form"))["SMSID"]


def test_form_operation_does_not_read_a_json_body(shared_esms):
    body = fresh_request("send_full_content_form")
    answer = shared_esms.call("send_full_content_form", raw=json.dumps(body), content_type="application/json")
    assert answer.code == "101"


def test_form_operation_with_utf8_content(esms):
    body = fresh_request("send_full_content_form", Content="Đơn hàng ORD-001 đã được xác nhận")
    assert esms.ok("send_full_content_form", body)["SMSID"]


# ---------------------------------------------------------------------------- GetCallback's own path
def test_get_callback_lives_on_its_own_path(shared_esms):
    assert operation("get_callback_data").path == "/ZaloCallback/GetCallback"
    body = shared_esms.ok("get_callback_data", fresh_request("get_callback_data"))
    assert body["Code"] == 100 and body["Message"] == "Success"
    shared_esms.ok("get_callback_data", fresh_request("get_callback_data"), path="/zalocallback/getcallback/")


def test_get_callback_is_not_under_the_main_service_prefix(shared_esms):
    response = shared_esms.client.post("/MainService.svc/json/ZaloCallback/GetCallback", json=fresh_request("get_callback_data"))
    assert response.status_code == 404


# ---------------------------------------------------------------------------- the envelope
def _code_type(op_id: str) -> type:
    return int if operation(op_id).code_field in ("Code", "Error") else str


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_accepted_answer_is_http_200_with_the_operations_code_field(shared_esms, op_id):
    op = operation(op_id)
    answer = shared_esms.call(op_id, fresh_request(op_id))
    assert answer.status == 200
    assert type(answer.body[op.code_field]) is _code_type(op_id)
    assert not {"CodeResult", "CodeResponse", "Code", "Error"} - {op.code_field} & set(answer.body)


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_refused_answer_is_http_200_with_the_operations_code_field(shared_esms, op_id):
    op = operation(op_id)
    answer = shared_esms.call(op_id, fresh_request(op_id, {"ApiKey": API_KEY, "SecretKey": SECRET_KEY + "x"}))
    assert answer.status == 200
    value = answer.body[op.code_field]
    assert type(value) is _code_type(op_id) and str(value) == "101"
    assert not {"CodeResult", "CodeResponse", "Code", "Error"} - {op.code_field} & set(answer.body)
    assert answer.body[op.message_field] in ("Authorize Failed", "Authorize Failed.")


@pytest.mark.parametrize("op_id,field,kind", [
    ("get_balance", "CodeResponse", str), ("get_send_status", "CodeResponse", str), ("get_callback_data", "Code", int),
    ("get_template_info", "Error", int), ("send_zns_v5", "CodeResult", str), ("check_otp", "CodeResult", str)])
def test_the_vendors_code_fields(shared_esms, op_id, field, kind):
    assert operation(op_id).code_field == field
    answer = shared_esms.call(op_id, fresh_request(op_id))
    assert isinstance(answer.body[field], kind) and not isinstance(answer.body[field], bool)


def test_template_info_success_is_error_0(shared_esms):
    body = shared_esms.ok("get_template_info", fresh_request("get_template_info"))
    assert body["Error"] == 0 and body["Message"] == "Success"


def test_send_answers_carry_count_regenerate_0(shared_esms):
    body = shared_esms.ok("send_zns_v6", fresh_request("send_zns_v6"))
    assert body["CountRegenerate"] == 0
    refused = shared_esms.refused("send_zns_v6", fresh_request("send_zns_v6", TempID="999999"), "789")
    assert refused["CountRegenerate"] == 0 and refused["ErrorMessage"].startswith("TemplateId is not config")


def test_zalo_message_status_success_text_keeps_the_trailing_space(shared_esms):
    body = shared_esms.ok("get_zalo_message_status", fresh_request("get_zalo_message_status"))
    assert body["ErrorMessage"] == "success. "
