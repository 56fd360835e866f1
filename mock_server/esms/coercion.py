"""Reads a request the way eSMS reads it: the spec's `x-esms-lenient-reading` table, applied to
every field by walking the operation's request schema.

eSMS is a WCF service, and its JSON reader (DataContractJsonSerializer) converts some values
before the service sees them: a JSON number or boolean sent where the field is a string is read as
its text, a numeric string sent where the field is an integer is read as the number, a `null` is
read as if the field had not been sent. The spec's schemas describe the canonical form a client
should send; the table at the top of the spec says which other forms the real service reads, and
this module reads them so, and nothing else. What the table does not cover stays as it was sent,
and the validator refuses it as before.

The validator calls `LenientReader.read` only for a request that failed validation as it was sent
(and, in `EsmsApi.answer`, for credentials that are not strings), so a canonical request never
pays for it. The walk follows a plan compiled once per operation from its schema, and skips the
parts of the schema where nothing can be converted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema_rs
import orjson

from mock_server.esms.spec import ApiSpec, Operation, to_json_schema

JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")
_NO = object()  # a conversion that does not apply to this value
_INT64 = (-(2**63), 2**63 - 1)
_MAX_DEPTH = 64  # of the schema; the spec's request schemas are a dozen levels deep at most

# .NET reads an integer or floating-point member with int.Parse / long.Parse / double.Parse and
# NumberStyles.Float: white space around, a leading sign, a decimal point and an exponent
# (XmlJsonReader.ReadContentAsInt); the white space is U+0009-U+000D and U+0020.
_NUMBER_TEXT = re.compile(r"[\t\n\x0b\x0c\r ]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[\t\n\x0b\x0c\r ]*")
_XML_SPACE = " \t\n\r"  # what XmlConvert.ToBoolean trims
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                              "boolean": (bool,), "null": (type(None),)}


class LenientReadingError(ValueError):
    """The spec's `x-esms-lenient-reading` table names something this mock cannot do."""


