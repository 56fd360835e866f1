"""Credentials, account state, OAs and templates, and the account's money and quota.

Rows of the behaviour table: unknown credentials 101, locked account 143, IP not allowed 140,
unknown OA 204, inactive or another account's OA 799, template not configured 789, and
GetBalance_json / ZNS/GetQuota / SummaryZaloMessage_V4_post_json agreeing with what was accepted.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from esms_mock_support import (
    ALLOWED_IP,
    API_KEY,
    CREDENTIALS,
    FOLLOWER,
    INACTIVE_OAID,
    IP_CREDENTIALS,
    LOCKED_CREDENTIALS,
    OAID,
    OTHER_CREDENTIALS,
    OTHER_OAID,
    OTP_TEMPLATE,
    api_spec,
    operation,
    spec_problems,
    valid_request,
)

ALL_OPERATIONS = sorted(api_spec().operations)
QUERY_OPERATIONS = sorted(op_id for op_id, op in api_spec().operations.items() if op.reads_query)
BODY_OPERATIONS = sorted(op_id for op_id, op in api_spec().operations.items() if not op.reads_query)
JSON_OPERATIONS = sorted(op_id for op_id in BODY_OPERATIONS if not operation(op_id).is_form)

# Where each operation names its OA (top level), for the OA rows.
OA_FIELD = {
    "send_follower_message_v4": "OAID", "send_follower_message_v5": "OAID", "send_zns_v5": "OAID",
    "send_zns_v6": "OAID", "send_zns_by_uid": "OAID", "send_zns_by_hashed_phone": "OAID", "send_zns_v4": "OAID",
    "send_zns_bulk": "OAID", "send_full_content_form": "OAID", "send_full_content_json": "OAID",
    "estimate_zns_price": "OAID", "list_templates": "OAId", "get_template_info": "OAId", "get_quota": "OAID",
    "get_quality": "OAID", "get_ratings": "OAID", "get_followers": "OAID", "query_uid_list": "OAID",
    "register_zns_template": "OAID", "register_oa_package": "OAID",
}
TEMPLATE_FIELD = {
    "send_zns_v5": "TempID", "send_zns_v6": "TempID", "send_zns_by_uid": "TempID", "send_zns_by_hashed_phone": "TempID",
    "send_zns_v4": "TempID", "send_zns_bulk": "TempID", "estimate_zns_price": "TempID", "get_template_info": "TemplateId",
}


def with_multichannel_oa(body: dict, oaid: str) -> dict:
    body["Data"][0]["OAID"] = oaid
    return body


@pytest.fixture
def db_location(store_location: str) -> str:
    """Every test of this module runs on both store backends (SQLite and PostgreSQL)."""
    return store_location


# ---------------------------------------------------------------------------- 101
@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_wrong_secret_key_returns_101(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, {"ApiKey": API_KEY, "SecretKey": "not-the-secret"}), "101")


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_unknown_api_key_returns_101(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, {"ApiKey": "NOBODY", "SecretKey": "NOTHING"}), "101")


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_missing_api_key_returns_101(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, ApiKey=None), "101")


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_missing_secret_key_returns_101(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, SecretKey=None), "101")


@pytest.mark.parametrize("op_id", JSON_OPERATIONS)
@pytest.mark.parametrize("api_key", [12345, None, ["DEMO_API_KEY"], {"key": "DEMO_API_KEY"}, True])
def test_non_string_api_key_returns_101(shared_esms, op_id, api_key):
    body = valid_request(op_id)
    body["ApiKey"] = api_key
    shared_esms.refused(op_id, body, "101")


@pytest.mark.parametrize("op_id", QUERY_OPERATIONS)
def test_get_operations_read_credentials_from_the_query_string(shared_esms, op_id):
    good = valid_request(op_id)
    assert shared_esms.call(op_id, good).code != "101"
    shared_esms.refused(op_id, {**good, "SecretKey": "wrong"}, "101")
    # Credentials in a body are not read by a GET operation.
    answer = shared_esms.client.get(operation(op_id).path + "?" + urlencode({k: v for k, v in good.items() if k not in CREDENTIALS}),
                             json=CREDENTIALS)
    assert answer.status_code == 200
    assert not spec_problems(op_id, 200, answer.get_json())
    assert answer.get_json()[operation(op_id).code_field] in ("101", 101)


def test_credentials_are_case_sensitive(esms):
    esms.refused("get_balance", {"ApiKey": API_KEY.lower(), "SecretKey": "DEMO_SECRET_KEY"}, "101")
    esms.refused("get_balance", {"apikey": API_KEY, "secretkey": "DEMO_SECRET_KEY"}, "101")


def test_authorize_failed_answer_carries_the_vendor_text_and_zero_balance(esms):
    body = esms.refused("get_balance", {"ApiKey": "x", "SecretKey": "y"}, "101")
    assert body == {"CodeResponse": "101", "Balance": 0, "ErrorMessage": "Authorize Failed"}
    body = esms.refused("send_zns_v5", valid_request("send_zns_v5", {"ApiKey": "x", "SecretKey": "y"}), "101")
    assert body == {"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"}
    body = esms.refused("get_callback_data", valid_request("get_callback_data", {"ApiKey": "x", "SecretKey": "y"}), "101")
    assert body["Code"] == 101 and body["Data_callback"] == []
    body = esms.refused("get_template_info", valid_request("get_template_info", {"ApiKey": "x", "SecretKey": "y"}), "101")
    assert body["Error"] == 101 and body["Data"] is None


def test_credentials_are_checked_before_the_payload(esms):
    # A payload that is wrong in every way is still answered 101 when the keys are wrong.
    esms.refused("send_zns_v5", {"ApiKey": "x", "SecretKey": "y", "Phone": "bad", "TempData": 5}, "101")


# ---------------------------------------------------------------------------- 143 and 140
@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_locked_account_returns_143(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, LOCKED_CREDENTIALS), "143")


@pytest.mark.parametrize("op_id", ALL_OPERATIONS)
def test_caller_ip_not_on_the_allow_list_returns_140(shared_esms, op_id):
    shared_esms.refused(op_id, valid_request(op_id, IP_CREDENTIALS), "140", remote_addr="192.0.2.1")


@pytest.mark.parametrize("op_id", ["get_balance", "list_oas", "get_send_status", "check_otp"])
def test_caller_ip_on_the_allow_list_is_served(shared_esms, op_id):
    answer = shared_esms.call(op_id, valid_request(op_id, IP_CREDENTIALS), remote_addr=ALLOWED_IP)
    assert answer.code not in ("140", "101", "143"), answer.body


def test_locked_account_with_wrong_secret_is_101_not_143(esms, fixtures):
    esms.refused("get_balance", {"ApiKey": LOCKED_CREDENTIALS["ApiKey"], "SecretKey": "wrong"}, "101")


def test_ip_rule_of_one_account_does_not_apply_to_another(esms, fixtures):
    esms.ok("get_balance", CREDENTIALS, remote_addr="192.0.2.1")


# ---------------------------------------------------------------------------- OAs: 204 and 799
def _oa_body(op_id: str, oaid: str) -> dict:
    if op_id == "send_multichannel_message":
        return with_multichannel_oa(valid_request(op_id), oaid)
    return valid_request(op_id, **{OA_FIELD[op_id]: oaid})


OA_OPERATIONS = sorted([*OA_FIELD, "send_multichannel_message"])


@pytest.mark.parametrize("op_id", OA_OPERATIONS)
def test_unknown_oa_returns_204(shared_esms, op_id):
    shared_esms.refused(op_id, _oa_body(op_id, "1234567890123456789"), "204")


def _not_usable_code(op_id: str) -> str:
    """799 where the operation documents it; 204 (unknown) on the operations that do not."""
    return "799" if "799" in operation(op_id).result_codes else "204"


@pytest.mark.parametrize("op_id", OA_OPERATIONS)
def test_inactive_oa_returns_799(shared_esms, op_id):
    shared_esms.refused(op_id, _oa_body(op_id, INACTIVE_OAID), _not_usable_code(op_id))


@pytest.mark.parametrize("op_id", OA_OPERATIONS)
def test_another_accounts_oa_returns_799(shared_esms, op_id):
    shared_esms.refused(op_id, _oa_body(op_id, OTHER_OAID), _not_usable_code(op_id))


@pytest.mark.parametrize("op_id", OA_OPERATIONS)
def test_the_owner_of_an_oa_may_use_it(esms, fixtures, op_id):
    body = _oa_body(op_id, OTHER_OAID)
    body.update(OTHER_CREDENTIALS)
    answer = esms.call(op_id, body)
    assert answer.code not in ("204", "799"), answer.body


def test_799_is_documented_for_the_zns_sends():
    # The 799 rows above test what each operation's own code list says; make sure that list is
    # not empty of 799 where the vendor documents it, so the row cannot pass vacuously.
    for op_id in ("send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_by_uid", "send_zns_bulk", "get_quota"):
        assert "799" in operation(op_id).result_codes


def test_list_of_oas_shows_only_active_oas_of_the_account(esms, fixtures):
    body = esms.ok("list_oas", CREDENTIALS)
    oaids = [oa["OAID"] for oa in body["ZOAList"]]
    assert OAID in oaids
    assert INACTIVE_OAID not in oaids and OTHER_OAID not in oaids
    other = esms.ok("list_oas", OTHER_CREDENTIALS)
    assert [oa["OAID"] for oa in other["ZOAList"]] == [OTHER_OAID]


# ---------------------------------------------------------------------------- templates: 789
def _template_body(op_id: str, template_id: str) -> dict:
    if op_id == "send_multichannel_message":
        body = valid_request(op_id)
        body["Data"][0]["TempID"] = template_id
        return body
    return valid_request(op_id, **{TEMPLATE_FIELD[op_id]: template_id})


TEMPLATE_OPERATIONS = sorted([*TEMPLATE_FIELD, "send_multichannel_message"])


@pytest.mark.parametrize("op_id", TEMPLATE_OPERATIONS)
def test_template_not_configured_for_the_oa_returns_789(shared_esms, op_id):
    shared_esms.refused(op_id, _template_body(op_id, "999999"), "789")


def _add_disabled_template(store) -> None:
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["templates"].append(
        {"id": "777777", "status": "DISABLE", "params": [{"name": "otp", "max_length": 10}]})
    store.load_fixtures(doc)


@pytest.mark.parametrize("op_id", [op_id for op_id in TEMPLATE_OPERATIONS if op_id != "get_template_info"])
def test_sending_with_a_template_that_is_not_enabled_returns_789(esms, store, op_id):
    _add_disabled_template(store)
    esms.refused(op_id, _template_body(op_id, "777777"), "789")


def test_template_info_reports_a_disabled_template_with_its_status(esms, store):
    _add_disabled_template(store)
    body = esms.ok("get_template_info", valid_request("get_template_info", TemplateId="777777"))
    assert body["Data"]["Status"] == "DISABLE"


def test_auto_otp_with_unknown_multichannel_template_returns_789(esms):
    esms.refused("send_auto_generated_otp", valid_request("send_auto_generated_otp", MultiChannelTempId="999"), "789")


def test_template_info_describes_the_fixture_template(esms):
    body = esms.ok("get_template_info", valid_request("get_template_info", TemplateId="205645"))
    data = body["Data"]
    assert data["TemplateId"] == 205645 and data["Status"] == "ENABLE"
    assert [(p["Name"], p["Type"], p["MaxLength"], p["Require"]) for p in data["ListParams"]] == [
        ("customer_name", "STRING", 30, True), ("order_code", "STRING", 20, True), ("payment_amount", "NUMBER", 12, False)]


def test_template_list_filters_by_sms_type(esms):
    normal = esms.ok("list_templates", valid_request("list_templates", SmsType="25"))
    assert sorted(t["TempId"] for t in normal["ZNSTemplates"]) == [205644, 205645, 654321]
    priority = esms.ok("list_templates", valid_request("list_templates", SmsType="24"))
    assert priority["ZNSTemplates"] == []


# ---------------------------------------------------------------------------- balance, quota, price
def test_get_balance_returns_the_fixture_balance_and_user_id(esms):
    body = esms.ok("get_balance", CREDENTIALS)
    assert body["Balance"] == 1_000_000 and body["UserID"] == 10001


def test_balance_goes_down_by_the_estimated_price_of_each_accepted_zns(esms):
    start = esms.balance()
    estimate = esms.ok("estimate_zns_price", valid_request("estimate_zns_price"))
    assert estimate["TotalReceiver"] == 1 and estimate["TotalPrice"] > 0
    for op_id in ("send_zns_v5", "send_zns_v6", "send_zns_v4", "send_zns_by_uid", "send_zns_by_hashed_phone"):
        esms.send(op_id)
    assert esms.balance() == pytest.approx(start - 5 * estimate["TotalPrice"])


def test_balance_goes_down_by_the_follower_price_of_each_follower_message(esms, store):
    start = esms.balance()
    esms.send("send_follower_message_v4")
    esms.send("send_follower_message_v5")
    price = store.fixtures().prices.follower
    assert price > 0
    assert esms.balance() == pytest.approx(start - 2 * price)


def test_price_estimate_is_not_charged_and_does_not_use_quota(esms):
    balance, quota = esms.balance(), esms.remaining_quota()
    for _ in range(3):
        esms.ok("estimate_zns_price", valid_request("estimate_zns_price"))
    assert (esms.balance(), esms.remaining_quota()) == (balance, quota)


def test_price_estimate_uses_the_template_price_when_the_fixture_sets_one(esms, store):
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["templates"][0]["price"] = 300
    store.load_fixtures(doc)
    assert esms.ok("estimate_zns_price", valid_request("estimate_zns_price"))["TotalPrice"] == 300
    start = esms.balance()
    esms.send("send_zns_v6")
    assert esms.balance() == pytest.approx(start - 300)


def test_priority_template_costs_the_priority_price(esms, store):
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["templates"].append(
        {"id": "300300", "sms_type": "24", "params": [{"name": "otp", "max_length": 10}]})
    store.load_fixtures(doc)
    price = esms.ok("estimate_zns_price", valid_request("estimate_zns_price", TempID="300300"))["TotalPrice"]
    assert price == store.fixtures().prices.zns_priority
    start = esms.balance()
    esms.send("send_zns_v6", TempID="300300")
    assert esms.balance() == pytest.approx(start - price)


def test_remaining_quota_goes_down_by_one_per_zns(esms):
    daily = esms.ok("get_quota", valid_request("get_quota"))
    assert daily["RemainingQuota"] == daily["DailyQuota"] == 500
    for op_id in ("send_zns_v5", "send_zns_v6", "send_zns_v4"):
        esms.send(op_id)
    assert esms.remaining_quota() == 497


def test_follower_messages_do_not_use_the_zns_quota(esms):
    esms.send("send_follower_message_v4")
    esms.send("send_follower_message_v5")
    assert esms.remaining_quota() == 500


def test_refused_requests_neither_charge_nor_use_quota(esms):
    balance, quota = esms.balance(), esms.remaining_quota()
    esms.refused("send_zns_v5", valid_request("send_zns_v5", TempID="999999"), "789")
    esms.refused("send_zns_v6", valid_request("send_zns_v6", TempData={"nope": "1"}), "790")
    esms.refused("send_zns_v4", valid_request("send_zns_v4", Phone="09018"), "108")
    assert (esms.balance(), esms.remaining_quota()) == (balance, quota)


def test_quota_is_per_oa(esms, fixtures):
    esms.send("send_zns_v6")
    assert esms.remaining_quota(OAID) == 499
    assert esms.remaining_quota(OTHER_OAID, OTHER_CREDENTIALS) == 500


def test_balance_is_per_account(esms, fixtures):
    esms.send("send_zns_v6")
    assert esms.balance(OTHER_CREDENTIALS) == 1_000_000
    assert esms.balance() < 1_000_000


# ---------------------------------------------------------------------------- other account operations
def test_followers_are_paged_with_offset_and_count(esms):
    body = esms.ok("get_followers", valid_request("get_followers", Offset=1, Count=1))
    assert body["Total"] == 2 and body["Followers"] == [{"User_Id": "7800378501923859643"}]


def test_uid_list_filters_by_tag(esms):
    body = esms.ok("query_uid_list", valid_request("query_uid_list", TagName="vip"))
    assert body["Data"]["Users"] == [FOLLOWER]


@pytest.mark.parametrize("field,value,code", [("FromDate", "2025-01-01", "161"), ("ToDate", "32/13/2025", "161"),
                                              ("Count", 51, "162"), ("Offset", 9951, "162")])
def test_uid_list_refuses_bad_dates_and_pages(esms, field, value, code):
    esms.refused("query_uid_list", valid_request("query_uid_list", **{field: value}), code)


def test_the_same_registration_twice_returns_199(esms):
    first = esms.ok("register_zns_template", valid_request("register_zns_template"))
    assert first["ServicePreviewId"] > 0
    esms.refused("register_zns_template", valid_request("register_zns_template"), "199")
    esms.ok("register_zns_template", valid_request("register_zns_template", Content="Another {{thing}}"))


def test_ratings_are_filtered_by_template_and_time(esms):
    assert esms.ok("get_ratings", valid_request("get_ratings"))["Total"] == 1
    assert esms.ok("get_ratings", valid_request("get_ratings", TemplateID=OTP_TEMPLATE))["Total"] == 0
    later = valid_request("get_ratings", FromTime="2025-02-01 00:00:00", ToTime="2025-02-02 00:00:00")
    assert esms.ok("get_ratings", later)["Total"] == 0


def test_quality_comes_from_the_fixtures(esms, store):
    doc = store.fixtures().document
    doc["accounts"][0]["oas"][0]["quality"] = {"current": "LOW", "seven_day": "MEDIUM"}
    store.load_fixtures(doc)
    body = esms.ok("get_quality", valid_request("get_quality"))
    assert (body["OaCurrentQuality"], body["Oa7dayQuality"]) == ("LOW", "MEDIUM")


def test_oa_ids_are_strings_in_answers(esms):
    # Identifiers never travel as numbers: the OA id exceeds 2**53.
    body = esms.ok("list_oas", CREDENTIALS)
    assert body["ZOAList"][0]["OAID"] == OAID
