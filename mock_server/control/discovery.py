"""What a person or a tool finds at the mock's root: `GET /` and `GET /_mock/` send a browser to the
inbox (/_mock/ui/) and answer anything else a small JSON index (the health check, both specs, the
docs), and `/_mock/openapi/` serves the two specs from
the installed package (esms_spec), so a client generator can point at a running mock."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request

import esms_spec

YAML_MIMETYPE = "application/yaml"
INBOX = "/_mock/ui/"
# The URL name of each packaged spec (`/_mock/openapi/<name>.yaml`).
SPEC_FILES = {"esms-zalo": esms_spec.ESMS_SPEC, "mock-control": esms_spec.CONTROL_SPEC}


def index() -> dict[str, Any]:
    """The index of `GET /` and `GET /_mock/` (a browser UI, when there is one, starts here too)."""
    return {
        "service": "esms-mock: an offline, stateful stand-in for the eSMS.vn Zalo API",
        "inbox": INBOX,
        "health": "/_mock/health",
        "esms_spec": "/_mock/openapi/esms-zalo.yaml",
        "control_spec": "/_mock/openapi/mock-control.yaml",
        "docs": "/_mock/ui/docs (both specs, browsable offline); `esms-mock serve --help` for the options",
        "esms_operations": "/MainService.svc/json/... (the paths of esms_spec)",
    }


def index_answer(answer_json: Any) -> Response:
    """A browser (Accept prefers text/html) is sent to the inbox; a tool gets the JSON index."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        response = redirect(INBOX, code=302)
    else:
        response = answer_json(index())
    response.headers["Vary"] = "Accept"
    return response  # type: ignore[no-any-return]


def blueprint(answer_json: Any) -> Blueprint:
    """Registered under /_mock, next to the control plane (not part of its spec, whose answers are all
    JSON); `answer_json` makes its JSON answers."""
    bp = Blueprint("esms_mock_discovery", __name__)

    @bp.get("/")
    def get_index() -> Response:
        return index_answer(answer_json)

    @bp.get("/openapi/<name>.yaml")
    def get_openapi(name: str) -> Response:
        if name not in SPEC_FILES:
            return answer_json({"error": "Not Found",
                                "message": f"no spec named {name}.yaml; there are "
                                           + ", ".join(f"/_mock/openapi/{n}.yaml" for n in SPEC_FILES)}, 404)
        return Response(esms_spec.spec_path(SPEC_FILES[name]).read_bytes(), mimetype=YAML_MIMETYPE)

    return bp
