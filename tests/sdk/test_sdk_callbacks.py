"""parse_delivery_callback: the three real encodings of error_info, and malformed callbacks.

The query strings are built the way eSMS sends them (reference §2.15): `{` and `}` left
unescaped in the ZNS samples, and error_info encoded twice for follower and journey messages.
"""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl

import pytest

from esms_zalo import CallbackParseError, DeliveryReport, EsmsError, models, parse_delivery_callback

ZNS_BY_PHONE = (
    "SMSID=0f1e2d3c4b5a69788796a5b4c3d2e1f0251&SendFailed=1&SendStatus=5&SendSuccess=0"
    "&TotalPrice=0.0000&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=25&telcoid=2"
    "&phonenumber=0900000114&partnerids="
    "&error_info=%22{%5C%22error%5C%22:-114,%5C%22message%5C%22:%5C%22User%20is%20inactive%20or%20rejected"
    "%20this%20message%5C%22}%22"
    "&oaid=4097311281936189049&tempid=205644"
)

FOLLOWER = (
    "SMSID=9c4d2f7a1be04c1fa0b1d2e3f4a5b6c7250&SendFailed=0&SendStatus=5&SendSuccess=1"
    "&TotalPrice=55.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0001&TypeId=26"
    "&phonenumber=312158068343230"
    "&error_info=%257B%2522data%2522%253A%257B%2522message_id%2522%253A%2522e1a60e8890be9de4c4ab%2522%252C"
    "%2522user_id%2522%253A%252231215806834323092%2522%257D%252C%2522error%2522%253A0%252C%2522message"
    "%2522%253A%2522Success%2522%257D____15%252F01%252F2025%252009%253A30%253A00"
    "&oaid=4097311281936189049&partnerids=e1a60e8890be9de4c4ab"
)

JOURNEY = (
    "SMSID=9c4d2f7a1be04c1fa0b1d2e3f4a5b6c7250&SendFailed=0&SendStatus=5&SendSuccess=1"
    "&TotalPrice=300.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0106&TypeId=27"
    "&phonenumber=312158068343230"
    "&error_info=%257B%2522data%2522%253A%257B%2522message_id%2522%253A%2522e1a60e8890be9de4c4ab%2522%252C"
    "%2522user_id%2522%253A%252231215806834323092%2522%257D%252C%2522error%2522%253A0%252C%2522message"
    "%2522%253A%2522Success%2522%257D____16%252F01%252F2025%252014%253A05%253A09"
    "&oaid=4097311281936189049&partnerids=e1a60e8890be9derir3gfbff"
)

ZNS_BY_UID = (
    "SMSID=82b0bb8aed914a0aab8deba567c9b8c2&SendFailed=0&SendStatus=5&SendSuccess=1"
    "&TotalPrice=300.0000&TotalReceiver=1&TotalSent=1&RequestId=req-0103&TypeId=25&telcoid=9"
    "&phonenumber=7800378501923859642&partnerids=e1a60e8890be9de4c4ab"
    "&error_info={%22error%22:0,%22message%22:%22Success%22,%22data%22:{%22delivery_time%22:null,"
    "%22message%22:%22Delivered%20to%20the%20handset%22,%22status%22:1}}"
    "&oaid=4097311281936189049&tempid=205644"
)

SAMPLES = {"zns-by-phone": ZNS_BY_PHONE, "follower": FOLLOWER, "journey": JOURNEY, "zns-by-uid": ZNS_BY_UID}


def test_a_zns_by_phone_callback_decodes_the_json_string_literal() -> None:
    report = parse_delivery_callback(ZNS_BY_PHONE)

    assert isinstance(report, DeliveryReport) and isinstance(report, models.DeliveryCallback)
    assert report.sms_id == "0f1e2d3c4b5a69788796a5b4c3d2e1f0251"
    assert (report.send_status, report.send_failed, report.send_success) == (5, 1, 0)
    assert (report.sms_type, report.carrier_id, report.template_id) == (25, 2, "205644")
    assert report.total_price == 0.0
    assert report.request_id == "" and report.zalo_message_id == ""
    info = report.decoded_error_info
    assert isinstance(info, models.ZaloErrorInfo)
    assert info.error == -114
    assert info.message == "User is inactive or rejected this message"
    assert info.reported_at is None


def test_a_follower_callback_decodes_the_double_encoding_and_the_report_time() -> None:
    report = parse_delivery_callback(FOLLOWER)

    assert (report.sms_type, report.carrier_id, report.template_id) == (26, None, None)
    assert report.total_price == 55.0
    info = report.decoded_error_info
    assert info is not None and info.error == 0 and info.message == "Success"
    assert info.data is not None
    assert info.data.zalo_message_id == report.zalo_message_id == "e1a60e8890be9de4c4ab"
    assert info.data.user_id == "31215806834323092"
    assert info.reported_at == "15/01/2025 09:30:00"


