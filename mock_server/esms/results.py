"""Answers in eSMS's envelopes: which code field, which message field, which fixed extras."""

from __future__ import annotations

from typing import Any

from mock_server.esms.spec import ApiSpec, Operation


class EsmsError(Exception):
    """Refuse the request with an eSMS result code (and, optionally, a more precise message)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def error_body(spec: ApiSpec, op: Operation, code: str, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {op.code_field: int(code) if op.code_is_number else code}
    # Fields the vendor's error samples carry alongside the code, in the samples' order.
    if "CountRegenerate" in op.response_properties:
        body["CountRegenerate"] = 0
    if "Balance" in op.response_properties:
        body["Balance"] = 0
    body[op.message_field] = message or spec.message_for(code)
    if "Data_callback" in op.response_properties:
        body["Data_callback"] = []
    if op.code_field == "Error":
        body["Data"] = None
    return body


def success_body(op: Operation, fields: dict[str, Any]) -> dict[str, Any]:
    if op.code_field == "Error":
        return {"Error": 0, "Message": "Success", **fields}
    if op.code_is_number:
        return {op.code_field: 100, "Message": "Success", **fields}
    body: dict[str, Any] = {op.code_field: "100"}
    if "CountRegenerate" in op.response_properties and op.operation_id.startswith("send"):
        body["CountRegenerate"] = 0
    body.update(fields)
    return body
