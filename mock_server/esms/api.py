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

from mock_server import internal_error
from mock_server.esms.callbacks import Dispatcher
from mock_server.esms.handlers import HANDLERS
from mock_server.esms.handlers.common import Call
from mock_server.esms.results import EsmsError, error_body, success_body
from mock_server.esms.routing import CONTROL_PREFIX, normalise
from mock_server.esms.scenarios import ScenarioBook
from mock_server.esms.spec import ApiSpec, Operation
from mock_server.store import Store
from mock_server.esms.validation import RequestValidator

log = logging.getLogger("esms_mock.requests")

JSON_MIMETYPE = "application/json"
_STATUS_LINES = {200: "200 OK", 413: "413 Request Entity Too Large", internal_error.STATUS: internal_error.STATUS_LINE}
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Undecodable(Exception):
    """The body or query could not be read as the operation's input."""


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
        environ["PATH_INFO"] = path = normalise(path)
        op = self.routes.get(path, {}).get(environ.get("REQUEST_METHOD", "GET"))
        if op is None:
            return self.fallback(environ, start_response)
        self.on_request()
        started = time.perf_counter()
        try:
            status, body, code = self.answer(op, environ)
        except ConnectionDropped:
            # No socket to close (Granian): promise a body and break off before it, so the
            # client sees the connection end without a complete answer.
            start_response("200 OK", [("Content-Type", JSON_MIMETYPE), ("Content-Length", "64")])
            return _broken_body()
        except Exception:  # a bug in the mock: an honest 500, the traceback in the log and not on the wire
            log.exception("event=internal_error operation=%s", op.operation_id)
            status, code = internal_error.STATUS, "-"
            body = internal_error.body()
        payload = orjson.dumps(body)
        start_response(_STATUS_LINES.get(status) or f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(payload)))])
        log.debug("event=request operation=%s code=%s status=%d ms=%.2f", op.operation_id, code, status,
                  (time.perf_counter() - started) * 1000)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [payload]

    def answer(self, op: Operation, environ: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
        clock_offset, fixtures_version, scenarios_version = self.store.state()
        undecodable = ""
        try:
            data: Any = decode(op, environ, self.max_body_bytes)
        except TooLarge:
            message = f"Request data incorrect: the body is larger than {self.max_body_bytes} bytes"
            return 413, error_body(self.spec, op, "110", message), "110"
        except Undecodable as exc:
            data, undecodable = None, str(exc)
        scenario = self.scenarios.match(op.operation_id, data, scenarios_version)
        if scenario is not None:
            if scenario.latency_ms:
                time.sleep(scenario.latency_ms / 1000)
            if scenario.drop:
                if not drop_connection(environ):
                    raise ConnectionDropped
                return 200, {}, "dropped"
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
        remote = environ.get("REMOTE_ADDR")
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
