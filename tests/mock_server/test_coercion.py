"""Requests read the way eSMS reads them (mock_server.esms.coercion, the spec's
`x-esms-lenient-reading`), one behaviour per kind of field:

* a string field given a JSON number or boolean reads its text (`0` -> `"0"`, `true` -> `"true"`),
  exactly for identifiers of 19 digits; given `null` it reads as not sent;
* an integer field given a numeric string (`" 5"`, `"+5"`, `"5.0"`, `"5e0"`) or `5.0` reads the
  number; a fraction or a word does not, and is refused naming the field;
* a boolean field given `"true"`/`"1"`/`1` or `"false"`/`"0"`/`0` reads the boolean; `"True"` is
  refused (.NET's XmlConvert is case-sensitive), and so is `null`;
* nested objects, arrays and oneOf branches read the same way;
* `TempData` of `SendZaloMessage_V5_post/` reads the list of the samples and the object of V6;
* what no conversion covers (an object or array for a value) is refused as before;
* the table in the spec decides: without a row, its conversion is gone.
Fuzzing of the same: tests/contract/test_lenient_forms.py.
"""

from __future__ import annotations

import copy
import json

import pytest
from esms_mock_support import (
    CREDENTIALS,
    JOURNEY_TEMPLATE,
    OAID,
    OTP_TEMPLATE,
    SEND_OPERATIONS,
    _VALID,
    api_spec,
    demo_document,
    operation,
    valid_request,
)

from mock_server.esms.coercion import (
    LenientReader,
    LenientReadingError,
    ReadingRules,
    read_as_boolean,
    read_as_integer,
    read_as_text,
)
from mock_server.esms.spec import ApiSpec
from mock_server.esms.validation import RequestValidator

INTERNATIONAL_PHONE = "84901888484"


def sent_body(store, smsid: str) -> dict:
    """The request as the mock read it and journaled it."""
    row = store.message(smsid)
    assert row is not None, smsid
    return json.loads(row["body_json"])


# ---------------------------------------------------------------------------- string fields
def test_string_fields_given_numbers_read_their_text(esms, store):
    smsid = esms.send("send_zns_v5", OAID=int(OAID), Phone=int(INTERNATIONAL_PHONE), TempID=int(OTP_TEMPLATE),
                      Sandbox=0, SendingMode=1, TempData=[{"key": "otp", "value": 123456}])
    body = sent_body(store, smsid)
    assert (body["OAID"], body["Phone"], body["TempID"], body["Sandbox"], body["SendingMode"]) == (
        OAID, INTERNATIONAL_PHONE, OTP_TEMPLATE, "0", "1")
    assert body["TempData"] == [{"key": "otp", "value": "123456"}]


def test_nineteen_digit_identifier_sent_as_a_number_is_read_exactly(esms, store):
    assert int(OAID) > 2**53  # past what a double holds exactly
    smsid = esms.send("send_zns_v6", OAID=int(OAID))
    assert store.message(smsid)["oaid"] == OAID


def test_vendor_sample_numbers_for_sms_fields_are_accepted(esms):
    """The VI SMS V4 JSON sample sends `"IsUnicode": 0`, and .NET clients declare SmsType an int."""
    body = valid_request("send_multichannel_message")
    body["Data"][1].update(IsUnicode=0, SmsType=2)
    esms.ok("send_multichannel_message", body)
    esms.ok("send_full_content_json", valid_request("send_full_content_json", SmsType=25, IsUnicode=1, Sandbox=0))


def test_number_that_reads_as_an_invalid_text_is_refused_naming_the_field(shared_esms):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Sandbox=2), "110")
    assert 'Sandbox: "2" is not one of' in answer["ErrorMessage"]
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Phone=901888484), "108")
    assert "Phone" in answer["ErrorMessage"]  # no leading 0 once read as text


def test_string_field_given_a_boolean_reads_true_or_false(esms, store):
    smsid = esms.send("send_zns_v5", campaignid=True)
    assert store.message(smsid)["campaign"] == "true"


def test_boolean_that_reads_as_an_invalid_text_is_refused_naming_the_field(shared_esms):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", Sandbox=False), "110")
    assert 'Sandbox: "false" is not one of' in answer["ErrorMessage"]


def test_fraction_for_a_string_field_reads_its_shortest_text(esms, store):
    smsid = esms.send("send_zns_v5", TempData=[{"key": "otp", "value": 1.5}])
    assert sent_body(store, smsid)["TempData"] == [{"key": "otp", "value": "1.5"}]