# ---------------------------------------------------------------------------- the conversions
def read_as_text(value: Any) -> Any:
    """A number or boolean as the text of a string field: `0` -> `"0"`, `true` -> `"true"`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # The JSON text as written is gone once parsed; the shortest JSON form of the same number
        # stands for it ("1.50" reads "1.5"; README, fidelity notes).
        return orjson.dumps(value).decode() if math.isfinite(value) else _NO
    return _NO


def _decimal(text: str) -> Decimal | None:
    match = _NUMBER_TEXT.fullmatch(text)
    if match is None:
        return None
    try:
        return Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal reads
        return None


def read_as_integer(value: Any) -> Any:
    """A numeric string (`"42"`, `" +42 "`, `"42.0"`, `"4.2e1"`), or a number with no fraction
    (`42.0`), as the integer; a fraction or anything else does not convert (.NET refuses it)."""
    if isinstance(value, bool):
        return _NO
    if isinstance(value, float):
        number: Decimal | None = Decimal(value) if math.isfinite(value) else None
    elif isinstance(value, str):
        number = _decimal(value)
    else:
        return _NO
    if number is None or not _INT64[0] <= number <= _INT64[1] or number != number.to_integral_value():
        return _NO
    return int(number)


def read_as_number(value: Any) -> Any:
    """A numeric string as the number."""
    if not isinstance(value, str):
        return _NO
    number = _decimal(value)
    if number is None:
        return _NO
    if number == number.to_integral_value() and _INT64[0] <= number <= _INT64[1]:
        return int(number)
    as_float = float(number)
    return as_float if math.isfinite(as_float) else _NO


def read_as_boolean(value: Any) -> Any:
    """`"true"`/`"1"` -> true, `"false"`/`"0"` -> false (XmlConvert.ToBoolean: exact lower case,
    surrounding white space ignored); the numbers 1 and 0 likewise."""
    if isinstance(value, bool):
        return _NO
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return _NO
    text = value.strip(_XML_SPACE)
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    return _NO


ABSENT = "absent"  # a `null` member is read as if it had not been sent (handled by the walk)
CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "text": read_as_text,
    "integer": read_as_integer,
    "number": read_as_number,
    "boolean": read_as_boolean,
}


def key_value_list(value: Any) -> Any:
    """`{"otp": "123456"}` -> `[{"key": "otp", "value": "123456"}]`, in member order; only for an
    object of plain values (anything nested stays as sent, and is refused)."""
    if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
        return _NO
    return [{"key": key, "value": item} for key, item in value.items()]


FORMS: dict[str, Callable[[Any], Any]] = {"key-value-object": key_value_list}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array"


# ---------------------------------------------------------------------------- the spec's table
@dataclass(frozen=True)
class ReadingRules:
    """The spec's `x-esms-lenient-reading`: (field type, type sent) -> how it is read, and the
    named alternative forms a field may accept (`x-esms-also-reads`)."""

    conversions: dict[tuple[str, str], str] = field(default_factory=dict)
    forms: dict[str, str] = field(default_factory=dict)  # name -> short description

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ReadingRules:
        table = document.get("x-esms-lenient-reading") or {}
        if not isinstance(table, dict):
            raise LenientReadingError("x-esms-lenient-reading must be a mapping with `conversions` and `forms`")
        conversions: dict[tuple[str, str], str] = {}
        for row in table.get("conversions") or []:
            target, sent, reads = (row.get(key) if isinstance(row, dict) else None for key in ("field", "sent", "reads"))
            if target not in JSON_TYPES or sent not in JSON_TYPES or target == sent:
                raise LenientReadingError(f"x-esms-lenient-reading: {row!r} needs `field` and `sent`, two different JSON types")
            if reads not in CONVERSIONS and reads != ABSENT:
                known = ", ".join([*CONVERSIONS, ABSENT])
                raise LenientReadingError(f"x-esms-lenient-reading: {row!r} reads {reads!r}; this mock knows {known}")
            if reads == ABSENT and sent != "null":
                raise LenientReadingError(f"x-esms-lenient-reading: {row!r}: only a null can read as absent")
            conversions[(target, sent)] = reads
        forms: dict[str, str] = {}
        for name, entry in (table.get("forms") or {}).items():
            if name not in FORMS:
                raise LenientReadingError(f"x-esms-lenient-reading: form {name!r} is unknown to this mock (it knows {', '.join(FORMS)})")
            forms[name] = str(entry.get("summary", name)) if isinstance(entry, dict) else str(name)
        return cls(conversions, forms)

    def reads_null_as_absent(self, types: Iterable[str]) -> bool:
        return any(self.conversions.get((target, "null")) == ABSENT for target in types)


# ---------------------------------------------------------------------------- the compiled plan
@dataclass(eq=False)
class Node:
    """What the walk needs to know of one schema: the types it allows, its members, items and
    alternatives (allOf merged), and whether anything under it can be converted at all."""

    types: tuple[str, ...] = ()  # the JSON types allowed here; empty: any
    nullable: bool = False
    properties: dict[str, Node] = field(default_factory=dict)
    additional: Node | None = None
    items: Node | None = None
    branches: tuple[Node, ...] = ()  # oneOf / anyOf
    max_size: int | None = None  # maxItems / maxProperties: a bigger value is refused whatever it holds
    forms: tuple[str, ...] = ()  # x-esms-also-reads
    raw: Any = None  # the OpenAPI schema, for a branch's validator
    active: bool = True
    settled: frozenset[type] = frozenset()  # Python types of scalars that need nothing here
    _validator: Any = field(default=None, repr=False)

    def allows(self, kind: str) -> bool:
        if not self.types:
            return True
        if kind == "integer":
            return "integer" in self.types or "number" in self.types
        return kind in self.types

    def allows_null(self) -> bool:
        if self.nullable or "null" in self.types:
            return True
        if self.branches:
            return any(branch.allows_null() for branch in self.branches)
        return not self.types

    def all_types(self) -> set[str]:
        found = set(self.types)
        for branch in self.branches:
            found |= branch.all_types()
        return found


def _merge(into: Node, other: Node) -> None:
    if other.types:
        into.types = tuple(t for t in into.types if t in other.types) if into.types else other.types
    into.nullable = into.nullable or other.nullable
    if other.max_size is not None:
        into.max_size = other.max_size if into.max_size is None else min(into.max_size, other.max_size)
    for name, child in other.properties.items():
        if name in into.properties:
            mine = into.properties[name] = _clone(into.properties[name])
            _merge(mine, child)
        else:
            into.properties[name] = child
    for attribute in ("additional", "items"):
        theirs = getattr(other, attribute)
        if theirs is not None:
            mine = getattr(into, attribute)
            if mine is None:
                setattr(into, attribute, theirs)
            else:
                merged = _clone(mine)
                _merge(merged, theirs)
                setattr(into, attribute, merged)
    if other.branches and not into.branches:
        into.branches = other.branches
    into.forms = (*into.forms, *(form for form in other.forms if form not in into.forms))


def _clone(node: Node) -> Node:
    return Node(node.types, node.nullable, dict(node.properties), node.additional, node.items, node.branches,
                node.max_size, node.forms, node.raw)


class PlanCompiler:
    """Turns an operation's OpenAPI request schema into a `Node` tree."""

    def __init__(self, spec: ApiSpec, rules: ReadingRules) -> None:
        self._spec = spec
        self._rules = rules

    def compile(self, schema: Any, depth: int = 0) -> Node:
        node = self._compile(schema, depth)
        self._mark_active(node, set())
        return node

    def _compile(self, schema: Any, depth: int) -> Node:
        raw = schema
        schema = self._spec.resolve(schema)
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return Node(raw=raw)
        kind = schema.get("type")
        types: tuple[str, ...] = (kind,) if isinstance(kind, str) else tuple(kind or ())
        if not types and "enum" in schema:
            types = tuple(dict.fromkeys(json_type(value) for value in schema["enum"] if value is not None))
        forms = schema.get("x-esms-also-reads") or ()
        for form in forms:
            if form not in self._rules.forms:
                raise LenientReadingError(f"x-esms-also-reads names {form!r}, which x-esms-lenient-reading does not define")
        node = Node(types=types, nullable=bool(schema.get("nullable")), forms=tuple(forms), raw=raw)
        sizes = [schema[key] for key in ("maxItems", "maxProperties") if isinstance(schema.get(key), int)]
        node.max_size = min(sizes) if sizes else None
        for name, child in (schema.get("properties") or {}).items():
            node.properties[name] = self._compile(child, depth + 1)
        if isinstance(schema.get("additionalProperties"), dict):
            node.additional = self._compile(schema["additionalProperties"], depth + 1)
        if isinstance(schema.get("items"), dict):
            node.items = self._compile(schema["items"], depth + 1)
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if alternatives:
            node.branches = tuple(self._compile(branch, depth + 1) for branch in alternatives)
        for part in schema.get("allOf") or ():
            _merge(node, self._compile(part, depth + 1))
        return node

    def _mark_active(self, node: Node, seen: set[int]) -> bool:
        """Whether a conversion can happen at or under `node`; parts where none can are skipped."""
        if id(node) in seen:
            return node.active
        seen.add(id(node))
        children = [*node.properties.values(), *(n for n in (node.additional, node.items) if n is not None), *node.branches]
        below = [self._mark_active(child, seen) for child in children]  # every child gets marked
        here = bool(node.forms) or bool(node.branches) or any(
            (target, sent) in self._rules.conversions for target in node.types for sent in JSON_TYPES)
        node.active = here or any(below)
        if not node.branches and not node.forms:
            node.settled = frozenset(python for kind in node.types for python in _PYTHON_TYPES.get(kind, ()))
        return node.active


