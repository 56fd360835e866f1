"""What the send operations accept and refuse, and what accepting costs.

Rows of the behaviour table: template data 790, missing OAID/TempID 791, phone 108, follower
payload 210 (and text over 2,000 characters), RequestId length and its 24-hour uniqueness (124),
balance 103, the daily OA quota, Sandbox, SendingMode 3 (801/802), zalo_uid 852/853, bulk
(687 and per-item results), multichannel (110, 104, SMS fallback), the auto OTP and its check.
"""

from __future__ import annotations

import json

import pytest
from mock_server.store.clock import parse_vietnam_datetime
from esms_mock_support import (
    CALLBACK_URL,
    CREDENTIALS,
    DELAY,
    FOLLOWER,
    JOURNEY_TEMPLATE,
    ORDER_TEMPLATE,
    OTHER_CREDENTIALS,
    OTHER_OAID,
    PHONE,
    POOR_BALANCE,
    POOR_CREDENTIALS,
    POOR_OAID,
    QUOTA_OAID,
    SEND_OPERATIONS,
    SMS_CALLBACK_URL,
    VALID_TABLE,
    ZNS_BY_PHONE_OPERATIONS,
    ZNS_TEMPLATE_OPERATIONS,
    advance,
    callback_queries,
    new_request_id,
    transaction_payload,
    valid_request,
)


@pytest.fixture
def db_location(store_location: str) -> str:
    """Every test of this module runs on both store backends (SQLite and PostgreSQL)."""
    return store_location


ORDER_VALUES = {"customer_name": "Nguyen Van A", "order_code": "ORD-001", "payment_amount": "250000"}


def order_request(op_id: str, values: dict[str, str] | list[str]) -> dict:
    """A ZNS request for the three-variable order template, with `values` as the operation takes them."""
    body = valid_request(op_id, TempID=ORDER_TEMPLATE)
    if op_id == "send_zns_v5":
        body["TempData"] = [{"key": k, "value": v} for k, v in values.items()] if isinstance(values, dict) else values
    elif op_id in ("send_zns_v4", "estimate_zns_price"):
        body["Params"] = list(values.values()) if isinstance(values, dict) else values
    else:
        body["TempData"] = values
    return body


def journal_row(store, smsid: str):
    row = store.message(smsid)
    assert row is not None, f"{smsid} is not in the journal"
    return row


# ---------------------------------------------------------------------------- 790: template data
KEYED_OPERATIONS = ("send_zns_v5", "send_zns_v6", "send_zns_by_uid", "send_zns_by_hashed_phone")


@pytest.mark.parametrize("op_id", [*KEYED_OPERATIONS, "send_zns_v4"])
def test_values_that_fit_the_template_are_accepted(esms, op_id):
    esms.ok(op_id, order_request(op_id, ORDER_VALUES))


@pytest.mark.parametrize("op_id", KEYED_OPERATIONS)
def test_unknown_template_key_returns_790(shared_esms, op_id):
    shared_esms.refused(op_id, order_request(op_id, {**ORDER_VALUES, "coupon": "X"}), "790")


@pytest.mark.parametrize("op_id", KEYED_OPERATIONS)
def test_missing_required_template_value_returns_790(shared_esms, op_id):
    values = {k: v for k, v in ORDER_VALUES.items() if k != "order_code"}
    shared_esms.refused(op_id, order_request(op_id, values), "790")


@pytest.mark.parametrize("op_id", KEYED_OPERATIONS)
def test_empty_required_template_value_returns_790(shared_esms, op_id):
    shared_esms.refused(op_id, order_request(op_id, {**ORDER_VALUES, "customer_name": ""}), "790")


@pytest.mark.parametrize("op_id", KEYED_OPERATIONS)
def test_missing_optional_template_value_is_accepted(esms, op_id):
    values = {k: v for k, v in ORDER_VALUES.items() if k != "payment_amount"}
    esms.ok(op_id, order_request(op_id, values))


@pytest.mark.parametrize("op_id", [*KEYED_OPERATIONS, "send_zns_v4", "estimate_zns_price"])
def test_template_value_longer_than_its_limit_returns_790(shared_esms, op_id):
    shared_esms.refused(op_id, order_request(op_id, {**ORDER_VALUES, "order_code": "X" * 21}), "790")


@pytest.mark.parametrize("op_id", [*KEYED_OPERATIONS, "send_zns_v4"])
def test_template_value_at_its_limit_is_accepted(esms, op_id):
    esms.ok(op_id, order_request(op_id, {**ORDER_VALUES, "order_code": "X" * 20}))


@pytest.mark.parametrize("op_id", [*KEYED_OPERATIONS, "send_zns_v4", "estimate_zns_price"])
@pytest.mark.parametrize("amount", ["25O000", "12.5", "-1", "1234567890123"])
def test_number_template_value_that_is_not_digits_returns_790(shared_esms, op_id, amount):
    shared_esms.refused(op_id, order_request(op_id, {**ORDER_VALUES, "payment_amount": amount}), "790")


@pytest.mark.parametrize("op_id", ["send_zns_v4", "estimate_zns_price"])
@pytest.mark.parametrize("count", [0, 1, 2, 4])
def test_wrong_number_of_params_returns_790(shared_esms, op_id, count):
    params = ["Nguyen Van A", "ORD-001", "250000", "extra"][:count]
    shared_esms.refused(op_id, order_request(op_id, params), "790")


