"""Shared fixtures of the mock-server tests.

* `app` / `client` / `store`: a fresh mock with its own SQLite file, a short delivery delay and
  no background callback sender (callbacks stay in the outbox, where the tests read them).
* `esms`: an `Esms` helper that sends a request to an operation the way its spec says (JSON
  body, form body or query string), and checks every answer against the spec before handing it
  back: HTTP status documented for the operation, body valid against the operation's response
  schema (openapi-schema-validator's OAS30Validator, `$ref`s resolved through a referencing
  Registry holding the spec), and the result code one of the operation's `x-esms-result-codes`.
* `valid_request(op_id)`: a request body each operation accepts with the demo fixtures.
* `fixtures_doc()`: the demo fixtures plus the accounts and OAs the behaviour tests need.
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import esms_spec
from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.store.fixtures import DEMO_FIXTURES_PATH
from mock_server.esms.spec import DEFAULT_SPEC_PATH, ApiSpec, Operation
from mock_server.store import Store

API_KEY = "DEMO_API_KEY"
SECRET_KEY = "DEMO_SECRET_KEY"
CREDENTIALS = {"ApiKey": API_KEY, "SecretKey": SECRET_KEY}
OAID = "4097311281936189049"
INACTIVE_OAID = "4097311281936189050"
FOLLOWER = "7800378501923859642"
PHONE = "0901888484"
OTP_TEMPLATE = "205644"
ORDER_TEMPLATE = "205645"
JOURNEY_TEMPLATE = "654321"
CALLBACK_URL = "http://127.0.0.1:9/esms-callback"
SMS_CALLBACK_URL = "http://127.0.0.1:9/sms-callback"
DELAY = 0.2  # the delivery delay of the test app, in seconds

# Accounts and OAs of `fixtures_doc()` beyond the demo ones.
OTHER_API_KEY, OTHER_SECRET_KEY = "OTHER_API_KEY", "OTHER_SECRET_KEY"
OTHER_CREDENTIALS = {"ApiKey": OTHER_API_KEY, "SecretKey": OTHER_SECRET_KEY}
OTHER_OAID = "5000000000000000001"  # an active OA of the other account
QUOTA_OAID = "5000000000000000002"  # daily_quota 1, not allowed SendingMode 3
LOCKED_CREDENTIALS = {"ApiKey": "LOCKED_API_KEY", "SecretKey": "LOCKED_SECRET_KEY"}
IP_CREDENTIALS = {"ApiKey": "IP_API_KEY", "SecretKey": "IP_SECRET_KEY"}
POOR_CREDENTIALS = {"ApiKey": "POOR_API_KEY", "SecretKey": "POOR_SECRET_KEY"}
POOR_OAID = "5000000000000000003"
POOR_BALANCE = 500.0  # one ZNS (440) fits, a second does not
ALLOWED_IP = "10.9.8.7"

SPEC_URI = "urn:esms-zalo:spec"
CODE_FIELDS = ("CodeResult", "CodeResponse", "Code", "Error")


# ---------------------------------------------------------------------------- the spec
@lru_cache(maxsize=1)
def api_spec() -> ApiSpec:
    return ApiSpec.load()


@lru_cache(maxsize=1)
def spec_document() -> dict[str, Any]:
    return esms_spec.load_spec(esms_spec.ESMS_SPEC)


def operation(op_id: str) -> Operation:
    return api_spec().operations[op_id]


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def follow_ref(document: dict[str, Any], node: Any, ptr: str) -> tuple[Any, str]:
    """Follow `$ref`s from `node` (at JSON pointer `ptr`) to the node they name and its pointer."""
    while isinstance(node, dict) and "$ref" in node:
        ptr = node["$ref"].removeprefix("#")
        node = document
        for part in ptr.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, ptr


@lru_cache(maxsize=1)
def spec_registry() -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec_document(), default_specification=DRAFT4))


@lru_cache(maxsize=None)
def response_validators(op_id: str) -> dict[int, OAS30Validator]:
    """The operation's documented HTTP statuses, each with a validator of its JSON body."""
    document = spec_document()
    op = operation(op_id)
    op_ptr = f"/paths/{_escape(op.path)}/{op.method.lower()}"
    raw = document["paths"][op.path][op.method.lower()]
    found: dict[int, OAS30Validator] = {}
    for status, response in raw["responses"].items():
        node, ptr = follow_ref(document, response, f"{op_ptr}/responses/{status}")
        content = node["content"]
        media = "application/json" if "application/json" in content else next(iter(content))
        schema_ptr = f"{ptr}/content/{_escape(media)}/schema"
        uri = SPEC_URI + "#" + quote(schema_ptr, safe="/~")
        found[int(status)] = OAS30Validator({"$ref": uri}, registry=spec_registry())
    return found


