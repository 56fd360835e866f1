"""AsyncClient is Client, awaited: same methods, same requests, same retries, same errors."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sdk_fakes import ACCEPTED, FakeEsms, OperationExample, Sleeps, answer, json_body

from esms_zalo import AsyncClient, AuthorizationError, Client, DuplicateRequestError, UnexpectedStatusError


def _public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {name: m for name, m in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_async_client_has_the_same_operation_methods_with_the_same_signatures() -> None:
    sync_methods = _public_methods(Client)
    async_methods = _public_methods(AsyncClient)
    operations = set(sync_methods) - {"close"}

    assert operations == set(async_methods) - {"aclose"}
    for name in operations:
        assert inspect.iscoroutinefunction(async_methods[name]), name
        assert inspect.signature(async_methods[name]) == inspect.signature(sync_methods[name]), name


def test_async_client_sends_the_same_request_as_the_sync_client(
    operation_example: OperationExample,
    make_client: Callable[..., Client],
    make_async_client: Callable[..., AsyncClient],
    esms: FakeEsms,
) -> None:
    kwargs = operation_example.kwargs()

    getattr(make_client(), operation_example.operation_id)(**kwargs)

    async def call() -> None:
        async with make_async_client() as client:
            await getattr(client, operation_example.operation_id)(**kwargs)

    asyncio.run(call())

    sync_request, async_request = esms.requests
    assert (async_request.method, async_request.url.path) == (sync_request.method, sync_request.url.path)
    assert async_request.headers.get("content-type") == sync_request.headers.get("content-type")
    if sync_request.headers.get("content-type") == "application/json":
        # RequestIds are fresh uuid4s per call; everything else must match byte for byte.
        assert _without_request_ids(json_body(async_request)) == _without_request_ids(json_body(sync_request))
    elif operation_example.media_type is None:
        assert async_request.url.params == sync_request.url.params


def _without_request_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_request_ids(v) for k, v in value.items() if k != "RequestId"}
    if isinstance(value, list):
        return [_without_request_ids(item) for item in value]
    return value


def test_async_client_retries_and_reuses_the_request_id(
    make_async_client: Callable[..., AsyncClient], esms: FakeEsms, sleeps: Sleeps
) -> None:
    esms.script = [httpx.ConnectError("refused"), httpx.Response(503), answer(ACCEPTED)]

    async def call() -> str:
        async with make_async_client() as client:
            result = await client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})
            return result.result_code

    assert asyncio.run(call()) == "100"
    assert len({body["RequestId"] for body in esms.bodies()}) == 1
    assert len(esms.requests) == 3 and len(sleeps.delays) == 2


def test_async_client_gives_up_after_max_retries(make_async_client: Callable[..., AsyncClient], esms: FakeEsms) -> None:
    esms.default = httpx.Response(500)

    async def call() -> None:
        async with make_async_client(max_retries=1) as client:
            await client.get_balance()

    with pytest.raises(UnexpectedStatusError):
        asyncio.run(call())
    assert len(esms.requests) == 2


def test_async_client_raises_the_family_class(make_async_client: Callable[..., AsyncClient], esms: FakeEsms) -> None:
    esms.default = answer({"Balance": 0, "CodeResponse": "101", "ErrorMessage": "Authorize Failed"})

    async def call() -> None:
        async with make_async_client() as client:
            await client.get_balance()

    with pytest.raises(AuthorizationError):
        asyncio.run(call())


def test_async_client_says_an_earlier_attempt_was_probably_accepted(
    make_async_client: Callable[..., AsyncClient], esms: FakeEsms
) -> None:
    duplicate = answer({"CodeResult": "124", "ErrorMessage": "RequestId already exists"})
    esms.script = [httpx.ReadTimeout("answer lost"), duplicate]

    async def call() -> None:
        async with make_async_client() as client:
            await client.send_follower_message_v4(oa_id="1", user_id="2", content="hi")

    with pytest.raises(DuplicateRequestError) as raised:
        asyncio.run(call())
    assert raised.value.probably_accepted is True


def test_async_client_has_the_same_default_timeout(
    make_async_client: Callable[..., AsyncClient], esms: FakeEsms
) -> None:
    async def call() -> None:
        async with make_async_client() as client:
            await client.get_balance()

    asyncio.run(call())

    assert esms.last.extensions["timeout"] == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


def test_async_client_closes_only_its_own_http_client(esms: FakeEsms) -> None:
    async def scenario() -> tuple[bool, bool]:
        given = httpx.AsyncClient(transport=httpx.MockTransport(esms))
        async with AsyncClient("k", "s", http_client=given):
            pass
        own = AsyncClient("k", "s")
        await own.aclose()
        closed = (given.is_closed, own._http.is_closed)
        await given.aclose()
        return closed

    assert asyncio.run(scenario()) == (False, True)
