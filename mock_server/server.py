"""Serving the app with Granian, a production WSGI server (Rust HTTP stack, one process per worker).

Measured here against gunicorn (sync and gthread workers), uWSGI and bjoern with the same app:
gunicorn answered 3 to 10 times fewer requests per second; bjoern was fastest but needs a C
build against libev and has no thread pool; Granian installs as a wheel and came close to it.
The app is built once in the parent and the workers are forked from it, so they answer within
milliseconds of starting.
"""

from __future__ import annotations

import encodings.idna  # noqa: F401 - see serve_forever
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from granian import Granian
from granian.constants import Interfaces


def serve_forever(app: Any, *, host: str, port: int, workers: int, threads: int, on_ready: Callable[[], None]) -> None:
    """Serve until interrupted; `on_ready` runs once the port answers.

    The announcing thread runs in the parent while it forks the workers. Its first connect
    would import the IDNA codec; imported here instead, so that no worker is forked while that
    thread holds the import lock (which left a worker unable to import anything: a hang).
    """
    threading.Thread(target=_announce_when_listening, args=(host, port, on_ready), daemon=True).start()
    server = Granian(
        target="mock_server.app:create_app",  # informational: the loader below hands over the built app
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        log_access=False,  # query strings of GET operations carry the SecretKey: never logged
        log_level="warning",
        workers_kill_timeout=5,
    )
    server.serve(target_loader=lambda: app, wrap_loader=False)


def _announce_when_listening(host: str, port: int, on_ready: Callable[[], None], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                on_ready()
                return
        except OSError:
            time.sleep(0.01)