def test_multichannel_with_wrong_number_of_params_returns_790(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"][0]["Params"] = ["123456", "extra"]
    shared_esms.refused("send_multichannel_message", body, "790")


def test_template_key_given_twice_returns_790(shared_esms):
    body = valid_request("send_zns_v5", TempData=[{"key": "otp", "value": "1"}, {"key": "otp", "value": "2"}])
    shared_esms.refused("send_zns_v5", body, "790")


# Forms eSMS reads although the schema does not give them (an object TempData on V5, numbers for
# text) are accepted: tests/mock_server/test_coercion.py.
@pytest.mark.parametrize("op_id,field,value", [
    ("send_zns_v5", "TempData", {"otp": {"value": "123456"}}),  # an object, but not of plain values
    ("send_zns_v5", "TempData", "otp=123456"),
    ("send_zns_v6", "TempData", [{"key": "otp", "value": "123456"}]),  # a list where V6 takes an object
    ("send_zns_v6", "TempData", {"otp": ["123456"]}),  # a list value
    ("send_zns_v4", "Params", "123456"),
    ("send_zns_v4", "Params", [[123456]]),
])
def test_template_data_of_the_wrong_shape_returns_790(shared_esms, op_id, field, value):
    shared_esms.refused(op_id, valid_request(op_id, **{field: value}), "790")


@pytest.mark.parametrize("op_id", ZNS_TEMPLATE_OPERATIONS)
def test_missing_template_data_returns_790(shared_esms, op_id):
    field = "Params" if op_id == "send_zns_v4" else "TempData"
    shared_esms.refused(op_id, valid_request(op_id, **{field: None}), "790")


def test_date_template_value_must_be_a_day_month_year_date(esms, store):
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["templates"].append(
        {"id": "400400", "params": [{"name": "due", "type": "DATE", "max_length": 10}]})
    store.load_fixtures(doc)
    esms.ok("send_zns_v6", valid_request("send_zns_v6", TempID="400400", TempData={"due": "31/01/2025"}))
    esms.refused("send_zns_v6", valid_request("send_zns_v6", TempID="400400", TempData={"due": "2025-01-31"}), "790")


# ---------------------------------------------------------------------------- 791: OAID / TempID missing
@pytest.mark.parametrize("op_id", [*ZNS_TEMPLATE_OPERATIONS, "send_zns_bulk", "estimate_zns_price"])
@pytest.mark.parametrize("field", ["OAID", "TempID"])
def test_missing_oaid_or_tempid_returns_791(shared_esms, op_id, field):
    shared_esms.refused(op_id, valid_request(op_id, **{field: None}), "791")


@pytest.mark.parametrize("field", ["OAID", "TempID"])
def test_multichannel_zns_leg_without_oaid_or_tempid_returns_791(shared_esms, field):
    body = valid_request("send_multichannel_message")
    del body["Data"][0][field]
    shared_esms.refused("send_multichannel_message", body, "791")


def test_full_content_without_oaid_returns_791(shared_esms):
    shared_esms.refused("send_full_content_json", valid_request("send_full_content_json", OAID=None), "791")


def test_auto_otp_without_multichannel_template_returns_791(shared_esms):
    body = valid_request("send_auto_generated_otp", MultiChannelTempId=None)
    shared_esms.refused("send_auto_generated_otp", body, "791")


# ---------------------------------------------------------------------------- 108: phone
PHONE_OPERATIONS = (*ZNS_BY_PHONE_OPERATIONS, "send_multichannel_message", "send_auto_generated_otp",
                    "send_full_content_json", "send_full_content_form", "estimate_zns_price")
BAD_PHONES = ["09018", "abc", "0901888484x", "+1 202 555 0100", "", "090188848412345", "1901888484"]


@pytest.mark.parametrize("op_id", PHONE_OPERATIONS)
@pytest.mark.parametrize("phone", BAD_PHONES)
def test_badly_formed_phone_returns_108(shared_esms, op_id, phone):
    shared_esms.refused(op_id, valid_request(op_id, Phone=phone), "108")


@pytest.mark.parametrize("op_id", [op for op in PHONE_OPERATIONS if op != "send_full_content_form"])
def test_phone_that_is_not_a_string_returns_108(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, Phone=901888484), "108")


@pytest.mark.parametrize("op_id", PHONE_OPERATIONS)
def test_missing_phone_returns_108(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, Phone=None), "108")


@pytest.mark.parametrize("phone", ["0901888484", "84901888484", "+84901888484", "0321234567"])
def test_every_documented_phone_form_is_accepted(esms, phone):
    esms.send("send_zns_v6", Phone=phone)


# ---------------------------------------------------------------------------- 210: follower payload
def v5_with(payload: dict) -> dict:
    return valid_request("send_follower_message_v5", Payload=payload)


TEXT = {"type": "text", "content": "Your order details are below."}


def test_transaction_card_with_the_documented_blocks_is_accepted(esms):
    elements = [{"type": "banner", "image_url": "https://cdn.example/banner.png"},
                {"type": "header", "content": "Order update"}, TEXT, TEXT, VALID_TABLE]
    esms.ok("send_follower_message_v5", v5_with(transaction_payload(elements)))


def test_transaction_card_with_three_text_blocks_returns_210(shared_esms):
    shared_esms.refused("send_follower_message_v5", v5_with(transaction_payload([TEXT, TEXT, TEXT, VALID_TABLE])), "210")