@pytest.mark.parametrize("field", ["SendDate", "campaignid", "RequestId", "CallbackUrl", "Sandbox", "SendingMode"])
def test_optional_string_field_given_null_reads_as_not_sent(esms, store, field):
    body = valid_request("send_zns_v5") | {field: None}
    smsid = esms.ok("send_zns_v5", body)["SMSID"]
    assert field not in sent_body(store, smsid)


@pytest.mark.parametrize("field,code", [("OAID", "791"), ("TempID", "791"), ("Phone", "108"), ("TempData", "790"),
                                        ("ApiKey", "101")])
def test_required_field_given_null_is_refused_as_missing(shared_esms, field, code):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5") | {field: None}, code)
    if code != "101":
        assert f"{field} is missing" in answer["ErrorMessage"]


@pytest.mark.parametrize("value", [{"text": "x"}, ["x"]])
def test_object_or_array_for_a_string_field_is_refused_naming_the_field(shared_esms, value):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", campaignid=value), "110")
    assert answer["ErrorMessage"].startswith("Request data incorrect: campaignid:")
    assert 'is not of type "string"' in answer["ErrorMessage"]


def test_credentials_given_as_numbers_read_their_text(esms, store):
    doc = demo_document()
    doc["accounts"].append({"api_key": "123456", "secret_key": "654321", "balance": 1_000_000,
                            "oas": [{"oaid": "5000000000000000009",
                                     "templates": [{"id": OTP_TEMPLATE, "params": [{"name": "otp", "max_length": 10}]}]}]})
    store.load_fixtures(doc)
    body = valid_request("send_zns_v5", {"ApiKey": 123456, "SecretKey": 654321}, OAID="5000000000000000009")
    esms.ok("send_zns_v5", body)
    esms.refused("send_zns_v5", valid_request("send_zns_v5", {"ApiKey": 123456, "SecretKey": 123456}), "101")


# ---------------------------------------------------------------------------- integer fields
@pytest.mark.parametrize("offset", [" 5", "5 ", "+5", "5.0", "5e0", "0.5e1", 5.0])
def test_integer_field_given_a_numeric_string_or_whole_number_reads_the_number(esms, offset):
    canonical = esms.ok("get_followers", valid_request("get_followers", Offset=5, Count=2))
    assert esms.ok("get_followers", valid_request("get_followers", Offset=offset, Count=2)) == canonical


@pytest.mark.parametrize("count", ["1.5", "five", "", "0x10", "1,000", True, 2.5])
def test_integer_field_given_what_is_no_whole_number_is_refused_naming_the_field(shared_esms, count):
    answer = shared_esms.refused("query_uid_list", valid_request("query_uid_list", Count=count), "162")
    assert "Count" in answer["ErrorMessage"]


def test_integer_field_given_null_is_read_as_not_sent(shared_esms):
    answer = shared_esms.refused("query_uid_list", valid_request("query_uid_list") | {"Offset": None}, "162")
    assert "Offset is missing" in answer["ErrorMessage"]


def test_integer_or_string_field_given_a_signed_string_reads_the_number(esms):
    esms.ok("register_oa_package", valid_request("register_oa_package", Package="+2", Dateactive="2031-02-03"))
    esms.refused("register_oa_package", valid_request("register_oa_package", Package="2.5", Dateactive="2031-02-04"),
                 operation("register_oa_package").invalid_request_code)


# ---------------------------------------------------------------------------- boolean fields
def journey(**overrides):
    return valid_request("send_zns_v4", **{"TempID": JOURNEY_TEMPLATE, "Params": ["A", "ORD-1", "Shipping"],
                                           "OrderId": "journey-1", **overrides})


@pytest.mark.parametrize("value", [True, "true", "1", 1, " true "])
def test_boolean_field_given_true_text_or_1_reads_true(esms, store, value):
    smsid = esms.ok("send_zns_v4", journey(IsJourney=value))["SMSID"]
    assert store.message(smsid)["type_id"] == 27  # a journey message
    assert sent_body(store, smsid)["IsJourney"] is True


@pytest.mark.parametrize("value", [False, "false", "0", 0])
def test_boolean_field_given_false_text_or_0_reads_false(esms, store, value):
    smsid = esms.send("send_zns_v4", IsJourney=value)
    assert store.message(smsid)["type_id"] != 27


