"""Validates a decoded request against its operation's schema and names the eSMS code to answer.

Valid requests, the hot path, cost one compiled check (jsonschema-rs). Only a request that fails
it is read again the way eSMS reads it (mock_server.esms.coercion, the spec's
`x-esms-lenient-reading`) and checked once more; only a request still invalid then pays for
collecting its errors and mapping the first one to a code through the spec's `x-esms-error-codes`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from mock_server.esms.coercion import LenientReader
from mock_server.esms.spec import ApiSpec, Operation

_MAX_VALUE_IN_MESSAGE = 40
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class Invalid:
    """Why a request was refused: the result code and a message naming the field."""

    code: str
    message: str
    field: str | None = None  # the field's path (`TempData.0.value`), or None for the body as a whole


class RequestValidator:
    """One compiled validator per operation."""

    def __init__(self, spec: ApiSpec) -> None:
        self._spec = spec
        self._validators = {
            op_id: jsonschema_rs.Draft4Validator(op.request_schema) for op_id, op in spec.operations.items()
        }
        self.reader = LenientReader(spec)

    def read(self, operation: Operation, data: Any) -> bool:
        """Convert `data` in place as eSMS reads it (see mock_server.esms.coercion); whether it changed."""
        return self.reader.read(operation, data)

    def check(self, operation: Operation, data: Any) -> Invalid | None:
        """None when `data` is valid as sent or as eSMS reads it (then `data` holds what it reads)."""
        validator = self._validators[operation.operation_id]
        try:
            if validator.is_valid(data):
                return None
            if self.reader.read(operation, data) and validator.is_valid(data):
                return None
            error = next(iter(validator.iter_errors(data)))
        except ValueError:  # jsonschema-rs gives up on values nested deeper than it recurses
            code = operation.invalid_request_code
            return Invalid(code, f"{self._spec.message_for(code)}: the body is nested too deeply")
        return self._explain(operation, error)

    def _explain(self, operation: Operation, error: jsonschema_rs.ValidationError) -> Invalid:
        error = _closest(error)
        path = [str(part) for part in error.instance_path]
        kind = type(error.kind).__name__
        if kind == "Required":
            missing = str(error.kind.property)
            code = _lookup(operation, (*path, missing), ("missing",))
            where = ".".join((*path, missing))
            field: str | None = where
            detail = f"{where} is missing"
        else:
            keyword = str(error.schema_path[-1]) if error.schema_path else ""
            code = _lookup(operation, tuple(path), (keyword, "invalid"))
            where = ".".join(path) or "body"
            field = ".".join(path) or None
            detail = f"{where}: {_short(error)}"
            also = self.reader.forms_at(operation, path)
            if also and kind == "Type":
                detail += f" (also read: {'; '.join(also)})"
        code = code or operation.invalid_request_code
        return Invalid(code, f"{self._spec.message_for(code)}: {detail}", field)


def _closest(error: jsonschema_rs.ValidationError) -> jsonschema_rs.ValidationError:
    """For a value that matches none of a `oneOf`/`anyOf`, the first failure of the form it comes
    closest to (fewest failures), so that a field-level code inside that form applies: a
    multichannel ZNS leg without `TempID` is answered 791, not the operation's generic code."""
    for _ in range(32):  # nested alternatives; bounded, whatever the schema
        if type(error.kind).__name__ not in ("OneOfNotValid", "AnyOf"):
            return error
        branches = [list(branch) for branch in (getattr(error.kind, "context", None) or []) if branch]
        if not branches:
            return error
        error = min(branches, key=len)[0]
    return error


def _lookup(operation: Operation, path: tuple[str, ...], keys: tuple[str, ...]) -> str | None:
    """The code for a failure at `path`: its own entry, else the nearest enclosing field's `invalid`."""
    pattern = tuple("*" if part.isdigit() else part for part in path)
    entry = operation.error_codes.get(pattern)
    if entry:
        for key in keys:
            if key in entry:
                return entry[key]
    for end in range(len(pattern) - 1, 0, -1):
        entry = operation.error_codes.get(pattern[:end])
        if entry and "invalid" in entry:
            return entry["invalid"]
    return None


def _short(error: jsonschema_rs.ValidationError) -> str:
    """The validator's message, without echoing a long offending value back."""
    message = error.message
    if type(error.kind).__name__ == "OneOfNotValid":
        return "does not match any of the forms the spec allows"
    try:
        shown = json.dumps(error.instance, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = ""
    if shown and len(shown) > _MAX_VALUE_IN_MESSAGE and message.startswith(shown):
        message = "value" + message[len(shown):]
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return message
