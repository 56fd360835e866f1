"""The control plane under /_mock (spec/mock-control.openapi.yaml): health, fixtures, the journal,
callbacks, reset, scenarios and the clock.

Every answer of the control plane is checked against the response schema the spec documents for
its path, method and status (`Control.call`), so these tests also hold the implementation to its
spec. eSMS requests are real requests with the demo credentials.
"""

from __future__ import annotations

import copy
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx
import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from werkzeug.serving import make_server

from mock_server.control import routes as control_module
from mock_server.app import create_app
from mock_server.state import MockState
from mock_server.esms.callbacks import CallbackSettings
from mock_server.store.clock import VIETNAM
from mock_server.config import MockConfig
from mock_server.store.fixtures import CONTROL_SPEC_PATH, DEMO_FIXTURES_PATH


@pytest.fixture
def db_location(store_location: str) -> str:
    """Every test of this module runs on both store backends (SQLite and PostgreSQL)."""
    return store_location


API_KEY, SECRET_KEY = "DEMO_API_KEY", "DEMO_SECRET_KEY"
CREDENTIALS = {"ApiKey": API_KEY, "SecretKey": SECRET_KEY}
OAID = "4097311281936189049"
SECOND_OAID = "5000000000000000009"  # added to the demo account by `with_second_oa`
OTP_TEMPLATE = "205644"
MULTICHANNEL_TEMPLATE = "12345"
PHONE = "0901888484"
OTHER_PHONE = "0912345678"
DELAY = 0.2
MASK = "********"
DAY = 86_400

SEND_ZNS_V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"
SEND_OTP = "/MainService.svc/json/SendMessageAutoGenCode_V5"
SEND_FULL_CONTENT_FORM = "/MainService.svc/json/SendMultipleMessage_V4_post/"
GET_SEND_STATUS = "/MainService.svc/json/GetSendStatus"
GET_BALANCE = "/MainService.svc/json/GetBalance_json"


# ---------------------------------------------------------------------------- the control spec
@lru_cache(maxsize=1)
def control_spec() -> dict[str, Any]:
    with open(CONTROL_SPEC_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


SPEC_URI = "urn:esms-mock:control"


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _resolve(node: Any, ptr: str) -> tuple[Any, str]:
    """Follow `$ref`s from `node` (at JSON pointer `ptr`) to what they name, and its pointer."""
    while isinstance(node, dict) and "$ref" in node:
        ptr = node["$ref"].removeprefix("#")
        node = control_spec()
        for part in ptr.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, ptr


@lru_cache(maxsize=None)
def validator_at(schema_ptr: str) -> OAS30Validator:
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(control_spec(), default_specification=DRAFT4))
    return OAS30Validator({"$ref": SPEC_URI + "#" + quote(schema_ptr, safe="/~")}, registry=registry,
                          format_checker=OAS30Validator.FORMAT_CHECKER)


def schema_problems(schema_ptr: str, value: Any) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator_at(schema_ptr).iter_errors(value)]


def spec_path_for(path: str) -> str:
    """The spec's path template that a concrete /_mock path falls under."""
    for template in control_spec()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not a path of the control spec")


def response_schema_ptr(path: str, method: str, status: int) -> str:
    template = spec_path_for(path)
    op_ptr = f"/paths/{_escape(template)}/{method.lower()}"
    operation = control_spec()["paths"][template].get(method.lower())
    assert operation is not None, f"{method} {template} is not documented"
    response = operation["responses"].get(str(status))
    assert response is not None, f"HTTP {status} is not documented for {method} {template}"
    node, ptr = _resolve(response, f"{op_ptr}/responses/{status}")
    assert "application/json" in node["content"], f"{method} {template} {status} documents no JSON body"
    return f"{ptr}/content/application~1json/schema"


# ---------------------------------------------------------------------------- helpers
class Control:
    """Calls /_mock and checks each answer: JSON, no traceback, documented status, valid body."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.last_text = ""

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, **kwargs)
        text = response.get_data(as_text=True)
        self.last_text = text
        assert response.status_code == expect, (method, path, response.status_code, text[:1000])
        assert response.mimetype == "application/json", (response.mimetype, text[:300])
        assert "Traceback" not in text
        body = json.loads(text)
        problems = schema_problems(response_schema_ptr(urlsplit(path).path, method, response.status_code), body)
        assert not problems, f"{method} {path} answered {text[:1000]}\n" + "\n".join(problems)
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)

    def add_scenario(self, **scenario: Any) -> dict[str, Any]:
        return self.post("/_mock/scenarios", scenario, expect=201)  # type: ignore[no-any-return]

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.post("/_mock/clock/advance", {"seconds": seconds})  # type: ignore[no-any-return]


def zns_request(phone: str = PHONE, **fields: Any) -> dict[str, Any]:
    return {**CREDENTIALS, "OAID": OAID, "Phone": phone, "TempID": OTP_TEMPLATE,
            "TempData": [{"key": "otp", "value": "123456"}], **fields}


def send_zns(client: FlaskClient, phone: str = PHONE, **fields: Any) -> dict[str, Any]:
    """Send a ZNS (SendZaloMessage_V5_post) and return eSMS's answer."""
    return client.post(SEND_ZNS_V5, json=zns_request(phone, **fields)).get_json()  # type: ignore[no-any-return]


def accepted(answer: dict[str, Any]) -> str:
    assert answer.get("CodeResult") == "100", answer
    return answer["SMSID"]  # type: ignore[no-any-return]


