"""`esms-mock verify` (mock_server/testing/verify.py): exit 0 and a summary against the served mock;
exit 1 naming the operation against a server that answers one operation with the wrong shape, or
with a result code the operation does not document; the eSMS check as a plain function."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mock_server.testing import ServedMock, verify
from mock_server.testing.verify import result_code_conformance


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path_factory.mktemp("verify") / "verify.sqlite3").start()
    try:
        yield mock
    finally:
        mock.stop()


class Proxy:
    """Forwards everything to the real mock and keeps each (path, body). GetBalance_json answers
    instead, with `broken_balance`, a Balance that is a string; with `balance_code`, that result
    code in a well-formed answer."""

    def __init__(self, upstream: str, *, broken_balance: bool = False, balance_code: str | None = None) -> None:
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
                elif balance_code and "getbalance_json" in self.path.lower():
                    payload = json.dumps({"CodeResponse": balance_code, "Balance": 0,
                                          "ErrorMessage": "Message not found"}).encode()
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
    code = verify.main(["--base-url", served.base_url, "--max-examples", "3", "--seed", "7"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[31/31]" in out and "send_zns_v5" in out
    assert "Summary: all 31 operations conform" in out


def test_verify_with_sandbox_forces_it_and_skips_operations_without_it(served: ServedMock) -> None:
    proxy = Proxy(served.base_url)
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


def failing_summary(served: ServedMock, capsys: pytest.CaptureFixture[str], operations: list[str],
                    **proxy_options: Any) -> str:
    """`esms-mock verify` of `operations` through a Proxy: exit code 1; the summary's text."""
    proxy = Proxy(served.base_url, **proxy_options)
    try:
        code = verify.main(["--base-url", proxy.base, "--max-examples", "3", "--seed", "7",
                            *(arg for operation in operations for arg in ("--operation", operation))])
    finally:
        proxy.close()
    out = capsys.readouterr().out
    assert code == 1, out
    return out.split("Summary:", 1)[1]


def test_verify_names_the_operation_that_does_not_conform(served: ServedMock,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    summary = failing_summary(served, capsys, ["get_balance", "send_zns_v5"], broken_balance=True)
    assert "1 of 2 operations DO NOT CONFORM" in summary
    assert "get_balance" in summary and "send_zns_v5" not in summary
    assert "Response violates schema" in summary or "schema" in summary.lower()


def test_verify_spec_path_is_the_project_spec() -> None:
    assert Path(verify.ESMS_SPEC_PATH).is_file()


def test_verify_names_an_answer_with_a_result_code_the_operation_does_not_document(
        served: ServedMock, capsys: pytest.CaptureFixture[str]) -> None:
    # 105 is a real eSMS code (a status query's "message not found"), well-formed, but GetBalance
    # does not document it: only the eSMS check can tell.
    summary = failing_summary(served, capsys, ["get_balance", "get_send_status"], balance_code="105")
    assert "1 of 2 operations DO NOT CONFORM" in summary
    assert "get_balance" in summary and "get_send_status" not in summary
    assert "Undocumented result code '105' in CodeResponse: get_balance documents 100, 101, 140, 143" in summary
    assert "violates schema" not in summary  # the answer's shape is right: stock checks pass it


# ---------------------------------------------------------------------------- the check as a function
class Answer:
    """What the check reads of a response: its JSON."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def json(self) -> Any:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body


@pytest.fixture(scope="module")
def esms_schema() -> Any:
    return verify.load_schema()


def case_of(schema: Any, method: str, path: str) -> Any:
    return schema[path][method].Case()


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/MainService.svc/json/GetBalance_json", {"CodeResponse": "100", "Balance": 5}),
    ("POST", "/MainService.svc/json/GetBalance_json", {"CodeResponse": "101", "Balance": 0}),
    ("POST", "/MainService.svc/json/SendZaloMessage_V6/", {"CodeResult": "789"}),
    ("GET", "/MainService.svc/json/GetSendStatus", {"CodeResponse": "105"}),
    ("POST", "/ZaloCallback/GetCallback", {"Code": 100}),  # a number in this envelope
    ("GET", "/MainService.svc/json/GetZnsTemplateInfo", {"Error": 0, "Message": "Success"}),  # 0 = success
    ("GET", "/MainService.svc/json/GetZnsTemplateInfo", {"Error": 789, "Data": None}),
])
def test_result_code_check_passes_codes_the_operation_documents(esms_schema: Any, method: str, path: str,
                                                                body: Any) -> None:
    assert result_code_conformance(None, Answer(body), case_of(esms_schema, method, path)) is True


@pytest.mark.parametrize(("method", "path", "body", "said"), [
    ("POST", "/MainService.svc/json/GetBalance_json", {"CodeResponse": "105"}, "'105' in CodeResponse"),
    ("POST", "/MainService.svc/json/SendZaloMessage_V6/", {"CodeResult": "105"}, "'105' in CodeResult"),
    ("POST", "/ZaloCallback/GetCallback", {"Code": 999}, "'999' in Code"),
    ("GET", "/MainService.svc/json/GetZnsTemplateInfo", {"Error": 1}, "'1' in Error"),
])
def test_result_code_check_fails_a_code_the_operation_does_not_document(esms_schema: Any, method: str, path: str,
                                                                         body: Any, said: str) -> None:
    with pytest.raises(AssertionError, match=f"Undocumented result code {said}"):
        result_code_conformance(None, Answer(body), case_of(esms_schema, method, path))


@pytest.mark.parametrize("body", [ValueError("not JSON"), ["a", "list"], {"Message": "no code field"}])
def test_result_code_check_leaves_answers_without_a_code_to_the_schema_check(esms_schema: Any, body: Any) -> None:
    case = case_of(esms_schema, "POST", "/MainService.svc/json/GetBalance_json")
    assert result_code_conformance(None, Answer(body), case) is None


def test_result_code_check_skips_operations_without_result_codes() -> None:
    control = verify.load_schema(Path(verify.ESMS_SPEC_PATH).with_name("mock-control.openapi.yaml"))
    case = case_of(control, "GET", "/_mock/health")
    assert result_code_conformance(None, Answer({"CodeResult": "12345"}), case) is None
