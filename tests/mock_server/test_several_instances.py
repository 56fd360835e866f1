"""Several `esms-mock serve` instances on one PostgreSQL (mock_server.store.postgresql): what holds for
the workers of one instance holds across instances, and an instance may die without losing anything."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mock_server.testing import CallbackSink, ServedMock

V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"
GET_BALANCE = "/MainService.svc/json/GetBalance_json/"
CREDENTIALS = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}


def call(base: str, path: str, body: dict[str, Any] | None = None, *, method: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"},
                                     method=method)
    with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def otp(request_id: str | None = None, callback_url: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {**CREDENTIALS, "OAID": "4097311281936189049", "Phone": "0901888484", "TempID": "205644",
                            "TempData": [{"key": "otp", "value": "123456"}], "RequestId": request_id or uuid.uuid4().hex}
    if callback_url:
        body["CallbackUrl"] = callback_url
    return body


@pytest.fixture
def database(postgres_cluster: Any) -> str:
    return postgres_cluster.new_database()  # type: ignore[no-any-return]


def start_instances(database: str, count: int, *, delay: float = 0.2) -> list[ServedMock]:
    """`count` instances on one database; the first loads the demo fixtures, the others serve what it stored."""
    first = ServedMock(database, delivery_delay=delay).start()
    return [first, *(ServedMock(database, fixtures=None, delivery_delay=delay).start() for _ in range(count - 1))]


@pytest.fixture
def three(database: str) -> Iterator[list[ServedMock]]:
    instances = start_instances(database, 3)
    yield instances
    for instance in instances:
        instance.stop()


def test_request_id_raced_across_three_instances_is_answered_100_exactly_once(three: list[ServedMock]) -> None:
    request_id = "raced-" + uuid.uuid4().hex[:8]
    with ThreadPoolExecutor(18) as pool:
        codes = list(pool.map(lambda i: call(three[i % 3].base_url, V5, otp(request_id))["CodeResult"], range(36)))
    assert codes.count("100") == 1, codes
    assert set(codes) == {"100", "124"}
    balances = {call(instance.base_url, GET_BALANCE, CREDENTIALS)["Balance"] for instance in three}
    assert len(balances) == 1  # charged once, and every instance reads the same balance


def test_journal_is_the_same_through_every_instance(three: list[ServedMock]) -> None:
    with ThreadPoolExecutor(9) as pool:
        smsids = set(pool.map(lambda i: call(three[i % 3].base_url, V5, otp())["SMSID"], range(30)))
    journals = [[m["smsid"] for m in call(instance.base_url, "/_mock/messages?limit=100")["messages"]]
                for instance in three]
    assert journals[0] == journals[1] == journals[2]
    assert set(journals[0]) == smsids
    # The request journal: each instance writes an entry with its next commit, a few milliseconds
    # after answering; then every instance lists the same 30 requests.
    deadline = time.monotonic() + 10
    while True:
        requests = [[r["id"] for r in call(instance.base_url, "/_mock/requests?limit=100")["requests"]]
                    for instance in three]
        if (requests[0] == requests[1] == requests[2] and len(requests[0]) == 30) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert requests[0] == requests[1] == requests[2]
    assert len(requests[0]) == 30


def test_scenarios_clock_and_fixtures_changed_through_one_instance_are_served_by_every_instance(
        three: list[ServedMock]) -> None:
    first, second, third = three
    call(first.base_url, "/_mock/scenarios", {"operation": "send_zns_v5", "code": "789", "times": 1})
    assert call(second.base_url, V5, otp())["CodeResult"] == "789"  # the scenario set through the first
    assert call(third.base_url, V5, otp())["CodeResult"] == "100"  # used up on the second: gone for all
    offset = call(first.base_url, "/_mock/clock/advance", {"seconds": 3600})["offset_seconds"]
    assert call(third.base_url, "/_mock/clock")["offset_seconds"] == offset == 3600
    fixtures = call(first.base_url, "/_mock/fixtures")
    fixtures["accounts"][0]["balance"] = 12345
    fixtures["accounts"][0]["secret_key"] = "DEMO_SECRET_KEY"
    call(second.base_url, "/_mock/fixtures", fixtures, method="PUT")
    assert call(third.base_url, GET_BALANCE, CREDENTIALS)["Balance"] == 12345


def test_kill_9_of_an_instance_under_load_loses_no_acknowledged_message_and_another_sends_its_callbacks(
        database: str) -> None:
    sink = CallbackSink()
    gate = threading.Event()  # closed: the callbacks in flight hang (leased) until the victim is dead
    arrived = threading.Event()

    def hold(_request: Any) -> int | None:
        arrived.set()
        return None if gate.wait(30) else 503

    sink.forward_to(hold)
    victim, survivor = start_instances(database, 2)
    answered: list[str] = []
    try:
        def send(index: int) -> None:
            target = victim if index % 2 else survivor
            try:
                answer = call(target.base_url, V5, otp(callback_url=sink.url))
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                return  # sent to the victim as it died: never acknowledged
            if answer["CodeResult"] == "100":
                answered.append(answer["SMSID"])

        with ThreadPoolExecutor(12) as pool:
            for index in range(240):
                if index == 120:
                    assert arrived.wait(30)  # callbacks are in flight (leased) by now
                    victim.kill()
                pool.submit(send, index)
        gate.set()
        assert len(answered) >= 120
        deadline = time.monotonic() + 90  # a lease of the victim runs out after its timeout + 10 s
        pending = set(answered)
        while pending and time.monotonic() < deadline:
            for smsid in list(pending):
                message = call(survivor.base_url, f"/_mock/messages/{smsid}")  # acknowledged: stored
                if message["callbacks"] and all(c["state"] == "delivered" for c in message["callbacks"]):
                    pending.discard(smsid)
            time.sleep(0.5)
        assert not pending, f"{len(pending)} acknowledged messages still have callbacks to send"
    finally:
        gate.set()
        victim.stop()
        survivor.stop()
        sink.stop()
