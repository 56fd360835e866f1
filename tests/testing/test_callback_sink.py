"""The callback sink (mock_server/testing/callback_sink.py), in this process, and without pytest."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from typing import Any

import httpx
import pytest

from mock_server.testing import CallbackSink, WaitTimeout


@pytest.fixture
def sink() -> Any:
    receiver = CallbackSink()
    yield receiver
    receiver.stop()


DELIVERED_QUERY = ("SMSID=abc&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=440.0000&TypeId=25"
                   "&error_info=%22{%5C%22error%5C%22%3A0%2C%5C%22message%5C%22%3A%5C%22Success%5C%22}%22")


def test_the_sink_records_every_request_and_parses_delivery_reports(sink: CallbackSink) -> None:
    with httpx.Client(trust_env=False) as http:
        assert http.get(f"{sink.url}?{DELIVERED_QUERY}").status_code == 200
        http.get(f"{sink.base_url}/other?SMSID=xyz&SendStatus=4&a=1&a=2")
    first, second = sink.wait_for(2)
    assert (first.method, first.path, first.raw_query, first.status) == ("GET", "/esms-callback", DELIVERED_QUERY, 200)
    assert first.query["SendStatus"] == "5" and first.smsid == "abc"
    assert second.query["a"] == "1"  # the first value of a repeated parameter
    (report,) = sink.wait_for(smsid="abc", parse=True)
    assert (report.sms_id, report.send_status, report.decoded_error_info.error) == ("abc", 5, 0)
    assert [r.smsid for r in sink.requests("xyz")] == ["xyz"]
    assert first.at <= second.at <= time.time()
    sink.clear()
    assert sink.received == []


def test_the_sink_fails_the_next_requests_when_told(sink: CallbackSink) -> None:
    sink.fail_next(2, status=503)
    with httpx.Client(trust_env=False) as http:
        statuses = [http.get(f"{sink.url}?SMSID=abc&SendStatus=5").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in sink.wait_for(3)] == [503, 503, 200]
    assert len(sink.wait_for(1, ok_only=True)) == 1


def test_the_sink_forwards_to_the_app_and_reports_its_errors(sink: CallbackSink) -> None:
    seen = []

    def app(request: Any) -> int | None:
        seen.append(request.smsid)
        if request.smsid == "boom":
            raise RuntimeError("the app crashed")
        return 202 if request.smsid == "accepted" else None

    sink.forward_to(app)
    with httpx.Client(trust_env=False) as http:
        codes = [http.get(f"{sink.url}?SMSID={smsid}").status_code for smsid in ("ok", "accepted", "boom")]
    assert codes == [200, 202, 500]
    assert seen == ["ok", "accepted", "boom"]
    assert "RuntimeError: the app crashed" in sink.errors[0]
    assert "the app crashed" in sink.describe()


def test_the_sink_timeout_lists_what_arrived(sink: CallbackSink) -> None:
    with httpx.Client(trust_env=False) as http:
        http.get(f"{sink.url}?SMSID=other&SendStatus=5&SendSuccess=1")
    with pytest.raises(WaitTimeout) as caught:
        sink.wait_for(1, smsid="wanted", timeout=0.1)
    message = str(caught.value)
    assert "got 0 of 1 expected request(s) for SMSID wanted within 0.1 s" in message
    assert "GET /esms-callback -> 200  SMSID=other SendStatus=5 SendSuccess=1" in message


def test_a_stopped_sink_no_longer_listens() -> None:
    receiver = CallbackSink()
    port = int(receiver.base_url.rsplit(":", 1)[1])
    receiver.stop()
    receiver.stop()  # idempotent
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


# A fresh interpreter in which `import pytest` fails, as on a machine without pytest.
WITHOUT_PYTEST = '''
import importlib.abc, sys

class NoPytest(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in ("pytest", "_pytest") or name.startswith(("pytest.", "_pytest.")):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, NoPytest())
try:
    import pytest
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("the blocker let pytest in")

import urllib.request
from mock_server.testing import CallbackSink, ControlClient, EsmsMock, ServedMock, WaitTimeout

sink = CallbackSink()
with urllib.request.urlopen(sink.url + "?SMSID=abc&SendStatus=5", timeout=5) as answer:
    assert answer.status == 200
(received,) = sink.wait_for(1, smsid="abc")
sink.stop()
loaded = sorted(name for name in sys.modules if name.split(".")[0] in ("pytest", "_pytest", "schemathesis"))
print("ok", received.query["SendStatus"], loaded)
'''


def test_the_kit_imports_and_the_sink_works_where_pytest_cannot_be_imported() -> None:
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(WITHOUT_PYTEST)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok 5 []"