def send_status(client: FlaskClient, smsid: str) -> int:
    answer = client.get(GET_SEND_STATUS + "?" + urlencode({**CREDENTIALS, "RefId": smsid})).get_json()
    assert answer["CodeResponse"] == "100", answer
    return int(answer["SendStatus"])


def balance_code(client: FlaskClient) -> str:
    return str(client.post(GET_BALANCE, json=CREDENTIALS).get_json()["CodeResponse"])


def demo_document() -> dict[str, Any]:
    with open(DEMO_FIXTURES_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def vietnam_time(seconds_from_now: float) -> str:
    return (datetime.now(VIETNAM) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------- fixtures
def _new_app(tmp_path: Path, **config: Any) -> Flask:
    app = create_app(MockConfig(db_path=tmp_path / "db.sqlite3", delivery_delay=DELAY, **config))
    app.testing = True
    return app


# `app` and `client` (the in-process mock, no callback sender) are the shared fixtures of
# tests/mock_server (esms_mock_support, through conftest).
@pytest.fixture
def control(client: FlaskClient) -> Control:
    return Control(client)


@pytest.fixture
def mock_state(app: Flask) -> MockState:
    return app.extensions["esms_mock"]  # type: ignore[no-any-return]


class Receiver:
    """A callback receiver on 127.0.0.1: answers each GET with the next status of `statuses`
    (the last one once they run out) and records the paths it was called with."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.paths: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                receiver.paths.append(self.path)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/esms-callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver([500, 200])  # the first attempt fails, the retry succeeds
    yield found
    found.close()


@pytest.fixture
def dispatching_app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose callback sender runs, with fast retries."""
    settings = CallbackSettings(timeout=2.0, max_attempts=3, backoff=0.05, poll_interval=0.02)
    app = _new_app(tmp_path, start_dispatcher=True, callbacks=settings)
    yield app
    app.extensions["esms_mock"].shutdown()


@pytest.fixture
def served_app(app: Flask) -> Iterator[str]:
    """The mock served over real HTTP on 127.0.0.1 (for dropped connections); its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------------------- health
def test_health_reports_operations_spec_version_and_database(control: Control, mock_state: MockState,
                                                             db_location: str) -> None:
    health = control.get("/_mock/health")
    assert health["status"] == "ok"
    assert health["operations"] == len(mock_state.spec.operations) == 31
    assert health["spec_version"] == mock_state.spec.document["info"]["version"]
    assert health["database"] == str(db_location)
    assert health["clock"]["offset_seconds"] == 0


# ---------------------------------------------------------------------------- fixtures
def test_fixtures_are_shown_with_every_secret_masked(control: Control) -> None:
    document = control.get("/_mock/fixtures")
    assert SECRET_KEY not in control.last_text
    assert [account["secret_key"] for account in document["accounts"]] == [MASK]
    expected = demo_document()
    expected["accounts"][0]["secret_key"] = MASK
    assert document == expected


def test_fixtures_put_as_json_are_served_and_read_back(control: Control, client: FlaskClient) -> None:
    document = {
        "accounts": [{"api_key": "TEST_KEY", "secret_key": "TEST_SECRET", "balance": 5000,
                      "oas": [{"oaid": "1111111111111111111", "templates": [{"id": "100001"}, {"id": "100002"}]}]}],
        "recipients": {"0912345678": "rejected"},
    }
    summary = control.put("/_mock/fixtures", json=document)
    assert summary == {"status": "loaded", "fixtures_version": 2, "accounts": 1, "oas": 1, "templates": 2,
                       "multichannel_templates": 0, "recipients": 1}
    shown = control.get("/_mock/fixtures")
    assert shown == {**document, "accounts": [{**document["accounts"][0], "secret_key": MASK}]}
    assert "TEST_SECRET" not in control.last_text
    balance = client.post(GET_BALANCE, json={"ApiKey": "TEST_KEY", "SecretKey": "TEST_SECRET"}).get_json()
    assert (balance["CodeResponse"], balance["Balance"]) == ("100", 5000)
    assert balance_code(client) == "101"  # the demo account is gone


def test_fixtures_put_as_yaml_are_loaded(control: Control, client: FlaskClient) -> None:
    text = "accounts:\n  - api_key: YAML_KEY\n    secret_key: YAML_SECRET\n    oas: [{oaid: '42'}]\n"
    summary = control.put("/_mock/fixtures", data=text, content_type="application/yaml")
    assert (summary["accounts"], summary["oas"], summary["templates"]) == (1, 1, 0)
    assert client.post(GET_BALANCE, json={"ApiKey": "YAML_KEY", "SecretKey": "YAML_SECRET"}).get_json()["CodeResponse"] == "100"


def test_fixtures_read_with_masked_secrets_can_be_put_back_and_keep_the_journal(control: Control,
                                                                                client: FlaskClient) -> None:
    smsid = accepted(send_zns(client))
    document = control.get("/_mock/fixtures")
    document["accounts"][0]["balance"] = 777
    control.put("/_mock/fixtures", json=document)
    answer = client.post(GET_BALANCE, json=CREDENTIALS).get_json()
    assert (answer["CodeResponse"], answer["Balance"]) == ("100", 777)  # the secret was kept
    assert [m["smsid"] for m in control.get("/_mock/messages")["messages"]] == [smsid]


def test_invalid_fixtures_are_refused_with_every_problem_and_change_nothing(control: Control, client: FlaskClient) -> None:
    before = control.get("/_mock/fixtures")
    bad = {"accounts": [{"api_key": "K", "balance": -5, "oas": [{"oaid": "1", "templates": [{"id": "not-digits"}]}]}],
           "recipients": {"zalo-user-x": "lost"}}
    refused = control.put("/_mock/fixtures", json=bad, expect=400)
    assert refused["error"] == "Invalid fixtures"
    problems = "\n".join(refused["problems"])
    assert len(refused["problems"]) >= 4, refused
    for where in ("accounts/0", "accounts/0/balance", "accounts/0/oas/0/templates/0/id", "recipients/zalo-user-x"):
        assert re.search(rf"^{re.escape(where)}: ", problems, re.MULTILINE), (where, problems)
    assert "secret_key" in problems
    assert control.get("/_mock/fixtures") == before
    assert balance_code(client) == "100"


@pytest.mark.parametrize(("field", "value"), [
    ("accounts/0/user_id", 2**53), ("accounts/0/oas/0/daily_quota", 10**24),
    ("accounts/0/oas/0/templates/0/params/0/min_length", 10**20),
])
def test_integers_beyond_the_fixtures_schema_are_refused_with_the_field(control: Control, field: str, value: int) -> None:
    document = control.get("/_mock/fixtures")
    document["accounts"][0]["secret_key"] = "DEMO_SECRET_KEY"
    target: Any = document
    *parents, leaf = field.split("/")
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[leaf] = value
    refused = control.put("/_mock/fixtures", json=document, expect=400)
    assert any(problem.startswith(field + ": ") for problem in refused["problems"]), refused


@pytest.mark.parametrize(("duplicate", "where"), [
    ("api_key", "accounts/1/api_key"), ("oaid", "accounts/1/oas/0/oaid"),
    ("template", "accounts/0/oas/0/templates/1/id"), ("multichannel", "accounts/0/multichannel_templates/1/id"),
])
def test_fixtures_that_name_one_thing_twice_are_a_409_and_change_nothing(control: Control, client: FlaskClient,
                                                                       duplicate: str, where: str) -> None:
    before = control.get("/_mock/fixtures")
    first = {"api_key": "K1", "secret_key": "S1", "oas": [{"oaid": "111", "templates": [{"id": "1"}, {"id": "2"}]}],
             "multichannel_templates": [{"id": "m1", "oaid": "111", "template_id": "1"},
                                        {"id": "m2", "oaid": "111", "template_id": "2"}]}
    second = {"api_key": "K2", "secret_key": "S2", "oas": [{"oaid": "222"}]}
    if duplicate == "api_key":
        second["api_key"] = "K1"
    elif duplicate == "oaid":
        second["oas"][0]["oaid"] = "111"
    elif duplicate == "template":
        first["oas"][0]["templates"][1]["id"] = "1"
    else:
        first["multichannel_templates"][1]["id"] = "m1"
    refused = control.put("/_mock/fixtures", json={"accounts": [first, second]}, expect=409)
    assert refused["error"] == "Conflicting fixtures"
    assert [problem.split(": ")[0] for problem in refused["problems"]] == [where]
    assert control.get("/_mock/fixtures") == before
    assert balance_code(client) == "100"


def test_the_clock_stays_within_a_century_and_says_so_with_a_409(control: Control) -> None:
    for _ in range(10):
        control.post("/_mock/clock/advance", {"seconds": 10 * 366 * DAY})  # the most one move may add
    refused = control.post("/_mock/clock/advance", {"seconds": DAY}, expect=409)
    assert "century" in refused["message"]
    assert control.get("/_mock/clock")["offset_seconds"] == 100 * 366 * DAY


def test_the_scenario_limits_the_mock_enforces_are_the_ones_its_spec_states() -> None:
    schema = control_spec()["components"]["schemas"]["ScenarioRequest"]["properties"]
    assert schema["times"]["maximum"] == control_module.MAX_TIMES
    assert schema["latency_ms"]["maximum"] == control_module.MAX_LATENCY_MS


def test_a_refused_fixtures_document_never_echoes_its_secrets(control: Control) -> None:
    bad = {"accounts": {"api_key": "K", "secret_key": "TOP_SECRET_VALUE"}}  # an object where a list belongs
    refused = control.put("/_mock/fixtures", json=bad, expect=400)
    assert refused["problems"]
    assert "TOP_SECRET_VALUE" not in control.last_text
    unreadable = "accounts:\n  - {api_key: K, secret_key: TOP_SECRET_VALUE\n"
    refused = control.put("/_mock/fixtures", data=unreadable, content_type="application/yaml", expect=400)
    assert "line 3" in refused["message"]
    assert "TOP_SECRET_VALUE" not in control.last_text


@pytest.mark.parametrize(("body", "content_type"), [
    ("{not json", "application/json"),
    ("", "application/json"),
    ("accounts: [unclosed", "application/yaml"),
    ("[1, 2]", "application/json"),
])
def test_unreadable_fixtures_are_a_400(control: Control, body: str, content_type: str) -> None:
    refused = control.put("/_mock/fixtures", data=body, content_type=content_type, expect=400)
    assert refused["error"] in ("Malformed fixtures", "Invalid fixtures")
    assert refused["message"]


# ---------------------------------------------------------------------------- the journal
@pytest.fixture
def with_second_oa(control: Control) -> None:
    """The demo fixtures with a second OA on the demo account (read, edited and put back)."""
    document = control.get("/_mock/fixtures")
    document["accounts"][0]["oas"].append(
        {"oaid": SECOND_OAID, "templates": [{"id": OTP_TEMPLATE, "params": [{"name": "otp", "max_length": 10}]}]})
    control.put("/_mock/fixtures", json=document)


def test_the_journal_lists_messages_newest_first_with_what_was_sent(control: Control, client: FlaskClient) -> None:
    first = accepted(send_zns(client, PHONE, RequestId="req-first", campaignid="spring"))
    second = accepted(send_zns(client, OTHER_PHONE))
    journal = control.get("/_mock/messages")
    assert [m["smsid"] for m in journal["messages"]] == [second, first]
    assert journal["count"] == 2
    entry = journal["messages"][1]
    assert entry["operation"] == "send_zns_v5"
    assert (entry["type_id"], entry["oaid"], entry["template_id"]) == (25, OAID, OTP_TEMPLATE)
    assert (entry["campaign"], entry["request_id"], entry["sandbox"]) == ("spring", "req-first", False)
    assert entry["content"] == "<p>123456</p>"
    assert entry["request"] == {k: v for k, v in zns_request(PHONE, RequestId="req-first", campaignid="spring").items()
                                if k != "SecretKey"}
    for field in ("accepted_at", "send_at", "final_at"):
        assert entry[field].endswith("+07:00"), entry[field]
    assert datetime.fromisoformat(entry["final_at"]) - datetime.fromisoformat(entry["send_at"]) == timedelta(seconds=DELAY)
    [recipient] = entry["recipients"]
    assert (recipient["recipient"], recipient["outcome"], recipient["price"]) == (PHONE, "delivered", 440.0)
    assert entry["callbacks"] == {"total": 0, "pending": 0, "delivered": 0, "failed": 0, "attempts": 0}
    assert [m["smsid"] for m in control.get("/_mock/messages?limit=1")["messages"]] == [second]


def test_the_journal_shows_each_recipients_current_status_from_the_mock_clock(control: Control, client: FlaskClient) -> None:
    smsid = accepted(send_zns(client, PHONE, SendDate=vietnam_time(3600)))
    [entry] = control.get(f"/_mock/messages?smsid={smsid}")["messages"]
    assert entry["status"]["send_status"] == 2 and not entry["status"]["final"]
    assert entry["recipients"][0]["status"] == {"send_status": 2, "label": "waiting", "final": False,
                                                "sent": False, "success": False}
    control.advance(3600 + 60)
    [entry] = control.get(f"/_mock/messages?smsid={smsid}")["messages"]
    assert entry["status"] == {"send_status": 5, "label": "finished", "final": True, "delivered": 1, "failed": 0}
    assert entry["recipients"][0]["status"]["success"] is True


def test_the_journal_filters_by_smsid_oaid_recipient_and_request_id(control: Control, client: FlaskClient,
                                                                    with_second_oa: None) -> None:
    to_phone = accepted(send_zns(client, PHONE, RequestId="req-a"))
    to_other = accepted(send_zns(client, OTHER_PHONE, RequestId="req-b"))
    on_second_oa = accepted(send_zns(client, OTHER_PHONE, OAID=SECOND_OAID))

    def smsids(query: str) -> list[str]:
        return [m["smsid"] for m in control.get("/_mock/messages?" + query)["messages"]]

    assert smsids(f"smsid={to_other}") == [to_other]
    assert smsids(f"oaid={SECOND_OAID}") == [on_second_oa]
    assert smsids(f"oaid={OAID}") == [to_other, to_phone]
    assert smsids("recipient=84901888484") == [to_phone]  # the 84 form finds a message sent to the 0 form
    assert smsids("recipient=%2B84901888484") == [to_phone]
    assert smsids(f"recipient={PHONE}") == [to_phone]
    assert smsids("recipient=84912345678") == [on_second_oa, to_other]
    assert smsids("request_id=req-b") == [to_other]
    assert smsids(f"request_id=req-b&recipient={PHONE}") == []
    assert smsids("smsid=unknown") == []


def test_the_journal_finds_a_zalo_user_by_id(control: Control, client: FlaskClient) -> None:
    follower = "7800378501923859642"
    answer = client.post("/MainService.svc/json/SendZaloMessage_V6/zalo_uid/", json={
        **CREDENTIALS, "OAID": OAID, "ZaloUid": follower, "TempID": OTP_TEMPLATE, "TempData": {"otp": "1234"}}).get_json()
    smsid = accepted(answer)
    accepted(send_zns(client))
    assert [m["smsid"] for m in control.get(f"/_mock/messages?recipient={follower}")["messages"]] == [smsid]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=ten", "limit=-1", "limit=", "colour=blue"])
def test_bad_journal_queries_are_a_400(control: Control, query: str) -> None:
    refused = control.get("/_mock/messages?" + query, expect=400)
    assert refused["error"] == "Bad request" and refused["message"]


def test_the_journal_keeps_what_the_mock_decided_such_as_the_generated_otp(control: Control, client: FlaskClient) -> None:
    answer = client.post(SEND_OTP, json={**CREDENTIALS, "Phone": PHONE, "TimeAlive": "5",
                                      "MultiChannelTempId": MULTICHANNEL_TEMPLATE, "TypeId": "2"}).get_json()
    smsid = accepted(answer)
    [entry] = control.get(f"/_mock/messages?smsid={smsid}")["messages"]
    assert entry["operation"] == "send_auto_generated_otp"
    otp = entry["extra"]["otp"]
    assert re.fullmatch(r"[0-9]{6}", otp), entry["extra"]
    check = client.get("/MainService.svc/json/CheckCodeGen_V4_get?" + urlencode({**CREDENTIALS, "Phone": PHONE, "Code": otp}))
    assert check.get_json()["CodeResult"] == "100"


def test_the_journal_and_the_control_plane_never_show_a_secret_key(control: Control, client: FlaskClient,
                                                                   receiver: Receiver) -> None:
    smsid = accepted(send_zns(client, PHONE, RequestId="req-secret", CallbackUrl=receiver.url))
    accepted(client.post(SEND_OTP, json={**CREDENTIALS, "Phone": PHONE, "MultiChannelTempId": MULTICHANNEL_TEMPLATE,
                                      "TypeId": "2"}).get_json())
    form = client.post(SEND_FULL_CONTENT_FORM, data={**CREDENTIALS, "Phone": PHONE, "Content": "Order ORD-1 confirmed",
                                                  "Smstype": "25", "OAID": OAID})
    accepted(form.get_json())
    send_status(client, smsid)  # a GET with the secret in its query string
    control.add_scenario(operation="get_balance", match={"SecretKey": SECRET_KEY}, latency_ms=1)
    pages = ["/_mock/messages", f"/_mock/messages/{smsid}", f"/_mock/messages?recipient={PHONE}", "/_mock/callbacks",
             "/_mock/fixtures", "/_mock/scenarios", "/_mock/health", "/_mock/clock"]
    for page in pages:
        control.get(page)
        assert SECRET_KEY not in control.last_text, page
    control.get("/_mock/messages")
    assert "SecretKey" not in control.last_text
    assert len(json.loads(control.last_text)["messages"]) == 3


def test_one_message_shows_its_delivery_timeline_and_every_callback_attempt(
        dispatching_app: Flask, receiver: Receiver) -> None:
    client = dispatching_app.test_client()
    control = Control(client)
    smsid = accepted(send_zns(client, PHONE, RequestId="req-timeline", CallbackUrl=receiver.url))

    def delivered() -> Any:
        detail = control.get(f"/_mock/messages/{smsid}")
        return detail if detail["callbacks"] and detail["callbacks"][0]["state"] == "delivered" else None

    detail = wait_for(delivered, what="the callback to be delivered on its second attempt")
    [recipient] = detail["recipients"]
    assert [(e["send_status"], e["reached"]) for e in recipient["timeline"]] == [(2, True), (7, True), (5, True)]
    assert [e["at"] for e in recipient["timeline"]] == [detail["accepted_at"],
                                                        recipient["timeline"][1]["at"], detail["final_at"]]
    assert detail["status"]["send_status"] == 5
    [callback] = detail["callbacks"]
    assert callback["url"] == receiver.url
    assert dict(parse_qsl(callback["query"]))["SMSID"] == smsid
    assert callback["attempt_count"] == 2 and callback["next_attempt_at"] is None
    first, second = callback["attempts"]
    assert (first["attempt"], first["status_code"], first["error"]) == (1, 500, "HTTP 500")
    assert (second["attempt"], second["status_code"], second["error"]) == (2, 200, None)
    assert all(a["duration_ms"] >= 0 and a["at"].endswith("+07:00") for a in (first, second))
    assert len(receiver.paths) == 2 and all(f"SMSID={smsid}" in path for path in receiver.paths)

    [summary] = control.get(f"/_mock/messages?smsid={smsid}")["messages"]
    assert summary["callbacks"] == {"total": 1, "pending": 0, "delivered": 1, "failed": 0, "attempts": 2}
    listed = control.get(f"/_mock/callbacks?smsid={smsid}&state=delivered")
    assert [c["id"] for c in listed["callbacks"]] == [callback["id"]]
    assert listed["callbacks"][0]["attempts"] == callback["attempts"]
    assert control.get("/_mock/callbacks?state=pending")["callbacks"] == []


def test_replaying_a_delivered_callback_sends_it_again_as_a_new_attempt(
        dispatching_app: Flask, receiver: Receiver) -> None:
    client = dispatching_app.test_client()
    control = Control(client)
    smsid = accepted(send_zns(client, PHONE, CallbackUrl=receiver.url))
    wait_for(lambda: control.get(f"/_mock/messages/{smsid}")["callbacks"][0]["state"] == "delivered" or None,
             what="the callback to be delivered")
    replay = control.post(f"/_mock/messages/{smsid}/callback/replay", expect=202)
    assert replay["replayed"] == 1 and replay["callbacks"][0]["state"] == "pending"

    def third_attempt() -> Any:
        [callback] = control.get(f"/_mock/messages/{smsid}")["callbacks"]
        return callback if callback["attempt_count"] == 3 and callback["state"] == "delivered" else None

    callback = wait_for(third_attempt, what="the replayed callback")
    assert (callback["attempts"][2]["attempt"], callback["attempts"][2]["status_code"]) == (3, 200)
    assert len(receiver.paths) == 3 and receiver.paths[2] == receiver.paths[1]


def test_replaying_is_a_409_before_the_callback_is_due_or_without_one_and_a_404_for_no_message(
        control: Control, client: FlaskClient) -> None:
    waiting = accepted(send_zns(client, PHONE, CallbackUrl="http://127.0.0.1:9/esms-callback",
                                SendDate=vietnam_time(3600)))
    assert "not due yet" in control.post(f"/_mock/messages/{waiting}/callback/replay", expect=409)["message"]
    silent = accepted(send_zns(client, PHONE))
    assert "no callback" in control.post(f"/_mock/messages/{silent}/callback/replay", expect=409)["message"]
    control.post("/_mock/messages/nothing-here/callback/replay", expect=404)


def test_the_callback_outbox_lists_pending_callbacks_before_they_are_sent(control: Control, client: FlaskClient) -> None:
    smsid = accepted(send_zns(client, PHONE, CallbackUrl="http://127.0.0.1:9/esms-callback"))
    accepted(send_zns(client, OTHER_PHONE))  # no CallbackUrl: no callback
    outbox = control.get("/_mock/callbacks?state=pending")
    [callback] = outbox["callbacks"]
    assert (callback["smsid"], callback["state"], callback["attempts"]) == (smsid, "pending", [])
    assert callback["next_attempt_at"] == callback["due_at"]
    assert control.get("/_mock/callbacks?state=failed&limit=5")["count"] == 0


@pytest.mark.parametrize("query", ["state=lost", "state=", "limit=0", "limit=", "smsid=x&colour=red"])
def test_bad_callback_queries_are_a_400(control: Control, query: str) -> None:
    assert control.get("/_mock/callbacks?" + query, expect=400)["message"]


def test_an_unknown_message_is_a_404_in_json(control: Control) -> None:
    refused = control.get("/_mock/messages/0123456789abcdef", expect=404)
    assert refused["error"] == "Not Found" and "0123456789abcdef" in refused["message"]


# ---------------------------------------------------------------------------- reset
def test_reset_forgets_messages_request_ids_scenarios_balances_and_the_clock_but_keeps_fixtures(
        control: Control, client: FlaskClient, with_second_oa: None) -> None:
    fixtures_before = control.get("/_mock/fixtures")
    accepted(send_zns(client, PHONE, RequestId="req-once", CallbackUrl="http://127.0.0.1:9/cb"))
    assert client.post(GET_BALANCE, json=CREDENTIALS).get_json()["Balance"] == 1_000_000 - 440
    control.advance(60)
    control.add_scenario(operation="send_zns_v5", match={"Phone": OTHER_PHONE}, code="789")
    assert send_zns(client, OTHER_PHONE)["CodeResult"] == "789"

    done = control.post("/_mock/reset")
    assert done["status"] == "reset" and done["clock"]["offset_seconds"] == 0
    assert control.get("/_mock/messages")["messages"] == []
    assert control.get("/_mock/callbacks")["callbacks"] == []
    assert control.get("/_mock/scenarios")["scenarios"] == []
    assert control.get("/_mock/clock")["offset_seconds"] == 0
    assert control.get("/_mock/fixtures") == fixtures_before
    assert client.post(GET_BALANCE, json=CREDENTIALS).get_json()["Balance"] == 1_000_000
    assert send_zns(client, OTHER_PHONE)["CodeResult"] == "100"  # the scenario no longer applies
    accepted(send_zns(client, PHONE, RequestId="req-once"))  # the RequestId is free again


# ---------------------------------------------------------------------------- scenarios
def test_a_scenario_forces_a_code_for_n_requests_then_answers_normally_again(control: Control, client: FlaskClient) -> None:
    added = control.add_scenario(operation="send_zns_v5", code="789", times=2)
    assert (added["remaining"], added["hits"], added["active"]) == (2, 0, True)
    first, second = send_zns(client), send_zns(client)
    assert [first["CodeResult"], second["CodeResult"]] == ["789", "789"]
    assert first["ErrorMessage"]  # the code's text from the result-code table
    accepted(send_zns(client))
    [listed] = control.get("/_mock/scenarios")["scenarios"]
    assert (listed["id"], listed["hits"], listed["remaining"], listed["active"]) == (added["id"], 2, 0, False)
    assert [m["operation"] for m in control.get("/_mock/messages")["messages"]] == ["send_zns_v5"]


def test_a_scenario_matches_only_requests_with_the_given_field_values(control: Control, client: FlaskClient) -> None:
    control.add_scenario(operation="send_zns_v5", match={"Phone": OTHER_PHONE}, code="108", message="Forced by a test")
    refused = send_zns(client, OTHER_PHONE)
    assert (refused["CodeResult"], refused["ErrorMessage"]) == ("108", "Forced by a test")
    accepted(send_zns(client, PHONE))
    assert send_zns(client, OTHER_PHONE)["CodeResult"] == "108"  # until removed


def test_a_scenario_for_every_operation_applies_to_each_of_them(control: Control, client: FlaskClient) -> None:
    control.add_scenario(operation="*", code="99", times=2)
    assert send_zns(client)["CodeResult"] == "99"
    assert balance_code(client) == "99"
    assert balance_code(client) == "100"


def test_a_scenario_answers_with_an_http_status(control: Control, client: FlaskClient) -> None:
    control.add_scenario(operation="get_balance", http_status=503, times=1)
    response = client.post(GET_BALANCE, json=CREDENTIALS)
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.get_json()["CodeResponse"] == "100"
    assert client.post(GET_BALANCE, json=CREDENTIALS).status_code == 200


def test_a_scenario_adds_latency(control: Control, client: FlaskClient) -> None:
    control.add_scenario(operation="get_balance", latency_ms=300, times=1)
    started = time.perf_counter()
    answer = client.post(GET_BALANCE, json=CREDENTIALS).get_json()
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.3, elapsed
    assert answer["CodeResponse"] == "100" and answer["Balance"] == 1_000_000  # answered normally, only later


def test_a_scenario_drops_the_connection_without_an_answer(control: Control, served_app: str) -> None:
    control.add_scenario(operation="get_balance", drop=True, times=1)
    with httpx.Client(base_url=served_app, timeout=10, trust_env=False) as http:
        with pytest.raises(httpx.TransportError):
            http.post(GET_BALANCE, json=CREDENTIALS)
        answer = http.post(GET_BALANCE, json=CREDENTIALS)  # the server is still there, and the scenario used up
        assert answer.status_code == 200 and answer.json()["CodeResponse"] == "100"


def test_removing_a_scenario_restores_normal_answers(control: Control, client: FlaskClient) -> None:
    kept = control.add_scenario(operation="get_balance", code="101")
    removed = control.add_scenario(operation="send_zns_v5", code="789")
    assert send_zns(client)["CodeResult"] == "789"
    assert control.delete(f"/_mock/scenarios/{removed['id']}") == {"removed": 1}
    accepted(send_zns(client))
    assert [s["id"] for s in control.get("/_mock/scenarios")["scenarios"]] == [kept["id"]]
    assert control.delete(f"/_mock/scenarios/{removed['id']}", expect=404)["error"] == "Not Found"
    assert balance_code(client) == "101"
    assert control.delete("/_mock/scenarios") == {"removed": 1}
    assert balance_code(client) == "100"
    assert control.get("/_mock/scenarios") == {"scenarios": []}


@pytest.mark.parametrize("scenario", [
    {"operation": "send_zns", "code": "789"},  # not an operationId
    {"code": "789"},  # no operation
    {"operation": "send_zns_v5", "code": "78a"},
    {"operation": "send_zns_v5", "code": True},
    {"operation": "send_zns_v5", "http_status": 199},
    {"operation": "send_zns_v5", "http_status": 600},
    {"operation": "send_zns_v5", "http_status": "503"},
    {"operation": "send_zns_v5", "latency_ms": -1},
    {"operation": "send_zns_v5", "latency_ms": 60_001},
    {"operation": "send_zns_v5", "latency_ms": 1.5},
    {"operation": "send_zns_v5", "drop": "yes"},
    {"operation": "send_zns_v5", "code": "789", "times": 0},
    {"operation": "send_zns_v5", "code": "789", "times": 1_000_000_001},
    {"operation": "send_zns_v5", "code": "789", "times": 10**21},  # beyond 64 bits: read as a float
    {"operation": "send_zns_v5", "code": "789", "match": ["Phone"]},
    {"operation": "send_zns_v5", "code": "789", "colour": "red"},
    {"operation": "send_zns_v5"},  # no effect
    {"operation": "send_zns_v5", "latency_ms": 0, "drop": False},  # no effect either
    {"operation": "send_zns_v5", "message": "no code"},
])
def test_an_invalid_scenario_is_refused_and_not_added(control: Control, scenario: dict[str, Any]) -> None:
    refused = control.post("/_mock/scenarios", scenario, expect=400)
    assert refused["error"] == "Invalid scenario" and refused["problems"], refused
    assert control.get("/_mock/scenarios")["scenarios"] == []


@pytest.mark.parametrize("body", ["{", "", "[]", '"text"', "null"])
def test_a_scenario_body_that_is_not_a_json_object_is_a_400(control: Control, body: str) -> None:
    refused = control.post("/_mock/scenarios", data=body, content_type="application/json", expect=400)
    assert refused["error"] == "Malformed JSON"


# ---------------------------------------------------------------------------- the clock
def test_the_clock_reports_real_time_plus_its_offset(control: Control) -> None:
    clock = control.get("/_mock/clock")
    assert clock["offset_seconds"] == 0 and abs(clock["now"] - time.time()) < 5
    assert clock["now_iso"].endswith("+07:00")
    moved = control.advance(90.5)
    assert moved["offset_seconds"] == 90.5 and abs(moved["now"] - time.time() - 90.5) < 5
    assert control.advance(10)["offset_seconds"] == 100.5  # advances add up
    assert control.post("/_mock/clock/reset")["offset_seconds"] == 0


def test_advancing_the_clock_moves_a_message_from_waiting_to_finished(control: Control, client: FlaskClient) -> None:
    smsid = accepted(send_zns(client, PHONE, SendDate=vietnam_time(3600)))  # scheduled an hour ahead
    assert send_status(client, smsid) == 2
    control.advance(3600 + 60)
    assert send_status(client, smsid) == 5


def test_advancing_the_clock_24_hours_frees_a_request_id(control: Control, client: FlaskClient) -> None:
    accepted(send_zns(client, PHONE, RequestId="req-daily"))
    assert send_zns(client, PHONE, RequestId="req-daily")["CodeResult"] == "124"
    control.advance(DAY - 600)
    assert send_zns(client, PHONE, RequestId="req-daily")["CodeResult"] == "124"  # not yet 24 hours
    control.advance(600)
    accepted(send_zns(client, PHONE, RequestId="req-daily"))
    assert len(control.get("/_mock/messages?request_id=req-daily")["messages"]) == 2


def test_advancing_the_clock_sends_the_callbacks_that_became_due(dispatching_app: Flask) -> None:
    receiver = Receiver([200])
    try:
        client = dispatching_app.test_client()
        control = Control(client)
        smsid = accepted(send_zns(client, PHONE, SendDate=vietnam_time(3600), CallbackUrl=receiver.url))
        time.sleep(0.3)
        assert receiver.paths == []  # due in an hour
        control.advance(3600 + 60)
        wait_for(lambda: receiver.paths, timeout=5, what="the callback after the clock moved")
        assert f"SMSID={smsid}" in receiver.paths[0]
    finally:
        receiver.close()


@pytest.mark.parametrize("body", [
    {"seconds": 0}, {"seconds": -5}, {"seconds": "60"}, {"seconds": True}, {"seconds": None}, {},
    {"seconds": 60, "minutes": 1}, {"seconds": 10 * 366 * DAY + 1},
])
def test_the_clock_only_moves_forward_by_a_positive_number_of_seconds(control: Control, body: dict[str, Any]) -> None:
    refused = control.post("/_mock/clock/advance", body, expect=400)
    assert refused["message"]
    assert control.get("/_mock/clock")["offset_seconds"] == 0


def test_a_clock_advance_that_is_not_json_is_a_400(control: Control) -> None:
    refused = control.post("/_mock/clock/advance", data="seconds=60", content_type="application/json", expect=400)
    assert refused["error"] == "Malformed JSON"


# ---------------------------------------------------------------------------- errors
def test_unknown_control_paths_and_methods_are_answered_in_json(client: FlaskClient) -> None:
    for method, path, status in (("GET", "/_mock/nothing", 404), ("DELETE", "/_mock/clock", 405),
                                 ("GET", "/_mock/scenarios/abc", 404)):
        response = client.open(path, method=method)
        assert response.status_code == status and response.mimetype == "application/json"
        assert set(response.get_json()) >= {"error", "message"}


# ---------------------------------------------------------------------------- the spec
def _routes(app: Flask) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("esms_mock_control."):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found |= {(path, method) for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    return found


def test_every_control_route_is_documented_in_the_control_spec_and_vice_versa(app: Flask) -> None:
    documented = {(path, method.upper()) for path, item in control_spec()["paths"].items()
                  for method in item if method in ("get", "put", "post", "delete", "patch")}
    assert _routes(app) == documented


def test_the_control_spec_names_each_operation_in_snake_case_under_the_control_tag() -> None:
    spec = control_spec()
    assert [tag["name"] for tag in spec["tags"]] == ["control"]
    operations = [op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids))
    for op in operations:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", op["operationId"]), op["operationId"]
        assert op["tags"] == ["control"], op["operationId"]
        assert op.get("summary") and op.get("description"), op["operationId"]
        for status, response in op["responses"].items():
            node, _ = _resolve(response, "")
            assert "application/json" in node.get("content", {}), (op["operationId"], status)


def test_the_control_spec_is_valid_openapi() -> None:
    validate_openapi(copy.deepcopy(control_spec()))


def _examples() -> list[tuple[str, str, Any]]:
    """(where, schema pointer, example) for every example in the control spec."""
    spec = control_spec()
    found: list[tuple[str, str, Any]] = []

    def media(content: dict[str, Any], ptr: str) -> None:
        for media_type, entry in content.items():
            schema_ptr = f"{ptr}/{_escape(media_type)}/schema"
            if "example" in entry:
                found.append((f"{ptr}/{media_type}", schema_ptr, entry["example"]))
            for name, example in entry.get("examples", {}).items():
                found.append((f"{ptr}/{media_type}/examples/{name}", schema_ptr, example["value"]))

    for path, item in spec["paths"].items():
        for method, op in item.items():
            op_ptr = f"/paths/{_escape(path)}/{method}"
            if "requestBody" in op:
                media(op["requestBody"]["content"], f"{op_ptr}/requestBody/content")
            for status, response in op["responses"].items():
                if "$ref" not in response:
                    media(response.get("content", {}), f"{op_ptr}/responses/{status}/content")
            for index, parameter in enumerate(op.get("parameters", [])):
                node, ptr = _resolve(parameter, f"{op_ptr}/parameters/{index}")
                if "example" in node:
                    found.append((ptr, f"{ptr}/schema", node["example"]))
    for name, response in spec["components"].get("responses", {}).items():
        media(response.get("content", {}), f"/components/responses/{name}/content")
    for name, parameter in spec["components"].get("parameters", {}).items():
        if "example" in parameter:
            found.append((f"/components/parameters/{name}", f"/components/parameters/{name}/schema", parameter["example"]))
    for name, schema in spec["components"]["schemas"].items():
        if "example" in schema:
            found.append((f"/components/schemas/{name}", f"/components/schemas/{name}", schema["example"]))
        for prop, sub in schema.get("properties", {}).items():
            if isinstance(sub, dict) and "example" in sub:
                found.append((f"/components/schemas/{name}/{prop}", f"/components/schemas/{name}/properties/{prop}",
                              sub["example"]))
    return found


def test_the_control_spec_has_an_example_for_every_json_request_and_response() -> None:
    for path, item in control_spec()["paths"].items():
        for method, op in item.items():
            contents = [("request", op["requestBody"]["content"])] if "requestBody" in op else []
            contents += [(status, response.get("content", {})) for status, response in op["responses"].items()
                         if "$ref" not in response]
            for where, content in contents:
                for media_type, entry in content.items():
                    assert "example" in entry or "examples" in entry, (method, path, where, media_type)


@pytest.mark.parametrize(("where", "schema_ptr", "example"),
                         [pytest.param(*case, id=case[0]) for case in _examples()])
def test_every_control_spec_example_follows_its_schema(where: str, schema_ptr: str, example: Any) -> None:
    assert not schema_problems(schema_ptr, example), (where, schema_problems(schema_ptr, example))
