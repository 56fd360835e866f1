"""The eSMS operations: decode, apply scenarios, authenticate, validate, handle, answer.

`EsmsApi.respond` is a function of the request alone (`EsmsRequest` in, `Answer` or `Pause` out),
so that any server can call it: the served mock's async edge (mock_server.edge) and the WSGI app
(`__call__`, for `create_app` and Flask's test client). This is the request path the benchmarks
measure: a Flask request context costs several times what the eSMS behaviour itself costs here.
Flask serves the control plane and every answer that is not an eSMS operation (404, 405).

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
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import orjson

from mock_server import internal_error
from mock_server.bounded_memo import BoundedMemo
from mock_server.esms.callbacks import Dispatcher
from mock_server.esms.handlers import HANDLERS
from mock_server.esms.handlers.common import Call
from mock_server.esms import request_journal
from mock_server.esms.request_journal import BadControlHeader
from mock_server.esms.results import EsmsError, error_body, success_body
from mock_server.esms.routing import CONTROL_PREFIX, normalise
from mock_server.esms.scenarios import Scenario, ScenarioBook
from mock_server.esms.spec import ApiSpec, Operation
from mock_server.store import Store
from mock_server.store.request_log import JournalSink, JournalWriter, RequestRow
from mock_server.esms.validation import RequestValidator

log = logging.getLogger("esms_mock.requests")

JSON_MIMETYPE = "application/json"
_STATUS_LINES = {200: "200 OK", 413: "413 Request Entity Too Large"}
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Undecodable(Exception):
    """The body or query could not be read as the operation's input."""


class TooLarge(Exception):
    """The body is larger than the configured limit."""


# EsmsRequest and Answer are made once per request and never changed, but not frozen: a frozen
# dataclass sets each field through object.__setattr__, which doubled their cost on the valid send.
@dataclass(slots=True)
class EsmsRequest:
    """What the eSMS operations need of an HTTP request, whichever server read it.

    `too_large` and `unreadable` report a body the server refused to read (over the limit, or a
    Content-Length that is not a number); the operation answers them like eSMS would. `path`,
    `mock_code` and `mock_scope` are for the request journal and the mock's own headers
    (mock_server.esms.request_journal); `body` is kept as sent, so an undecodable one is journaled."""

    method: str = "POST"
    query: str = ""
    body: bytes = b""
    remote: str | None = None
    too_large: bool = False
    unreadable: str | None = None
    path: str = ""  # as the caller spelt it (before normalising); the operation's path if empty
    mock_code: str | None = None  # the X-Esms-Mock-Code header
    mock_scope: str | None = None  # the X-Esms-Mock-Scope header