@pytest.mark.parametrize("element", [
    {"type": "banner", "image_url": "https://cdn.example/banner.png"},
    {"type": "header", "content": "Order update"},
    VALID_TABLE,
])
def test_transaction_card_with_two_of_a_single_block_returns_210(shared_esms, element):
    elements = [element, element] + ([] if element is VALID_TABLE else [VALID_TABLE])
    shared_esms.refused("send_follower_message_v5", v5_with(transaction_payload(elements)), "210")


@pytest.mark.parametrize("key", ["Order Code", "Mã đơn hàng", "Tên khách hàng", "Customer Name", "Promo Code"])
def test_transaction_table_with_an_identifying_row_is_accepted(esms, key):
    table = {"type": "table", "content": [{"key": key, "value": "X-1"}, {"key": "Amount", "value": "250,000 VND"}]}
    esms.ok("send_follower_message_v5", v5_with(transaction_payload([TEXT, table])))


@pytest.mark.parametrize("keys", [["Amount", "Date"], ["Customer", "Status"], ["Order", "Tên"]])
def test_transaction_table_without_an_identifying_row_returns_210(shared_esms, keys):
    table = {"type": "table", "content": [{"key": key, "value": "v"} for key in keys]}
    shared_esms.refused("send_follower_message_v5", v5_with(transaction_payload([TEXT, table])), "210")


@pytest.mark.parametrize("status_key", ["Status", "Trạng thái"])
def test_style_on_the_status_row_is_accepted(esms, status_key):
    table = {"type": "table", "content": [{"key": "Order Code", "value": "ORD-1"},
                                          {"key": status_key, "value": "Paid", "style": "green"}]}
    esms.ok("send_follower_message_v5", v5_with(transaction_payload([table])))


def test_style_on_a_row_that_is_not_the_status_row_returns_210(shared_esms):
    table = {"type": "table", "content": [{"key": "Order Code", "value": "ORD-1", "style": "green"},
                                          {"key": "Status", "value": "Paid"}]}
    shared_esms.refused("send_follower_message_v5", v5_with(transaction_payload([table])), "210")


def test_transaction_card_with_text_returns_210(shared_esms):
    payload = transaction_payload([TEXT, VALID_TABLE])
    payload["message"]["text"] = "Not allowed on a transaction card"
    shared_esms.refused("send_follower_message_v5", v5_with(payload), "210")


@pytest.mark.parametrize("extra", [{}, {"Url": ""}])
def test_v4_media_without_url_returns_210(shared_esms, extra):
    body = valid_request("send_follower_message_v4", Template_type="media", **extra)
    shared_esms.refused("send_follower_message_v4", body, "210")


def test_v4_media_with_an_image_url_is_accepted(esms):
    esms.ok("send_follower_message_v4", valid_request("send_follower_message_v4", Template_type="media",
                                                     Url="https://cdn.example/banner.png"))


def test_v4_media_with_a_url_that_is_not_an_image_returns_210(shared_esms):
    body = valid_request("send_follower_message_v4", Template_type="media", Url="https://cdn.example/page.html")
    shared_esms.refused("send_follower_message_v4", body, "210")


def test_v5_media_without_url_returns_210(shared_esms):
    payload = valid_request("send_follower_message_v5")["Payload"]
    del payload["message"]["attachment"]["payload"]["elements"][0]["url"]
    shared_esms.refused("send_follower_message_v5", v5_with(payload), "210")


def test_v5_buttons_message_is_accepted(esms):
    payload = {"recipient": {"user_id": FOLLOWER}, "message": {"text": "How can we help?", "attachment": {
        "type": "template", "payload": {"buttons": [
            {"title": "Website", "type": "oa.open.url", "payload": {"url": "https://site.example"}},
            {"title": "Call us", "type": "oa.open.phone", "payload": {"phone_code": "84900000000"}}]}}}}
    esms.ok("send_follower_message_v5", v5_with(payload))


def test_v5_with_six_buttons_returns_210(shared_esms):
    button = {"title": "Show", "type": "oa.query.show", "payload": "#menu"}
    payload = {"recipient": {"user_id": FOLLOWER}, "message": {"text": "Pick one", "attachment": {
        "type": "template", "payload": {"buttons": [button] * 6}}}}
    shared_esms.refused("send_follower_message_v5", v5_with(payload), "210")


def test_v5_request_user_info_is_accepted(esms):
    payload = {"recipient": {"user_id": FOLLOWER}, "message": {"attachment": {"type": "template", "payload": {
        "template_type": "request_user_info",
        "elements": [{"title": "Share", "subtitle": "Please", "image_url": "https://cdn.example/card.png"}]}}}}
    esms.ok("send_follower_message_v5", v5_with(payload))


def test_follower_text_of_2000_characters_is_accepted(esms):
    esms.ok("send_follower_message_v4", valid_request("send_follower_message_v4", Content="x" * 2000))
    payload = valid_request("send_follower_message_v5")["Payload"]
    payload["message"]["text"] = "é" * 2000
    esms.ok("send_follower_message_v5", v5_with(payload))


def test_follower_text_over_2000_characters_returns_210(shared_esms):
    shared_esms.refused("send_follower_message_v4", valid_request("send_follower_message_v4", Content="x" * 2001), "210")
    payload = valid_request("send_follower_message_v5")["Payload"]
    payload["message"]["text"] = "é" * 2001
    shared_esms.refused("send_follower_message_v5", v5_with(payload), "210")


@pytest.mark.parametrize("field", ["User_id", "Content", "OAID"])
def test_v4_follower_message_missing_a_required_field_returns_210(shared_esms, field):
    shared_esms.refused("send_follower_message_v4", valid_request("send_follower_message_v4", **{field: None}), "210")


