"""Delivery: what happens to an accepted message, and how every status operation tells it.

The callback query stored in the outbox (`store.all_callbacks()`) is the reference: before the
delivery delay no operation shows an outcome, after it GetSendStatus, GetSmsReceiverStatus_get,
ZaloCallback/GetCallback, GetZaloMessageStatus and QueryZnsStatus all say what the callback says.
Magic recipients (0900000NNN, 9000000000000000NNN, the SHA-256 of 84900000NNN) and per-recipient
fixture outcomes pick the outcome. The callback's query differs by message family.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from esms_mock_support import (
    CALLBACK_URL,
    CREDENTIALS,
    DELAY,
    FOLLOWER,
    JOURNEY_TEMPLATE,
    OAID,
    OTHER_CREDENTIALS,
    OTP_TEMPLATE,
    PHONE,
    SLOW_DELAY,
    Esms,
    follow_ref,
    spec_registry,
    advance,
    callback_queries,
    hash_phone,
    new_request_id,
    spec_document,
    valid_request,
)
from mock_server.store.clock import VIETNAM
from openapi_schema_validator import OAS30Validator

# ---------------------------------------------------------------------------- helpers
ZNS_RESULT_FIELDS = ("SendStatus", "SendSuccess", "SendFailed", "TotalSent")


def send(esms: Esms, op_id: str, recipient: str | None = None, **overrides: Any) -> str:
    """Send `op_id`'s valid request with a CallbackUrl, to `recipient` (phone, user id or hash)."""
    field = {"send_zns_v5": "Phone", "send_zns_v6": "Phone", "send_zns_v4": "Phone", "send_full_content_json": "Phone",
             "send_zns_by_uid": "ZaloUid", "send_zns_by_hashed_phone": "HashPhone",
             "send_follower_message_v4": "User_id"}.get(op_id)
    if recipient is not None and field is not None:
        overrides[field] = recipient
    if op_id != "send_full_content_json":
        overrides.setdefault("CallbackUrl", CALLBACK_URL)
    body = valid_request(op_id, **overrides)
    if recipient is not None and op_id == "send_follower_message_v5":
        body["Payload"]["recipient"]["user_id"] = recipient
    return esms.ok(op_id, body)["SMSID"]  # type: ignore[no-any-return]


def query_of(store, smsid: str) -> dict[str, str] | None:
    queries = callback_queries(store, smsid)
    assert len(queries) <= 1, queries
    return queries[0] if queries else None


def decoded_error_info(query: dict[str, str]) -> dict[str, Any]:
    """`error_info` as JSON, whatever the family's encoding (see DeliveryCallback in the spec)."""
    raw = query["error_info"]
    if query["TypeId"] in ("26", "27"):
        return json.loads(unquote(raw).rsplit("____", 1)[0])  # type: ignore[no-any-return]
    value = json.loads(raw)
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[no-any-return]



@pytest.fixture
def db_location(store_location: str) -> str:
    """Every test of this module runs on both store backends (SQLite and PostgreSQL)."""
    return store_location

@pytest.fixture
def slow_esms(slow_app) -> Esms:
    return Esms(slow_app.test_client())


@pytest.fixture
def slow_store(slow_app):
    return slow_app.extensions["esms_mock"].store


def views(esms: Esms, store, smsid: str) -> dict[str, Any]:
    """What every status operation says about a one-recipient message."""
    status = esms.ok("get_send_status", {**CREDENTIALS, "RefId": smsid})
    receivers = esms.ok("get_receiver_status", {**CREDENTIALS, "RefId": smsid})["ReceiverList"]
    message = store.message(smsid)
    stored = esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": [smsid], "OAId": message["oaid"] or OAID})
    zalo_id = store.recipients(smsid)[0]["zalo_msg_id"]
    zalo = esms.ok("get_zalo_message_status", {**CREDENTIALS, "OAID": message["oaid"] or OAID, "MessageId": zalo_id})
    zns = esms.call("query_zns_status", {**CREDENTIALS, "SmsId": smsid, "SmsType": "25"})
    return {"status": status, "receivers": receivers, "callback_data": stored["Data_callback"], "zalo": zalo["Data"],
            "zns": zns.body.get("Data") if zns.code == "100" else zns.code, "query": query_of(store, smsid),
            "zalo_id": zalo_id}


