"""The served mock's front (mock_server.edge) in-process: its read deadlines and its honest 500.

The edge served over real sockets is tested in test_served.py and test_isolation.py."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from mock_server import internal_error
from mock_server.edge import Edge, ReadDeadlines


class RecordingProto:
    """The part of Granian's RSGI protocol object that an answer uses."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, list[tuple[str, str]], bytes]] = []

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answers.append((status, headers, body))


def test_a_bug_in_the_edge_is_an_honest_json_500_and_the_traceback_only_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    edge = Edge.__new__(Edge)  # nothing of the state is reached before the bug

    async def broken(scope: Any, proto: Any) -> None:
        raise ZeroDivisionError("a bug")

    edge._serve = broken  # type: ignore[method-assign]
    proto = RecordingProto()
    with caplog.at_level(logging.ERROR, logger="esms_mock"):
        asyncio.run(edge.__rsgi__(SimpleNamespace(proto="http", path="/MainService.svc/json/x"), proto))
    [(status, headers, body)] = proto.answers
    assert status == internal_error.STATUS
    assert ("content-type", "application/json") in headers
    assert orjson.loads(body) == internal_error.body()
    assert "ZeroDivisionError: a bug" in caplog.text and b"ZeroDivisionError" not in body


def test_a_body_read_within_the_deadline_is_returned() -> None:
    async def main() -> bytes:
        deadlines = ReadDeadlines(asyncio.get_running_loop(), 1.0)

        async def body() -> bytes:
            await asyncio.sleep(0.01)
            return b"{}"

        return await deadlines.read(body())

    assert asyncio.run(main()) == b"{}"


def test_a_body_read_past_the_deadline_raises_timeout_and_leaves_the_task_usable() -> None:
    async def main() -> tuple[float, str]:
        loop = asyncio.get_running_loop()
        deadlines = ReadDeadlines(loop, 0.2)
        started = loop.time()
        with pytest.raises(TimeoutError):
            await deadlines.read(asyncio.sleep(30, b""))
        waited = loop.time() - started
        await asyncio.sleep(0)  # not cancelled again: the request can still be answered
        return waited, "answered"

    waited, after = asyncio.run(main())
    assert 0.2 <= waited < 0.2 + ReadDeadlines.TICK + 0.5
    assert after == "answered"


def test_a_cancellation_that_is_not_the_deadline_is_passed_on() -> None:
    async def main() -> None:
        deadlines = ReadDeadlines(asyncio.get_running_loop(), 30.0)
        reading = asyncio.ensure_future(deadlines.read(asyncio.sleep(30, b"")))
        await asyncio.sleep(0.01)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading

    asyncio.run(main())