def test_follower_message_to_a_magic_blocked_user_returns_99(shared_esms):
    body = valid_request("send_follower_message_v4", User_id="9000000000000000099")
    shared_esms.refused("send_follower_message_v4", body, "99")


# ---------------------------------------------------------------------------- RequestId
@pytest.mark.parametrize("op_id", ["send_zns_v5", "send_zns_v6", "send_zns_by_uid", "send_zns_by_hashed_phone",
                                   "send_zns_v4", "send_full_content_json", "send_full_content_form"])
def test_request_id_over_50_characters_returns_110_on_zns(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, RequestId="r" * 51), "110")


@pytest.mark.parametrize("op_id", ["send_follower_message_v4", "send_follower_message_v5"])
def test_request_id_over_50_characters_returns_210_on_follower(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, RequestId="r" * 51), "210")


def test_request_id_over_50_characters_in_a_multichannel_leg_returns_110(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"][1]["RequestId"] = "r" * 51
    shared_esms.refused("send_multichannel_message", body, "110")


def test_request_id_of_50_characters_is_accepted(esms):
    esms.send("send_zns_v6", RequestId="r" * 50)


REQUEST_ID_OPERATIONS = ("send_follower_message_v4", "send_follower_message_v5", "send_zns_v5", "send_zns_v6",
                         "send_zns_by_uid", "send_zns_by_hashed_phone", "send_zns_v4", "send_full_content_json")


@pytest.mark.parametrize("op_id", REQUEST_ID_OPERATIONS)
def test_duplicate_request_id_within_24h_returns_124(esms, op_id):
    request_id = new_request_id()
    esms.send(op_id, RequestId=request_id)
    esms.refused(op_id, valid_request(op_id, RequestId=request_id), "124")


def test_duplicate_request_id_is_refused_without_charge_or_quota(esms):
    request_id = new_request_id()
    esms.send("send_zns_v6", RequestId=request_id)
    balance, quota = esms.balance(), esms.remaining_quota()
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=request_id), "124")
    assert (esms.balance(), esms.remaining_quota()) == (balance, quota)


def test_request_id_is_reserved_across_operations_of_the_account(esms):
    request_id = new_request_id()
    esms.send("send_zns_v5", RequestId=request_id)
    esms.refused("send_zns_v4", valid_request("send_zns_v4", RequestId=request_id), "124")
    esms.refused("send_follower_message_v4", valid_request("send_follower_message_v4", RequestId=request_id), "124")


def test_request_id_is_per_account(esms, fixtures):
    request_id = new_request_id()
    esms.send("send_zns_v6", RequestId=request_id)
    esms.send("send_zns_v6", OTHER_CREDENTIALS, OAID=OTHER_OAID, RequestId=request_id)
    esms.refused("send_zns_v6", valid_request("send_zns_v6", OTHER_CREDENTIALS, OAID=OTHER_OAID, RequestId=request_id), "124")


def test_request_id_is_accepted_again_after_24_hours(esms, store):
    request_id = new_request_id()
    esms.send("send_zns_v6", RequestId=request_id)
    advance(store, 23 * 3600)
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=request_id), "124")
    advance(store, 3600 + 1)
    esms.send("send_zns_v6", RequestId=request_id)
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=request_id), "124")


def test_sandbox_does_not_reserve_the_request_id(esms):
    request_id = new_request_id()
    esms.send("send_zns_v5", RequestId=request_id, Sandbox="1")
    esms.send("send_zns_v5", RequestId=request_id, Sandbox="1")
    esms.send("send_zns_v5", RequestId=request_id)
    esms.refused("send_zns_v5", valid_request("send_zns_v5", RequestId=request_id), "124")


def test_refused_request_does_not_reserve_the_request_id(esms):
    request_id = new_request_id()
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=request_id, TempID="999999"), "789")
    esms.send("send_zns_v6", RequestId=request_id)


def test_multichannel_request_ids_of_both_legs_are_reserved(esms):
    zns_id, sms_id = new_request_id(), new_request_id()
    body = valid_request("send_multichannel_message")
    body["Data"][0]["RequestId"], body["Data"][1]["RequestId"] = zns_id, sms_id
    esms.ok("send_multichannel_message", body)
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=sms_id), "124")
    esms.refused("send_zns_v6", valid_request("send_zns_v6", RequestId=zns_id), "124")


def test_multichannel_with_the_same_request_id_in_both_legs_is_accepted_once(esms):
    request_id = new_request_id()
    body = valid_request("send_multichannel_message")
    body["Data"][0]["RequestId"] = body["Data"][1]["RequestId"] = request_id
    esms.ok("send_multichannel_message", body)  # one request does not collide with itself
    esms.refused("send_multichannel_message", body, "124")


# ---------------------------------------------------------------------------- 103: balance
def poor_zns(**overrides) -> dict:
    return valid_request("send_zns_v6", POOR_CREDENTIALS, OAID=POOR_OAID, **overrides)


def test_balance_too_low_returns_103_and_leaves_the_balance_unchanged(esms, fixtures):
    esms.ok("send_zns_v6", poor_zns())
    left = esms.balance(POOR_CREDENTIALS)
    assert left == pytest.approx(POOR_BALANCE - 440)
    esms.refused("send_zns_v6", poor_zns(), "103")
    assert esms.balance(POOR_CREDENTIALS) == left
    assert esms.remaining_quota(POOR_OAID, POOR_CREDENTIALS) == 499


