"""Helpers of the contract tests: a served `esms-mock` on a free loopback port, the two specs
loaded for schemathesis, and a strategy that steers generated bodies to the demo fixtures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
ESMS_SPEC = ROOT / "spec" / "esms-zalo.openapi.yaml"
CONTROL_SPEC = ROOT / "spec" / "mock-control.openapi.yaml"
DEMO_FIXTURES = ROOT / "mock_server" / "demo_fixtures.yaml"

# Values of the demo fixtures that let a generated request reach the behaviour (code 100).
DEMO_OAID, DEMO_PHONE, DEMO_TEMPLATE = "4097311281936189049", "0901888484", "205644"
DEMO_VALUES: dict[str, Any] = {"OAID": DEMO_OAID, "Phone": DEMO_PHONE, "TempID": DEMO_TEMPLATE,
                               "TemplateId": DEMO_TEMPLATE, "Brandname": "DEMO"}
DEMO_TEMPDATA: dict[str, Any] = {"send_zns_v5": [{"key": "otp", "value": "123456"}],
                                 "send_zns_v6": {"otp": "123456"}, "send_zns_by_uid": {"otp": "123456"},
                                 "send_zns_by_hashed_phone": {"otp": "123456"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedMock:
    """`esms-mock serve` in its own process group on a free loopback port; `stop()` always ends it."""

    def __init__(self, db: Path, *, workers: int = 1, delay: float = 0.2, fixtures: Path = DEMO_FIXTURES) -> None:
        self.db, self.workers, self.delay, self.fixtures = db, workers, delay, fixtures
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServedMock:
        command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(self.port), "--db", str(self.db),
                   "--fixtures", str(self.fixtures), "--workers", str(self.workers), "--threads", "4",
                   "--delivery-delay", str(self.delay), "--log-level", "warning"]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/_mock/health", timeout=2):  # noqa: S310 - loopback
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise AssertionError("esms-mock serve did not answer within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _first_example(operation: Any) -> dict[str, Any] | None:
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    for media in content.values():
        for example in (media.get("examples") or {}).values():
            if isinstance(example, dict) and isinstance(example.get("value"), dict):
                return dict(example["value"])
        if isinstance(media.get("example"), dict):
            return dict(media["example"])
    return None


def steer_to_demo(operation: Any, body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A third of the bodies stay as generated; a third use the demo OA/phone/template in the generated
    body; a third are the operation's first spec example on the demo data (accepted: an SMSID)."""
    operation_id = operation.definition.raw.get("operationId")

    def demo(value: dict[str, Any]) -> dict[str, Any]:
        value = {**value, **{key: DEMO_VALUES[key] for key in value if key in DEMO_VALUES}}
        if "TempData" in value and operation_id in DEMO_TEMPDATA:
            value["TempData"] = DEMO_TEMPDATA[operation_id]
        if isinstance(value.get("Data"), list):
            value["Data"] = [{**item, **{k: DEMO_VALUES[k] for k in item if k in DEMO_VALUES}}
                             if isinstance(item, dict) else item for item in value["Data"]]
        return value

    choices = [body, demo(body)]
    example = _first_example(operation)
    if example is not None:
        example = demo({**example, "ApiKey": body.get("ApiKey"), "SecretKey": body.get("SecretKey")})
        for part in [example, *[item for item in example.get("Data") or [] if isinstance(item, dict)]]:
            part.pop("RequestId", None)  # a repeated RequestId is answered 124, without an SMSID
            part.pop("CallbackUrl", None)  # the example's receiver is not on this machine
        choices.append(example)
    return st.sampled_from(choices)
