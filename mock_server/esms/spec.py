"""The server's run-time view of the OpenAPI document.

Everything the mock knows about the eSMS operations comes from here: the routes, the request
schemas it validates against, the result codes and their texts, which code field an answer
uses, and which code a failing field maps to (`x-esms-error-codes`). Reading the document
(loading, `$ref`s, the result-code table) is esms_spec's job, shared with sdkgen and the tests.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import esms_spec
from esms_spec import ResultCode

DEFAULT_SPEC_PATH = esms_spec.spec_path(esms_spec.ESMS_SPEC)

# The response envelopes eSMS uses, in the order they are looked for in a response schema.
CODE_FIELDS = ("CodeResult", "CodeResponse", "Code", "Error")
_OAS_ONLY_KEYWORDS = {"discriminator", "example", "examples", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}

ErrorCodeMap = dict[tuple[str, ...], dict[str, str]]


@dataclass(frozen=True)
class Operation:
    """One eSMS operation as the server needs it."""

    operation_id: str
    method: str
    path: str
    tag: str
    media_types: tuple[str, ...]
    request_schema: dict[str, Any]
    invalid_request_code: str
    result_codes: tuple[str, ...]
    code_field: str
    code_is_number: bool
    message_field: str
    response_properties: frozenset[str]
    error_codes: ErrorCodeMap = field(repr=False)
    oas_request_schema: dict[str, Any] = field(default_factory=dict, repr=False)  # with its x- extensions

    @property
    def reads_query(self) -> bool:
        return self.method == "GET"

    @property
    def is_form(self) -> bool:
        return self.media_types == ("application/x-www-form-urlencoded",)


class ApiSpec:
    """The parsed OpenAPI document and the operations derived from it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.result_codes: dict[str, ResultCode] = esms_spec.result_codes(document)
        self.operations: dict[str, Operation] = {op.operation_id: op for op in self._build_operations()}

    @classmethod
    def load(cls, path: Path | str = DEFAULT_SPEC_PATH) -> ApiSpec:
        return cls(esms_spec.load_yaml(path))

    def message_for(self, code: str) -> str:
        entry = self.result_codes.get(code)
        return entry.message if entry else f"Error {code}"

    # ------------------------------------------------------------------ derivation
    @cached_property
    def definitions(self) -> dict[str, Any]:
        """components.schemas as plain JSON Schema (draft 4), for `#/definitions/...` references."""
        return {name: to_json_schema(schema) for name, schema in self.document["components"]["schemas"].items()}

    def resolve(self, node: Any) -> Any:
        return esms_spec.resolve(self.document, node)

    def _build_operations(self) -> list[Operation]:
        operations = []
        for path, item in self.document["paths"].items():
            for method in ("get", "post"):
                if method in item:
                    operations.append(self._operation(path, method.upper(), item[method]))
        return operations

    def _operation(self, path: str, method: str, raw: dict[str, Any]) -> Operation:
        if method == "GET":
            parameters = [self.resolve(p) for p in raw.get("parameters", [])]
            oas_schema: dict[str, Any] = {
                "type": "object",
                "required": [p["name"] for p in parameters if p.get("required")],
                "properties": {p["name"]: p["schema"] for p in parameters},
            }
            media_types: tuple[str, ...] = ()
        else:
            content = self.resolve(raw["requestBody"])["content"]
            media_types = tuple(content)
            oas_schema = next(iter(content.values()))["schema"]
        response = self.resolve(raw["responses"]["200"])
        response_schema = self.resolve(next(iter(response["content"].values()))["schema"])
        properties = response_schema.get("properties", {})
        code_field = next(name for name in CODE_FIELDS if name in properties)
        code_is_number = self.resolve(properties[code_field]).get("type") == "integer"
        request_schema = to_json_schema(oas_schema)
        request_schema["definitions"] = self.definitions
        return Operation(
            operation_id=raw["operationId"],
            method=method,
            path=path,
            tag=raw["tags"][0],
            media_types=media_types,
            request_schema=request_schema,
            invalid_request_code=raw["x-esms-invalid-request-code"],
            result_codes=tuple(raw["x-esms-result-codes"]),
            code_field=code_field,
            code_is_number=code_is_number,
            message_field="ErrorMessage" if "ErrorMessage" in properties else "Message",
            response_properties=frozenset(properties),
            error_codes=self._error_codes(oas_schema),
            oas_request_schema=oas_schema,
        )

    def _error_codes(self, schema: dict[str, Any]) -> ErrorCodeMap:
        """Collect `x-esms-error-codes` by instance path (array items are `*`)."""
        found: ErrorCodeMap = {}
        self._walk(schema, (), found, set())
        return found

    def _walk(
        self, node: Any, path: tuple[str, ...], found: ErrorCodeMap, seen: set[tuple[str, tuple[str, ...]]]
    ) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            key = (node["$ref"], path)
            if key not in seen:  # guards against recursive schemas
                self._walk(self.resolve(node), path, found, seen | {key})
            return
        if "x-esms-error-codes" in node:
            found.setdefault(path, {}).update(node["x-esms-error-codes"])
        for key in ("allOf", "oneOf", "anyOf"):
            for part in node.get(key, []):
                self._walk(part, path, found, seen)
        for name, child in node.get("properties", {}).items():
            self._walk(child, (*path, name), found, seen)
        if isinstance(node.get("items"), dict):
            self._walk(node["items"], (*path, "*"), found, seen)
        if isinstance(node.get("additionalProperties"), dict):
            self._walk(node["additionalProperties"], (*path, "*"), found, seen)


def to_json_schema(schema: Any) -> Any:
    """Turn an OpenAPI 3.0 schema object into draft-4 JSON Schema.

    `nullable` becomes a `null` type, OpenAPI-only keywords and extensions are dropped, and
    component references point at `#/definitions/`.
    """
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OAS_ONLY_KEYWORDS or key.startswith("x-") or key == "nullable":
            continue
        if key == "$ref":
            out[key] = value.replace("#/components/schemas/", "#/definitions/")
        elif key in ("properties", "definitions"):
            out[key] = {name: to_json_schema(child) for name, child in value.items()}
        else:
            out[key] = to_json_schema(value)
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out and "enum" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return copy.deepcopy(out) if out is schema else out
