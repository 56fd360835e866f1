"""The app factory: one place that wires configuration, spec, store, routes and background work."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mock_server import control, fixtures
from mock_server.api import JSON_MIMETYPE, EsmsApi
from mock_server.callbacks import Dispatcher
from mock_server.config import MockConfig
from mock_server.routing import CONTROL_PREFIX
from mock_server.scenarios import ScenarioBook
from mock_server.spec import ApiSpec
from mock_server.store import Store
from mock_server.validation import RequestValidator

log = logging.getLogger("esms_mock")


@dataclass
class MockState:
    """What the app holds; reachable as `app.extensions["esms_mock"]`."""

    config: MockConfig
    spec: ApiSpec
    store: Store
    api: EsmsApi
    scenarios: ScenarioBook
    dispatcher: Dispatcher
    _dispatcher_pid: int | None = None

    def ensure_dispatcher(self) -> None:
        """Start the callback sender in this process (after a fork, each worker starts its own)."""
        if self.config.start_dispatcher and self._dispatcher_pid != os.getpid():
            self._dispatcher_pid = os.getpid()
            self.dispatcher.start()

    def shutdown(self) -> None:
        self.dispatcher.stop()
        self.store.close()


def create_app(config: MockConfig | None = None) -> Flask:
    config = config or MockConfig()
    spec = ApiSpec.load(config.spec_path)
    store = Store(config.db_path)
    if config.fixtures_path is not None:
        store.load_fixtures(fixtures.read_document(config.fixtures_path))
    elif store.state()[1] == 0:  # a new database: serve the demo data
        store.load_fixtures(fixtures.read_document(fixtures.DEMO_FIXTURES_PATH))
    scenarios = ScenarioBook(store)
    dispatcher = Dispatcher(store, config.callbacks)

    app = Flask("esms_mock")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # The eSMS operations, routed from the spec, run in front of Flask (see mock_server.api);
    # Flask serves the control plane and the 404/405 answers.
    api = EsmsApi(spec, store, RequestValidator(spec), scenarios, dispatcher, config.delivery_delay,
                  config.max_body_bytes, fallback=app.wsgi_app)
    state = MockState(config, spec, store, api, scenarios, dispatcher)
    api.on_request = state.ensure_dispatcher
    app.extensions["esms_mock"] = state
    for rule, methods in api.routes.items():
        # Registered so that Flask answers 405 (with Allow) for the other methods of these paths.
        app.add_url_rule(rule, endpoint=rule, view_func=_not_reached, methods=sorted(methods))
    app.register_blueprint(control.blueprint(state))
    app.before_request(state.ensure_dispatcher)
    _error_handlers(app, state)
    app.wsgi_app = api  # type: ignore[assignment]
    return app


def _not_reached() -> Response:  # pragma: no cover - EsmsApi answers these routes before Flask
    return _json(400, {"error": "Mock internal error", "message": "routed to Flask by mistake"})


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE, headers=headers)


def _error_handlers(app: Flask, state: MockState) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
        if error.code == 404 and not request.path.startswith(CONTROL_PREFIX):
            message = f"No eSMS operation at {request.path}. The mock serves the paths of spec/esms-zalo.openapi.yaml."
        else:
            message = error.description or error.name
        return _json(error.code or 400, {"error": error.name, "message": message}, headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # A bug in the mock. Never a 5xx or a traceback on the wire: the details go to the log.
        log.exception("event=internal_error path=%s", request.path)
        return _json(400, {"error": "Mock internal error",
                           "message": f"The mock failed on this request ({type(error).__name__}); the server log has the details."})