def assert_same_story(seen: dict[str, Any]) -> None:
    """After the final state: every operation agrees with the callback query."""
    query, status = seen["query"], seen["status"]
    assert query is not None, "no callback in the outbox"
    for name in ZNS_RESULT_FIELDS:
        assert status[name] == int(query[name]), (name, status, query)
    assert status["TotalPrice"] == pytest.approx(float(query["TotalPrice"]))
    [receiver] = seen["receivers"]
    assert receiver["IsSent"] == (query["TotalSent"] == "1")
    assert receiver["SentResult"] == (query["SendSuccess"] == "1")
    assert receiver["Phone"] == query["phonenumber"]
    [stored] = seen["callback_data"]
    assert stored["SMSID"] == query["SMSID"]
    for name in ZNS_RESULT_FIELDS:
        assert stored[name] == int(query[name]), (name, stored, query)
    assert stored["TotalPrice"] == pytest.approx(float(query["TotalPrice"]))
    assert stored["TypeId"] == int(query["TypeId"])
    assert stored["PhoneNumber"] == query["phonenumber"]
    assert stored["Partnerids"] == query["partnerids"]
    assert stored["RequestId"] == (query["RequestId"] or None)
    assert stored["OAId"] == query["oaid"]
    assert stored["ZnsTempId"] == query.get("tempid", "")
    if "telcoid" in query:
        assert stored["Telcoid"] == int(query["telcoid"])
    assert json.loads(stored["ErrorInfo"])["error"] == decoded_error_info(query)["error"]
    delivered = query["SendSuccess"] == "1"
    assert seen["zalo"]["status"] == (1 if delivered else -1)
    if isinstance(seen["zns"], dict):
        zns = seen["zns"]
        assert zns["FinalStatus"] == "1"
        assert zns["ErrorInfo"] == ("0" if delivered else str(decoded_error_info(query)["error"]))
        for name in ZNS_RESULT_FIELDS:
            assert zns[name] == int(query[name])
        assert zns["ZaloMsgId"] == seen["zalo_id"]


# ---------------------------------------------------------------------------- the callback against the spec
@pytest.fixture(scope="module")
def callback_schema() -> dict[str, Any]:
    node, _ = follow_ref(spec_document(), {"$ref": "#/components/schemas/DeliveryCallback"}, "")
    return node  # type: ignore[no-any-return]


def assert_queryfollow_refs_the_spec(query: dict[str, str], schema: dict[str, Any]) -> None:
    properties = schema["properties"]
    assert set(query) <= set(properties), set(query) - set(properties)
    assert set(schema["required"]) <= set(query)
    document = spec_document()
    for name, value in query.items():
        kind = follow_ref(document, properties[name], "")[0].get("type")
        if kind == "integer":
            assert value.lstrip("-").isdigit(), (name, value)
        elif kind == "number":
            float(value)
    assert int(query["SendStatus"]) in (0, 1, 2, 4, 5, 7)
    if "error_info" in query:
        info = decoded_error_info(query)
        validator = OAS30Validator({"$ref": "urn:esms-zalo:spec#/components/schemas/ZaloErrorInfo"}, registry=spec_registry())
        errors = [e.message for e in validator.iter_errors(info)]
        assert not errors, errors


# ---------------------------------------------------------------------------- before the delay
STATUS_OPERATIONS_SENDS = ("send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_by_uid", "send_zns_by_hashed_phone",
                           "send_follower_message_v4", "send_follower_message_v5")