def spec_problems(op_id: str, status: int, body: Any) -> list[str]:
    """What is wrong with an answer, measured against the spec; empty when it follows it."""
    op = operation(op_id)
    validators = response_validators(op_id)
    problems: list[str] = []
    validator = validators.get(status)
    if validator is None:
        return [f"HTTP {status} is not a documented response of {op_id} (documented: {sorted(validators)})"]
    for error in validator.iter_errors(body):
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        problems.append(f"{where}: {error.message}")
    if not isinstance(body, dict) or op.code_field not in body:
        problems.append(f"no {op.code_field} in the answer")
        return problems
    code = str(body[op.code_field])
    if op.code_field == "Error" and code == "0":
        code = "100"
    allowed = set(op.result_codes) | ({"110"} if status == 413 else set())
    if code not in allowed:
        problems.append(f"code {code} is not one of {op_id}'s x-esms-result-codes {sorted(op.result_codes, key=int)}")
    return problems


def code_of(op_id: str, body: dict[str, Any]) -> str:
    """The answer's result code as a string, `"100"` for success whatever the envelope."""
    op = operation(op_id)
    value = body[op.code_field]
    if op.code_field == "Error" and value == 0:
        return "100"
    return str(value)


# ---------------------------------------------------------------------------- fixtures data
def demo_document() -> dict[str, Any]:
    with open(DEMO_FIXTURES_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def fixtures_doc() -> dict[str, Any]:
    """The demo fixtures and, beside them, the accounts the behaviour table needs."""
    doc = demo_document()
    doc["accounts"] += [
        {"api_key": OTHER_API_KEY, "secret_key": OTHER_SECRET_KEY, "balance": 1_000_000,
         "oas": [{"oaid": OTHER_OAID, "templates": [{"id": OTP_TEMPLATE, "params": [{"name": "otp", "max_length": 10}]}]}]},
        {"api_key": LOCKED_CREDENTIALS["ApiKey"], "secret_key": LOCKED_CREDENTIALS["SecretKey"], "status": "locked"},
        {"api_key": IP_CREDENTIALS["ApiKey"], "secret_key": IP_CREDENTIALS["SecretKey"], "allowed_ips": [ALLOWED_IP]},
        {"api_key": POOR_CREDENTIALS["ApiKey"], "secret_key": POOR_CREDENTIALS["SecretKey"], "balance": POOR_BALANCE,
         "oas": [{"oaid": POOR_OAID, "templates": [{"id": OTP_TEMPLATE, "params": [{"name": "otp", "max_length": 10}]}]}]},
    ]
    demo = doc["accounts"][0]
    demo["oas"].append({
        "oaid": QUOTA_OAID, "name": "Quota OA", "daily_quota": 1, "exceed_quota_allowed": False,
        "templates": [{"id": OTP_TEMPLATE, "params": [{"name": "otp", "max_length": 10}]}],
    })
    return doc


def hash_phone(phone: str) -> str:
    """SHA-256 of the `84...` form, as hash_phone expects it."""
    digits = phone.lstrip("+")
    international = "84" + digits[1:] if digits.startswith("0") else digits
    return hashlib.sha256(international.encode()).hexdigest()


def new_request_id() -> str:
    return "req-" + uuid.uuid4().hex[:20]


_FOLLOWER_V5_MEDIA = {
    "recipient": {"user_id": FOLLOWER},
    "message": {"text": "Here is your picture", "attachment": {"type": "template", "payload": {
        "template_type": "media", "elements": [{"media_type": "image", "url": "https://cdn.example/photo.jpg"}]}}},
}


def transaction_payload(elements: list[dict[str, Any]], user_id: str = FOLLOWER) -> dict[str, Any]:
    return {"recipient": {"user_id": user_id}, "message": {"attachment": {"type": "template", "payload": {
        "template_type": "transaction_order", "language": "EN", "elements": elements}}}}


VALID_TABLE = {"type": "table", "content": [{"key": "Order Code", "value": "ORD-001"},
                                            {"key": "Status", "value": "Shipping", "style": "yellow"}]}

_VALID: dict[str, dict[str, Any]] = {
    "send_follower_message_v4": {"OAID": OAID, "User_id": FOLLOWER, "Content": "Thanks for following us."},
    "send_follower_message_v5": {"OAID": OAID, "Payload": _FOLLOWER_V5_MEDIA},
    "send_zns_v5": {"OAID": OAID, "Phone": PHONE, "TempID": OTP_TEMPLATE, "TempData": [{"key": "otp", "value": "123456"}]},
    "send_zns_v6": {"OAID": OAID, "Phone": PHONE, "TempID": OTP_TEMPLATE, "TempData": {"otp": "123456"}},
    "send_zns_by_uid": {"OAID": OAID, "ZaloUid": FOLLOWER, "TempID": OTP_TEMPLATE, "TempData": {"otp": "123456"}},
    "send_zns_by_hashed_phone": {"OAID": OAID, "HashPhone": hash_phone(PHONE), "TempID": OTP_TEMPLATE,
                                 "TempData": {"otp": "123456"}},
    "send_zns_v4": {"OAID": OAID, "Phone": PHONE, "TempID": OTP_TEMPLATE, "Params": ["123456"]},
    "send_multichannel_message": {"Phone": PHONE, "Channels": ["zalo", "sms"], "Data": [
        {"TempID": OTP_TEMPLATE, "Params": ["654321"], "OAID": OAID},
        {"Content": "654321 is your verification code", "IsUnicode": "0", "SmsType": "2", "Brandname": "DEMO"}]},
    "send_auto_generated_otp": {"Phone": PHONE, "TimeAlive": "5", "MultiChannelTempId": "12345", "TypeId": "2"},
    "check_otp": {"Phone": PHONE, "Code": "000000"},
    "send_zns_bulk": {"OAID": OAID, "TempID": OTP_TEMPLATE, "Data": [{"Phone": PHONE, "Params": ["123456"]}]},
    "send_full_content_form": {"Phone": PHONE, "Content": "Your order ORD-001 is confirmed", "Smstype": "25", "OAID": OAID},
    "send_full_content_json": {"SmsType": "25", "OAID": OAID, "Phone": PHONE, "Content": "Your order ORD-001 is confirmed"},
    "get_send_status": {"RefId": "0" * 35},
    "get_receiver_status": {"RefId": "0" * 35},
    "get_sent_data": {"SmsType": "25", "From": "2025-01-01 00:00:00", "To": "2025-01-02 00:00:00", "Page": 1, "PageSize": 500},
    "get_callback_data": {"ListRefid": ["0" * 35], "OAId": OAID},
    "get_zalo_message_status": {"OAID": OAID, "MessageId": "e1a60e8890be9de4c4ab"},
    "query_zns_status": {"SmsId": "0" * 35, "SmsType": "25"},
    "estimate_zns_price": {"Phone": PHONE, "Params": ["123456"], "TempID": OTP_TEMPLATE, "OAID": OAID},
    "get_balance": {},
    "list_oas": {},
    "list_templates": {"OAId": OAID, "SmsType": "25"},
    "get_template_info": {"TemplateId": OTP_TEMPLATE, "OAId": OAID},
    "get_quota": {"OAID": OAID},
    "get_quality": {"OAID": OAID},
    "get_ratings": {"OAID": OAID, "TemplateID": ORDER_TEMPLATE, "FromTime": "2025-01-01 00:00:00",
                    "ToTime": "2025-01-07 23:59:59", "Offset": "0", "Limit": "50"},
    "get_followers": {"OAID": OAID, "Offset": 0, "Count": 50},
    "query_uid_list": {"OAID": OAID, "Offset": 0, "Count": 50, "FromDate": "01/01/2025", "ToDate": "31/01/2025"},
    "register_zns_template": {"Content": "Dear {{customer_name}}, your order {{order_code}} is confirmed.",
                              "ImageUrl": "https://cdn.example/logo.png", "OAID": OAID, "SmsType": "25"},
    "register_oa_package": {"Dateactive": "2025-01-01", "Duaration": "12", "OAID": OAID, "Package": 3},
}

# Operations whose valid request is a message sent (and so answered with an SMSID).
SEND_OPERATIONS = (
    "send_follower_message_v4", "send_follower_message_v5", "send_zns_v5", "send_zns_v6", "send_zns_by_uid",
    "send_zns_by_hashed_phone", "send_zns_v4", "send_multichannel_message", "send_auto_generated_otp",
    "send_full_content_form", "send_full_content_json",
)
ZNS_BY_PHONE_OPERATIONS = ("send_zns_v5", "send_zns_v6", "send_zns_v4")
ZNS_TEMPLATE_OPERATIONS = ("send_zns_v5", "send_zns_v6", "send_zns_by_uid", "send_zns_by_hashed_phone", "send_zns_v4")
FOLLOWER_OPERATIONS = ("send_follower_message_v4", "send_follower_message_v5")


def valid_request(op_id: str, credentials: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """A request `op_id` accepts with the demo fixtures; `overrides` replace top-level fields (None removes one)."""
    body = {**(credentials or CREDENTIALS), **copy.deepcopy(_VALID[op_id])}
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


_fresh_counter = iter(range(1, 1_000_000))


def fresh_request(op_id: str, credentials: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    """Like `valid_request`, but never the same registration twice (the second would be 199)."""
    body = valid_request(op_id, credentials, **overrides)
    n = next(_fresh_counter)
    if op_id == "register_zns_template":
        body["Content"] += f" #{n}"
    elif op_id == "register_oa_package":
        body["Dateactive"] = f"{2000 + n // 365 % 100:04d}-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        body["Duaration"] = str(n % 1000)
    return body


# ---------------------------------------------------------------------------- the client helper
@dataclass
class Answer:
    status: int
    body: Any
    op_id: str

    @property
    def code(self) -> str:
        return code_of(self.op_id, self.body)


class Esms:
    """Sends requests to the mock's eSMS operations and checks every answer against the spec."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def call(self, op_id: str, data: Any = None, *, raw: bytes | str | None = None, content_type: str | None = "auto",
             path: str | None = None, remote_addr: str | None = None, query: str | None = None) -> Answer:
        """One request. `data` is sent the operation's way; `raw` is sent as the body as it is."""
        op = operation(op_id)
        url = path or op.path
        kwargs: dict[str, Any] = {}
        if remote_addr is not None:
            kwargs["environ_base"] = {"REMOTE_ADDR": remote_addr}
        if op.reads_query:
            qs = query if query is not None else urlencode(data or {})
            response = self.client.get(url + ("?" + qs if qs else ""), **kwargs)
        else:
            if raw is None:
                if op.is_form:
                    raw = urlencode(data or {})
                    content_type = "application/x-www-form-urlencoded" if content_type == "auto" else content_type
                else:
                    raw = json.dumps(data, ensure_ascii=False)
            if content_type == "auto":
                content_type = "application/x-www-form-urlencoded" if op.is_form else "application/json"
            headers = {"Content-Type": content_type} if content_type else {}
            response = self.client.post(url, data=raw, headers=headers, **kwargs)
        text = response.get_data(as_text=True)
        assert "Traceback" not in text, text[:2000]
        assert response.mimetype == "application/json", (response.status_code, response.mimetype, text[:500])
        body = json.loads(text)
        problems = spec_problems(op_id, response.status_code, body)
        assert not problems, f"{op_id} answered HTTP {response.status_code} {text[:500]}\n" + "\n".join(problems)
        return Answer(response.status_code, body, op_id)

    def ok(self, op_id: str, data: Any = None, **kwargs: Any) -> dict[str, Any]:
        """A request that must be accepted (HTTP 200, code 100); its answer's body."""
        answer = self.call(op_id, data, **kwargs)
        assert (answer.status, answer.code) == (200, "100"), answer.body
        return answer.body  # type: ignore[no-any-return]

    def refused(self, op_id: str, data: Any, code: str, **kwargs: Any) -> dict[str, Any]:
        """A request that must be refused with `code` (HTTP 200); its answer's body."""
        answer = self.call(op_id, data, **kwargs)
        assert (answer.status, answer.code) == (200, code), answer.body
        return answer.body  # type: ignore[no-any-return]

    def send(self, op_id: str, credentials: dict[str, str] | None = None, **overrides: Any) -> str:
        """Send the operation's valid request (with overrides); the accepted SMSID."""
        body = self.ok(op_id, valid_request(op_id, credentials, **overrides))
        assert isinstance(body.get("SMSID"), str) and body["SMSID"], body
        return body["SMSID"]  # type: ignore[no-any-return]

    def balance(self, credentials: dict[str, str] | None = None) -> float:
        return float(self.ok("get_balance", {**(credentials or CREDENTIALS)})["Balance"])

    def remaining_quota(self, oaid: str = OAID, credentials: dict[str, str] | None = None) -> int:
        return int(self.ok("get_quota", {**(credentials or CREDENTIALS), "OAID": oaid})["RemainingQuota"])


# ---------------------------------------------------------------------------- pytest fixtures
@pytest.fixture(scope="session", autouse=True)
def _parse_the_spec_once() -> Iterator[None]:
    """Every test builds its own app; parse the spec file once per content instead of each time.

    The cache is keyed by the file's path and modification time, so an edited spec is re-read.
    """
    original = ApiSpec.load.__func__  # type: ignore[attr-defined]
    parsed: dict[tuple[str, int], ApiSpec] = {}

    def load(cls: type[ApiSpec], path: Path | str = DEFAULT_SPEC_PATH) -> ApiSpec:
        key = (str(path), Path(path).stat().st_mtime_ns)
        if key not in parsed:
            parsed[key] = original(cls, path)
        return parsed[key]

    ApiSpec.load = classmethod(load)  # type: ignore[method-assign,assignment]
    yield
    ApiSpec.load = classmethod(original)  # type: ignore[method-assign,assignment]


@pytest.fixture
def db_location(tmp_path: Path) -> str | Path:
    """The database of `app`: SQLite. A module whose behaviour tests run on both backends overrides
    it with `store_location` (tests/conftest.py)."""
    return tmp_path / "db.sqlite3"


@pytest.fixture
def app(db_location: str | Path) -> Iterator[Flask]:
    flask_app = create_app(MockConfig(db_path=db_location, delivery_delay=DELAY, start_dispatcher=False))
    flask_app.testing = True
    yield flask_app
    flask_app.extensions["esms_mock"].shutdown()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def store(app: Flask) -> Store:
    return app.extensions["esms_mock"].store  # type: ignore[no-any-return]


@pytest.fixture
def esms(client: FlaskClient) -> Esms:
    return Esms(client)


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for a whole module, with `fixtures_doc()` loaded: for the many parametrized tests
    whose requests are refused (or whose effects no other test reads), where a fresh app per
    case would only cost time."""
    db_path = tmp_path_factory.mktemp("shared") / "db.sqlite3"
    flask_app = create_app(MockConfig(db_path=db_path, delivery_delay=DELAY, start_dispatcher=False))
    flask_app.testing = True
    flask_app.extensions["esms_mock"].store.load_fixtures(fixtures_doc())
    yield flask_app
    flask_app.extensions["esms_mock"].shutdown()


@pytest.fixture
def shared_esms(shared_app: Flask) -> Esms:
    return Esms(shared_app.test_client())


SLOW_DELAY = 60.0


@pytest.fixture
def slow_app(tmp_path: Path) -> Iterator[Flask]:
    """An app whose messages take a minute to reach their final state: the states before it
    can be looked at without racing the real clock."""
    flask_app = create_app(MockConfig(db_path=tmp_path / "slow.sqlite3", delivery_delay=SLOW_DELAY, start_dispatcher=False))
    flask_app.testing = True
    yield flask_app
    flask_app.extensions["esms_mock"].shutdown()


@pytest.fixture
def fixtures(store: Store) -> dict[str, Any]:
    """Load `fixtures_doc()` (demo data plus the extra accounts) into the app; the document."""
    doc = fixtures_doc()
    store.load_fixtures(doc)
    return doc


# ---------------------------------------------------------------------------- callbacks and time
def advance(store: Store, seconds: float = DELAY * 2 + 0.1) -> None:
    """Move the mock clock forward past the delivery delay."""
    store.set_clock_offset(store.state()[0] + seconds)


def callback_queries(store: Store, smsid: str) -> list[dict[str, str]]:
    """The outbox's callback queries for one message, parsed (one URL-decoding), oldest first."""
    rows = sorted(store.all_callbacks(smsid=smsid), key=lambda row: row["id"])
    return [dict(parse_qsl(row["query"], keep_blank_values=True)) for row in rows]


def callback_rows(store: Store, smsid: str) -> list[Any]:
    return sorted(store.all_callbacks(smsid=smsid), key=lambda row: row["id"])