def test_refusal_for_balance_does_not_reserve_the_request_id(esms, fixtures, store):
    esms.ok("send_zns_v6", poor_zns())
    request_id = new_request_id()
    esms.refused("send_zns_v6", poor_zns(RequestId=request_id), "103")
    doc = store.fixtures().document
    next(a for a in doc["accounts"] if a["api_key"] == POOR_CREDENTIALS["ApiKey"])["balance"] = 10_000
    store.load_fixtures(doc)
    esms.ok("send_zns_v6", poor_zns(RequestId=request_id))


def test_cheaper_message_still_fits_a_low_balance(esms, fixtures):
    esms.ok("send_zns_v6", poor_zns())  # 60 left: not enough for a ZNS, enough for a follower message (55)
    esms.refused("send_zns_v6", poor_zns(), "103")
    esms.ok("send_follower_message_v4", valid_request("send_follower_message_v4", POOR_CREDENTIALS, OAID=POOR_OAID))
    assert esms.balance(POOR_CREDENTIALS) == pytest.approx(5)
    esms.refused("send_follower_message_v4",
                 valid_request("send_follower_message_v4", POOR_CREDENTIALS, OAID=POOR_OAID), "103")


def test_sandbox_is_accepted_whatever_the_balance(esms, fixtures):
    esms.ok("send_zns_v6", poor_zns())
    esms.ok("send_zns_v6", poor_zns(Sandbox="1"))


# ---------------------------------------------------------------------------- daily quota
def quota_zns(op_id: str = "send_zns_v6", **overrides) -> dict:
    return valid_request(op_id, OAID=QUOTA_OAID, CallbackUrl=CALLBACK_URL, **overrides)


def test_zns_over_the_daily_quota_is_accepted_then_fails_with_zalo_error_144_uncharged(esms, fixtures, store):
    start = esms.balance()
    first = esms.ok("send_zns_v6", quota_zns())["SMSID"]
    assert esms.remaining_quota(QUOTA_OAID) == 0
    after_first = esms.balance()
    assert after_first == pytest.approx(start - 440)
    second = esms.ok("send_zns_v5", quota_zns("send_zns_v5"))["SMSID"]
    assert esms.balance() == after_first  # not charged
    assert esms.remaining_quota(QUOTA_OAID) == 0
    advance(store)
    ok_status = esms.ok("get_send_status", {**CREDENTIALS, "RefId": first})
    assert (ok_status["SendStatus"], ok_status["SendSuccess"], ok_status["SendFailed"]) == (5, 1, 0)
    failed = esms.ok("get_send_status", {**CREDENTIALS, "RefId": second})
    assert (failed["SendStatus"], failed["SendSuccess"], failed["SendFailed"], failed["TotalPrice"]) == (5, 0, 1, 0)
    [query] = callback_queries(store, second)
    info = json.loads(json.loads(query["error_info"]))
    assert info["error"] == -144
    assert query["SendFailed"] == "1" and float(query["TotalPrice"]) == 0


def test_quota_is_counted_per_vietnam_day(esms, fixtures, store):
    esms.ok("send_zns_v6", quota_zns())
    assert esms.remaining_quota(QUOTA_OAID) == 0
    advance(store, 86_400)
    assert esms.remaining_quota(QUOTA_OAID) == 1
    sent = esms.ok("send_zns_v6", quota_zns())["SMSID"]
    advance(store)
    assert esms.ok("get_send_status", {**CREDENTIALS, "RefId": sent})["SendSuccess"] == 1


def test_exceed_quota_mode_delivers_beyond_the_quota(esms, store):
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["daily_quota"] = 1  # the demo OA is allowed SendingMode 3
    store.load_fixtures(doc)
    esms.send("send_zns_v6")
    sent = esms.send("send_zns_v6", SendingMode="3", CallbackUrl=CALLBACK_URL)
    advance(store)
    status = esms.ok("get_send_status", {**CREDENTIALS, "RefId": sent})
    assert (status["SendSuccess"], status["SendFailed"]) == (1, 0)


# ---------------------------------------------------------------------------- Sandbox
@pytest.mark.parametrize("op_id", ["send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_by_uid",
                                   "send_zns_by_hashed_phone", "send_follower_message_v4", "send_follower_message_v5",
                                   "send_full_content_json"])
def test_sandbox_is_answered_100_without_charge_quota_callback_or_status(esms, store, op_id):
    balance, quota = esms.balance(), esms.remaining_quota()
    smsid = esms.send(op_id, Sandbox="1", CallbackUrl=CALLBACK_URL if op_id != "send_full_content_json" else None)
    assert (esms.balance(), esms.remaining_quota()) == (balance, quota)
    assert store.all_callbacks(smsid=smsid) == []
    esms.refused("get_send_status", {**CREDENTIALS, "RefId": smsid}, "105")
    esms.refused("get_receiver_status", {**CREDENTIALS, "RefId": smsid}, "105")
    assert journal_row(store, smsid)["sandbox"] == 1
    advance(store)
    assert store.all_callbacks(smsid=smsid) == []
    esms.refused("get_send_status", {**CREDENTIALS, "RefId": smsid}, "105")


def test_sandbox_bulk_is_not_charged(esms, store):
    balance = esms.balance()
    body = esms.ok("send_zns_bulk", valid_request("send_zns_bulk", Sandbox="1", CallbackUrl=CALLBACK_URL))
    assert body["TotalSuccess"] == 1
    assert esms.balance() == balance and esms.remaining_quota() == 500
    assert store.all_callbacks() == []


