"""Per-call options, as in openai-python: `timeout=` and `extra_body=` on every method."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sdk_fakes import ACCEPTED, FakeEsms, OperationExample, answer, json_body, sent_fields_of

from esms_zalo import AsyncClient, Client


def test_every_method_sends_extra_body_fields_and_uses_the_call_timeout(
    operation_example: OperationExample, client: Client, esms: FakeEsms
) -> None:
    method = getattr(client, operation_example.operation_id)

    method(**operation_example.kwargs(), timeout=2.5, extra_body={"NewField": "x"})

    request = esms.last
    assert sent_fields_of(request)["NewField"] == "x"
    assert request.extensions["timeout"] == httpx.Timeout(2.5).as_dict()


def test_every_async_method_takes_the_same_options(
    operation_example: OperationExample, make_async_client: Callable[..., AsyncClient], esms: FakeEsms
) -> None:
    async def call() -> None:
        async with make_async_client() as client:
            method = getattr(client, operation_example.operation_id)
            await method(**operation_example.kwargs(), timeout=httpx.Timeout(1.0, connect=0.5), extra_body={"N": 1})

    asyncio.run(call())

    request = esms.last
    assert str(sent_fields_of(request)["N"]) == "1"
    assert request.extensions["timeout"] == httpx.Timeout(1.0, connect=0.5).as_dict()


def test_without_options_the_clients_timeout_applies(make_client: Callable[..., Client], esms: FakeEsms) -> None:
    client = make_client(timeout=7.0)

    client.get_balance()

    assert esms.last.extensions["timeout"] == httpx.Timeout(7.0).as_dict()


def test_extra_body_wins_over_the_methods_own_fields_and_is_not_changed(client: Client, esms: FakeEsms) -> None:
    extra: dict[str, Any] = {"Sandbox": "1", "Nested": {"a": [1]}}

    client.send_zns_v6(
        oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, sandbox=False, extra_body=extra
    )

    body = json_body(esms.last)
    assert (body["Sandbox"], body["Nested"], body["OAID"]) == ("1", {"a": [1]}, "1")
    assert "RequestId" in body  # still filled by the SDK
    assert extra == {"Sandbox": "1", "Nested": {"a": [1]}}


def test_a_request_id_given_in_extra_body_is_the_one_kept_across_retries(
    client: Client, esms: FakeEsms
) -> None:
    esms.script = [httpx.ConnectError("refused"), answer(ACCEPTED)]

    client.send_zns_v6(
        oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, extra_body={"RequestId": "mine-1"}
    )

    assert [json.loads(r.content)["RequestId"] for r in esms.requests] == ["mine-1", "mine-1"]


def test_extra_body_of_a_get_goes_in_the_query_string(client: Client, esms: FakeEsms) -> None:
    client.get_send_status(sms_id="abc", extra_body={"Debug": True})

    assert esms.last.url.params["Debug"] == "true"
    assert esms.last.content == b""


def test_a_nested_extra_value_cannot_go_in_a_query_string(client: Client, esms: FakeEsms) -> None:
    with pytest.raises(TypeError, match="Nested"):
        client.get_send_status(sms_id="abc", extra_body={"Nested": {"a": 1}})

    assert esms.requests == []
