"""Hostile input: whatever arrives, every operation answers in its own eSMS envelope.

For every operation of the spec, a corpus of bodies (or query strings): malformed JSON, JSON
that is not an object, invalid UTF-8, 10,000 levels of nesting, numbers beyond any integer or
float, a wrong type in every field at every depth, an empty body, a body over 1 MiB, NUL
bytes, very long strings, unicode. The answer is never a 5xx, never a traceback, always a JSON
object with the operation's code field, and always valid against the operation's response
schema in the spec (the `Esms` helper of conftest checks that on every answer).
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from esms_mock_support import CREDENTIALS, api_spec, fresh_request, operation, spec_problems
from flask.testing import FlaskClient

OPERATIONS = sorted(api_spec().operations)
BODY_OPERATIONS = [op_id for op_id in OPERATIONS if not operation(op_id).reads_query]
JSON_OPERATIONS = [op_id for op_id in BODY_OPERATIONS if not operation(op_id).is_form]
QUERY_OPERATIONS = [op_id for op_id in OPERATIONS if operation(op_id).reads_query]
FORM_OPERATIONS = [op_id for op_id in BODY_OPERATIONS if operation(op_id).is_form]
MAX_BODY = 1_048_576


def answer_problems(op_id: str, response: Any) -> list[str]:
    """Everything wrong with one answer to hostile input; empty when it is a proper eSMS answer."""
    text = response.get_data(as_text=True)
    where = f"HTTP {response.status_code} {text[:300]!r}"
    if response.status_code >= 500:
        return [f"a server error: {where}"]
    if "Traceback" in text or 'File "' in text:
        return [f"a traceback on the wire: {where}"]
    if response.mimetype != "application/json":
        return [f"not JSON ({response.mimetype}): {where}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"a body that is not JSON: {where}"]
    if not isinstance(body, dict) or operation(op_id).code_field not in body:
        return [f"no {operation(op_id).code_field} in the answer: {where}"]
    return [f"{problem} ({where})" for problem in spec_problems(op_id, response.status_code, body)]


def post(client: FlaskClient, op_id: str, raw: bytes, content_type: str | None = None) -> Any:
    op = operation(op_id)
    if content_type is None:
        content_type = "application/x-www-form-urlencoded" if op.is_form else "application/json"
    return client.post(op.path, data=raw, headers={"Content-Type": content_type})


def get(client: FlaskClient, op_id: str, query: str) -> Any:
    return client.get(operation(op_id).path + "?" + query)


@pytest.fixture
def client(shared_app) -> FlaskClient:  # one app for the whole module: these requests change nothing
    return shared_app.test_client()


# ---------------------------------------------------------------------------- raw bodies
DEEP = 10_000
RAW_BODIES: dict[str, bytes] = {
    "malformed_json": b'{"ApiKey": "DEMO_API_KEY", ',
    "not_json": b"this is not json",
    "unbalanced": b"{]",
    "single_quotes": b"{'ApiKey': 'DEMO_API_KEY'}",
    "trailing_comma": b'{"ApiKey": "DEMO_API_KEY",}',
    "json_array": b'[{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}]',
    "json_string": b'"DEMO_API_KEY"',
    "json_number": b"42",
    "json_float": b"-1.5e10",
    "json_null": b"null",
    "json_true": b"true",
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "invalid_utf8": b"\xff\xfe\xfd\xfc",
    "invalid_utf8_in_string": b'{"ApiKey": "DEMO_\xff_KEY", "SecretKey": "DEMO_SECRET_KEY"}',
    "overlong_utf8": b'{"ApiKey": "\xc0\xaf"}',
    "utf16_bom": '{"ApiKey": "DEMO_API_KEY"}'.encode("utf-16"),
    "lone_surrogate": b'{"ApiKey": "\\ud800", "SecretKey": "DEMO_SECRET_KEY"}',
    "deep_arrays": b"[" * DEEP + b"]" * DEEP,
    "deep_objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep_unclosed": b"[" * DEEP,
    "huge_float": b'{"ApiKey": 1e400, "SecretKey": "DEMO_SECRET_KEY"}',
    "huge_int": ('{"ApiKey": %d, "SecretKey": "DEMO_SECRET_KEY"}' % 2**70).encode(),
    "huge_int_digits": b'{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY", "Offset": ' + b"9" * 5000 + b"}",
    "nan_literal": b'{"ApiKey": NaN}',
    "infinity_literal": b'{"ApiKey": Infinity}',
    "raw_nul": b'{"ApiKey": "DEMO\x00API_KEY", "SecretKey": "DEMO_SECRET_KEY"}',
    "nul_bytes_only": b"\x00" * 100,
    "nul_after_json": b'{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}\x00',
    "two_documents": b'{"ApiKey": "DEMO_API_KEY"}{"SecretKey": "x"}',
    "binary_noise": bytes(range(256)) * 8,
    "form_encoded": urlencode(CREDENTIALS).encode(),
    "xml": b'<?xml version="1.0"?><RQST><APIKEY>DEMO_API_KEY</APIKEY></RQST>',
}


@pytest.mark.parametrize("name", sorted(RAW_BODIES))
@pytest.mark.parametrize("op_id", BODY_OPERATIONS)
def test_raw_body_is_answered_in_the_operations_envelope(client, op_id, name):
    response = post(client, op_id, RAW_BODIES[name])
    assert not answer_problems(op_id, response)
    assert response.status_code == 200


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_malformed_json_is_refused_with_the_operations_invalid_request_code(client, op_id):
    response = post(client, op_id, RAW_BODIES["malformed_json"])
    assert not answer_problems(op_id, response)
    assert str(response.get_json()[operation(op_id).code_field]) == operation(op_id).invalid_request_code


@pytest.mark.parametrize("op_id", BODY_OPERATIONS)
@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "application/xml", "image/png", ";;;", "\u00ff"])
def test_odd_content_types_are_answered(client, op_id, content_type):
    response = post(client, op_id, RAW_BODIES["malformed_json"], content_type.encode("latin-1").decode("latin-1"))
    assert not answer_problems(op_id, response)


@pytest.mark.parametrize("op_id", BODY_OPERATIONS)
def test_body_over_1_mib_is_refused_with_413_in_the_esms_envelope(client, op_id):
    filler = "x" * (MAX_BODY + 1)
    if operation(op_id).is_form:
        raw = urlencode({**CREDENTIALS, "Content": filler}).encode()
    else:
        raw = json.dumps({**CREDENTIALS, "Content": filler}).encode()
    response = post(client, op_id, raw)
    assert response.status_code == 413
    assert not answer_problems(op_id, response)
    body = response.get_json()
    assert str(body[operation(op_id).code_field]) == "110"


@pytest.mark.parametrize("op_id", BODY_OPERATIONS)
def test_body_just_under_1_mib_is_read(client, op_id):
    body = {**CREDENTIALS, "Padding": ""}
    base = len(json.dumps(body).encode()) if not operation(op_id).is_form else len(urlencode(body).encode())
    body["Padding"] = "p" * (MAX_BODY - base - 10)
    raw = urlencode(body).encode() if operation(op_id).is_form else json.dumps(body).encode()
    assert len(raw) <= MAX_BODY
    response = post(client, op_id, raw)
    assert response.status_code == 200
    assert not answer_problems(op_id, response)


@pytest.mark.parametrize("op_id", BODY_OPERATIONS)
def test_chunked_body_over_1_mib_is_refused(client, op_id):
    """A body without Content-Length is held to the same limit."""
    raw = b'{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY", "Content": "' + b"x" * (MAX_BODY + 1) + b'"}'
    response = client.post(operation(op_id).path, input_stream=io.BytesIO(raw),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert not answer_problems(op_id, response)


# ---------------------------------------------------------------------------- wrong values at every depth
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a request (object keys and list indexes)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(body)
    node: Any = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copied


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


WRONG_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "zero": 0,
    "negative": -1,
    "int64_max": 2**63 - 1,
    "int64_min": -(2**63),
    "float": 1.5,
    "tiny_float": 5e-324,
    "big_float": 1.7976931348623157e308,
    "empty_string": "",
    "nul_string": "\u0000",
    "nul_inside": "DEMO\u0000KEY",
    "long_string": "L" * 300_000,
    "unicode": "Ợ̵̧̛̛̛̛̛̛̛̛̛̛̛̛̛̛ṟ̶̛̛̛̛̛̛̛̛̛̛̛̛̛ď̷̛̛̛̛̛̛̛ ‮RTL‬ 🎉👨‍👩‍👧‍👦 中文 Tiếng Việt \ufeff\u200b",
    "emoji_repeat": "🎉" * 5000,
    "digits": "9" * 400,
    "control_chars": "".join(chr(c) for c in range(32)),
    "empty_list": [],
    "list_of_null": [None],
    "list_of_dicts": [{"a": {"b": [1, {"c": None}]}}],
    "empty_object": {},
    "object": {"$ref": "#/definitions/Credentials", "__proto__": {"x": 1}},
    "nested_900": _nested(900),
    "percent": "%00%ff%zz",
    "injection": "'; DROP TABLE messages; -- {{7*7}} ${jndi:ldap://x} <script>",
}


@pytest.mark.parametrize("kind", sorted(WRONG_VALUES))
@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_a_wrong_value_in_any_field_is_answered_in_the_envelope(client, op_id, kind):
    valid = fresh_request(op_id)
    problems: list[str] = []
    for path in _paths(valid):
        body = _replaced(valid, path, WRONG_VALUES[kind])
        response = post(client, op_id, json.dumps(body).encode())
        problems += [f"{'.'.join(map(str, path))}: {p}" for p in answer_problems(op_id, response)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_huge_numbers_in_any_field_are_answered_in_the_envelope(client, op_id):
    valid = fresh_request(op_id)
    problems: list[str] = []
    for path in _paths(valid):
        marker = "__HUGE__"
        text = json.dumps(_replaced(valid, path, marker))
        for huge in ("1e400", "-1e400", str(2**70), str(-(2**70)), "1" + "0" * 400, "0." + "0" * 400 + "1"):
            response = post(client, op_id, text.replace(f'"{marker}"', huge).encode())
            problems += [f"{'.'.join(map(str, path))}={huge[:20]}: {p}" for p in answer_problems(op_id, response)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_deep_nesting_inside_a_valid_request_is_answered(client, op_id):
    valid = fresh_request(op_id)
    problems: list[str] = []
    for depth in (500, 1_000, 5_000, DEEP):
        for path in list(_paths(valid))[:6]:
            marker = "__DEEP__"
            text = json.dumps(_replaced(valid, path, marker))
            raw = text.replace(f'"{marker}"', "[" * depth + "]" * depth).encode()
            response = post(client, op_id, raw)
            problems += [f"{'.'.join(map(str, path))} depth {depth}: {p}" for p in answer_problems(op_id, response)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_deep_nesting_in_an_unknown_field_of_a_valid_request_is_answered(client, op_id):
    valid = fresh_request(op_id)
    problems: list[str] = []
    for depth in (250, 1_000, 1_020):
        text = json.dumps({**valid, "Extra": "__DEEP__"})
        raw = text.replace('"__DEEP__"', "[" * depth + '{"k": "v"}' + "]" * depth).encode()
        response = post(client, op_id, raw)
        problems += [f"depth {depth}: {p}" for p in answer_problems(op_id, response)]
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_extra_unknown_and_oddly_named_fields_are_answered(client, op_id):
    valid = fresh_request(op_id)
    odd = {"": "", " ": None, "ApiKey ": "x", "apikey": "DEMO_API_KEY", "\u0000": 1, "🎉": [], "a" * 10_000: "b",
           "__proto__": {"polluted": True}, "constructor": {"prototype": {}}}
    body = {**valid, **odd}
    response = post(client, op_id, json.dumps(body).encode())
    assert not answer_problems(op_id, response)


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
def test_duplicate_keys_are_answered(client, op_id):
    valid = fresh_request(op_id)
    raw = '{"ApiKey": "someone-else", ' + json.dumps(valid)[1:]
    response = post(client, op_id, raw.encode())
    assert not answer_problems(op_id, response)


# ---------------------------------------------------------------------------- query strings (GET operations)
def _query_corpus(op_id: str) -> dict[str, str]:
    valid = fresh_request(op_id)
    good = urlencode(valid)
    corpus = {
        "empty": "",
        "ampersands": "&&&&",
        "equals": "=&==&a=b=c",
        "invalid_utf8": "ApiKey=%ff%fe&SecretKey=%c0%af",
        "invalid_percent": "ApiKey=%zz%&SecretKey=%",
        "nul": "ApiKey=DEMO%00API_KEY&SecretKey=%00",
        "plus_and_spaces": "ApiKey=DEMO+API+KEY&SecretKey=+",
        "repeated_keys": good + "&" + good.replace("DEMO", "OTHER"),
        "bracket_keys": good + "&ApiKey[]=1&SecretKey[x]=2",
        "long_value": good + "&" + urlencode({k: "V" * 200_000 for k in valid if k not in CREDENTIALS}),
        "unicode": urlencode({**valid, **{k: "Tiếng Việt 🎉\u202e" for k in valid if k not in CREDENTIALS}}),
        "huge_numbers": urlencode({**valid, **{k: str(2**70) for k in valid if k not in CREDENTIALS}}),
        "json_in_query": "ApiKey=" + json.dumps(CREDENTIALS),
    }
    for key in valid:
        corpus[f"missing_{key}"] = urlencode({k: v for k, v in valid.items() if k != key})
        corpus[f"empty_{key}"] = urlencode({**valid, key: ""})
        corpus[f"nul_{key}"] = urlencode({**valid, key: "\u0000"})
    return corpus


QUERY_CASES = [(op_id, name) for op_id in QUERY_OPERATIONS for name in sorted(_query_corpus(op_id))]


@pytest.mark.parametrize("op_id,name", QUERY_CASES)
def test_hostile_query_string_is_answered_in_the_envelope(client, op_id, name):
    response = get(client, op_id, _query_corpus(op_id)[name])
    assert not answer_problems(op_id, response)
    assert response.status_code == 200


@pytest.mark.parametrize("name", sorted(RAW_BODIES))
@pytest.mark.parametrize("op_id", QUERY_OPERATIONS)
def test_get_operations_ignore_a_hostile_body(client, op_id, name):
    response = client.get(operation(op_id).path + "?" + urlencode(fresh_request(op_id)), data=RAW_BODIES[name],
                          headers={"Content-Type": "application/json"})
    assert not answer_problems(op_id, response)
    assert response.get_json()[operation(op_id).code_field] not in ("101", 101)


# ---------------------------------------------------------------------------- the form operation
FORM_BODIES = {
    "invalid_utf8": b"ApiKey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY&Content=\xff\xfe",
    "invalid_percent_utf8": b"ApiKey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY&Content=%ff%fe",
    "invalid_percent": b"ApiKey=%zz&SecretKey=%",
    "nul": b"ApiKey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY&Content=%00&Phone=0901888484%00",
    "raw_nul": b"ApiKey=DEMO_API_KEY\x00&SecretKey=DEMO_SECRET_KEY",
    "ampersands": b"&&&===&&",
    "repeated": urlencode({**fresh_request("send_full_content_form")}).encode() * 3,
    "both_spellings": b"ApiKey=wrong&Apikey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY",
    "json": json.dumps(fresh_request("send_full_content_form")).encode(),
    "unicode": urlencode({**fresh_request("send_full_content_form"), "Content": "🎉 Tiếng Việt \u202e"}).encode(),
    "long": urlencode({**fresh_request("send_full_content_form"), "Content": "c" * 500_000}).encode(),
}


@pytest.mark.parametrize("name", sorted(FORM_BODIES))
@pytest.mark.parametrize("op_id", FORM_OPERATIONS)
def test_hostile_form_body_is_answered_in_the_envelope(client, op_id, name):
    response = post(client, op_id, FORM_BODIES[name])
    assert not answer_problems(op_id, response)
    assert response.status_code == 200


@pytest.mark.parametrize("op_id", FORM_OPERATIONS)
@pytest.mark.parametrize("field", sorted(fresh_request("send_full_content_form")))
def test_form_field_with_odd_values_is_answered(client, op_id, field):
    problems: list[str] = []
    for value in ("", "\u0000", "9" * 400, "🎉" * 3000, "L" * 300_000, "%", "a=b&c"):
        raw = urlencode({**fresh_request(op_id), field: value}).encode()
        problems += answer_problems(op_id, post(client, op_id, raw))
    assert not problems, problems[:5]


# ---------------------------------------------------------------------------- the checker itself
def test_answer_problems_reports_what_it_must(shared_app):
    """The check above cannot pass vacuously: it reports a 5xx, a traceback, a missing code field,
    a code outside the operation's list and a body the response schema refuses."""
    from flask import Response

    def fake(status: int, text: str, mimetype: str = "application/json") -> Response:
        return Response(text, status=status, mimetype=mimetype)

    assert answer_problems("get_balance", fake(500, '{"CodeResponse": "100"}'))
    assert answer_problems("get_balance", fake(200, '{"CodeResponse": "100", "x": "Traceback (most recent call last)"}'))
    assert answer_problems("get_balance", fake(200, "<html></html>", "text/html"))
    assert answer_problems("get_balance", fake(200, '{"CodeResult": "100"}'))
    assert answer_problems("get_balance", fake(200, '{"CodeResponse": "790"}'))
    assert answer_problems("get_balance", fake(200, '{"CodeResponse": 100}'))
    assert answer_problems("get_callback_data", fake(200, '{"Code": "100"}'))
    assert answer_problems("get_balance", fake(400, '{"CodeResponse": "101"}'))
    assert not answer_problems("get_balance", fake(200, '{"CodeResponse": "101", "Balance": 0, "ErrorMessage": "Authorize Failed"}'))


# ---------------------------------------------------------------------------- the control plane
CONTROL_WRITES = [("PUT", "/_mock/fixtures", "application/json"), ("PUT", "/_mock/fixtures", "application/yaml"),
                  ("POST", "/_mock/scenarios", "application/json"), ("POST", "/_mock/clock/advance", "application/json")]


@pytest.mark.parametrize(("method", "path", "content_type"), CONTROL_WRITES, ids=lambda value: str(value))
@pytest.mark.parametrize("name", sorted(RAW_BODIES))
def test_hostile_bodies_to_the_control_plane_are_answered_in_json_never_a_server_error(
        app, method: str, path: str, content_type: str, name: str):  # its own app: a body could load fixtures
    response = app.test_client().open(path, method=method, data=RAW_BODIES[name], headers={"Content-Type": content_type})
    text = response.get_data(as_text=True)
    assert response.status_code < 500, text[:300]
    assert response.mimetype == "application/json" and "Traceback" not in text
    assert set(json.loads(text)) >= {"error", "message"} or response.status_code == 200