def test_sandbox_multichannel_is_not_charged(esms, store):
    body = valid_request("send_multichannel_message")
    body["Data"][0]["Sandbox"] = "1"
    body["Data"][0]["CallbackUrl"] = CALLBACK_URL
    balance = esms.balance()
    smsid = esms.ok("send_multichannel_message", body)["SMSID"]
    assert esms.balance() == balance and store.all_callbacks(smsid=smsid) == []


def test_sandbox_still_validates_the_request(shared_esms):
    shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Sandbox="1", TempID="999999"), "789")
    shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Sandbox="1", Phone="123"), "108")


@pytest.mark.parametrize("value", ["2", 2, "true", True])  # numbers and booleans read as their text (test_coercion)
def test_sandbox_other_than_0_or_1_is_refused(shared_esms, value):
    shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Sandbox=value), "110")


def test_sandbox_0_is_normal_sending(esms, store):
    smsid = esms.send("send_zns_v5", Sandbox="0", CallbackUrl=CALLBACK_URL)
    assert journal_row(store, smsid)["sandbox"] == 0
    assert len(store.all_callbacks(smsid=smsid)) == 1


# ---------------------------------------------------------------------------- SendingMode 3
MODE_OPERATIONS = ("send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_by_hashed_phone", "send_zns_bulk")


@pytest.mark.parametrize("op_id", MODE_OPERATIONS)
def test_sending_mode_3_with_send_date_returns_801(shared_esms, op_id):
    body = valid_request(op_id, SendingMode="3", SendDate="2030-01-15 09:30:00")
    shared_esms.refused(op_id, body, "801")


@pytest.mark.parametrize("op_id", MODE_OPERATIONS)
def test_sending_mode_3_on_an_oa_not_allowed_returns_802(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, SendingMode="3", OAID=QUOTA_OAID), "802")