@pytest.mark.parametrize("op_id", STATUS_OPERATIONS_SENDS)
def test_before_the_delay_no_operation_shows_an_outcome(slow_esms, slow_store, op_id):
    smsid = send(slow_esms, op_id)
    seen = views(slow_esms, slow_store, smsid)
    assert (seen["status"]["SendStatus"], seen["status"]["SendSuccess"], seen["status"]["SendFailed"]) == (2, 0, 0)
    assert seen["receivers"][0]["IsSent"] is False and seen["receivers"][0]["SentResult"] is False
    assert seen["callback_data"] == []
    assert seen["zalo"]["status"] == 0 and seen["zalo"]["delivery_time"] is None
    if isinstance(seen["zns"], dict):
        assert (seen["zns"]["FinalStatus"], seen["zns"]["ErrorInfo"], seen["zns"]["SendStatus"]) == ("0", None, 2)
    [row] = slow_store.all_callbacks(smsid=smsid)
    assert row["state"] == "pending" and row["attempts"] == 0
    assert row["due_at"] == pytest.approx(slow_store.message(smsid)["final_at"])


def test_half_way_the_message_is_with_the_carrier(slow_esms, slow_store):
    smsid = send(slow_esms, "send_zns_v6")
    advance(slow_store, SLOW_DELAY * 0.75)
    seen = views(slow_esms, slow_store, smsid)
    assert (seen["status"]["SendStatus"], seen["status"]["TotalSent"], seen["status"]["SendSuccess"]) == (7, 1, 0)
    assert seen["receivers"][0]["IsSent"] is True and seen["receivers"][0]["SentResult"] is False
    assert seen["callback_data"] == []
    assert seen["zns"]["FinalStatus"] == "0"
    advance(slow_store, SLOW_DELAY)
    assert views(slow_esms, slow_store, smsid)["status"]["SendStatus"] == 5


def test_the_final_state_comes_with_real_time_too(esms, store):
    smsid = send(esms, "send_zns_v6")
    time.sleep(DELAY * 1.5)
    assert_same_story(views(esms, store, smsid))
    assert views(esms, store, smsid)["status"]["SendStatus"] == 5


# ---------------------------------------------------------------------------- after the delay: the same story
MAGIC_PHONE_CASES = [  # (recipient, SendStatus, SendSuccess, zalo error)
    ("0901888484", 5, 1, 0),
    ("0900000114", 5, 0, -114),
    ("0900000124", 5, 0, -124),
    ("0900000004", 4, 0, -1),
    ("0900000001", 5, 1, 0),
    ("0900000777", 5, 1, 0),  # an unassigned magic number is delivered
]


@pytest.mark.parametrize("op_id", ["send_zns_v5", "send_zns_v6", "send_zns_v4"])
@pytest.mark.parametrize("phone,send_status,success,error", MAGIC_PHONE_CASES)
def test_magic_phone_outcome_is_told_alike_by_every_status_operation(esms, store, op_id, phone, send_status, success, error):
    smsid = send(esms, op_id, phone)
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    query = seen["query"]
    assert (int(query["SendStatus"]), int(query["SendSuccess"])) == (send_status, success)
    assert decoded_error_info(query)["error"] == error
    if send_status == 4:
        assert (query["TotalSent"], query["SendFailed"], seen["receivers"][0]["IsSent"]) == ("0", "1", False)


@pytest.mark.parametrize("phone", ["0900000114", "84900000114", "+84900000114"])
def test_magic_phone_works_in_every_phone_form(esms, store, phone):
    smsid = send(esms, "send_zns_v6", phone)
    advance(store)
    assert decoded_error_info(query_of(store, smsid))["error"] == -114


@pytest.mark.parametrize("user_id,success,error", [
    ("9000000000000000114", 0, -114), ("9000000000000000004", 0, -1), ("9000000000000000001", 1, 0)])
@pytest.mark.parametrize("op_id", ["send_zns_by_uid", "send_follower_message_v4", "send_follower_message_v5"])
def test_magic_zalo_user_id_outcome_is_told_alike(esms, store, op_id, user_id, success, error):
    smsid = send(esms, op_id, user_id)
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    assert int(seen["query"]["SendSuccess"]) == success
    assert decoded_error_info(seen["query"])["error"] == error


