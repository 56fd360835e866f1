"""124 on a retry means the earlier attempt most likely got through, and the error says so."""

from __future__ import annotations

import httpx
import pytest
from sdk_fakes import FakeEsms, answer, json_body

from esms_zalo import Client, DuplicateRequestError, models

DUPLICATE = {"CodeResult": "124", "CountRegenerate": 0, "ErrorMessage": "RequestId already exists"}


def test_a_retry_refused_as_duplicate_says_an_earlier_attempt_was_probably_accepted(
    client: Client, esms: FakeEsms
) -> None:
    # The first attempt reached eSMS and was accepted, but the answer was lost to a timeout.
    esms.script = [httpx.ReadTimeout("answer lost"), answer(DUPLICATE)]

    with pytest.raises(DuplicateRequestError) as raised:
        client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})

    error = raised.value
    request_id = json_body(esms.last)["RequestId"]
    assert error.probably_accepted is True
    assert "earlier attempt was probably accepted" in str(error)
    assert request_id in str(error)
    assert error.request_ids == (request_id,)


def test_a_first_attempt_refused_as_duplicate_claims_nothing_about_earlier_attempts(
    client: Client, esms: FakeEsms
) -> None:
    esms.default = answer(DUPLICATE)

    with pytest.raises(DuplicateRequestError) as raised:
        client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, request_id="reused")

    assert raised.value.probably_accepted is False
    assert "earlier attempt" not in str(raised.value)


def test_a_retry_refused_for_a_caller_request_id_is_not_claimed_as_accepted(client: Client, esms: FakeEsms) -> None:
    # The caller's RequestId may have been used by another call of theirs: the SDK cannot tell.
    esms.script = [httpx.Response(503), answer(DUPLICATE)]

    with pytest.raises(DuplicateRequestError) as raised:
        client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, request_id="order-42")

    assert raised.value.probably_accepted is False
    assert "may have been accepted" in str(raised.value)


def test_a_multichannel_retry_refused_as_duplicate_is_probably_accepted(client: Client, esms: FakeEsms) -> None:
    esms.script = [httpx.RemoteProtocolError("connection dropped"), answer(DUPLICATE)]

    with pytest.raises(DuplicateRequestError) as raised:
        client.send_multichannel_message(
            phone="0901888484",
            channels=["zalo", "sms"],
            legs=[
                models.MultiChannelZnsLeg(template_id="1", template_data=["1"], oa_id="2"),
                models.MultiChannelSmsLeg(content="x", sms_type="2", brand_name="Brand"),
            ],
        )

    assert raised.value.probably_accepted is True
    assert len(raised.value.request_ids) == 2
