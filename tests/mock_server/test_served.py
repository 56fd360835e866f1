"""The mock as `esms-mock serve` runs it: a real server with several worker processes, killed
and restarted, calling a real callback receiver (the kit's CallbackSink). Slower than the in-process tests, so few."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mock_server.testing import CallbackSink, ServedMock

CREDENTIALS = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}
V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"


def call(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())  # type: ignore[no-any-return]


def otp(request_id: str | None = None, callback_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {**CREDENTIALS, "OAID": "4097311281936189049", "Phone": "0901888484", "TempID": "205644",
                            "TempData": [{"key": "otp", "value": "123456"}]}
    if request_id:
        body["RequestId"] = request_id
    if callback_url:
        body["CallbackUrl"] = callback_url
    return body


def serve(db: Path | str, *, delay: float = 0.3) -> ServedMock:
    """Two workers, the demo data; `restart()` serves what the database stored."""
    return ServedMock(db, workers=2, delivery_delay=delay).start()


@pytest.fixture
def server(store_location: str) -> Iterator[ServedMock]:
    running = serve(store_location)  # every test runs on SQLite and on PostgreSQL
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[CallbackSink]:
    sink = CallbackSink()
    yield sink
    sink.stop()


def test_duplicate_request_ids_racing_on_several_workers_are_accepted_exactly_once(server: ServedMock) -> None:
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: call(server.base_url, V5, otp("raced-request"))["CodeResult"], range(32)))
    assert codes.count("100") == 1, codes
    assert set(codes) == {"100", "124"}


def test_callback_is_retried_until_the_receiver_recovers(server: ServedMock, receiver: CallbackSink) -> None:
    receiver.fail_next(2, status=500)
    smsid = call(server.base_url, V5, otp(callback_url=receiver.url))["SMSID"]
    requests = receiver.wait_for(3, timeout=20)  # 500, 500, then 200 after 1 s and 2 s of backoff
    assert [request.smsid for request in requests] == [smsid] * 3
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        callback = call(server.base_url, f"/_mock/callbacks?smsid={smsid}")["callbacks"][0]
        if callback["state"] == "delivered":
            break
        time.sleep(0.1)
    assert callback["state"] == "delivered"
    assert [a["status_code"] for a in callback["attempts"]] == [500, 500, 200]


def test_accepted_message_survives_kill_9_and_restart(store_location: str) -> None:
    server = serve(store_location)
    try:
        smsid = call(server.base_url, V5, otp("before-the-crash"))["SMSID"]
        server.kill()
        server.restart()
        status = call(server.base_url, f"/MainService.svc/json/GetSendStatus?RefId={smsid}&ApiKey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY")
        assert status["CodeResponse"] == "100"
        assert call(server.base_url, V5, otp("before-the-crash"))["CodeResult"] == "124"
    finally:
        server.stop()


def test_callbacks_pending_at_a_crash_are_sent_after_the_restart(store_location: str, receiver: CallbackSink) -> None:
    server = serve(store_location, delay=2.0)
    try:
        smsid = call(server.base_url, V5, otp(callback_url=receiver.url))["SMSID"]
        server.kill()  # before the message's final state: its callback is still in the outbox
        assert receiver.received == []
        server.restart()
        [request] = receiver.wait_for(1, timeout=20)
        assert (request.smsid, request.query["SendStatus"]) == (smsid, "5")
    finally:
        server.stop()


def test_served_mock_reads_lenient_forms_and_answers_xml_paths_with_a_json_404(server: ServedMock) -> None:
    """The served mock (Granian, no Flask in front) behaves as the in-process one tested elsewhere."""
    body = {**otp(), "OAID": 4097311281936189049, "TempID": 205644, "TempData": {"otp": 123456}, "Sandbox": 0}
    assert call(server.base_url, "/MainService.svc/json/SendZaloMessage_V5_post/", body)["CodeResult"] == "100"
    request = urllib.request.Request(f"{server.base_url}/MainService.svc/xml/SendZaloMessage_V5_post/", data=b"<RQST/>")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
    assert refused.value.code == 404
    assert "use /MainService.svc/json/SendZaloMessage_V5_post/" in json.loads(refused.value.read())["message"]