def test_hash_of_a_magic_phone_in_84_form_has_the_magic_outcome(esms, store):
    assert hash_phone("0900000114") == hashlib.sha256(b"84900000114").hexdigest()
    smsid = send(esms, "send_zns_by_hashed_phone", hash_phone("0900000114"))
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    assert decoded_error_info(seen["query"])["error"] == -114


@pytest.mark.parametrize("form", ["0900000114", "+84900000114", "0912345678", "+84912345678"])
def test_hash_of_a_known_number_in_the_0_or_plus_84_form_returns_108(esms, store, form):
    doc = store.fixtures().document
    doc["recipients"] = {"0912345678": "delivered"}
    store.load_fixtures(doc)
    wrong = hashlib.sha256(form.encode()).hexdigest()
    esms.refused("send_zns_by_hashed_phone", valid_request("send_zns_by_hashed_phone", HashPhone=wrong), "108")
    right = hashlib.sha256(("84" + form.lstrip("+").removeprefix("84").lstrip("0")).encode()).hexdigest()
    esms.send("send_zns_by_hashed_phone", HashPhone=right)


def test_hash_of_an_unknown_number_is_delivered(esms, store):
    smsid = send(esms, "send_zns_by_hashed_phone", hashlib.sha256(b"0987654321").hexdigest())
    advance(store)
    assert query_of(store, smsid)["SendSuccess"] == "1"


@pytest.mark.parametrize("op_id,recipient", [("send_zns_v6", "0900000408"), ("send_zns_by_uid", "9000000000000000408"),
                                             ("send_follower_message_v4", "9000000000000000408")])
def test_never_answered_message_stays_with_the_carrier_without_callback(esms, store, op_id, recipient):
    smsid = send(esms, op_id, recipient)
    advance(store, 7 * 86_400 - 60)
    seen = views(esms, store, smsid)
    assert store.all_callbacks(smsid=smsid) == []
    assert (seen["status"]["SendStatus"], seen["status"]["SendSuccess"], seen["status"]["SendFailed"]) == (7, 0, 0)
    assert seen["receivers"][0]["IsSent"] is True and seen["receivers"][0]["SentResult"] is False
    assert seen["callback_data"] == []
    assert seen["zalo"]["status"] == 0
    if isinstance(seen["zns"], dict):
        assert seen["zns"]["FinalStatus"] == "0"


@pytest.mark.parametrize("op_id", ["send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_bulk", "send_multichannel_message",
                                   "send_auto_generated_otp", "send_full_content_json", "send_full_content_form"])
def test_magic_blocked_phone_is_refused_at_once_with_99(shared_esms, op_id):
    body = valid_request(op_id, Phone="0900000099")
    if op_id == "send_zns_bulk":
        answer = shared_esms.ok(op_id, valid_request(op_id, Data=[{"Phone": "0900000099", "Params": ["1"]}]))
        assert [d["CodeResult"] for d in answer["detail"]] == ["99"]
        return
    shared_esms.refused(op_id, body, "99")


def test_magic_blocked_phone_is_not_charged_nor_journaled(esms, store):
    balance = esms.balance()
    esms.refused("send_zns_v6", valid_request("send_zns_v6", Phone="0900000099"), "99")
    assert esms.balance() == balance
    assert store.connection().execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


# ---------------------------------------------------------------------------- fixture outcomes
RECIPIENT_FIXTURES = {
    "0912345678": "rejected",
    "+84912345679": "never_answered",
    "84912345670": {"zalo_error": -124, "message": "Access token is invalid"},
    "0912345671": {"result_code": "99"},
    "0900000004": "delivered",  # a fixture outcome wins over the magic number
    "7800378501923859643": {"zalo_error": -201, "message": "User blocked the OA"},
}


@pytest.fixture
def recipient_fixtures(store):
    doc = store.fixtures().document
    doc["recipients"] = RECIPIENT_FIXTURES
    store.load_fixtures(doc)