@pytest.mark.parametrize("value", ["True", "yes", "", 2, 1.0, None, {}])
def test_boolean_field_given_anything_else_is_refused_naming_the_field(shared_esms, value):
    answer = shared_esms.refused("send_zns_v4", journey() | {"IsJourney": value},
                                 operation("send_zns_v4").invalid_request_code)
    assert "IsJourney" in answer["ErrorMessage"]


# ---------------------------------------------------------------------------- nesting and branches
def test_nested_fields_and_one_of_branches_read_the_same_way(esms, store):
    payload = {"recipient": {"user_id": 7800378501923859642},
               "message": {"text": 42, "attachment": {"type": "template", "payload": {"buttons": [
                   {"title": 1, "type": "oa.open.phone", "payload": {"phone_code": 84900000000}},
                   {"title": "Show", "type": "oa.query.show", "payload": 12345}]}}}}
    smsid = esms.send("send_follower_message_v5", Payload=payload)
    read = sent_body(store, smsid)["Payload"]
    assert read["recipient"]["user_id"] == "7800378501923859642"
    assert read["message"]["text"] == "42"
    assert read["message"]["attachment"]["payload"]["buttons"][0] == {
        "title": "1", "type": "oa.open.phone", "payload": {"phone_code": "84900000000"}}
    assert read["message"]["attachment"]["payload"]["buttons"][1]["payload"] == "12345"


def test_each_multichannel_leg_reads_by_its_own_branch(esms, store):
    body = {**CREDENTIALS, "Phone": int(INTERNATIONAL_PHONE), "Channels": ["zalo", "sms"], "Data": [
        {"TempID": int(OTP_TEMPLATE), "Params": [654321], "OAID": int(OAID), "Sandbox": 0},
        {"Content": "654321 is your code", "IsUnicode": 0, "SmsType": 2, "Brandname": "DEMO"}]}
    smsid = esms.ok("send_multichannel_message", body)["SMSID"]
    data = sent_body(store, smsid)["Data"]
    assert data[0] == {"TempID": OTP_TEMPLATE, "Params": ["654321"], "OAID": OAID, "Sandbox": "0"}
    assert data[1]["IsUnicode"] == "0" and data[1]["SmsType"] == "2"


# ---------------------------------------------------------------------------- TempData of V5_post
def test_v5_post_reads_temp_data_as_the_list_of_the_samples(esms):
    esms.send("send_zns_v5", TempData=[{"key": "otp", "value": "123456"}])


def test_v5_post_reads_temp_data_as_the_object_of_v6_like_the_list(esms, store):
    by_list = sent_body(store, esms.send("send_zns_v5", TempData=[{"key": "otp", "value": "123456"}]))
    by_object = sent_body(store, esms.send("send_zns_v5", TempData={"otp": "123456"}))
    assert by_object["TempData"] == by_list["TempData"] == [{"key": "otp", "value": "123456"}]


def test_v5_post_object_temp_data_with_numbers_reads_their_text(esms, store):
    smsid = esms.send("send_zns_v5", TempData={"otp": 123456})
    assert sent_body(store, smsid)["TempData"] == [{"key": "otp", "value": "123456"}]


def test_v5_post_object_temp_data_is_checked_against_the_template_like_the_list(shared_esms):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", TempData={"code": "123456"}), "790")
    listed = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", TempData=[{"key": "code", "value": "123456"}]), "790")
    assert answer["ErrorMessage"] == listed["ErrorMessage"]


def test_v5_post_object_temp_data_with_nested_values_is_refused_naming_both_forms(shared_esms):
    answer = shared_esms.refused("send_zns_v5", valid_request("send_zns_v5", TempData={"otp": {"v": "1"}}), "790")
    assert answer["ErrorMessage"].startswith("Template data is not correct: TempData:")
    assert 'is not of type "array"' in answer["ErrorMessage"]
    assert 'also read: an object {"name": "value", ...}' in answer["ErrorMessage"]


def test_v6_still_reads_only_the_object(shared_esms):
    shared_esms.refused("send_zns_v6", valid_request("send_zns_v6", TempData=[{"key": "otp", "value": "1"}]), "790")


# ---------------------------------------------------------------------------- the reader itself
@pytest.mark.parametrize("op_id", sorted(_VALID))
def test_canonical_requests_are_read_unchanged(op_id):
    reader = LenientReader(api_spec())
    body = valid_request(op_id)
    if operation(op_id).reads_query or operation(op_id).is_form:
        body = {key: str(value) for key, value in body.items()}
    before = copy.deepcopy(body)
    assert reader.read(operation(op_id), body) is False
    assert body == before


