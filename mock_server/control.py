"""The control plane under /_mock (spec/mock-control.openapi.yaml)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify


def blueprint(state: Any) -> Blueprint:
    bp = Blueprint("esms_mock_control", __name__, url_prefix="/_mock")

    @bp.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok", "operations": len(state.spec.operations)})

    return bp