# ---------------------------------------------------------------------------- the walk
class LenientReader:
    """Reads requests as eSMS does, by the spec's table, one compiled plan per operation."""

    def __init__(self, spec: ApiSpec) -> None:
        self._spec = spec
        self.rules = ReadingRules.from_document(spec.document)
        compiler = PlanCompiler(spec, self.rules)
        self._plans = {op_id: compiler.compile(op.oas_request_schema) for op_id, op in spec.operations.items()}

    def read(self, operation: Operation, data: Any) -> bool:
        """Convert `data` (the decoded body or query, a dict) in place; whether anything changed."""
        if not isinstance(data, dict):
            return False
        read = self._convert(self._plans[operation.operation_id], data)
        if read is data:
            return False
        data.clear()
        data.update(read)
        return True

    def forms_at(self, operation: Operation, path: Iterable[str]) -> list[str]:
        """The alternative forms the field at `path` also reads (their short descriptions)."""
        node: Node | None = self._plans[operation.operation_id]
        for part in path:
            if node is None:
                return []
            node = node.items if part.isdigit() and node.items is not None else node.properties.get(part, node.additional)
        return [self.rules.forms[form] for form in node.forms] if node is not None else []

    # The walk never changes what it was given: a container with a conversion inside is copied
    # (shallowly, along the path), so that trying a oneOf branch costs no deep copy.
    def _convert(self, node: Node, value: Any) -> Any:
        if not node.active or type(value) in node.settled:  # the common case: nothing to read
            return value
        if node.branches:
            return self._choose(node, self._convert_own(node, value))
        return self._convert_own(node, value)

    def _convert_own(self, node: Node, value: Any) -> Any:
        if node.max_size is not None and isinstance(value, (dict, list)) and len(value) > node.max_size:
            return value  # refused for its size anyway: reading what it holds would only cost time
        if isinstance(value, dict):
            if node.allows("object"):
                return self._convert_object(node, value)
            return self._convert_form(node, value)
        if isinstance(value, list):
            if node.items is None or not node.allows("array"):
                return value
            out: list[Any] | None = None
            for index, item in enumerate(value):
                read = self._convert(node.items, item)
                if read is not item:
                    if out is None:
                        out = list(value)
                    out[index] = read
            return value if out is None else out
        kind = json_type(value)
        if node.allows(kind):
            return value
        sent = ("integer", "number") if kind == "integer" else (kind,)  # a whole number is a JSON number
        for target in node.types:
            for sent_kind in sent:
                name = self.rules.conversions.get((target, sent_kind))
                if name is not None and name != ABSENT:
                    read = CONVERSIONS[name](value)
                    if read is not _NO:
                        return read
        return value

    def _convert_object(self, node: Node, value: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] | None = None
        for key, item in value.items():
            child = node.properties.get(key)
            member = child is not None  # a declared member; additionalProperties entries are map values
            if child is None:
                child = node.additional
            if child is None or not child.active:
                continue
            if item is None and member and not child.allows_null() and self.rules.reads_null_as_absent(child.all_types()):
                if out is None:
                    out = dict(value)
                del out[key]
                continue
            read = self._convert(child, item)
            if read is not item:
                if out is None:
                    out = dict(value)
                out[key] = read
        return value if out is None else out

    def _convert_form(self, node: Node, value: Any) -> Any:
        for form in node.forms:
            read = FORMS[form](value)
            if read is not _NO and node.allows(json_type(read)):
                return self._convert_own(node, read)
        return value

    def _choose(self, node: Node, value: Any) -> Any:
        """A value for a oneOf/anyOf: as sent if a branch takes it; else read by each branch in turn,
        the first that then validates, or the one with the fewest failures."""
        if any(self._fits(branch, value) == 0 for branch in node.branches):
            return value
        best: tuple[int, Any] | None = None
        for branch in node.branches:
            read = self._convert(branch, value)
            if read is value:
                continue
            failures = self._fits(branch, read)
            if failures == 0:
                return read
            if best is None or failures < best[0]:
                best = (failures, read)
        return value if best is None else best[1]

    def _fits(self, node: Node, value: Any) -> int:
        """How many failures `value` has against the branch (0: valid)."""
        if node._validator is None:
            schema = to_json_schema(node.raw)
            node._validator = jsonschema_rs.Draft4Validator({**schema, "definitions": self._spec.definitions})
        try:
            if node._validator.is_valid(value):
                return 0
            return sum(1 for _ in node._validator.iter_errors(value))
        except ValueError:  # nested deeper than jsonschema-rs recurses
            return 1 << 30