def test_fixture_rejected_recipient(esms, store, recipient_fixtures):
    smsid = send(esms, "send_zns_v6", "0912345678")
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    assert seen["status"]["SendStatus"] == 4


def test_fixture_never_answered_recipient_in_another_phone_form(esms, store, recipient_fixtures):
    smsid = send(esms, "send_zns_v6", "0912345679")
    advance(store)
    assert store.all_callbacks(smsid=smsid) == []
    assert views(esms, store, smsid)["status"]["SendStatus"] == 7


def test_fixture_zalo_error_recipient_keeps_its_message(esms, store, recipient_fixtures):
    smsid = send(esms, "send_zns_v6", "0912345670")
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    assert decoded_error_info(seen["query"]) == {"error": -124, "message": "Access token is invalid"}
    assert seen["status"]["TotalPrice"] == 0


def test_fixture_result_code_recipient_is_refused_at_once(esms, recipient_fixtures):
    esms.refused("send_zns_v6", valid_request("send_zns_v6", Phone="0912345671"), "99")


def test_fixture_outcome_wins_over_the_magic_number(esms, store, recipient_fixtures):
    smsid = send(esms, "send_zns_v6", "0900000004")
    advance(store)
    assert views(esms, store, smsid)["status"]["SendSuccess"] == 1


def test_fixture_outcome_for_a_zalo_user_id(esms, store, recipient_fixtures):
    smsid = send(esms, "send_follower_message_v4", "7800378501923859643")
    advance(store)
    seen = views(esms, store, smsid)
    assert_same_story(seen)
    assert decoded_error_info(seen["query"])["error"] == -201


def test_fixture_outcomes_apply_to_messages_accepted_after_loading(esms, store):
    before = send(esms, "send_zns_v6", "0912345678")
    doc = store.fixtures().document
    doc["recipients"] = RECIPIENT_FIXTURES
    store.load_fixtures(doc)
    after = send(esms, "send_zns_v6", "0912345678")
    advance(store)
    assert views(esms, store, before)["status"]["SendStatus"] == 5
    assert views(esms, store, after)["status"]["SendStatus"] == 4


# ---------------------------------------------------------------------------- the callback query per family
def raw_query(store, smsid: str) -> str:
    [row] = store.all_callbacks(smsid=smsid)
    assert row["url"] == CALLBACK_URL
    return row["query"]  # type: ignore[no-any-return]


def test_zns_by_phone_callback_query(esms, store, callback_schema):
    request_id = new_request_id()
    smsid = send(esms, "send_zns_v6", "0900000114", RequestId=request_id)
    raw = raw_query(store, smsid)
    query = dict(parse_qsl(raw, keep_blank_values=True))
    assert list(query) == ["SMSID", "SendFailed", "SendStatus", "SendSuccess", "TotalPrice", "TotalReceiver", "TotalSent",
                           "RequestId", "TypeId", "telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid"]
    assert_queryfollow_refs_the_spec(query, callback_schema)
    assert (query["SMSID"], query["RequestId"], query["TypeId"], query["oaid"], query["tempid"]) == (
        smsid, request_id, "25", OAID, OTP_TEMPLATE)
    assert (query["phonenumber"], query["telcoid"]) == ("0900000114", "2")  # 090: Mobifone
    assert query["TotalPrice"] == "0.0000" and query["partnerids"] == ""
    # error_info: `{` and `}` left unescaped; after one decoding a JSON string literal.
    assert "error_info=%22{" in raw
    literal = json.loads(query["error_info"])
    assert isinstance(literal, str)
    assert json.loads(literal)["error"] == -114


def test_zns_by_phone_callback_of_a_delivered_message(esms, store, callback_schema):
    smsid = send(esms, "send_zns_v5", PHONE)
    query = dict(parse_qsl(raw_query(store, smsid), keep_blank_values=True))
    assert_queryfollow_refs_the_spec(query, callback_schema)
    assert (query["SendStatus"], query["SendSuccess"], query["SendFailed"], query["TotalSent"]) == ("5", "1", "0", "1")
    assert query["TotalPrice"] == "440.0000" and query["RequestId"] == ""
    assert query["partnerids"] == store.recipients(smsid)[0]["zalo_msg_id"] != ""
    assert json.loads(json.loads(query["error_info"])) == {"error": 0, "message": "Success"}