def test_a_journey_callback_decodes_like_a_follower_callback() -> None:
    report = parse_delivery_callback(JOURNEY)

    assert report.sms_type == 27
    info = report.decoded_error_info
    assert info is not None and info.reported_at == "16/01/2025 14:05:09"
    # The vendor's journey sample: partnerids differs from the message id inside error_info.
    assert info.data is not None and info.data.zalo_message_id != report.zalo_message_id


def test_a_zns_by_uid_callback_decodes_the_plain_json_object() -> None:
    report = parse_delivery_callback(ZNS_BY_UID)

    assert report.carrier_id == 9 and report.recipient == "7800378501923859642"
    info = report.decoded_error_info
    assert info is not None and info.error == 0
    assert info.data is not None
    assert (info.data.status, info.data.delivery_time, info.data.message) == (1, None, "Delivered to the handset")


@pytest.mark.parametrize("query", SAMPLES.values(), ids=SAMPLES.keys())
def test_a_framework_mapping_parses_like_the_raw_query_string(query: str) -> None:
    flask_style = dict(parse_qsl(query, keep_blank_values=True))
    parse_qs_style = parse_qs(query, keep_blank_values=True)

    expected = parse_delivery_callback(query)

    assert parse_delivery_callback(flask_style) == expected
    assert parse_delivery_callback(parse_qs_style) == expected


def test_a_full_callback_url_parses_like_its_query_string() -> None:
    url = "https://your-server.example/esms-callback?" + FOLLOWER

    assert parse_delivery_callback(url) == parse_delivery_callback(FOLLOWER)


def test_parameters_outside_the_spec_are_kept() -> None:
    report = parse_delivery_callback("SMSID=abc&SendStatus=2&switchsmsid=&NewThing=7")

    assert report.switch_sms_id == ""
    assert report.model_extra == {"NewThing": "7"}
    assert report.decoded_error_info is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("SendStatus=5&TypeId=25", "SMSID"),
        ("SMSID=&SendStatus=5", "SMSID"),
        ("SMSID=abc", "SendStatus"),
        ("SMSID=abc&SendStatus=five", "SendStatus"),
        ("SMSID=abc&SendStatus=3", "SendStatus"),
        ("SMSID=abc&SendStatus=5&TotalPrice=lots", "TotalPrice"),
        ("SMSID=abc&SendStatus=5&TypeId=2.5", "TypeId"),
        ("SMSID=abc&SendStatus=5&error_info={not json", "error_info"),
        ("SMSID=abc&SendStatus=5&error_info=%22not%20json%22", "error_info"),
        ("SMSID=abc&SendStatus=5&error_info=[1,2]", "error_info"),
        ("SMSID=abc&SendStatus=5&error_info={%22message%22:%22no error field%22}", "error_info"),
        ("SMSID=abc&SendStatus=5&error_info=%257Bbroken____15%252F01%252F2025", "error_info"),
        ("SMSID=abc&SMSID=def&SendStatus=5", "SMSID"),
    ],
    ids=[
        "no-smsid",
        "empty-smsid",
        "no-sendstatus",
        "sendstatus-not-a-number",
        "sendstatus-not-a-state",
        "totalprice-not-a-number",
        "typeid-not-whole",
        "error-info-not-json",
        "error-info-quoted-non-json",
        "error-info-not-an-object",
        "error-info-without-error",
        "error-info-double-encoded-garbage",
        "smsid-twice",
    ],
)
def test_a_malformed_callback_is_refused_naming_the_parameter(query: str, parameter: str) -> None:
    with pytest.raises(CallbackParseError) as raised:
        parse_delivery_callback(query)

    assert raised.value.parameter == parameter
    assert parameter in str(raised.value)


def test_a_callback_parse_error_is_a_value_error_and_an_sdk_error() -> None:
    with pytest.raises(ValueError):
        parse_delivery_callback("")
    assert issubclass(CallbackParseError, EsmsError)


def test_a_url_inside_a_value_does_not_make_the_query_a_url() -> None:
    query = "SMSID=abc&SendStatus=5&error_info={%22error%22:0,%22message%22:%22see https://zalo.me/x%22}"

    report = parse_delivery_callback(query)

    assert report.sms_id == "abc"
    assert report.decoded_error_info is not None
    assert report.decoded_error_info.message == "see https://zalo.me/x"
