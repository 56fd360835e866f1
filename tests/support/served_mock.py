"""`esms-mock serve` as a subprocess, for the tests that need the real server (tests/contract,
tests/mock_server/test_served.py). Imported as `served_mock`: pyproject's pytest `pythonpath`
puts this folder on sys.path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mock_server.pytest_plugin import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_FIXTURES = ROOT / "mock_server" / "demo_fixtures.yaml"


class ServedMock:
    """`esms-mock serve` in its own process group on a free loopback port; `stop()` always ends it.

    `fixtures`: loaded at start (`--fixtures`); None passes none, so that the server serves the
    fixtures stored in `db`, or the demo data if `db` is new (a restart as a user would do it).
    """

    def __init__(self, db: Path, *, workers: int = 1, delay: float = 0.2,
                 fixtures: Path | None = DEMO_FIXTURES) -> None:
        self.db, self.workers, self.delay, self.fixtures = db, workers, delay, fixtures
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServedMock:
        command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(self.port), "--db", str(self.db),
                   "--workers", str(self.workers), "--threads", "4", "--delivery-delay", str(self.delay),
                   "--log-level", "warning"]
        if self.fixtures is not None:
            command += ["--fixtures", str(self.fixtures)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/_mock/health", timeout=2) as answer:  # noqa: S310 - loopback
                    text = answer.read()
                try:
                    database = json.loads(text)["database"]
                except (ValueError, TypeError, KeyError):
                    database = f"not an esms-mock: {text[:80]!r}"
                if Path(str(database)).resolve() == self.db.resolve():
                    return self
                self.stop()  # another server took the port between free_port() and our bind
                raise AssertionError(f"port {self.port} is served by another mock ({database})")
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise AssertionError("esms-mock serve did not answer within 30 s")

    def kill(self) -> None:
        """kill -9 of every process of the server: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