@pytest.mark.parametrize("op_id", ["send_follower_message_v4", "send_follower_message_v5"])
def test_follower_callback_query(esms, store, callback_schema, op_id):
    smsid = send(esms, op_id, FOLLOWER, RequestId="req-f1")
    raw = raw_query(store, smsid)
    query = dict(parse_qsl(raw, keep_blank_values=True))
    assert_queryfollow_refs_the_spec(query, callback_schema)
    assert query["TypeId"] == "26"
    assert "telcoid" not in query and "tempid" not in query
    assert (query["phonenumber"], query["oaid"], query["TotalPrice"], query["RequestId"]) == (FOLLOWER, OAID, "55.0000", "req-f1")
    assert "%257B" in raw  # double encoded on the wire
    once = query["error_info"]
    assert once.startswith("%7B")  # still percent-encoded after the query's own decoding
    text = unquote(once)
    body, reported = text.split("____")
    info = json.loads(body)
    assert info == {"data": {"message_id": query["partnerids"], "user_id": FOLLOWER}, "error": 0, "message": "Success"}
    at = datetime.strptime(reported, "%d/%m/%Y %H:%M:%S").replace(tzinfo=VIETNAM).timestamp()
    assert at == pytest.approx(store.message(smsid)["final_at"], abs=1.0)


def test_zns_by_uid_callback_query(esms, store, callback_schema):
    smsid = send(esms, "send_zns_by_uid", "9000000000000000114")
    raw = raw_query(store, smsid)
    query = dict(parse_qsl(raw, keep_blank_values=True))
    assert_queryfollow_refs_the_spec(query, callback_schema)
    assert (query["TypeId"], query["telcoid"], query["phonenumber"], query["tempid"]) == ("25", "9", "9000000000000000114", OTP_TEMPLATE)
    info = json.loads(query["error_info"])  # a plain JSON object
    assert isinstance(info, dict)
    assert info["error"] == -114 and set(info["data"]) == {"delivery_time", "message", "status"}
    assert info["data"]["status"] == 0


def test_zns_by_uid_callback_of_a_delivered_message(esms, store):
    smsid = send(esms, "send_zns_by_uid", FOLLOWER)
    info = json.loads(dict(parse_qsl(raw_query(store, smsid)))["error_info"])
    assert info["error"] == 0 and info["data"]["status"] == 1


def journey(**overrides) -> dict:
    return valid_request("send_zns_v4", TempID=JOURNEY_TEMPLATE, Params=["Nguyen Van A", "ORD-001", "Out for delivery"],
                         IsJourney=True, OrderId="journey-ORD-001", CallbackUrl=CALLBACK_URL, **overrides)


def test_journey_callback_query(esms, store, callback_schema):
    smsid = esms.ok("send_zns_v4", journey())["SMSID"]
    query = dict(parse_qsl(raw_query(store, smsid), keep_blank_values=True))
    assert_queryfollow_refs_the_spec(query, callback_schema)
    assert query["TypeId"] == "27"
    assert "telcoid" not in query and "tempid" not in query
    body, _ = unquote(query["error_info"]).split("____")
    assert json.loads(body)["error"] == 0
    advance(store)
    stored = esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": [smsid], "OAId": OAID})["Data_callback"]
    assert [item["TypeId"] for item in stored] == [27]


@pytest.mark.parametrize("order_id", [None, ""])
def test_journey_without_order_id_returns_110(shared_esms, order_id):
    body = journey()
    if order_id is None:
        del body["OrderId"]
    else:
        body["OrderId"] = order_id
    shared_esms.refused("send_zns_v4", body, "110")


