"""Serving the app with gunicorn (a production WSGI server), configured in code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._app


def serve_forever(app: Any, *, host: str, port: int, workers: int, threads: int, on_ready: Callable[[], None]) -> None:
    """Serve until interrupted. The app is built before the fork: workers start in milliseconds."""

    def when_ready(_server: Any) -> None:
        on_ready()

    def worker_exit(_server: Any, _worker: Any) -> None:
        app.extensions["esms_mock"].shutdown()

    _Gunicorn(app, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": None,  # query strings of GET operations carry the SecretKey: never logged
        "errorlog": "-",
        "loglevel": "warning",
        "when_ready": when_ready,
        "worker_exit": worker_exit,
        "graceful_timeout": 5,
        "timeout": 120,
        "keepalive": 5,
        "proc_name": "esms-mock",
    }).run()