@pytest.mark.parametrize("op_id", SEND_OPERATIONS)
def test_a_read_request_is_read_unchanged_a_second_time(op_id):
    reader = LenientReader(api_spec())
    body = json.loads(json.dumps(valid_request(op_id)).replace(f'"{OAID}"', OAID).replace(f'"{OTP_TEMPLATE}"', OTP_TEMPLATE))
    reader.read(operation(op_id), body)
    once = copy.deepcopy(body)
    assert reader.read(operation(op_id), body) is False and body == once


def test_a_conversion_the_spec_does_not_list_is_not_made():
    document = copy.deepcopy(api_spec().document)
    rows = document["x-esms-lenient-reading"]["conversions"]
    rows[:] = [row for row in rows if (row["field"], row["sent"]) != ("string", "number")]
    spec = ApiSpec(document)
    invalid = RequestValidator(spec).check(spec.operations["send_zns_v5"], valid_request("send_zns_v5", Phone=int(INTERNATIONAL_PHONE)))
    assert invalid is not None and invalid.code == "108"
    assert RequestValidator(api_spec()).check(operation("send_zns_v5"), valid_request("send_zns_v5", Phone=int(INTERNATIONAL_PHONE))) is None


@pytest.mark.parametrize("table,problem", [
    ({"conversions": [{"field": "string", "sent": "number", "reads": "rounded"}]}, "reads 'rounded'"),
    ({"conversions": [{"field": "strings", "sent": "number", "reads": "text"}]}, "two different JSON types"),
    ({"conversions": [{"field": "string", "sent": "number", "reads": "absent"}]}, "only a null"),
    ({"forms": {"csv-list": {"summary": "x"}}}, "form 'csv-list' is unknown"),
    (["not", "a", "mapping"], "must be a mapping"),
])
def test_a_table_the_mock_cannot_apply_is_refused_at_start(table, problem):
    with pytest.raises(LenientReadingError, match=problem):
        ReadingRules.from_document({"x-esms-lenient-reading": table})


def test_a_field_naming_an_undefined_form_is_refused_at_start():
    document = copy.deepcopy(api_spec().document)
    document["x-esms-lenient-reading"]["forms"] = {}
    with pytest.raises(LenientReadingError, match="key-value-object"):
        LenientReader(ApiSpec(document))


@pytest.mark.parametrize("value,expected", [
    ("42", 42), (" 42 ", 42), ("+42", 42), ("-42", -42), ("42.0", 42), ("4.2e1", 42), (".42e2", 42), ("42.", 42),
    (42.0, 42), ("9223372036854775807", 2**63 - 1),
])
def test_numeric_text_reads_as_dotnet_reads_an_integer(value, expected):
    assert read_as_integer(value) == expected


@pytest.mark.parametrize("value", ["4.5", "1e-1", "", " ", "4 2", "0x2A", "1,000", "٤٢", "9223372036854775808",
                                   "1e999999999", "NaN", "Infinity", 4.5, True, None, [], {}])
def test_what_dotnet_cannot_read_as_an_integer_does_not_convert(value):
    assert not isinstance(read_as_integer(value), int)


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("\ttrue\n", True), (1, True),
                                            ("false", False), ("0", False), (0, False)])
def test_boolean_text_reads_as_xmlconvert_reads_it(value, expected):
    assert read_as_boolean(value) is expected


@pytest.mark.parametrize("value", ["True", "FALSE", "yes", "", 2, 1.0, True, None])
def test_what_xmlconvert_cannot_read_as_a_boolean_does_not_convert(value):
    assert not isinstance(read_as_boolean(value), bool)


@pytest.mark.parametrize("value,expected", [(0, "0"), (-7, "-7"), (4097311281936189049, "4097311281936189049"),
                                            (1.5, "1.5"), (True, "true"), (False, "false")])
def test_numbers_and_booleans_read_as_their_text(value, expected):
    assert read_as_text(value) == expected



def test_list_over_its_size_limit_is_refused_for_its_size_whatever_it_holds(shared_esms):
    items = [{"Phone": int(INTERNATIONAL_PHONE), "Params": [123456]} for _ in range(501)]
    shared_esms.refused("send_zns_bulk", valid_request("send_zns_bulk", Data=items), "687")
