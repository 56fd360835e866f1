"""Derive, from the spec alone, everything the client needs to know about each operation.

Nothing here is a hand-kept list of operations: method, path, host, encoding, request and
response models, which field carries the result code, where RequestIds live and whether a
replay is safe all come from the document. When the spec takes a shape these rules do not
cover, generation stops with a SpecError instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .spec import SpecDocument, SpecError

# Component names the spec uses for its shared building blocks. They are the spec's own
# vocabulary (see components/schemas), not a list of operations.
RESULT_CODE_SCHEMA = "ResultCode"
REQUEST_ID_SCHEMA = "RequestId"
CREDENTIAL_FIELDS = ("ApiKey", "SecretKey")
# Operations under this tag change state; see `_replay_safe`.
SENDING_TAG = "sending"

ENCODINGS = {
    "application/json": "json",
    "application/x-www-form-urlencoded": "form",
}


@dataclass(frozen=True)
class OperationSpec:
    """One operation as the client templates see it."""

    operation_id: str
    method: str
    path: str
    server: str  # "main" or "status": which base URL of the client serves it
    encoding: str  # "json", "form" or "query"
    request_model: str
    response_model: str
    code_field: str
    code_type: str  # "string" (CodeResult, CodeResponse) or "number" (Code, Error)
    message_fields: tuple[str, ...]
    request_id_paths: tuple[tuple[str, ...], ...]
    replay_safe: bool
    summary: str
    result_codes: tuple[str, ...]

    @property
    def constant_name(self) -> str:
        return self.operation_id.upper()

    @property
    def class_prefix(self) -> str:
        return pascal_case(self.operation_id)


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def query_model_name(operation_id: str) -> str:
    """The name datamodel-code-generator gives a GET operation's query-parameter model.

    It follows from `--openapi-scopes parameters --use-operation-id-as-name`; the generator
    checks after generation that the model exists.
    """
    return f"{pascal_case(operation_id)}ParametersQuery"


def derive_operations(spec: SpecDocument) -> list[OperationSpec]:
    operations = [_derive(spec, path, method, item, op) for path, method, item, op in spec.operations()]
    names = [op.operation_id for op in operations]
    if len(set(names)) != len(names):
        raise SpecError("operationIds are not unique")
    return operations


def status_server(spec: SpecDocument) -> str | None:
    """The one server other than the default that some operation lives on, if any."""
    others = sorted({url for url in _alternate_servers(spec)})
    if len(others) > 1:
        raise SpecError(f"the client knows one alternate host, the spec has {others}")
    return others[0] if others else None


def _alternate_servers(spec: SpecDocument) -> list[str]:
    urls = []
    for _path, _method, item, op in spec.operations():
        servers = op.get("servers") or item.get("servers")
        if servers and servers[0]["url"] != spec.default_server:
            urls.append(str(servers[0]["url"]))
    return urls


def _derive(
    spec: SpecDocument, path: str, method: str, item: Mapping[str, Any], op: Mapping[str, Any]
) -> OperationSpec:
    operation_id = op.get("operationId")
    if not isinstance(operation_id, str) or not operation_id.isidentifier():
        raise SpecError(f"{method.upper()} {path}: operationId must be a Python identifier")

    servers = op.get("servers") or item.get("servers")
    server = "status" if servers and servers[0]["url"] != spec.default_server else "main"

    encoding, request_model, request_schema = _request(spec, operation_id, method, op)
    response_model, response_schema = _response(spec, operation_id, op)
    code_field, code_type = _code_field(spec, operation_id, response_schema)
    request_id_paths = _request_id_paths(spec, request_schema) if request_schema is not None else ()

    return OperationSpec(
        operation_id=operation_id,
        method=method.upper(),
        path=path,
        server=server,
        encoding=encoding,
        request_model=request_model,
        response_model=response_model,
        code_field=code_field,
        code_type=code_type,
        message_fields=_message_fields(spec, response_schema),
        request_id_paths=request_id_paths,
        replay_safe=_replay_safe(method, op, request_id_paths),
        summary=str(op.get("summary", operation_id)).strip(),
        result_codes=tuple(str(code) for code in op.get("x-esms-result-codes") or ()),
    )


def _request(spec: SpecDocument, operation_id: str, method: str, op: Mapping[str, Any]) -> tuple[str, str, Any]:
    parameters = [spec.resolve(p) for p in op.get("parameters") or []]
    if method == "get":
        if "requestBody" in op:
            raise SpecError(f"{operation_id}: a GET with a body is not supported")
        if any(p.get("in") != "query" for p in parameters):
            raise SpecError(f"{operation_id}: only query parameters are supported on GET")
        names = {p["name"] for p in parameters}
        if not set(CREDENTIAL_FIELDS) <= names:
            raise SpecError(f"{operation_id}: the query must carry {CREDENTIAL_FIELDS}")
        # No schema object to walk for RequestIds: a query has none in this API.
        return "query", query_model_name(operation_id), None
    if parameters:
        raise SpecError(f"{operation_id}: parameters beside a body are not supported")
    content = spec.resolve(op.get("requestBody", {})).get("content") or {}
    # The first content type the client knows wins: for the follower operations the spec lists
    # application/json before the text/plain that eSMS also accepts.
    for media_type, encoding in ENCODINGS.items():
        if media_type in content:
            schema = content[media_type]["schema"]
            name = spec.ref_name(schema)
            if name is None:
                raise SpecError(f"{operation_id}: the request body must be a $ref to a schema")
            shape = spec.object_shape(schema)
            missing = [f for f in CREDENTIAL_FIELDS if f not in shape.properties]
            if missing:
                raise SpecError(f"{operation_id}: the body has no {missing}")
            return encoding, name, schema
    raise SpecError(f"{operation_id}: no supported request content type in {sorted(content)}")


def _response(spec: SpecDocument, operation_id: str, op: Mapping[str, Any]) -> tuple[str, Any]:
    response = spec.resolve((op.get("responses") or {}).get("200"))
    if not response:
        raise SpecError(f"{operation_id}: no 200 response")
    schema = (response.get("content") or {}).get("application/json", {}).get("schema")
    name = spec.ref_name(schema)
    if name is None:
        raise SpecError(f"{operation_id}: the 200 response must be a $ref to a schema")
    return name, schema


def _code_field(spec: SpecDocument, operation_id: str, response_schema: Any) -> tuple[str, str]:
    """Find the property that carries eSMS's result code.

    A property that refers to the shared `ResultCode` schema is a string code (`CodeResult`,
    `CodeResponse`). Otherwise the code is the response's required integer property (`Code`,
    `Error`). Exactly one candidate must exist.
    """
    shape = spec.object_shape(response_schema)
    strings = [n for n, s in shape.properties.items() if spec.refers_to(s, RESULT_CODE_SCHEMA)]
    if len(strings) == 1:
        return strings[0], "string"
    if strings:
        raise SpecError(f"{operation_id}: several result-code properties {strings}")
    numbers = [n for n in sorted(shape.required) if spec.is_type(shape.properties.get(n, {}), "integer")]
    if len(numbers) != 1:
        raise SpecError(f"{operation_id}: cannot tell which property carries the result code")
    return numbers[0], "number"


def _message_fields(spec: SpecDocument, response_schema: Any) -> tuple[str, ...]:
    """Text properties that explain the code, the most specific first.

    `ErrorMessage` beats `Message`: the bulk answer has both, and `Message` there is the
    generic "Sucess".
    """
    shape = spec.object_shape(response_schema)
    names = [n for n, s in shape.properties.items() if n.endswith("Message") and spec.is_type(s, "string")]
    return tuple(sorted(names, key=lambda n: (n != "ErrorMessage", n)))


def _request_id_paths(spec: SpecDocument, schema: Any) -> tuple[tuple[str, ...], ...]:
    """Every place in a request body that holds a RequestId, as key paths ("*" = each item)."""
    paths: list[tuple[str, ...]] = []
    _walk_request_ids(spec, schema, (), paths, depth=0)
    return tuple(paths)


def _walk_request_ids(
    spec: SpecDocument, schema: Any, prefix: tuple[str, ...], out: list[tuple[str, ...]], depth: int
) -> None:
    if depth > 4:  # the API nests RequestIds at most one array deep; stop runaway recursion
        return
    shapes = [spec.object_shape(branch) for branch in spec.branches(schema)]
    seen: set[str] = set()
    for shape in shapes:
        for name, prop in shape.properties.items():
            if name in seen:
                continue
            if spec.refers_to(prop, REQUEST_ID_SCHEMA):
                seen.add(name)
                out.append((*prefix, name))
            elif spec.is_type(prop, "array"):
                seen.add(name)
                items = spec.resolve(prop).get("items")
                if items is not None:
                    _walk_request_ids(spec, items, (*prefix, name, "*"), out, depth + 1)
            elif _is_object(spec, prop):
                seen.add(name)
                _walk_request_ids(spec, prop, (*prefix, name), out, depth + 1)


def _is_object(spec: SpecDocument, node: Any) -> bool:
    schema = spec.resolve(node)
    return bool(
        schema.get("type") == "object" or schema.get("properties") or schema.get("allOf") or schema.get("oneOf")
    )


def _replay_safe(method: str, op: Mapping[str, Any], request_id_paths: tuple[tuple[str, ...], ...]) -> bool:
    """Whether sending the same request twice cannot do anything twice.

    Reads (GET) are safe. A request carrying RequestIds is safe because eSMS refuses a repeated
    RequestId (code 124). Operations outside the `sending` tag either read or are protected by
    eSMS's own duplicate check (registrations answer 199). What remains, a send without any
    RequestId (send_auto_generated_otp), could deliver twice, so the client retries it only when
    the request provably never reached eSMS (connection refused, connect timeout).
    """
    if method == "get" or request_id_paths:
        return True
    return SENDING_TAG not in (op.get("tags") or [])
