"""Serving the mock with Granian (Rust HTTP stack, one process per worker) through its RSGI
interface: mock_server.edge is the app, an event loop per worker.

Measured here against gunicorn (sync and gthread workers), uWSGI and bjoern with the same app:
gunicorn answered 3 to 10 times fewer requests per second; bjoern was fastest but needs a C
build against libev and has no thread pool; Granian installs as a wheel and came close to it.
The app is built once in the parent and the workers are forked from it, so they answer within
milliseconds of starting.

The served app is the eSMS operations (mock_server.esms.api) with the Flask control plane loaded on
first use: importing Flask takes 0.2 s, most of the time to the first answer otherwise. Each
worker starts loading it in the background as soon as it starts (mock_server.edge).
"""

from __future__ import annotations

import encodings.idna  # noqa: F401 - see serve_forever
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.http import HTTP1Settings

from mock_server import internal_error
from mock_server.esms.api import JSON_MIMETYPE, WsgiApp
from mock_server.config import MockConfig
from mock_server.edge import Edge
from mock_server.state import MockState, build_state

log = logging.getLogger("esms_mock")


class LazyControlPlane:
    """The control plane's WSGI app (Flask), imported and built the first time it is needed."""

    def __init__(self) -> None:
        self._state: MockState | None = None
        self._app: WsgiApp | None = None
        self._lock = threading.Lock()
        self._warming_pid: int | None = None

    def bind(self, state: MockState) -> None:
        self._state = state

    def warm(self) -> None:
        """Load it in a background thread of this process, so that no request waits for it."""
        if self._warming_pid != os.getpid() and self._app is None:
            self._warming_pid = os.getpid()
            threading.Thread(target=self._load_quietly, name="esms-control-plane-loader", daemon=True).start()

    def _load_quietly(self) -> None:
        try:
            self._load()
        except Exception:  # reported when a request needs it (see __call__)
            log.debug("event=control_plane_not_loaded", exc_info=True)

    def _load(self) -> WsgiApp:
        with self._lock:
            if self._app is None:
                from mock_server.app import control_plane

                assert self._state is not None, "bind() the state first"
                self._app = control_plane(self._state).wsgi_app
            return self._app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            app = self._app or self._load()
        except Exception:  # a broken installation: an honest 500, the traceback in the log only
            log.exception("event=internal_error path=%s", environ.get("PATH_INFO", ""))
            body = orjson.dumps(internal_error.body("loading the control plane"))
            start_response(internal_error.STATUS_LINE, [("Content-Type", JSON_MIMETYPE), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)


def build_served_app(config: MockConfig) -> MockState:
    """The mock's parts with the control plane loaded lazily; `state.api` is the WSGI app to serve."""
    control = LazyControlPlane()
    state = build_state(config, fallback=control)
    control.bind(state)

    def first_request_in_process() -> None:
        state.ensure_dispatcher()
        control.warm()

    state.api.on_request = first_request_in_process
    return state


def serve_forever(state: MockState, *, host: str, port: int, workers: int, threads: int, read_timeout: float,
                  max_connections: int, on_ready: Callable[[], None]) -> None:
    """Serve until interrupted; `on_ready` runs once the port answers.

    The announcing thread runs in the parent while it forks the workers. Its first connect
    would import the IDNA codec; imported here instead, so that no worker is forked while that
    thread holds the import lock (which left a worker unable to import anything: a hang).
    """
    threading.Thread(target=_announce_when_listening, args=(host, port, on_ready), daemon=True).start()
    edge = Edge(state, read_timeout=read_timeout, threads=threads)
    server = Granian(
        target="mock_server.edge:Edge",  # informational: the loader below hands over the built app
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        loop=_event_loop(),
        workers=workers,
        backlog=max(128, max_connections),
        backpressure=max_connections,  # requests in progress per worker; more wait in the backlog
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, int(read_timeout * 1000))),
        log_access=False,  # query strings of GET operations carry the SecretKey: never logged
        log_level="warning",
        workers_kill_timeout=5,
    )
    server.serve(target_loader=lambda: edge, wrap_loader=False)


def _event_loop() -> Loops:
    """uvloop where it is installed (a dependency except on Windows): about 30% less CPU per send than
    asyncio's loop. Named, not Granian's `auto`, which would prefer its experimental rloop if present."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return Loops.asyncio
    return Loops.uvloop


def _announce_when_listening(host: str, port: int, on_ready: Callable[[], None], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                on_ready()
                return
        except OSError:
            time.sleep(0.01)
