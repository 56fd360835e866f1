"""`esms-mock verify` (mock_server/verify.py): exit 0 and a summary against the served mock; exit 1
naming the operation against a server that answers one operation with the wrong shape."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from served_mock import ServedMock

from mock_server import verify


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path_factory.mktemp("verify") / "verify.sqlite3").start()
    try:
        yield mock
    finally:
        mock.stop()


class Proxy:
    """Forwards everything to the real mock and keeps each (path, body); with `broken_balance`,
    GetBalance_json answers a Balance that is a string instead."""

    def __init__(self, upstream: str, *, broken_balance: bool = False) -> None:
        import urllib.request

        seen = self.seen = []  # type: list[tuple[str, bytes]]

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                seen.append((self.path, body or b""))
                if broken_balance and "getbalance_json" in self.path.lower():
                    payload = json.dumps({"CodeResponse": "100", "Balance": "a lot"}).encode()
                    status, content_type = 200, "application/json"
                else:
                    request = urllib.request.Request(upstream + self.path, data=body, method=self.command,
                                                     headers={"Content-Type": self.headers.get("Content-Type", "")})
                    try:
                        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
                            status, payload = answer.status, answer.read()
                            content_type = answer.headers.get("Content-Type", "application/json")
                    except urllib.error.HTTPError as error:
                        status, payload = error.code, error.read()
                        content_type = error.headers.get("Content-Type", "application/json")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _forward  # noqa: N815 - http.server's names

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_verify_against_the_served_mock_conforms(served: ServedMock, capsys: pytest.CaptureFixture[str]) -> None:
    code = verify.main(["--base-url", served.base, "--max-examples", "3", "--seed", "7"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[31/31]" in out and "send_zns_v5" in out
    assert "Summary: all 31 operations conform" in out


def test_verify_with_sandbox_forces_it_and_skips_operations_without_it(served: ServedMock) -> None:
    proxy = Proxy(served.base)
    out = io.StringIO()
    try:
        results = verify.run(proxy.base, sandbox=True, max_examples=5, seed=7, out=out,
                             only=["send_zns_v5", "send_multichannel_message", "send_auto_generated_otp"])
    finally:
        proxy.close()
    assert verify.summary(results, out) == 0, out.getvalue()
    assert "skipped send_auto_generated_otp" in out.getvalue()
    sends = {path: [json.loads(body) for p, body in proxy.seen if p == path]
             for path in ("/MainService.svc/json/SendZaloMessage_V5_post/", "/MainService.svc/json/MultiChannelMessage/")}
    assert all(sends.values()), proxy.seen
    assert all(body["Sandbox"] == "1" for bodies in sends.values() for body in bodies)
    assert all(item["Sandbox"] == "1" for body in sends["/MainService.svc/json/MultiChannelMessage/"]
               for item in body["Data"] if isinstance(item, dict))
    assert not any("SendMessageAutoGenCode" in path for path, _ in proxy.seen)


def test_verify_names_the_operation_that_does_not_conform(served: ServedMock,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    broken = Proxy(served.base, broken_balance=True)
    try:
        code = verify.main(["--base-url", broken.base, "--max-examples", "3", "--seed", "7",
                            "--operation", "get_balance", "--operation", "send_zns_v5"])
    finally:
        broken.close()
    out = capsys.readouterr().out
    assert code == 1, out
    summary = out.split("Summary:", 1)[1]
    assert "1 of 2 operations DO NOT CONFORM" in summary
    assert "get_balance" in summary and "send_zns_v5" not in summary
    assert "Response violates schema" in summary or "schema" in summary.lower()


def test_verify_spec_path_is_the_project_spec() -> None:
    assert Path(verify.ESMS_SPEC_PATH).is_file()
