"""The served mock's front: one event loop per worker (Granian's RSGI interface) that no caller can stall.

- The eSMS operations run on the loop itself (`EsmsApi.respond`, pure and quick: validation and a
  few SQLite statements); their commits are grouped per loop iteration (mock_server.loop_commits).
- A latency scenario is an `asyncio.sleep`: it holds no thread, so any number of delayed requests
  wait side by side and the others are answered meanwhile.
- A body is read with a deadline (`read_timeout`): a caller that promises a body and stops sending
  gets a 408 JSON answer and its connection is closed. Headers have the same deadline (Granian's
  HTTP/1 header timeout), and the number of requests in progress per worker is bounded
  (`max_connections`, Granian's backpressure): a flood of slow clients is refused by configuration.
- The control plane, 404 and 405 (Flask, WSGI) run in a small thread pool, never on the loop.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from granian.rsgi import ProtocolClosed, ProtocolError

from mock_server import internal_error
from mock_server.esms.api import JSON_MIMETYPE, EsmsRequest, Pause
from mock_server.esms.routing import CONTROL_PREFIX
from mock_server.esms.spec import Operation
from mock_server.loop_commits import LoopCommits
from mock_server.state import MockState

log = logging.getLogger("esms_mock")

_JSON_HEADERS = [("content-type", JSON_MIMETYPE)]
_CLOSE_HEADERS = [("content-type", JSON_MIMETYPE), ("connection", "close")]


class BodyTooLarge(Exception):
    """The body is larger than the configured limit (found while reading it)."""


class BodyUnreadable(Exception):
    """The body cannot be read as announced (a Content-Length that is not a number)."""


class ReadDeadlines:
    """The body reads in progress on one loop and when each must end; one timer checks them all.

    `asyncio.timeout` per request (a timer of its own, and two running-loop lookups that each make
    a getpid system call) showed in profiles of the valid send. Here a read costs two dict
    operations, and a stalled one is cancelled at most TICK after its deadline."""

    TICK = 0.1  # seconds between checks

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        self._loop = loop
        self._seconds = seconds
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def read(self, body: Awaitable[bytes]) -> bytes:
        """`await body`, or TimeoutError once it has taken longer than the deadline."""
        task = asyncio.current_task(self._loop)  # with the loop given: no running-loop lookup
        if task is None:  # not in a task (never under Granian): nothing to cancel
            return await body
        self._reading[task] = self._loop.time() + self._seconds
        if self._timer is None:
            self._timer = self._loop.call_later(self.TICK, self._check)
        try:
            return await body
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            task.uncancel()
            raise TimeoutError from None
        finally:
            del self._reading[task]
            self._expired.discard(task)

    def _check(self) -> None:
        now = self._loop.time()
        for task, deadline in self._reading.items():
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        self._timer = self._loop.call_later(self.TICK, self._check) if self._reading else None


class Edge:
    """The RSGI app: `__rsgi_init__` runs once per worker on its loop, `__rsgi__` once per request."""

    def __init__(self, state: MockState, *, read_timeout: float = 10.0, threads: int = 4) -> None:
        self.state = state
        self.api = state.api
        self.read_timeout = read_timeout
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._commits: LoopCommits | None = None
        self._deadlines: ReadDeadlines | None = None

    # ------------------------------------------------------------------ per worker
    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="esms-control-plane")
        self._deadlines = ReadDeadlines(loop, self.read_timeout)
        self._commits = LoopCommits(self.state.store, loop, journal=self.state.journal_writer).install()
        self.api.journal_sink = self._commits  # this worker's entries join the loop's commits
        self.api.on_request()  # the callback dispatcher and the control plane start loading now

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._commits is not None:
            self._commits.flush()
        # This worker's queued journal entries are written before it ends; its threads end too.
        self.state.journal_writer.stop()
        self.state.pruner.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ per request
    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        try:
            await self._serve(scope, proto)
        except Exception:  # a bug in the mock: an honest JSON 500 (not Granian's empty one), no traceback on the wire
            log.exception("event=internal_error path=%s", scope.path)  # the path only: queries carry SecretKeys
            try:
                proto.response_bytes(internal_error.STATUS, _CLOSE_HEADERS, orjson.dumps(internal_error.body()))
            except Exception:  # the answer had started: nothing more can be said on this connection
                pass

    async def _serve(self, scope: Any, proto: Any) -> None:
        path = _path(scope)
        op = self.api.operation(scope.method, path)
        try:
            if op is not None and op.reads_query:
                body = b""
            else:
                assert self._deadlines is not None, "__rsgi_init__ runs first"
                body = await self._deadlines.read(self._read_body(scope, proto))
        except (ProtocolClosed, ProtocolError):  # the caller went away while sending
            return
        except TimeoutError:
            self._unmatched(scope, op, path)
            self._refuse(proto, 408, "Request Timeout",
                         f"The request body did not arrive within {self.read_timeout:g} s; the connection is closed.")
            return
        except BodyTooLarge:
            if op is None:
                self._unmatched(scope, op, path)
                self._refuse(proto, 413, "Request Entity Too Large",
                             f"The body is larger than {self.api.max_body_bytes} bytes; the connection is closed.")
                return
            await self._send(proto, op, _request(scope, path, too_large=True), close=True)
            return
        except BodyUnreadable as exc:
            if op is None:
                self._unmatched(scope, op, path)
                self._refuse(proto, 400, "Bad Request", str(exc))
                return
            await self._send(proto, op, _request(scope, path, unreadable=str(exc)), close=True)
            return
        if op is None:  # the control plane, or a 404/405 (journaled as unmatched by EsmsApi.__call__)
            await self._control_plane(scope, proto, body)
            return
        await self._send(proto, op, _request(scope, path, body))

    def _unmatched(self, scope: Any, op: Operation | None, path: str) -> None:
        """Journal a request to no operation that the edge refuses itself (its body unread)."""
        if op is None and not path.startswith(CONTROL_PREFIX):
            self.api.journal_unmatched(scope.method, path, scope.headers.get("x-esms-mock-scope"), b"",
                                       scope.query_string)

    async def _send(self, proto: Any, op: Operation, request: EsmsRequest, *, close: bool = False) -> None:
        commits = self._commits
        assert commits is not None, "__rsgi_init__ runs first"
        commits.joined()  # nothing of an earlier request is this one's to wait for
        result = self.api.respond(op, request)
        if isinstance(result, Pause):
            before = commits.joined()
            if before is not None:  # whatever was stored before the pause: the requests that run
                await before        # during it take `joined` over
            await asyncio.sleep(result.seconds)
            result = result.then()
        committed = commits.joined()
        if committed is not None and (failure := await committed) is not None:
            result = self.api.storing_failed(result, failure)
        self.api.journal(result)  # once, with what is sent (after the pause and the commit)
        if result.drop:
            # Promise a body and end the response without it: the caller sees the connection
            # break off without an answer, as with a dropped connection.
            stream = proto.response_stream(200, [("content-type", JSON_MIMETYPE), ("content-length", "64")])
            await stream.send_bytes(b"{")
            return  # fewer bytes than promised: the connection is closed mid-answer
        headers = _CLOSE_HEADERS if close else _JSON_HEADERS
        if request.method == "HEAD":
            proto.response_empty(result.status, [*headers, ("content-length", str(len(result.payload)))])
        else:
            proto.response_bytes(result.status, headers, result.payload)

    async def _read_body(self, scope: Any, proto: Any) -> bytes:
        limit = self.api.max_body_bytes
        length = scope.headers.get("content-length")
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                raise BodyUnreadable("the Content-Length header is not a number") from None
            if announced > limit:
                raise BodyTooLarge
            if announced <= 0:
                return b""
            return await proto()  # one call into Granian for the whole announced body
        chunks, size = [], 0  # chunked: count while reading, to stop at the limit
        async for chunk in proto:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _refuse(proto: Any, status: int, error: str, message: str) -> None:
        proto.response_bytes(status, _CLOSE_HEADERS, orjson.dumps({"error": error, "message": message}))

    # ------------------------------------------------------------------ the control plane (WSGI, in threads)
    async def _control_plane(self, scope: Any, proto: Any, body: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self._commits is not None and scope.path.startswith(CONTROL_PREFIX):
            self._commits.flush()  # the journal lists every request this worker has answered
        status, headers, payload = await loop.run_in_executor(self._pool, self._call_wsgi, _environ(scope, body))
        if scope.method == "HEAD":
            proto.response_empty(status, headers)
        else:
            proto.response_bytes(status, headers, payload)

    def _call_wsgi(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [int(status.split(" ", 1)[0]), headers]

        chunks = self.api(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = started
        # The server sets the length of the body it sends; a WSGI app's own would be doubled.
        return status, [(k, v) for k, v in headers if k.lower() != "content-length"], payload


def _request(scope: Any, path: str, body: bytes = b"", *, too_large: bool = False,
             unreadable: str | None = None) -> EsmsRequest:
    """The request as the operations read it, from an RSGI scope (header names are lower case)."""
    headers = scope.headers
    return EsmsRequest(scope.method, scope.query_string, body, _host(scope.client), too_large, unreadable, path,
                       headers.get("x-esms-mock-code"), headers.get("x-esms-mock-scope"))


def _host(client: str) -> str:
    """The caller's address without its port ("127.0.0.1:5555", "[::1]:5555")."""
    host = client.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


def _path(scope: Any) -> str:
    """The path percent-decoded, as a WSGI server gives it: its bytes as latin-1 text (PEP 3333).

    Granian's RSGI scope may hold it raw or already decoded to text (`/%F1%A1%91%BF` arrives as
    one character beyond latin-1, which Werkzeug cannot read): either way, its UTF-8 bytes."""
    path: str = scope.path
    return unquote_to_bytes(path).decode("latin-1") if "%" in path or not path.isascii() else path


def _environ(scope: Any, body: bytes) -> dict[str, Any]:
    """A WSGI environ (PEP 3333) of an RSGI request whose body is read."""
    server_host, _, server_port = scope.server.rpartition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _path(scope),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": _host(scope.client),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key not in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):  # the body is read whole and de-chunked
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
