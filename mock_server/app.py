"""The app factory: the mock's parts (mock_server.state) behind a Flask app that serves the
control plane, and the 404 and 405 answers, around the eSMS operations."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from mock_server import internal_error, ui
from mock_server.control import discovery
from mock_server.control import routes as control
from mock_server.esms.api import JSON_MIMETYPE
from mock_server.config import MockConfig
from mock_server.esms.routing import CONTROL_PREFIX, json_form
from mock_server.state import MockState, build_state

log = logging.getLogger("esms_mock")


def create_app(config: MockConfig | None = None) -> Flask:
    app = Flask("esms_mock")
    # The eSMS operations, routed from the spec, run in front of Flask (see mock_server.esms.api);
    # Flask serves the control plane and the 404/405 answers.
    state = build_state(config or MockConfig(), fallback=app.wsgi_app)
    attach_control_plane(app, state)
    app.wsgi_app = state.api  # type: ignore[assignment]
    return app


def control_plane(state: MockState) -> Flask:
    """A Flask app of the control plane alone, for a server that built `state` without Flask."""
    app = Flask("esms_mock")
    attach_control_plane(app, state)
    return app


def attach_control_plane(app: Flask, state: MockState) -> None:
    app.config["MAX_CONTENT_LENGTH"] = state.config.max_body_bytes
    # OPTIONS is answered like any other method a path does not have (JSON 405 with Allow), not
    # with Flask's automatic empty 200: the mock serves no CORS preflight. Set before any route.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["esms_mock"] = state
    for rule, methods in state.api.routes.items():
        # Registered so that Flask answers 405 (with Allow) for the other methods of these paths.
        app.add_url_rule(rule, endpoint=rule, view_func=_not_reached, methods=sorted(methods))
    app.register_blueprint(control.blueprint(state))
    answer_json = lambda body, status=200: _json(status, body)  # noqa: E731
    app.register_blueprint(discovery.blueprint(answer_json), url_prefix=CONTROL_PREFIX)
    app.add_url_rule("/", endpoint="index", view_func=lambda: discovery.index_answer(answer_json), methods=["GET"])
    app.register_blueprint(ui.blueprint(state))
    app.before_request(state.ensure_dispatcher)
    _error_handlers(app)


def _not_reached() -> Response:  # pragma: no cover - EsmsApi answers these routes before Flask
    log.error("event=internal_error path=%s routed to Flask by mistake", request.path)
    return _json(internal_error.STATUS, internal_error.body())


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE, headers=headers)


def _no_operation(path: str) -> str:
    json_path = json_form(path)
    if json_path is None:
        return f"No eSMS operation at {path}. The mock serves the paths of spec/esms-zalo.openapi.yaml."
    methods = current_app.extensions["esms_mock"].api.routes.get(json_path)
    use = f"use {next(iter(methods.values())).path}" if methods else "the mock serves the paths of spec/esms-zalo.openapi.yaml"
    return (f"No eSMS operation at {path}: the mock serves the JSON endpoints (/MainService.svc/json/...) only, "
            f"the only ones the vendor documents for Zalo; {use}.")


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
        if error.code == 404 and not request.path.startswith(CONTROL_PREFIX):
            message = _no_operation(request.path)
        else:
            message = error.description or error.name
        return _json(error.code or 400, {"error": error.name, "message": message}, headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # A bug in the mock: an honest 500; the traceback goes to the log, never on the wire.
        log.exception("event=internal_error path=%s", request.path)
        return _json(internal_error.STATUS, internal_error.body())