def test_message_without_callback_url_queues_no_callback_and_has_no_stored_callback_data(esms, store):
    smsid = esms.send("send_zns_v6")
    advance(store)
    assert store.all_callbacks(smsid=smsid) == []
    assert esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": [smsid], "OAId": OAID})["Data_callback"] == []
    assert esms.ok("get_send_status", {**CREDENTIALS, "RefId": smsid})["SendStatus"] == 5


def test_bulk_items_each_get_their_own_callback(esms, store):
    items = [{"Phone": PHONE, "Params": ["1"], "RequestId": "bulk-a"}, {"Phone": "0900000114", "Params": ["2"]}]
    body = esms.ok("send_zns_bulk", valid_request("send_zns_bulk", Data=items, CallbackUrl=CALLBACK_URL))
    first, second = (item["SMSID"] for item in body["detail"])
    advance(store)
    one, two = query_of(store, first), query_of(store, second)
    assert (one["SendSuccess"], one["RequestId"], one["phonenumber"]) == ("1", "bulk-a", PHONE)
    assert (two["SendSuccess"], two["RequestId"], two["phonenumber"]) == ("0", "", "0900000114")
    assert_same_story(views(esms, store, second))


# ---------------------------------------------------------------------------- status operations themselves
def test_status_of_another_accounts_message_returns_105(esms, fixtures):
    smsid = esms.send("send_zns_v6")
    esms.refused("get_send_status", {**OTHER_CREDENTIALS, "RefId": smsid}, "105")
    esms.refused("get_receiver_status", {**OTHER_CREDENTIALS, "RefId": smsid}, "105")
    esms.refused("query_zns_status", {**OTHER_CREDENTIALS, "SmsId": smsid, "SmsType": "25"}, "854")


def test_status_is_kept_for_7_days(esms, store):
    smsid = esms.send("send_zns_v6")
    advance(store, 7 * 86_400 - 60)
    esms.ok("get_send_status", {**CREDENTIALS, "RefId": smsid})
    advance(store, 120)
    esms.refused("get_send_status", {**CREDENTIALS, "RefId": smsid}, "105")


def test_unknown_smsid_returns_105_and_854(esms):
    esms.refused("get_send_status", {**CREDENTIALS, "RefId": "nope"}, "105")
    esms.refused("get_receiver_status", {**CREDENTIALS, "RefId": "nope"}, "105")
    esms.refused("query_zns_status", {**CREDENTIALS, "SmsId": "nope", "SmsType": "25"}, "854")


def test_query_zns_status_of_a_follower_message_returns_854(esms):
    smsid = esms.send("send_follower_message_v4")
    esms.refused("query_zns_status", {**CREDENTIALS, "SmsId": smsid, "SmsType": "25"}, "854")


@pytest.mark.parametrize("field,code", [("SmsId", "851")])
def test_query_zns_status_without_smsid_returns_851(shared_esms, field, code):
    shared_esms.refused("query_zns_status", {**CREDENTIALS, "SmsType": "25"}, code)


def test_zalo_message_status_without_message_id_returns_851(shared_esms):
    shared_esms.refused("get_zalo_message_status", {**CREDENTIALS, "OAID": OAID}, "851")


def test_zalo_message_status_of_an_unknown_id_is_minus_1(esms):
    data = esms.ok("get_zalo_message_status", {**CREDENTIALS, "OAID": OAID, "MessageId": "ffffffffffffffffffff"})["Data"]
    assert data["status"] == -1


def test_delivered_zalo_message_has_its_delivery_time(esms, store):
    smsid = send(esms, "send_zns_v6")
    advance(store)
    data = views(esms, store, smsid)["zalo"]
    assert data["status"] == 1
    assert int(data["delivery_time"]) == int(store.message(smsid)["final_at"] * 1000)


def test_get_callback_uses_only_the_first_200_ids(esms, store):
    smsid = send(esms, "send_zns_v6")
    advance(store)
    ids = [f"missing-{i}" for i in range(200)] + [smsid]
    assert esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": ids, "OAId": OAID})["Data_callback"] == []
    found = esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": [smsid, *ids], "OAId": OAID})["Data_callback"]
    assert [item["SMSID"] for item in found] == [smsid]