@dataclass(slots=True)
class Answer:
    status: int
    payload: bytes  # the JSON body
    code: str  # the eSMS result code, for the log
    drop: bool = False  # scenario `drop`: close the connection instead of answering
    # The journal entry, completed once the server knows what it sent (`EsmsApi.journal`).
    row: RequestRow | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Pause:
    """A latency scenario: wait `seconds` (without holding a thread, on an async server), then answer `then()`."""

    seconds: float
    then: Callable[[], Answer]


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
    on_request: Callable[[], None] = lambda: None  # starts this process's background threads (idempotent)
    routes: dict[str, dict[str, Operation]] = field(default_factory=dict)
    # Where entries go: the writer thread, or (served) the event loop's group commit, which puts
    # them in its own transaction and sends other threads' entries on to the writer.
    journal_sink: JournalSink | None = None
    # The normal form of recently requested paths: callers repeat a few paths, and normalising is a regex.
    _normal_paths: BoundedMemo[str] = field(default_factory=lambda: BoundedMemo(
        normalise, entries=EsmsApi.NORMAL_PATHS_KEPT, max_key_length=EsmsApi.NORMAL_PATH_LENGTH), repr=False)

    NORMAL_PATHS_KEPT: ClassVar[int] = 1024
    NORMAL_PATH_LENGTH: ClassVar[int] = 256  # longer paths are normalised each time

    def __post_init__(self) -> None:
        if self.journal_sink is None:
            self.journal_sink = self.journal_writer
        for op in self.spec.operations.values():
            methods = self.routes.setdefault(normalise(op.path), {})
            methods[op.method] = op
            if op.method == "GET":
                methods["HEAD"] = op

    def operation(self, method: str, path: str) -> Operation | None:
        """The eSMS operation at this path and method; None for the control plane, 404 and 405."""
        if path.startswith(CONTROL_PREFIX):
            return None
        return self.routes.get(self._normal_paths(path), {}).get(method)

    # ------------------------------------------------------------------ the WSGI server's path
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI app (Flask's test client, `create_app`); the served mock uses `respond` (mock_server.edge)."""
        self.on_request()
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            environ["PATH_INFO"] = normalise(path)  # Flask's 404 and 405 are routed on the normal form too
        op = self.operation(method, path)
        if op is None:
            if not path.startswith(CONTROL_PREFIX):
                self.journal_unmatched(method, path, environ.get("HTTP_X_ESMS_MOCK_SCOPE"),
                                       _announced_body(environ, self.max_body_bytes), environ.get("QUERY_STRING", ""))
            return self.fallback(environ, start_response)
        result = self.respond(op, wsgi_request(op, environ, self.max_body_bytes, path))
        if isinstance(result, Pause):
            time.sleep(result.seconds)
            result = result.then()
        self.journal(result)
        if result.drop:
            if not drop_connection(environ):
                # No socket to close: promise a body and break off before it, so the client
                # sees the connection end without a complete answer.
                start_response("200 OK", [("Content-Type", JSON_MIMETYPE), ("Content-Length", "64")])
                return _broken_body()
            result = Answer(200, b"{}", "dropped")
        start_response(_STATUS_LINES.get(result.status) or f"{result.status} {HTTPStatus(result.status).phrase}",
                       [("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(result.payload)))])
        return [] if method == "HEAD" else [result.payload]

    # ------------------------------------------------------------------ the request journal
    def journal(self, answer: Answer) -> None:
        """Queue the journal entry of `answer` (written off the request path, mock_server.store.request_log).

        Called by the server once it knows what it sent: after a latency scenario's pause, and
        after the edge's commit (a failed commit turns an answer into the honest 500)."""
        row = answer.row
        if row is None:
            return
        try:
            code: str | None = answer.code
            if code in ("dropped", "-"):  # no answer was given, or the mock failed: no result code
                code = None
            row.http_status, row.code = answer.status, code
            row.outcome = "accepted" if code == "100" and answer.status < 400 else "refused"
            self.journal_sink.add(row)  # type: ignore[union-attr]
        except Exception:  # the journal must never cost the caller its answer
            log.exception("event=journal_not_written operation=%s", row.operation)

    def journal_unmatched(self, method: str, path: str, scope: str | None, body: bytes, query: str) -> None:
        """Journal a request to no eSMS operation (`path` as sent), with the closest operation as "did you mean"."""
        try:
            normal = normalise(path)
            if not path.isascii():  # PEP 3333 text (UTF-8 bytes as latin-1): shown as the caller wrote it
                path = path.encode("latin-1", "replace").decode("utf-8", "replace")
            suggestion, operation, reason = request_journal.did_you_mean(normal, method, self.routes, path)
            clock_offset = self.store.state()[0]
            row = request_journal.new_row(method, path, operation, time.time() + clock_offset, None)
            row.body = request_journal.unmatched_body(body, query)
            row.outcome, row.reason, row.did_you_mean = "unmatched", reason, suggestion
            row.http_status = 405 if operation else 404
            row.scope = scope.strip()[:request_journal.MAX_SCOPE_CHARS] if scope else None
            self.journal_sink.add(row)  # type: ignore[union-attr]
        except Exception:  # the journal must never cost the caller its answer
            log.exception("event=journal_not_written path=%s", path)

    # ------------------------------------------------------------------ the operations, server-free
    def respond(self, op: Operation, request: EsmsRequest) -> Answer | Pause:
        """The answer to one request of `op`: decode, scenarios, authenticate, validate, handle.

        Never raises: a bug in the mock becomes a JSON answer (and a traceback in the log). The
        answer carries its journal entry; the server passes it to `journal` once it is sent.
        The server calls `on_request` first (the edge once per worker, the WSGI app per request)."""
        started = time.perf_counter()
        row = request_journal.new_row(request.method, request.path or op.path, op.operation_id, time.time(), None)
        try:
            state = self.store.state()
            row.received_at += state[0]
            row.scope = request_journal.scope_of(request.mock_scope)
            data, undecodable, refusal = self._decode(op, request, row)
            if refusal is not None:
                return self._finish(op, row, refusal, started)
            if data is not None:
                request_journal.describe(row, data)
            forced = request_journal.forced_code(request.mock_code)
            if forced is not None:
                row.forced, row.reason = "header", f"forced by the {request_journal.CODE_HEADER} header"
                body = error_body(self.spec, op, forced) if forced != "100" else success_body(op, {})
                return self._finish(op, row, (200, body, forced), started)
            scenario = self.scenarios.match(op.operation_id, data, state[2], row.scope)
            if scenario is not None and scenario.latency_ms:
                # The clock or the fixtures may change during the pause: read them again after it.
                return Pause(scenario.latency_ms / 1000, lambda: self._guarded(
                    op, row, lambda: self._answer(op, request, row, data, undecodable, scenario, self.store.state()),
                    started))
            return self._finish(op, row, self._answer(op, request, row, data, undecodable, scenario, state), started)
        except BadControlHeader as bad:
            row.reason = str(bad)
            return self._finish(op, row, (400, {"error": "Bad mock header", "message": str(bad)}, "-"), started)
        except Exception:  # a bug in the mock: never a 5xx or a traceback on the wire
            return self._internal_error(op, row)

    def _guarded(self, op: Operation, row: RequestRow,
                 answer: Callable[[], tuple[int, dict[str, Any], str] | Answer], started: float) -> Answer:
        try:
            return self._finish(op, row, answer(), started)
        except Exception:
            return self._internal_error(op, row)

    def _finish(self, op: Operation, row: RequestRow, result: tuple[int, dict[str, Any], str] | Answer,
                started: float) -> Answer:
        if isinstance(result, Answer):
            return Answer(result.status, result.payload, result.code, result.drop, row)
        status, body, code = result
        if log.isEnabledFor(logging.DEBUG):  # not even the clock read when the line is not logged
            log.debug("event=request operation=%s code=%s status=%d ms=%.2f", op.operation_id, code, status,
                      (time.perf_counter() - started) * 1000)
        return Answer(status, orjson.dumps(body), code, row=row)

    def _internal_error(self, op: Operation, row: RequestRow) -> Answer:
        log.exception("event=internal_error operation=%s", op.operation_id)
        body = internal_error.body()
        row.reason = body["message"]
        return Answer(internal_error.STATUS, orjson.dumps(body), "-", row=row)

    def storing_failed(self, answer: Answer, failure: BaseException) -> Answer:
        """The honest 500 that replaces `answer` when what it stored could not be committed."""
        body = internal_error.body(f"storing this request ({type(failure).__name__})")
        row = answer.row
        if row is not None:
            row.reason, row.smsid = body["message"], None
        return Answer(internal_error.STATUS, orjson.dumps(body), "-", row=row)

    def _decode(self, op: Operation, request: EsmsRequest, row: RequestRow) -> tuple[Any, str, Answer | None]:
        """(data, why it is undecodable, an answer that ends the request now)."""
        if request.too_large:
            message = f"Request data incorrect: the body is larger than {self.max_body_bytes} bytes"
            row.reason = message
            return None, "", Answer(413, orjson.dumps(error_body(self.spec, op, "110", message)), "110")
        try:
            if request.unreadable is not None:
                raise Undecodable(request.unreadable)
            return decode(op, request), "", None
        except Undecodable as exc:
            raw = request.query if op.reads_query else request.body
            row.body = request_journal.body_text(None, raw or None)
            return None, str(exc), None

    def _answer(self, op: Operation, request: EsmsRequest, row: RequestRow, data: Any, undecodable: str,
                scenario: Scenario | None, state: tuple[float, int, int]) -> tuple[int, dict[str, Any], str] | Answer:
        """The answer; sets `row.reason` and `row.field` when refused, `row.smsid` when accepted."""
        clock_offset, fixtures_version, _ = state
        if scenario is not None:
            row.forced = f"scenario #{scenario.id}"
            if scenario.drop:
                row.reason = f"the connection was dropped (scenario #{scenario.id})"
                return Answer(200, b"", "dropped", drop=True)
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
        remote = request.remote
        if account.allowed_ips is not None and remote not in account.allowed_ips:
            row.reason = f"IP {remote} is not allowed"
            return 200, error_body(self.spec, op, "140", row.reason), "140"
        invalid = self.validator.check(op, data)
        if invalid is not None:
            row.reason, row.field = invalid.message, invalid.field
            return 200, error_body(self.spec, op, invalid.code, invalid.message), invalid.code
        call = Call(op, data, account, fixtures, self.store, time.time() + clock_offset, self.delivery_delay, self.dispatcher)
        try:
            fields = HANDLERS[op.operation_id](call)
        except EsmsError as refused:
            row.reason = refused.message or self.spec.message_for(refused.code)
            return 200, error_body(self.spec, op, refused.code, refused.message), refused.code
        smsid = fields.get("SMSID")
        if isinstance(smsid, str):
            row.smsid = smsid
        return 200, success_body(op, fields), "100"


def wsgi_request(op: Operation, environ: dict[str, Any], limit: int, path: str | None = None) -> EsmsRequest:
    """The request as the operations read it, from a WSGI environ (`path` as sent, if PATH_INFO is normalised)."""
    method, remote = environ.get("REQUEST_METHOD", "GET"), environ.get("REMOTE_ADDR")
    mock = {"path": environ.get("PATH_INFO", "") if path is None else path,
            "mock_code": environ.get("HTTP_X_ESMS_MOCK_CODE"), "mock_scope": environ.get("HTTP_X_ESMS_MOCK_SCOPE")}
    if op.reads_query:
        return EsmsRequest(method, environ.get("QUERY_STRING", ""), remote=remote, **mock)
    try:
        return EsmsRequest(method, body=read_body(environ, limit), remote=remote, **mock)
    except TooLarge:
        return EsmsRequest(method, remote=remote, too_large=True, **mock)
    except Undecodable as exc:
        return EsmsRequest(method, remote=remote, unreadable=str(exc), **mock)


def _announced_body(environ: dict[str, Any], limit: int) -> bytes:
    """What a request to no operation sent, for the journal: read only when it announces a length
    within the limit (the 404/405 answer that follows does not read it)."""
    if not (environ.get("CONTENT_LENGTH") or "").strip():
        return b""
    try:
        return read_body(environ, limit)
    except Exception:  # unreadable or over the limit: journaled without it; the journal never costs the answer
        return b""


def decode(op: Operation, request: EsmsRequest) -> Any:
    """The operation's input as a dict: the query string, the form, or the JSON body."""
    if op.reads_query:
        query = request.query
        try:
            pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise Undecodable("the query string is not valid UTF-8") from None
        found: dict[str, str] = {}
        for key, value in pairs:
            found.setdefault(key, value)  # the first of repeated parameters, as Flask's request.args
        return found
    raw = request.body
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
    if not raw or raw.isspace():  # as `not raw.strip()`, without copying the body
        raise Undecodable("the body is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Undecodable(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Undecodable("the body must be a JSON object")
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
