"""No slow caller starves the others (mock_server.edge): stalled bodies, latency scenarios and dropped
connections on a served mock, while /_mock/health, GetBalance_json and a valid send still answer at once.

The bounds are generous on purpose ("answers while 20 bodies are stalled", "well under a second"):
these tests assert behaviour on a loaded machine, not its speed (that is `make bench`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.testing import ServedMock

READ_TIMEOUT = 2.0  # the server's --read-timeout in these tests (the default is 10 s)
PROMPT = 1.0  # "well under a second" on an idle machine; the bound for every prompt answer here
CREDENTIALS = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}
BALANCE = "/MainService.svc/json/GetBalance_json"
V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"
SLOW_PHONE = "0901000003"  # the latency scenario matches sends to this phone only


def send_body(phone: str = "0901888484") -> dict[str, Any]:
    return {**CREDENTIALS, "OAID": "4097311281936189049", "Phone": phone, "TempID": "205644",
            "TempData": [{"key": "otp", "value": "123456"}], "RequestId": uuid.uuid4().hex}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    running = ServedMock(tmp_path_factory.mktemp("isolation") / "esms.sqlite3", read_timeout=READ_TIMEOUT).start()
    yield running
    running.stop()


@pytest.fixture
def http(server: ServedMock) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as client:
        yield client


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def assert_others_answer_promptly(http: httpx.Client) -> None:
    """/_mock/health, GetBalance_json and a valid send, each answered in well under a second."""
    seconds, health = timed(lambda: http.get("/_mock/health"))
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert seconds < PROMPT, f"/_mock/health took {seconds:.2f} s"
    seconds, balance = timed(lambda: http.post(BALANCE, json=CREDENTIALS))
    assert balance.json()["CodeResponse"] == "100"
    assert seconds < PROMPT, f"GetBalance_json took {seconds:.2f} s"
    seconds, sent = timed(lambda: http.post(V5, json=send_body()))
    assert sent.json()["CodeResult"] == "100"
    assert seconds < PROMPT, f"a valid send took {seconds:.2f} s"


def stall(server: ServedMock) -> socket.socket:
    """A caller that sends its headers and part of the body it promised, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT + 10)
    sock.sendall(f"POST {BALANCE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: 200\r\n\r\n{{\"ApiKey\": \"DEMO_".encode())
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_other_requests_answer_while_20_bodies_are_stalled(server: ServedMock, http: httpx.Client) -> None:
    stalled = [stall(server) for _ in range(20)]
    try:
        time.sleep(0.2)  # every stalled body is being read by now
        assert_others_answer_promptly(http)
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_body_gets_408_and_its_connection_is_closed_after_the_read_timeout(server: ServedMock) -> None:
    stalled = [stall(server) for _ in range(20)]
    started = time.perf_counter()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(read_until_closed, stalled))
    elapsed = time.perf_counter() - started
    for sock in stalled:
        sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
    assert json.loads(answers[0].split(b"\r\n\r\n", 1)[1])["error"] == "Request Timeout"
    assert READ_TIMEOUT - 0.5 <= elapsed < READ_TIMEOUT + 5  # given up after the timeout, not held


def test_headers_that_never_end_are_given_up_after_the_read_timeout(server: ServedMock) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT + 10)
    sock.sendall(f"POST {BALANCE} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
    seconds, _ = timed(lambda: read_until_closed(sock))
    sock.close()
    assert seconds < READ_TIMEOUT + 5


def test_other_requests_answer_while_20_latency_scenarios_wait_and_each_waits_its_3_s_not_more(
        server: ServedMock, http: httpx.Client) -> None:
    scenario = http.post("/_mock/scenarios", json={"operation": "send_zns_v5", "match": {"Phone": SLOW_PHONE},
                                                   "latency_ms": 3000}).json()
    durations: list[float] = []
    codes: list[str] = []

    def delayed() -> None:
        with httpx.Client(base_url=server.base_url, timeout=20, trust_env=False) as own:
            seconds, answer = timed(lambda: own.post(V5, json=send_body(SLOW_PHONE)))
        durations.append(seconds)
        codes.append(answer.json()["CodeResult"])

    waiting = [threading.Thread(target=delayed) for _ in range(20)]
    try:
        for thread in waiting:
            thread.start()
        time.sleep(0.5)  # all 20 are waiting out their latency now
        assert_others_answer_promptly(http)
        for thread in waiting:
            thread.join(timeout=30)
    finally:
        http.delete(f"/_mock/scenarios/{scenario['id']}")
    assert codes == ["100"] * 20  # answered normally, only later
    assert min(durations) >= 2.9, durations
    assert max(durations) < 5.0, durations  # side by side: 3 s each, not queued behind each other (6 s and more)


def test_a_drop_scenario_breaks_the_connection_off_and_the_server_goes_on(server: ServedMock, http: httpx.Client) -> None:
    http.post("/_mock/scenarios", json={"operation": "get_balance", "drop": True, "times": 1})
    with pytest.raises(httpx.TransportError):
        http.post(BALANCE, json=CREDENTIALS)
    assert http.post(BALANCE, json=CREDENTIALS).json()["CodeResponse"] == "100"


def test_a_body_over_the_limit_is_refused_with_110_without_reading_it(server: ServedMock) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"POST {BALANCE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n".encode())
    answer = read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["CodeResponse"] == "110"


def test_requests_in_progress_are_bounded_by_max_connections_and_the_next_one_waits_its_turn(tmp_path: Path) -> None:
    bounded = ServedMock(tmp_path / "esms.sqlite3", read_timeout=READ_TIMEOUT, max_connections=2).start()
    try:
        stalled = [stall(bounded) for _ in range(2)]  # the whole allowance, held
        time.sleep(0.2)
        with httpx.Client(base_url=bounded.base_url, timeout=20, trust_env=False) as client:
            seconds, answer = timed(lambda: client.post(BALANCE, json=CREDENTIALS))
        for sock in stalled:
            sock.close()
    finally:
        bounded.stop()
    assert answer.json()["CodeResponse"] == "100"
    assert seconds >= READ_TIMEOUT - 0.9  # it waited for a place: the bound is the configuration's
