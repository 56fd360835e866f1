"""The TypeScript rendering of the same model the Python SDK is rendered from.

The Python models (datamodel-code-generator's, described by introspect.py) are the one model
of the API: each field's Python name, wire name (alias), required-ness and annotation. Here
those annotations become TypeScript types (names in camelCase of the Python names) and a
runtime table that tells the client how to turn a camelCase object into the wire's spelling
and back, reading numbers sent as strings on the way (`codec`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .introspect import FieldInfo
from .naming import Parameter
from .spec import SpecError

if TYPE_CHECKING:  # generate.py imports this module
    from .generate import MethodSpec

TS_DIR = "typescript"
TS_PACKAGE = "esms-zalo-sdk"
# Words TypeScript will not take as a parameter or property name without quoting.
_RESERVED = frozenset({"default", "delete", "new", "class", "function", "var", "let", "const", "import", "export"})
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*|[\[\],|])')
_WHOLE = re.compile(r"-?[0-9]{1,18}")


def camel_case(snake: str) -> str:
    """`sms_id` -> `smsId`, `send_zns_v5` -> `sendZnsV5` (the TypeScript spelling of a Python name)."""
    parts = [part for part in snake.split("_") if part]
    if not parts:
        raise SpecError(f"no camelCase for {snake!r}")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


# ---------------------------------------------------------------- annotations
@dataclass(frozen=True)
class Node:
    """A parsed Python annotation: `name` with `args` (list[X], Literal[...]) or a literal value."""

    name: str
    args: tuple[Node, ...] = ()
    literal: Any = None


def parse_annotation(text: str) -> list[Node]:
    """`A | list[B] | None` as its union members."""
    tokens: list[str] = []
    scanned = 0
    while scanned < len(text.rstrip()):
        match = _TOKEN.match(text, scanned)
        if match is None:
            raise SpecError(f"cannot read the annotation {text!r}")
        tokens.append(match.group(1))
        scanned = match.end()
    position = 0

    def union() -> list[Node]:
        nonlocal position
        members = [term()]
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            members.append(term())
        return members

    def term() -> Node:
        nonlocal position
        token = tokens[position]
        position += 1
        if token.startswith('"'):
            return Node("literal", literal=json.loads(token))
        if token[0] in "-0123456789":
            return Node("literal", literal=json.loads(token))
        if token in ("True", "False"):
            return Node("literal", literal=token == "True")
        if position < len(tokens) and tokens[position] == "[":
            position += 1
            args: list[Node] = []
            while True:
                members = union()
                args.append(members[0] if len(members) == 1 else Node("|", tuple(members)))
                separator = tokens[position]
                position += 1
                if separator == "]":
                    break
            return Node(token, tuple(args))
        return Node(token)

    try:
        members = union()
    except IndexError:  # the text ended inside brackets
        raise SpecError(f"cannot read the annotation {text!r}") from None
    if position != len(tokens):
        raise SpecError(f"cannot read the annotation {text!r}")
    return members


def ts_type(members: list[Node] | Node, prefix: str = "") -> str:
    """The TypeScript type of a parsed annotation; `prefix` qualifies model names ("models.")."""
    if isinstance(members, Node):
        members = list(members.args) if members.name == "|" else [members]
    parts: list[str] = []
    for node in members:
        text = _ts_member(node, prefix)
        if text not in parts:
            parts.append(text)
    return " | ".join(parts)


def _ts_member(node: Node, prefix: str) -> str:
    simple = {"str": "string", "int": "number", "float": "number", "bool": "boolean", "None": "null", "Any": "unknown"}
    if node.name in simple:
        return simple[node.name]
    if node.name == "literal":
        return json.dumps(node.literal)
    if node.name == "Literal":
        return " | ".join(json.dumps(arg.literal) for arg in node.args)
    if node.name == "list":
        inner = ts_type(node.args[0], prefix)
        return f"Array<{inner}>"
    if node.name == "dict":
        return f"Record<{ts_type(node.args[0], prefix)}, {ts_type(node.args[1], prefix)}>"
    if node.name == "|":
        return ts_type(node, prefix)
    if node.name[:1].isupper():
        return prefix + node.name
    raise SpecError(f"no TypeScript type for {node.name!r}")


def codec(members: list[Node] | Node) -> Any:
    """How the client reads a wire value of this annotation (and writes nested models).

    "string": a number becomes its digits; "number": a numeric string becomes a number;
    "string-enum"/"number-enum": the same for enums; {"model": [...]}: an object of one of
    these models; {"list": codec}, {"dict": codec}; "any": passed as it is.
    """
    if isinstance(members, Node):
        members = list(members.args) if members.name == "|" else [members]
    rest = [node for node in members if node.name != "None"]
    if all(node.name[:1].isupper() and node.name not in ("Literal", "Any") for node in rest) and rest:
        return {"model": sorted({node.name for node in rest})}
    if len(rest) != 1:
        return "any"
    node = rest[0]
    if node.name == "str":
        return "string"
    if node.name in ("int", "float"):
        return "number"
    if node.name == "Literal":
        values = [arg.literal for arg in node.args]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "number-enum"
        if all(isinstance(v, str) and _WHOLE.fullmatch(v) and str(int(v)) == v for v in values):
            return "string-enum"
        return "any"
    if node.name == "list":
        return {"list": codec(node.args[0])}
    if node.name == "dict":
        return {"dict": codec(node.args[1])}
    return "any"


# ---------------------------------------------------------------- the context
@dataclass(frozen=True)
class TsField:
    name: str
    wire_name: str
    required: bool
    type: str
    codec: str  # JSON


@dataclass(frozen=True)
class TsModel:
    name: str
    fields: tuple[TsField, ...]


@dataclass(frozen=True)
class TsParameter:
    name: str
    wire_name: str
    required: bool
    type: str
    kind: str | None
    wire_format: str | None
    wire_is_text: bool
    about: str


def ts_models(fields: dict[str, list[FieldInfo]]) -> list[TsModel]:
    models = []
    for model, infos in sorted(fields.items()):
        seen: set[str] = set()
        ts_fields = []
        for info in infos:
            name = camel_case(info.name)
            if name in seen:
                raise SpecError(f"{model}: two fields are {name!r} in camelCase")
            seen.add(name)
            members = parse_annotation(info.annotation)
            ts_fields.append(
                TsField(
                    name=name,
                    wire_name=info.alias,
                    required=info.required,
                    type=ts_type(members),
                    codec=json.dumps(codec(members), separators=(",", ":")),
                )
            )
        models.append(TsModel(name=model, fields=tuple(ts_fields)))
    return models


def ts_parameter(parameter: Parameter) -> TsParameter:
    """A Python method argument (naming.Parameter) as its TypeScript counterpart."""
    name = camel_case(parameter.name)
    if name in _RESERVED:
        raise SpecError(f"parameter {name!r} is a reserved word in TypeScript")
    kind = parameter.kind
    if kind == "flag":
        type_ = "boolean"
    elif kind == "integer":
        type_ = "number"
    elif kind in ("date", "datetime"):
        type_ = "Date | string"  # a string is sent as it is (the wire form)
    else:
        members = [m for m in parse_annotation(parameter.annotation) if m.name != "None"]
        type_ = ts_type(members, "models.")
    return TsParameter(
        name=name,
        wire_name=parameter.wire_name,
        required=parameter.required,
        type=type_,
        kind=kind,
        wire_format=parameter.wire_format,
        wire_is_text=parameter.wire_is_text,
        # The Python wording, said the TypeScript way.
        about=parameter.about.replace("a uuid4", "a random UUID").replace(
            "an aware datetime is converted", "a Date is written in Vietnam time"
        ),
    )


def ts_string(value: Any) -> str:
    """A TypeScript string literal (JSON's escaping is valid TypeScript)."""
    return json.dumps(value, ensure_ascii=False)


def ts_comment(value: str) -> str:
    """Text safe inside a /** */ comment."""
    return value.replace("*/", "*\\/").strip()


# ---------------------------------------------------------------- rendering
# Templates under templates/typescript/ and where their output goes under generated/.
TS_TEMPLATES = {
    "package.json.jinja": "package.json",
    "tsconfig.json.jinja": "tsconfig.json",
    "README.md.jinja": "README.md",
    "index.ts.jinja": "src/index.ts",
    "models.ts.jinja": "src/models.ts",
    "wire.ts.jinja": "src/wire.ts",
    "codes.ts.jinja": "src/codes.ts",
    "errors.ts.jinja": "src/errors.ts",
    "core.ts.jinja": "src/core.ts",
    "operations.ts.jinja": "src/operations.ts",
    "client.ts.jinja": "src/client.ts",
    "callbacks.ts.jinja": "src/callbacks.ts",
    "mock.ts.jinja": "src/mock.ts",
}


@dataclass(frozen=True)
class TsMethod:
    name: str
    constant_name: str
    arguments_type: str
    response_model: str
    parameters: tuple[TsParameter, ...]
    summary: str
    details: str
    error_classes: tuple[str, ...]

    @property
    def any_required(self) -> bool:
        return any(p.required for p in self.parameters)


def ts_method(method: MethodSpec) -> TsMethod:
    """A Python client method (generate.MethodSpec) as its TypeScript counterpart."""
    op = method.operation
    name = camel_case(op.operation_id)
    details = method.details.replace(f"models.{op.request_model}", op.request_model)
    return TsMethod(
        name=name,
        constant_name=op.constant_name,
        arguments_type=f"{op.class_prefix}Args",
        response_model=op.response_model,
        parameters=tuple(ts_parameter(p) for p in method.arguments),
        summary=method.summary_sentence,
        details=details.replace("gets a uuid4", "gets a random UUID"),
        error_classes=method.error_classes,
    )


def _enum_values(info: FieldInfo) -> list[Any] | None:
    """The values of a field typed as one Literal (None allowed beside it), else None."""
    members = [m for m in parse_annotation(info.annotation) if m.name != "None"]
    if len(members) == 1 and members[0].name == "Literal":
        return [arg.literal for arg in members[0].args]
    return None


def ts_context(
    fields: dict[str, list[FieldInfo]], methods: list[MethodSpec], callback_model: str, error_info_model: str
) -> dict[str, Any]:
    callback_fields = fields[callback_model]
    error_info_fields = fields[error_info_model]
    enums = {f.alias: _enum_values(f) for f in callback_fields}
    return {
        # What the callback parser checks, as the Python SDK's model validation does.
        "callback_enums": {alias: json.dumps(values) for alias, values in sorted(enums.items()) if values is not None},
        "error_info_required": [f.alias for f in error_info_fields if f.required],
        "error_info_integers": sorted(f.alias for f in error_info_fields if f.scalar == "int"),
        "ts_package": TS_PACKAGE,
        "ts_models": ts_models(fields),
        "ts_methods": [ts_method(m) for m in methods],
        "callback_integers": sorted(f.alias for f in callback_fields if f.scalar == "int"),
        "callback_decimals": sorted(f.alias for f in callback_fields if f.scalar == "float"),
    }
