"""Fixtures of the SDK tests: clients wired to a FakeEsms through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sdk_fakes import API_KEY, SECRET_KEY, FakeEsms, Sleeps, load_operation_examples, spec_success_answers

from esms_zalo import AsyncClient, Client


@pytest.fixture
def esms() -> FakeEsms:
    return FakeEsms(default=spec_success_answers)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_client(esms: FakeEsms, sleeps: Sleeps) -> Iterator[Callable[..., Client]]:
    """Build a Client wired to the fake; keyword arguments go to Client()."""
    made: list[Client] = []

    def build(**kwargs: Any) -> Client:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("secret_key", SECRET_KEY)
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("http_client", httpx.Client(transport=httpx.MockTransport(esms)))
        client = Client(**kwargs)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client()


@pytest.fixture
def make_async_client(esms: FakeEsms, sleeps: Sleeps) -> Callable[..., AsyncClient]:
    def build(**kwargs: Any) -> AsyncClient:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("secret_key", SECRET_KEY)
        kwargs.setdefault("sleep", sleeps.async_sleep)
        kwargs.setdefault("http_client", httpx.AsyncClient(transport=httpx.MockTransport(esms)))
        return AsyncClient(**kwargs)

    return build


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "operation_example" in metafunc.fixturenames:
        examples = load_operation_examples()
        metafunc.parametrize(
            "operation_example", examples, ids=[f"{e.operation_id}-{e.example_name}" for e in examples]
        )
