"""The eSMS operations over HTTP: decode, apply scenarios, authenticate, validate, handle, answer.

Each stage can end the request with an eSMS-style answer; nothing here raises to Flask. The
order follows what a caller of eSMS sees: an unreadable body is refused before anything else,
bad credentials before a bad payload, a bad payload before business rules.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from flask import Request, Response
from werkzeug.exceptions import RequestEntityTooLarge

from mock_server.callbacks import Dispatcher
from mock_server.handlers import HANDLERS
from mock_server.handlers.common import Call
from mock_server.results import EsmsError, error_body, success_body
from mock_server.scenarios import ScenarioBook
from mock_server.spec import ApiSpec, Operation
from mock_server.store import Store
from mock_server.validation import RequestValidator

log = logging.getLogger("esms_mock.requests")

JSON_MIMETYPE = "application/json"


class Undecodable(Exception):
    """The body or query could not be read as the operation's input."""


@dataclass
class EsmsApi:
    spec: ApiSpec
    store: Store
    validator: RequestValidator
    scenarios: ScenarioBook
    dispatcher: Dispatcher | None
    delivery_delay: float

    def answer(self, op: Operation, request: Request) -> Response:
        started = time.perf_counter()
        status, body, code = self._answer(op, request)
        response = Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE)
        log.debug("event=request operation=%s code=%s status=%d ms=%.2f", op.operation_id, code, status,
                  (time.perf_counter() - started) * 1000)
        return response

    def _answer(self, op: Operation, request: Request) -> tuple[int, dict[str, Any], str]:
        clock_offset, fixtures_version, scenarios_version = self.store.state()
        try:
            data: Any = decode(op, request)
        except RequestEntityTooLarge:
            return 413, error_body(self.spec, op, "110", "Request data incorrect: the body is larger than the mock accepts"), "110"
        except Undecodable as exc:
            data = None
            undecodable = str(exc)
        scenario = self.scenarios.match(op.operation_id, data, scenarios_version)
        if scenario is not None:
            if scenario.latency_ms:
                time.sleep(scenario.latency_ms / 1000)
            if scenario.drop:
                drop_connection(request)
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
        account = fixtures.account(api_key, secret_key) if isinstance(api_key, str) and isinstance(secret_key, str) else None
        if account is None:
            return 200, error_body(self.spec, op, "101"), "101"
        if account.status != "active":
            return 200, error_body(self.spec, op, "143"), "143"
        if account.allowed_ips is not None and request.remote_addr not in account.allowed_ips:
            return 200, error_body(self.spec, op, "140", f"IP {request.remote_addr} is not allowed"), "140"
        invalid = self.validator.check(op, data)
        if invalid is not None:
            return 200, error_body(self.spec, op, invalid.code, invalid.message), invalid.code
        call = Call(op, data, account, fixtures, self.store, time.time() + clock_offset, self.delivery_delay, self.dispatcher)
        try:
            fields = HANDLERS[op.operation_id](call)
        except EsmsError as refused:
            return 200, error_body(self.spec, op, refused.code, refused.message), refused.code
        return 200, success_body(op, fields), "100"


def decode(op: Operation, request: Request) -> Any:
    """The operation's input as a dict: the query string, the form, or the JSON body."""
    if op.reads_query:
        return {key: value for key, value in request.args.items(multi=False)}
    raw = request.get_data(cache=False)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(raw) >= limit:
        # A body without Content-Length (chunked) is cut at the limit by werkzeug, not refused:
        # one that reaches the limit is too large, as one that announces a larger length.
        raise RequestEntityTooLarge()
    if op.is_form:
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Undecodable("the form body is not valid UTF-8") from None
        form = dict(pairs)
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


def drop_connection(request: Request) -> None:
    """Close the client's socket without an answer (scenario `drop`)."""
    sock = request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