def test_multichannel_sending_mode_3_rules(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"][0].update(SendingMode="3", OAID=QUOTA_OAID)
    shared_esms.refused("send_multichannel_message", body, "802")


@pytest.mark.parametrize("op_id", MODE_OPERATIONS)
def test_sending_mode_3_on_an_allowed_oa_without_send_date_is_accepted(esms, op_id):
    esms.ok(op_id, valid_request(op_id, SendingMode="3", SendDate=""))


def test_sending_mode_1_may_be_scheduled(esms):
    esms.send("send_zns_v6", SendingMode="1", SendDate="2030-01-15 09:30:00")


@pytest.mark.parametrize("send_date", ["2030-13-45 09:30:00", "15/01/2030 09:30", "tomorrow"])
def test_send_date_that_is_not_a_date_returns_110(shared_esms, send_date):
    shared_esms.refused("send_zns_v6", valid_request("send_zns_v6", SendDate=send_date), "110")


# ---------------------------------------------------------------------------- zalo_uid
def test_zalo_uid_over_20_characters_returns_852(shared_esms):
    shared_esms.refused("send_zns_by_uid", valid_request("send_zns_by_uid", ZaloUid="1" * 21), "852")


@pytest.mark.parametrize("value", [None, ""])
def test_missing_zalo_uid_returns_853(shared_esms, value):
    body = valid_request("send_zns_by_uid", ZaloUid=None)
    if value is not None:
        body["ZaloUid"] = value
    expected = "853" if value is None else "852"
    shared_esms.refused("send_zns_by_uid", body, expected)


def test_zalo_uid_of_20_characters_is_accepted(esms):
    esms.send("send_zns_by_uid", ZaloUid="1" * 20)


@pytest.mark.parametrize("hash_value", ["ABC", "5EC1844A205FC3A433FF9B055EF55A84D8D2C836756D27B52362BDA525F10209", "0901888484"])
def test_hash_phone_that_is_not_64_lower_case_hex_returns_115(shared_esms, hash_value):
    shared_esms.refused("send_zns_by_hashed_phone", valid_request("send_zns_by_hashed_phone", HashPhone=hash_value), "115")


# ---------------------------------------------------------------------------- bulk
def bulk(items: list[dict], **overrides) -> dict:
    return valid_request("send_zns_bulk", Data=items, **overrides)


def test_bulk_with_more_than_500_items_returns_687(shared_esms):
    items = [{"Phone": PHONE, "Params": ["1"]}] * 501
    shared_esms.refused("send_zns_bulk", bulk(items), "687")


def test_bulk_with_500_items_is_accepted_and_charged_per_item(esms, store):
    items = [{"Phone": f"09{i:08d}", "Params": ["1"]} for i in range(10_000_000, 10_000_500)]
    start = esms.balance()
    body = esms.ok("send_zns_bulk", bulk(items))
    assert (body["TotalSuccess"], body["TotalFail"], len(body["detail"])) == (500, 0, 500)
    assert len({item["SMSID"] for item in body["detail"]}) == 500
    assert esms.balance() == pytest.approx(start - 500 * 440)
    assert esms.remaining_quota() == 0


def test_bulk_reports_a_bad_phone_and_a_duplicate_request_id_per_item(esms):
    used = new_request_id()
    esms.send("send_zns_v6", RequestId=used)
    items = [
        {"Phone": PHONE, "Params": ["111111"], "RequestId": new_request_id()},
        {"Phone": "0900000002x", "Params": ["222222"]},
        {"Phone": "0901888485", "Params": ["333333"], "RequestId": used},
        {"Phone": "0901888486", "Params": ["444444"]},
    ]
    start = esms.balance()
    body = esms.ok("send_zns_bulk", bulk(items))
    assert body["Message"] == "Sucess"
    assert (body["TotalSuccess"], body["TotalFail"]) == (2, 2)
    assert [(d["Phone"], d["CodeResult"]) for d in body["detail"]] == [
        (PHONE, "100"), ("0900000002x", "108"), ("0901888485", "124"), ("0901888486", "100")]
    assert "SMSID" in body["detail"][0] and "SMSID" in body["detail"][3]
    assert "SMSID" not in body["detail"][1] and "SMSID" not in body["detail"][2]
    assert body["detail"][1]["ErrorMessage"] == "The phone number 0900000002x is not valid."
    assert esms.balance() == pytest.approx(start - 2 * 440)


def test_bulk_with_the_same_request_id_twice_accepts_the_first_item_only(esms):
    request_id = new_request_id()
    items = [{"Phone": PHONE, "Params": ["1"], "RequestId": request_id},
             {"Phone": "0901888485", "Params": ["2"], "RequestId": request_id}]
    body = esms.ok("send_zns_bulk", bulk(items))
    assert [d["CodeResult"] for d in body["detail"]] == ["100", "124"]
    assert (body["TotalSuccess"], body["TotalFail"]) == (1, 1)


def test_bulk_item_with_wrong_template_values_is_refused_alone(esms):
    items = [{"Phone": PHONE, "Params": ["1"]}, {"Phone": "0901888485", "Params": ["1", "2"]}]
    body = esms.ok("send_zns_bulk", bulk(items))
    assert [d["CodeResult"] for d in body["detail"]] == ["100", "790"]


def test_bulk_where_every_item_fails_is_still_answered_per_item(esms):
    body = esms.ok("send_zns_bulk", bulk([{"Phone": "bad", "Params": ["1"]}]))
    assert (body["TotalSuccess"], body["TotalFail"]) == (0, 1)


def test_bulk_with_a_low_balance_returns_103(esms, fixtures):
    items = [{"Phone": PHONE, "Params": ["1"]}, {"Phone": "0901888485", "Params": ["2"]}]
    esms.refused("send_zns_bulk", valid_request("send_zns_bulk", POOR_CREDENTIALS, OAID=POOR_OAID, Data=items), "103")
    assert esms.balance(POOR_CREDENTIALS) == POOR_BALANCE


def test_bulk_with_an_empty_list_returns_110(shared_esms):
    shared_esms.refused("send_zns_bulk", bulk([]), "110")


# ---------------------------------------------------------------------------- multichannel
@pytest.mark.parametrize("channels", [["sms", "zalo"], ["zalo"], ["zalo", "zalo"], ["zalo", "sms", "viber"], "zalo,sms", []])
def test_multichannel_with_wrong_channels_returns_110(shared_esms, channels):
    shared_esms.refused("send_multichannel_message", valid_request("send_multichannel_message", Channels=channels), "110")


def test_multichannel_with_legs_in_the_wrong_order_returns_110(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"].reverse()
    shared_esms.refused("send_multichannel_message", body, "110")


def test_multichannel_with_two_zns_legs_returns_110(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"][1] = body["Data"][0]
    shared_esms.refused("send_multichannel_message", body, "110")


def test_multichannel_with_unknown_brandname_returns_104(shared_esms):
    body = valid_request("send_multichannel_message")
    body["Data"][1]["Brandname"] = "NOBRAND"
    shared_esms.refused("send_multichannel_message", body, "104")


def multichannel(phone: str = PHONE) -> dict:
    body = valid_request("send_multichannel_message", Phone=phone)
    body["Data"][0]["CallbackUrl"] = CALLBACK_URL
    body["Data"][1]["CallbackUrl"] = SMS_CALLBACK_URL
    return body


def test_multichannel_delivered_by_zns_costs_a_zns_and_sends_no_sms(esms, store):
    start = esms.balance()
    smsid = esms.ok("send_multichannel_message", multichannel())["SMSID"]
    assert esms.balance() == pytest.approx(start - 440)
    advance(store)
    urls = [row["url"] for row in store.all_callbacks(smsid=smsid)]
    assert urls == [CALLBACK_URL]


def test_multichannel_falls_back_to_sms_when_the_zns_fails(esms, store):
    start = esms.balance()
    smsid = esms.ok("send_multichannel_message", multichannel("0900000114"))["SMSID"]
    sms_price = store.fixtures().prices.sms
    assert esms.balance() == pytest.approx(start - sms_price)
    rows = sorted(store.all_callbacks(smsid=smsid), key=lambda row: row["id"])
    assert [row["url"] for row in rows] == [CALLBACK_URL, SMS_CALLBACK_URL]
    zns, sms = callback_queries(store, smsid)
    assert json.loads(json.loads(zns["error_info"]))["error"] == -114 and zns["SendFailed"] == "1"
    assert (sms["TypeId"], sms["SendSuccess"], sms["phonenumber"]) == ("2", "1", "0900000114")
    assert "error_info" not in sms and "tempid" not in sms
    assert rows[1]["due_at"] > rows[0]["due_at"]  # the SMS is sent after the ZNS failed


def test_multichannel_over_the_daily_quota_falls_back_to_a_paid_sms(esms, fixtures, store):
    esms.send("send_zns_v6", OAID=QUOTA_OAID)  # the OA's one ZNS of the day
    body = multichannel()
    body["Data"][0]["OAID"] = QUOTA_OAID
    start = esms.balance()
    smsid = esms.ok("send_multichannel_message", body)["SMSID"]
    zns, sms = callback_queries(store, smsid)
    assert json.loads(json.loads(zns["error_info"]))["error"] == -144
    assert (sms["TypeId"], sms["SendSuccess"]) == ("2", "1")
    sms_price = store.fixtures().prices.sms
    assert float(sms["TotalPrice"]) == pytest.approx(sms_price)
    assert esms.balance() == pytest.approx(start - sms_price)


def test_multichannel_uses_one_zns_quota(esms):
    esms.ok("send_multichannel_message", multichannel())
    assert esms.remaining_quota() == 499


# ---------------------------------------------------------------------------- auto OTP and its check
def issued_code(store, smsid: str) -> str:
    return json.loads(journal_row(store, smsid)["extra_json"])["otp"]


def check(phone: str, code: str) -> dict:
    return {**CREDENTIALS, "Phone": phone, "Code": code}


@pytest.mark.parametrize("type_id", ["1", "2"])
def test_auto_otp_checks_100_once_then_117(esms, store, type_id):
    smsid = esms.send("send_auto_generated_otp", TypeId=type_id)
    code = issued_code(store, smsid)
    assert len(code) == 6 and code.isdigit()
    body = esms.ok("check_otp", check(PHONE, code))
    assert body["ErrorMessage"] == f"{PHONE}, Content: Success!"
    refused = esms.refused("check_otp", check(PHONE, code), "117")
    assert refused["ErrorMessage"] == f"{PHONE}, Content: {code} Code Invalid"


def test_auto_otp_code_is_not_in_the_answer(esms, store):
    answer = esms.ok("send_auto_generated_otp", valid_request("send_auto_generated_otp"))
    assert issued_code(store, answer["SMSID"]) not in json.dumps(answer)


def test_auto_otp_check_refuses_a_wrong_code_another_phone_and_an_expired_code(esms, store):
    smsid = esms.send("send_auto_generated_otp", TimeAlive="2")
    code = issued_code(store, smsid)
    wrong = "000000" if code != "000000" else "111111"
    esms.refused("check_otp", check(PHONE, wrong), "117")
    esms.refused("check_otp", check("0901888485", code), "117")
    advance(store, 121)
    esms.refused("check_otp", check(PHONE, code), "117")


def test_auto_otp_check_accepts_any_form_of_the_phone(esms, store):
    code = issued_code(store, esms.send("send_auto_generated_otp"))
    esms.ok("check_otp", check("84901888484", code))


def test_auto_otp_generate_only_is_not_charged(esms):
    balance = esms.balance()
    esms.send("send_auto_generated_otp", TypeId="1")
    assert esms.balance() == balance and esms.remaining_quota() == 500


def test_auto_otp_sent_is_charged_a_zns(esms):
    balance = esms.balance()
    esms.send("send_auto_generated_otp", TypeId="2")
    assert esms.balance() == pytest.approx(balance - 440)
    assert esms.remaining_quota() == 499


@pytest.mark.parametrize("time_alive", ["1", "16", "0", "abc"])
def test_auto_otp_time_alive_outside_2_to_15_minutes_returns_110(shared_esms, time_alive):
    body = valid_request("send_auto_generated_otp", TimeAlive=time_alive)
    shared_esms.refused("send_auto_generated_otp", body, "110")


# ---------------------------------------------------------------------------- every send
@pytest.mark.parametrize("op_id", SEND_OPERATIONS)
def test_every_accepted_send_is_in_the_journal_without_the_secret(esms, store, op_id):
    smsid = esms.send(op_id)
    row = journal_row(store, smsid)
    assert row["operation"] == op_id
    assert "DEMO_SECRET_KEY" not in row["body_json"]


@pytest.mark.parametrize("op_id", SEND_OPERATIONS)
def test_every_accepted_send_has_a_distinct_smsid(esms, op_id):
    assert esms.send(op_id) != esms.send(op_id)


def test_journey_message_needs_an_order_id(shared_esms):
    body = valid_request("send_zns_v4", TempID=JOURNEY_TEMPLATE, Params=["A", "ORD-1", "Shipping"], IsJourney=True)
    shared_esms.refused("send_zns_v4", body, "110")


def test_journey_with_an_ordinary_template_returns_790(shared_esms):
    body = valid_request("send_zns_v4", IsJourney=True, OrderId="journey-1")
    shared_esms.refused("send_zns_v4", body, "790")


def test_is_journey_false_needs_no_order_id(esms):
    esms.send("send_zns_v4", IsJourney=False)


def test_full_content_with_a_sms_type_other_than_zalo_returns_118(shared_esms):
    shared_esms.refused("send_full_content_json", valid_request("send_full_content_json", SmsType="2"), "118")


def test_full_content_without_sms_type_returns_300(shared_esms):
    shared_esms.refused("send_full_content_json", valid_request("send_full_content_json", SmsType=None), "300")


def test_follower_message_to_a_non_follower_is_still_accepted(esms, store):
    # The mock does not check the follower list: Zalo reports unknown users at delivery.
    smsid = esms.send("send_follower_message_v4", User_id="1234567890123456")
    assert store.recipients(smsid)[0]["recipient"] == "1234567890123456"


def test_scheduled_message_waits_for_its_send_date(esms, store):
    smsid = esms.send("send_zns_v6", SendDate="2030-01-15 09:30:00", CallbackUrl=CALLBACK_URL)
    [row] = store.all_callbacks(smsid=smsid)
    assert row["due_at"] == pytest.approx(parse_vietnam_datetime("2030-01-15 09:30:00") + DELAY)
    assert esms.ok("get_send_status", {**CREDENTIALS, "RefId": smsid})["SendStatus"] == 2
