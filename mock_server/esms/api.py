"""The eSMS operations over WSGI: decode, apply scenarios, authenticate, validate, handle, answer.

This is the request path the benchmarks measure, so it works on the WSGI environ directly: a
Flask request context costs several times what the eSMS behaviour itself costs here. Flask
still serves the control plane and every answer that is not an eSMS operation (404, 405).

Each stage can end the request with an eSMS-style answer; nothing here raises to the server.
The order follows what a caller of eSMS sees: an unreadable body is refused before anything
else, bad credentials before a bad payload, a bad payload before business rules.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

import orjson

from mock_server.esms.callbacks import Dispatcher
from mock_server.esms.handlers import HANDLERS
from mock_server.esms.handlers.common import Call
from mock_server.esms import request_journal
from mock_server.esms.request_journal import BadControlHeader
from mock_server.esms.results import EsmsError, error_body, success_body
from mock_server.esms.routing import CONTROL_PREFIX, normalise
from mock_server.esms.scenarios import ScenarioBook
from mock_server.esms.spec import ApiSpec, Operation
from mock_server.store import Store
from mock_server.store.request_log import JournalWriter, RequestRow
from mock_server.esms.validation import RequestValidator

log = logging.getLogger("esms_mock.requests")

JSON_MIMETYPE = "application/json"
_STATUS_LINES = {200: "200 OK", 413: "413 Request Entity Too Large"}
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Undecodable(Exception):
    """The body or query could not be read as the operation's input."""

    def __init__(self, message: str, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.raw = raw  # the body as received, for the journal


class TooLarge(Exception):
    """The body is larger than the configured limit."""


class ConnectionDropped(Exception):
    """Scenario `drop` on a server that does not expose the client's socket (see `__call__`)."""


@dataclass
class EsmsApi:
    spec: ApiSpec
    store: Store
    validator: RequestValidator
    scenarios: ScenarioBook
    dispatcher: Dispatcher | None
    delivery_delay: float
    max_body_bytes: int
    fallback: WsgiApp  # Flask: the control plane, 404 and 405
    journal_writer: JournalWriter
    on_request: Callable[[], None] = lambda: None
    routes: dict[str, dict[str, Operation]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for op in self.spec.operations.values():
            methods = self.routes.setdefault(normalise(op.path), {})
            methods[op.method] = op
            if op.method == "GET":
                methods["HEAD"] = op

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.fallback(environ, start_response)
        original_path = path
        environ["PATH_INFO"] = path = normalise(path)
        method = environ.get("REQUEST_METHOD", "GET")
        op = self.routes.get(path, {}).get(method)
        if op is None:
            self.journal_unmatched(environ, method, original_path, path)
            return self.fallback(environ, start_response)
        self.on_request()
        started = time.perf_counter()
        row = request_journal.new_row(method, original_path, op.operation_id, time.time(), None)
        try:
            status, body, code = self.answer(op, environ, row)
        except ConnectionDropped:
            # No socket to close (Granian): promise a body and break off before it, so the
            # client sees the connection end without a complete answer.
            self.journal(row, 200, None, "the connection was dropped (scenario)")
            start_response("200 OK", [("Content-Type", JSON_MIMETYPE), ("Content-Length", "64")])
            return _broken_body()
        except BadControlHeader as bad:
            status, code = 400, None
            body = {"error": "Bad mock header", "message": str(bad)}
            row.reason = str(bad)
        except Exception:  # a bug in the mock: never a 5xx or a traceback on the wire
            log.exception("event=internal_error operation=%s", op.operation_id)
            status, code = 400, None
            body = {"error": "Mock internal error",
                    "message": "The mock failed on this request; the server log has the details."}
            row.reason = body["message"]
        self.journal(row, status, code, row.reason)
        payload = orjson.dumps(body)
        start_response(_STATUS_LINES.get(status) or f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(payload)))])
        log.debug("event=request operation=%s code=%s status=%d ms=%.2f", op.operation_id, code, status,
                  (time.perf_counter() - started) * 1000)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [payload]

    def journal(self, row: RequestRow, status: int, code: str | None, reason: str | None) -> None:
        """Queue the request's journal row (written off the request path)."""
        if code == "dropped":  # no answer was given, so no result code either
            code = None
        row.http_status, row.code, row.reason = status, code, reason
        row.outcome = "accepted" if code == "100" and status < 400 else "refused"
        self.journal_writer.add(row)

    def journal_unmatched(self, environ: dict[str, Any], method: str, original_path: str, path: str) -> None:
        """Journal a request to no eSMS operation, with the closest operation as "did you mean"."""
        try:
            suggestion, operation, reason = request_journal.did_you_mean(path, method, self.routes, original_path)
            clock_offset = self.store.state()[0]
            row = request_journal.new_row(method, original_path, operation, time.time() + clock_offset, None)
            row.body = self._unmatched_body(environ)
            row.outcome, row.reason, row.did_you_mean = "unmatched", reason, suggestion
            row.http_status = 405 if operation else 404
            with_scope = environ.get("HTTP_X_ESMS_MOCK_SCOPE")
            row.scope = with_scope.strip()[:request_journal.MAX_SCOPE_CHARS] if with_scope else None
            self.journal_writer.add(row)
        except Exception:  # the journal must never cost the caller its answer
            log.exception("event=journal_not_written path=%s", path)

    def _unmatched_body(self, environ: dict[str, Any]) -> str:
        """What a request to no operation sent: its JSON body (masked), else its body or query as text.

        The body is read only when it announces a length within the limit (the 404/405 answer
        that follows does not read it)."""
        raw = b""
        try:
            raw = read_body(environ, self.max_body_bytes) if (environ.get("CONTENT_LENGTH") or "").strip() else b""
        except (Undecodable, TooLarge, OSError):
            pass
        if raw.strip():
            try:
                return request_journal.body_text(orjson.loads(raw))
            except orjson.JSONDecodeError:
                return request_journal.body_text(None, raw)
        query = environ.get("QUERY_STRING", "")
        return request_journal.body_text(None, f"?{query}" if query else None)

    def answer(self, op: Operation, environ: dict[str, Any], row: RequestRow) -> tuple[int, dict[str, Any], str]:
        """The answer (HTTP status, body, result code); sets `row.reason` and `row.field` when refused."""
        clock_offset, fixtures_version, scenarios_version = self.store.state()
        row.received_at += clock_offset
        row.scope = request_journal.scope_of(environ)
        undecodable = ""
        try:
            data: Any = decode(op, environ, self.max_body_bytes)
        except TooLarge:
            message = f"Request data incorrect: the body is larger than {self.max_body_bytes} bytes"
            row.reason = message
            return 413, error_body(self.spec, op, "110", message), "110"
        except Undecodable as exc:
            data, undecodable = None, str(exc)
            row.body = request_journal.body_text(None, exc.raw)
        if data is not None:
            request_journal.describe(row, data)
        forced = request_journal.forced_code(environ)
        if forced is not None:
            row.forced, row.reason = "header", f"forced by the {request_journal.CODE_HEADER} header"
            body = error_body(self.spec, op, forced) if forced != "100" else success_body(op, {})
            return 200, body, forced
        scenario = self.scenarios.match(op.operation_id, data, scenarios_version, row.scope)
        if scenario is not None:
            row.forced = f"scenario #{scenario.id}"
            if scenario.latency_ms:
                time.sleep(scenario.latency_ms / 1000)
            if scenario.drop:
                if not drop_connection(environ):
                    raise ConnectionDropped
                row.reason = f"the connection was dropped (scenario #{scenario.id})"
                return 200, {}, "dropped"
            if scenario.code is not None or scenario.http_status is not None:
                code = scenario.code or "100"
                row.reason = f"forced by scenario #{scenario.id}" + (f": {scenario.message}" if scenario.message else "")
                body = error_body(self.spec, op, code, scenario.message) if code != "100" else success_body(op, {})
                return scenario.http_status or 200, body, code
        if data is None:
            code = op.invalid_request_code
            row.reason = f"{self.spec.message_for(code)}: {undecodable}"
            return 200, error_body(self.spec, op, code, row.reason), code
        fixtures = self.store.fixtures(fixtures_version)
        api_key, secret_key = data.get("ApiKey"), data.get("SecretKey")
        if not (isinstance(api_key, str) and isinstance(secret_key, str)) and self.validator.read(op, data):
            api_key, secret_key = data.get("ApiKey"), data.get("SecretKey")  # a number is read as its text
        account = fixtures.account(api_key, secret_key) if isinstance(api_key, str) and isinstance(secret_key, str) else None
        if account is None:
            row.reason = "unknown ApiKey or SecretKey" if api_key is not None else "ApiKey or SecretKey missing"
            return 200, error_body(self.spec, op, "101"), "101"
        if account.status != "active":
            row.reason = f"the account {api_key} is {account.status}"
            return 200, error_body(self.spec, op, "143"), "143"
        remote = environ.get("REMOTE_ADDR")
        if account.allowed_ips is not None and remote not in account.allowed_ips:
            row.reason = f"IP {remote} is not allowed"
            return 200, error_body(self.spec, op, "140", row.reason), "140"
        invalid = self.validator.check(op, data)
        if invalid is not None:
            row.reason, row.field = invalid.message, invalid.field
            return 200, error_body(self.spec, op, invalid.code, invalid.message), invalid.code
        call = Call(op, data, account, fixtures, self.store, row.received_at, self.delivery_delay, self.dispatcher)
        try:
            fields = HANDLERS[op.operation_id](call)
        except EsmsError as refused:
            row.reason = refused.message or self.spec.message_for(refused.code)
            return 200, error_body(self.spec, op, refused.code, refused.message), refused.code
        smsid = fields.get("SMSID")
        if isinstance(smsid, str):
            row.smsid = smsid
        return 200, success_body(op, fields), "100"


