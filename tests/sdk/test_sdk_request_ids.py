"""Every send is safe to retry: the client fills each empty RequestId slot with a uuid4."""

from __future__ import annotations

import uuid

import httpx
from sdk_fakes import ACCEPTED, FakeEsms, answer, json_body

from esms_zalo import Client, models


def _is_uuid4(value: object) -> bool:
    try:
        return uuid.UUID(str(value)).version == 4
    except ValueError:
        return False


def _bulk_items(*phones: str) -> list[models.ZnsBulkItem]:
    return [models.ZnsBulkItem(phone=phone, template_data=["123456"]) for phone in phones]


def _legs(zns_request_id: str | None = None) -> list[models.MultiChannelZnsLeg | models.MultiChannelSmsLeg]:
    return [
        models.MultiChannelZnsLeg(template_id="205644", template_data=["1"], oa_id="1", request_id=zns_request_id),
        models.MultiChannelSmsLeg(content="1 is your code", sms_type="2", brand_name="Brand"),
    ]


def test_a_send_without_request_id_gets_a_uuid4(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})

    assert _is_uuid4(json_body(esms.last)["RequestId"])


def test_a_request_id_given_by_the_caller_is_kept(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, request_id="order-42")

    assert json_body(esms.last)["RequestId"] == "order-42"


def test_an_empty_request_id_counts_as_none(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, request_id="")

    assert _is_uuid4(json_body(esms.last)["RequestId"])


def test_each_call_gets_its_own_request_id(client: Client, esms: FakeEsms) -> None:
    for _ in range(2):
        client.send_follower_message_v4(oa_id="1", user_id="2", content="hi")

    first, second = (body["RequestId"] for body in esms.bodies())
    assert first != second


def test_every_bulk_item_and_the_bulk_request_get_a_request_id(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "100", "Message": "Sucess", "TotalSuccess": 3, "TotalFail": 0})

    client.send_zns_bulk(oa_id="1", template_id="2", recipients=_bulk_items("0901888481", "0901888482", "0901888483"))

    body = json_body(esms.last)
    ids = [body["RequestId"], *(item["RequestId"] for item in body["Data"])]
    assert all(_is_uuid4(value) for value in ids)
    assert len(set(ids)) == 4


def test_a_bulk_item_request_id_given_by_the_caller_is_kept(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "100"})
    items = _bulk_items("0901888481", "0901888482")
    items[0].request_id = "mine-1"

    client.send_zns_bulk(oa_id="1", template_id="2", recipients=items)

    first, second = json_body(esms.last)["Data"]
    assert first["RequestId"] == "mine-1"
    assert _is_uuid4(second["RequestId"])


def test_both_multichannel_legs_get_their_own_request_id(client: Client, esms: FakeEsms) -> None:
    client.send_multichannel_message(phone="0901888484", channels=["zalo", "sms"], legs=_legs())

    zns_leg, sms_leg = json_body(esms.last)["Data"]
    assert _is_uuid4(zns_leg["RequestId"]) and _is_uuid4(sms_leg["RequestId"])
    assert zns_leg["RequestId"] != sms_leg["RequestId"]
    assert "RequestId" not in json_body(esms.last)  # the schema has none at the top level


def test_a_multichannel_leg_request_id_given_by_the_caller_is_kept(client: Client, esms: FakeEsms) -> None:
    client.send_multichannel_message(phone="0901888484", channels=["zalo", "sms"], legs=_legs("zns-leg-7"))

    zns_leg, sms_leg = json_body(esms.last)["Data"]
    assert zns_leg["RequestId"] == "zns-leg-7"
    assert _is_uuid4(sms_leg["RequestId"])


def test_an_operation_without_request_id_in_its_schema_sends_none(client: Client, esms: FakeEsms) -> None:
    client.get_balance()
    client.send_auto_generated_otp(phone="0901888484", multichannel_template_id="12345", otp_mode="2")

    assert all("RequestId" not in body for body in esms.bodies())


def test_retry_reuses_the_generated_request_id(client: Client, esms: FakeEsms) -> None:
    esms.script = [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), answer(ACCEPTED)]

    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})

    ids = [body["RequestId"] for body in esms.bodies()]
    assert len(ids) == 3 and len(set(ids)) == 1


def test_retry_resends_the_very_same_bulk_and_multichannel_bodies(client: Client, esms: FakeEsms) -> None:
    esms.script = [httpx.Response(503), answer({"CodeResult": "100"})]
    client.send_zns_bulk(oa_id="1", template_id="2", recipients=_bulk_items("0901888481", "0901888482"))
    esms.script = [httpx.Response(502), answer(ACCEPTED)]
    client.send_multichannel_message(phone="0901888484", channels=["zalo", "sms"], legs=_legs())

    bulk_first, bulk_retry, multi_first, multi_retry = (r.content for r in esms.requests)
    assert bulk_first == bulk_retry
    assert multi_first == multi_retry