def test_get_callback_of_another_oa_is_empty(esms, store):
    smsid = send(esms, "send_zns_v6")
    advance(store)
    other = "4097311281936189050"
    assert esms.ok("get_callback_data", {**CREDENTIALS, "ListRefid": [smsid], "OAId": other})["Data_callback"] == []


def test_receiver_status_names_the_network(esms, store):
    smsid = send(esms, "send_zns_v6", "0961234567")
    [receiver] = esms.ok("get_receiver_status", {**CREDENTIALS, "RefId": smsid})["ReceiverList"]
    assert (receiver["Phone"], receiver["NetworkName"], receiver["Retry"]) == ("0961234567", "Viettel", 0)
    fsmsid = send(esms, "send_follower_message_v4", FOLLOWER)
    [receiver] = esms.ok("get_receiver_status", {**CREDENTIALS, "RefId": fsmsid})["ReceiverList"]
    assert (receiver["Phone"], receiver["NetworkName"]) == (FOLLOWER, "Zalo")


def _vietnam(at: float) -> str:
    return datetime.fromtimestamp(at, VIETNAM).strftime("%Y-%m-%d %H:%M:%S")


def test_sent_data_lists_the_messages_of_the_type_and_time_range(esms, store):
    zns = send(esms, "send_zns_v6", campaignid="spring")
    follower = send(esms, "send_follower_message_v4")
    failed = send(esms, "send_zns_v5", "0900000114")
    esms.send("send_zns_v6", Sandbox="1")
    advance(store)
    now = time.time() + store.state()[0]
    window = {**CREDENTIALS, "From": _vietnam(now - 3600), "To": _vietnam(now + 60), "Page": 1, "PageSize": 500}
    listed = esms.ok("get_sent_data", {**window, "SmsType": "25"})
    assert listed["CountTotal"] == 2
    by_id = {item["ReferenceId"]: item for item in listed["SentData"]}
    assert set(by_id) == {zns, failed}
    assert (by_id[zns]["SendResult"], by_id[zns]["SendStatus"], by_id[zns]["SellPrice"], by_id[zns]["Campaign"]) == (1, 5, 440, "spring")
    assert (by_id[failed]["SendResult"], by_id[failed]["SellPrice"]) == (0, 0)
    followers = esms.ok("get_sent_data", {**window, "SmsType": "26"})
    assert [item["ReferenceId"] for item in followers["SentData"]] == [follower]
    earlier = {**window, "From": _vietnam(now - 7200), "To": _vietnam(now - 3600)}
    assert esms.ok("get_sent_data", {**earlier, "SmsType": "25"})["CountTotal"] == 0


def test_sent_data_pages(esms, store):
    for _ in range(3):
        esms.send("send_zns_v6")
    now = time.time() + store.state()[0]
    window = {**CREDENTIALS, "SmsType": "25", "From": _vietnam(now - 60), "To": _vietnam(now + 60)}
    first = esms.ok("get_sent_data", {**window, "Page": 1, "PageSize": 2})
    second = esms.ok("get_sent_data", {**window, "Page": "2", "PageSize": "2"})
    assert first["CountTotal"] == second["CountTotal"] == 3
    assert len(first["SentData"]) == 2 and len(second["SentData"]) == 1
    assert not {i["ReferenceId"] for i in first["SentData"]} & {i["ReferenceId"] for i in second["SentData"]}


@pytest.mark.parametrize("page,size", [(0, 10), (1, 0), (1, 501)])
def test_sent_data_refuses_pages_out_of_range(shared_esms, page, size):
    body = valid_request("get_sent_data", Page=page, PageSize=size)
    shared_esms.refused("get_sent_data", body, "110")


def test_a_day_later_nothing_has_changed(esms, store):
    smsid = send(esms, "send_zns_v6", "0900000114")
    advance(store)
    first = views(esms, store, smsid)
    advance(store, 86_400)
    later = views(esms, store, smsid)
    assert later["status"] == first["status"] and later["callback_data"] == first["callback_data"]