def decode(op: Operation, environ: dict[str, Any], limit: int) -> Any:
    """The operation's input as a dict: the query string, the form, or the JSON body."""
    if op.reads_query:
        query = environ.get("QUERY_STRING", "")
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise Undecodable("the query string is not valid UTF-8") from None
        found: dict[str, str] = {}
        for key, value in pairs:
            found.setdefault(key, value)  # the first of repeated parameters, as Flask's request.args
        return found
    raw = read_body(environ, limit)
    if op.is_form:
        try:
            form: dict[str, str] = {}
            for key, value in parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
                form.setdefault(key, value)
        except UnicodeDecodeError:
            raise Undecodable("the form body is not valid UTF-8") from None
        if "ApiKey" not in form and "Apikey" in form:  # the VI sample's spelling
            form["ApiKey"] = form.pop("Apikey")
        return form
    if not raw.strip():
        raise Undecodable("the body is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"the body is not valid JSON ({exc})", raw) from None
    if not isinstance(data, dict):
        raise Undecodable("the body must be a JSON object", raw)
    return data


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refusing one over `limit` whether it announces its length or not."""
    stream = environ["wsgi.input"]
    length_header = environ.get("CONTENT_LENGTH") or ""
    if length_header.strip():
        try:
            length = int(length_header)
        except ValueError:
            raise Undecodable("the Content-Length header is not a number") from None
        if length > limit:
            raise TooLarge
        return stream.read(length) if length > 0 else b""
    if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = stream.read(limit + 1)  # without a length (chunked): read one byte past the limit to tell
        if len(body) > limit:
            raise TooLarge
        return body  # type: ignore[no-any-return]
    return b""


def drop_connection(environ: dict[str, Any]) -> bool:
    """Close the client's socket without an answer (scenario `drop`), where the server exposes it."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return True


def _broken_body() -> Iterator[bytes]:
    raise ConnectionAbortedError("scenario: drop the connection")
    yield b""  # pragma: no cover - makes this a generator
