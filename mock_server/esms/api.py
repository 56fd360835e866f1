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
from typing import Any
from urllib.parse import parse_qsl

import orjson

from mock_server import internal_error
from mock_server.esms.callbacks import Dispatcher
from mock_server.esms.handlers import HANDLERS
from mock_server.esms.handlers.common import Call
from mock_server.esms.results import EsmsError, error_body, success_body
from mock_server.esms.routing import CONTROL_PREFIX, normalise
from mock_server.esms.scenarios import Scenario, ScenarioBook
from mock_server.esms.spec import ApiSpec, Operation
from mock_server.store import Store
from mock_server.esms.validation import RequestValidator

log = logging.getLogger("esms_mock.requests")

JSON_MIMETYPE = "application/json"
_STATUS_LINES = {200: "200 OK", 413: "413 Request Entity Too Large"}
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Undecodable(Exception):
    """The body or query could not be read as the operation's input."""


class TooLarge(Exception):
    """The body is larger than the configured limit."""


@dataclass(frozen=True, slots=True)
class EsmsRequest:
    """What the eSMS operations need of an HTTP request, whichever server read it.

    `too_large` and `unreadable` report a body the server refused to read (over the limit, or a
    Content-Length that is not a number); the operation answers them like eSMS would."""

    method: str = "POST"
    query: str = ""
    body: bytes = b""
    remote: str | None = None
    too_large: bool = False
    unreadable: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    payload: bytes  # the JSON body
    code: str  # the eSMS result code, for the log
    drop: bool = False  # scenario `drop`: close the connection instead of answering


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
    on_request: Callable[[], None] = lambda: None
    routes: dict[str, dict[str, Operation]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for op in self.spec.operations.values():
            methods = self.routes.setdefault(normalise(op.path), {})
            methods[op.method] = op
            if op.method == "GET":
                methods["HEAD"] = op

    def operation(self, method: str, path: str) -> Operation | None:
        """The eSMS operation at this path and method; None for the control plane, 404 and 405."""
        if path.startswith(CONTROL_PREFIX):
            return None
        return self.routes.get(normalise(path), {}).get(method)

    # ------------------------------------------------------------------ the WSGI server's path
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI app (Flask's test client, `create_app`); the served mock uses `respond` (mock_server.edge)."""
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            environ["PATH_INFO"] = normalise(path)  # Flask's 404 and 405 are routed on the normal form too
        op = self.operation(method, path)
        if op is None:
            return self.fallback(environ, start_response)
        result = self.respond(op, wsgi_request(op, environ, self.max_body_bytes))
        if isinstance(result, Pause):
            time.sleep(result.seconds)
            result = result.then()
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

    # ------------------------------------------------------------------ the operations, server-free
    def respond(self, op: Operation, request: EsmsRequest) -> Answer | Pause:
        """The answer to one request of `op`: decode, scenarios, authenticate, validate, handle.

        Never raises: a bug in the mock becomes a JSON answer (and a traceback in the log)."""
        self.on_request()
        started = time.perf_counter()
        try:
            data, undecodable, refusal = self._decode(op, request)
            if refusal is not None:
                return refusal
            state = self.store.state()
            scenario = self.scenarios.match(op.operation_id, data, state[2])
            if scenario is not None and scenario.latency_ms:
                # The clock or the fixtures may change during the pause: read them again after it.
                return Pause(scenario.latency_ms / 1000, lambda: self._guarded(
                    op, lambda: self._answer(op, request, data, undecodable, scenario, self.store.state()), started))
            return self._finish(op, self._answer(op, request, data, undecodable, scenario, state), started)
        except Exception:  # a bug in the mock: never a 5xx or a traceback on the wire
            return self._internal_error(op)

    def _guarded(self, op: Operation, answer: Callable[[], tuple[int, dict[str, Any], str] | Answer],
                 started: float) -> Answer:
        try:
            return self._finish(op, answer(), started)
        except Exception:
            return self._internal_error(op)

    def _finish(self, op: Operation, result: tuple[int, dict[str, Any], str] | Answer, started: float) -> Answer:
        if isinstance(result, Answer):
            return result
        status, body, code = result
        log.debug("event=request operation=%s code=%s status=%d ms=%.2f", op.operation_id, code, status,
                  (time.perf_counter() - started) * 1000)
        return Answer(status, orjson.dumps(body), code)

    def _internal_error(self, op: Operation) -> Answer:
        log.exception("event=internal_error operation=%s", op.operation_id)
        return Answer(internal_error.STATUS, orjson.dumps(internal_error.body()), "-")

    def _decode(self, op: Operation, request: EsmsRequest) -> tuple[Any, str, Answer | None]:
        """(data, why it is undecodable, an answer that ends the request now)."""
        if request.too_large:
            message = f"Request data incorrect: the body is larger than {self.max_body_bytes} bytes"
            return None, "", Answer(413, orjson.dumps(error_body(self.spec, op, "110", message)), "110")
        try:
            if request.unreadable is not None:
                raise Undecodable(request.unreadable)
            return decode(op, request), "", None
        except Undecodable as exc:
            return None, str(exc), None

    def _answer(self, op: Operation, request: EsmsRequest, data: Any, undecodable: str,
                scenario: Scenario | None, state: tuple[float, int, int]) -> tuple[int, dict[str, Any], str] | Answer:
        clock_offset, fixtures_version, _ = state
        if scenario is not None:
            if scenario.drop:
                return Answer(200, b"", "dropped", drop=True)
            if scenario.code is not None or scenario.http_status is not None:
                code = scenario.code or "100"
                body = error_body(self.spec, op, code, scenario.message) if code != "100" else success_body(op, {})
                return scenario.http_status or 200, body, code
        if data is None:
            code = op.invalid_request_code
            return 200, error_body(self.spec, op, code, f"{self.spec.message_for(code)}: {undecodable}"), code
        fixtures = self.store.fixtures(fixtures_version)
        api_key, secret_key = data.get("ApiKey"), data.get("SecretKey")
        if not (isinstance(api_key, str) and isinstance(secret_key, str)) and self.validator.read(op, data):
            api_key, secret_key = data.get("ApiKey"), data.get("SecretKey")  # a number is read as its text
        account = fixtures.account(api_key, secret_key) if isinstance(api_key, str) and isinstance(secret_key, str) else None
        if account is None:
            return 200, error_body(self.spec, op, "101"), "101"
        if account.status != "active":
            return 200, error_body(self.spec, op, "143"), "143"
        remote = request.remote
        if account.allowed_ips is not None and remote not in account.allowed_ips:
            return 200, error_body(self.spec, op, "140", f"IP {remote} is not allowed"), "140"
        invalid = self.validator.check(op, data)
        if invalid is not None:
            return 200, error_body(self.spec, op, invalid.code, invalid.message), invalid.code
        call = Call(op, data, account, fixtures, self.store, time.time() + clock_offset, self.delivery_delay, self.dispatcher)
        try:
            fields = HANDLERS[op.operation_id](call)
        except EsmsError as refused:
            return 200, error_body(self.spec, op, refused.code, refused.message), refused.code
        return 200, success_body(op, fields), "100"


def wsgi_request(op: Operation, environ: dict[str, Any], limit: int) -> EsmsRequest:
    """The request as the operations read it, from a WSGI environ."""
    method, remote = environ.get("REQUEST_METHOD", "GET"), environ.get("REMOTE_ADDR")
    if op.reads_query:
        return EsmsRequest(method, environ.get("QUERY_STRING", ""), remote=remote)
    try:
        return EsmsRequest(method, body=read_body(environ, limit), remote=remote)
    except TooLarge:
        return EsmsRequest(method, remote=remote, too_large=True)
    except Undecodable as exc:
        return EsmsRequest(method, remote=remote, unreadable=str(exc))


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
    if not raw.strip():
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
