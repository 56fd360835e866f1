"""The callback sink: a local HTTP receiver to use as eSMS's `CallbackUrl` in tests.

Stdlib only (no pytest, no httpx): `from mock_server.testing import CallbackSink` works in any
test runner, or in a script.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from mock_server.testing.errors import WaitTimeout

if TYPE_CHECKING:  # the SDK is imported when a report is parsed
    from esms_zalo import DeliveryReport

DEFAULT_TIMEOUT = 5.0


def _first_values(raw_query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        values.setdefault(name, value)
    return values


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sink received."""

    method: str
    path: str
    query: dict[str, str]  # each parameter's (first) value, URL-decoded once
    raw_query: str
    at: float  # time.time() on arrival
    status: int  # what the sink answered
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def smsid(self) -> str | None:
        return self.query.get("SMSID")

    def parse(self) -> DeliveryReport:
        """The request as an `esms_zalo.DeliveryReport` (raises CallbackParseError if it is not one)."""
        from esms_zalo import parse_delivery_callback

        return parse_delivery_callback(self.raw_query)

    def summary(self) -> str:
        keys = ("SMSID", "SendStatus", "SendSuccess", "SendFailed", "phonenumber")
        shown = " ".join(f"{k}={self.query[k]}" for k in keys if k in self.query)
        clock = time.strftime("%H:%M:%S", time.localtime(self.at)) + f".{int(self.at * 1000) % 1000:03d}"
        return f"{clock} {self.method} {self.path} -> {self.status}  {shown or self.raw_query[:120]}"


class CallbackSink:
    """An HTTP server on 127.0.0.1 (a free port) that records every request (the `esms_callback_sink` fixture).

    `url` is the CallbackUrl to give the app under test. Requests are answered 200 "OK", or with
    the status of `fail_next(n, status)`, or by the function given to `forward_to`.
    """

    def __init__(self, path: str = "/esms-callback") -> None:
        self._received: list[ReceivedRequest] = []
        self._condition = threading.Condition()
        self._fail: list[int] = []
        self._handler: Callable[[ReceivedRequest], int | None] | None = None
        self._errors: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "esms-callback-sink/1"

            def do_GET(self) -> None:  # noqa: N802
                sink._handle(self)

            do_POST = do_PUT = do_HEAD = do_GET  # recorded too: eSMS only ever sends GET

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.url = self.base_url + path
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="esms-callback-sink", daemon=True)
        self._thread.start()
        self._stopped = False

    # ------------------------------------------------------------------ serving
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(min(length, 1_048_576))
        record = ReceivedRequest(
            method=request.command, path=parts.path, query=_first_values(parts.query),
            raw_query=parts.query, at=time.time(), status=200, headers=dict(request.headers.items()),
        )
        with self._condition:
            forced = self._fail.pop(0) if self._fail else None
            handler = self._handler
        status = forced
        if status is None and handler is not None:
            try:
                status = handler(record) or 200
            except Exception as exc:  # the forwarded-to app failed: the mock sees a 500 and retries
                status = 500
                with self._condition:
                    self._errors.append(f"{record.summary()}: {type(exc).__name__}: {exc}")
        status = status or 200
        record = ReceivedRequest(record.method, record.path, record.query, record.raw_query, record.at, status,
                                 record.headers)
        with self._condition:
            self._received.append(record)
            self._condition.notify_all()
        body = b"OK" if 200 <= status < 300 else b"sink told to fail"
        request.send_response(status)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ behaviour
    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` requests with `status` (to see the mock retry)."""
        with self._condition:
            self._fail.extend([int(status)] * int(count))

    def forward_to(self, handler: Callable[[ReceivedRequest], int | None] | None) -> None:
        """Call `handler(request)` for each request; it returns the status to answer (None: 200).

        With Flask: `sink.forward_to(lambda r: app.test_client().get(f"{r.path}?{r.raw_query}").status_code)`.
        An exception is answered 500 (and listed in the sink's failure report).
        """
        with self._condition:
            self._handler = handler

    # ------------------------------------------------------------------ what was received
    @property
    def received(self) -> list[ReceivedRequest]:
        with self._condition:
            return list(self._received)

    @property
    def errors(self) -> list[str]:
        """Exceptions raised by the `forward_to` handler."""
        with self._condition:
            return list(self._errors)

    def clear(self) -> None:
        with self._condition:
            self._received.clear()
            self._errors.clear()

    def requests(self, smsid: str | None = None) -> list[ReceivedRequest]:
        return [r for r in self.received if smsid is None or r.smsid == smsid]

    def wait_for(self, count: int = 1, smsid: str | None = None, timeout: float = DEFAULT_TIMEOUT, *,
                 parse: bool = False, ok_only: bool = False) -> list[Any]:
        """Wait until `count` requests (of `smsid`; answered 2xx if `ok_only`) arrived; they, oldest first.

        With `parse`, as `esms_zalo.DeliveryReport`s. Raises WaitTimeout listing what arrived.
        """
        __tracebackhide__ = True

        def matching() -> list[ReceivedRequest]:
            return [r for r in self._received if (smsid is None or r.smsid == smsid)
                    and (not ok_only or 200 <= r.status < 300)]

        deadline = time.monotonic() + timeout
        with self._condition:
            while len(matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(matching())
                    what = f"request(s) for SMSID {smsid}" if smsid else "request(s)"
                    raise WaitTimeout(
                        f"the callback sink {self.url} got {got} of {count} expected {what} within {timeout:g} s.\n"
                        f"{self._describe_locked()}\nIs the message sent with CallbackUrl={self.url}? "
                        "esms_mock.callbacks() shows what the mock tried.")
                self._condition.wait(left)
            found = matching()[:count] if count else matching()
        return [r.parse() for r in found] if parse else found

    def _describe_locked(self) -> str:
        if not self._received:
            text = "Received: nothing."
        else:
            text = "Received:\n" + "\n".join(f"  - {r.summary()}" for r in self._received[-30:])
        if self._errors:
            text += "\nforward_to handler errors:\n" + "\n".join(f"  - {e}" for e in self._errors[-10:])
        return text

    def describe(self) -> str:
        with self._condition:
            return f"{self.url}\n{self._describe_locked()}"

    def __repr__(self) -> str:
        return f"<CallbackSink {self.url} received={len(self.received)}>"
