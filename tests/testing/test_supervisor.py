"""The supervisor of a served mock (mock_server/testing/supervisor.py): start, the check that the
server answering is ours, stop, restart on the same database without --fixtures, a clear error."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.testing import ControlClient, EsmsMockError, ServedMock, supervisor


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def fixtures_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text("accounts:\n  - {api_key: MINE, secret_key: MINE_SECRET, balance: 42}\n")
    return path


def test_start_waits_until_it_answers_and_stop_leaves_nothing_listening(tmp_path: Path) -> None:
    server = ServedMock(tmp_path / "a.sqlite3").start()
    try:
        assert server.running and server.start_attempt == 1
        answer = httpx.get(f"{server.base_url}/_mock/health", trust_env=False).json()
        assert Path(answer["database"]).resolve() == server.db
    finally:
        server.stop()
    assert not server.running
    assert not listening(server.port)
    server.stop()  # idempotent


def test_restart_serves_what_the_database_stored_on_the_same_port(tmp_path: Path, fixtures_file: Path) -> None:
    server = ServedMock(tmp_path / "b.sqlite3", fixtures=fixtures_file).start()
    try:
        port, first_pid = server.port, server.pid
        server.restart()  # no --fixtures now: the stored ones, not the demo data
        assert (server.port, server.running) == (port, True)
        assert server.pid != first_pid
        with ControlClient(server.base_url) as control:
            assert [a["api_key"] for a in control.served_fixtures()["accounts"]] == ["MINE"]
        assert server.log().count("esms-mock ready on") == 2  # one log, appended across starts
    finally:
        server.stop()


class NotOurs:
    """Another HTTP server that answers /_mock/health 200, naming another database."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = json.dumps({"status": "ok", "database": "/somewhere/else.sqlite3"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def not_ours() -> Iterator[NotOurs]:
    other = NotOurs()
    yield other
    other.close()


def test_a_port_another_server_answers_on_is_not_taken_for_ours(tmp_path: Path, not_ours: NotOurs,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ports = iter([not_ours.port])
    real_free_port = supervisor.free_port
    monkeypatch.setattr(supervisor, "free_port", lambda: next(ports, None) or real_free_port())
    server = ServedMock(tmp_path / "c.sqlite3").start()
    try:
        assert server.start_attempt == 2 and server.port != not_ours.port
    finally:
        server.stop()


def test_a_server_that_cannot_start_is_one_error_with_its_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("accounts:\n  - api_key: NO_SECRET\n")
    server = ServedMock(tmp_path / "d.sqlite3", fixtures=broken)
    with pytest.raises(EsmsMockError) as caught:
        server.start()
    message = str(caught.value)
    assert message.startswith("the esms-mock server exited with status 2 before it was ready:")
    assert 'is not valid: accounts/0: "secret_key" is a required property' in message
    assert not server.running
