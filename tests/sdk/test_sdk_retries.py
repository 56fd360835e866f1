"""Connection errors, timeouts and 5xx are retried with backoff; answers with a code never are."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sdk_fakes import ACCEPTED, FakeEsms, Sleeps, answer

from esms_zalo import (
    AuthorizationError,
    Client,
    EsmsConnectionError,
    EsmsTimeoutError,
    UnexpectedStatusError,
)


def _send(client: Client) -> object:
    return client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})


def test_a_connection_error_then_success_returns_the_answer(client: Client, esms: FakeEsms, sleeps: Sleeps) -> None:
    esms.script = [httpx.ConnectError("refused"), answer(ACCEPTED)]

    result = _send(client)

    assert result.sms_id == ACCEPTED["SMSID"]
    assert len(esms.requests) == 2
    assert len(sleeps.delays) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_then_success_returns_the_answer(status: int, client: Client, esms: FakeEsms, sleeps: Sleeps) -> None:
    esms.script = [httpx.Response(status, text="upstream trouble"), answer(ACCEPTED)]

    assert _send(client).result_code == "100"
    assert len(esms.requests) == 2


def test_a_timeout_then_success_returns_the_answer(client: Client, esms: FakeEsms) -> None:
    esms.script = [httpx.ReadTimeout("slow"), answer(ACCEPTED)]

    assert _send(client).result_code == "100"


def test_5xx_gives_up_after_max_retries(client: Client, esms: FakeEsms, sleeps: Sleeps) -> None:
    esms.default = httpx.Response(503)

    with pytest.raises(UnexpectedStatusError) as raised:
        _send(client)

    assert len(esms.requests) == 3  # the first attempt and the default 2 retries
    assert len(sleeps.delays) == 2  # no wait after the last failure
    assert raised.value.status_code == 503
    assert raised.value.attempts == 3


def test_connection_errors_give_up_after_max_retries(
    make_client: Callable[..., Client], esms: FakeEsms, sleeps: Sleeps
) -> None:
    esms.default = httpx.ConnectError("refused")

    with pytest.raises(EsmsConnectionError) as raised:
        _send(make_client(max_retries=4))

    assert len(esms.requests) == 5
    assert raised.value.attempts == 5
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
    assert raised.value.request.url.path.endswith("/SendZaloMessage_V6/")


def test_timeouts_give_up_as_a_timeout_error(client: Client, esms: FakeEsms) -> None:
    esms.default = httpx.ReadTimeout("slow")

    with pytest.raises(EsmsTimeoutError) as raised:
        _send(client)

    assert raised.value.attempts == 3


def test_max_retries_zero_sends_once(make_client: Callable[..., Client], esms: FakeEsms, sleeps: Sleeps) -> None:
    esms.default = httpx.Response(500)

    with pytest.raises(UnexpectedStatusError):
        _send(make_client(max_retries=0))

    assert len(esms.requests) == 1
    assert sleeps.delays == []


def test_a_200_with_an_error_code_is_not_retried(client: Client, esms: FakeEsms, sleeps: Sleeps) -> None:
    esms.default = answer({"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"})

    with pytest.raises(AuthorizationError):
        _send(client)

    assert len(esms.requests) == 1
    assert sleeps.delays == []


def test_a_4xx_is_not_retried(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "110", "ErrorMessage": "Request data incorrect: too large"}, status=413)

    with pytest.raises(UnexpectedStatusError) as raised:
        _send(client)

    assert len(esms.requests) == 1
    assert raised.value.status_code == 413
    assert "eSMS code 110" in str(raised.value)


def test_a_send_without_request_id_is_not_replayed_after_it_may_have_arrived(client: Client, esms: FakeEsms) -> None:
    """send_auto_generated_otp has no RequestId: a replay after a read timeout could send two OTPs."""
    esms.default = httpx.ReadTimeout("slow")

    with pytest.raises(EsmsTimeoutError):
        client.send_auto_generated_otp(phone="0901888484", multichannel_template_id="12345", otp_mode="2")

    assert len(esms.requests) == 1


def test_a_send_without_request_id_is_retried_when_it_cannot_have_arrived(client: Client, esms: FakeEsms) -> None:
    esms.script = [httpx.ConnectError("refused"), answer(ACCEPTED)]

    client.send_auto_generated_otp(phone="0901888484", multichannel_template_id="12345", otp_mode="2")

    assert len(esms.requests) == 2


def test_backoff_grows_exponentially_with_jitter(
    make_client: Callable[..., Client], esms: FakeEsms, sleeps: Sleeps
) -> None:
    esms.default = httpx.Response(503)

    with pytest.raises(UnexpectedStatusError):
        _send(make_client(max_retries=6))

    ceilings = [min(8.0, 0.5 * 2**n) for n in range(6)]
    assert len(sleeps.delays) == 6
    for delay, ceiling in zip(sleeps.delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert sleeps.delays != ceilings  # jittered, not the bare ceilings
