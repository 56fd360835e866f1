"""Shared machinery of the spec tests: loading the spec and resolving `$ref`s (through esms_spec, the
project's one spec reader), walking its operations, merging `allOf`, and validating values with OAS 3.0 semantics.

The checks themselves are in esms_spec_checks.py (and esms_node_tools.py for the Node tools):
each returns a list of problems (human-readable strings). A test asserts that list is empty;
test_spec_checks_can_fail.py breaks a copy of the spec and asserts the same function reports
the breakage, so that no check passes vacuously.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

import esms_spec
from esms_spec import at, deref, pointer  # noqa: F401 - the shared reader, re-exported to the checks

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = esms_spec.spec_path(esms_spec.ESMS_SPEC)
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
SPECTRAL_RULESET = REPO_ROOT / ".spectral.yaml"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SPEC_URI = "urn:esms-zalo:spec"


# ---------------------------------------------------------------------------- loading
def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    return esms_spec.load_yaml(path)


@lru_cache(maxsize=1)
def _cached_spec() -> dict[str, Any]:
    return load_spec()


def the_spec() -> dict[str, Any]:
    """A private deep copy of the spec on disk (tests may mutate what they get)."""
    return copy.deepcopy(_cached_spec())


# ---------------------------------------------------------------------------- operations
@dataclass
class Operation:
    path: str
    method: str
    node: dict[str, Any]
    ptr: str
    path_item: dict[str, Any]
    callback_of: str | None = None  # operationId of the operation that declares the callback

    @property
    def operation_id(self) -> str:
        return self.node.get("operationId", f"<{self.method.upper()} {self.path}>")

    @property
    def label(self) -> str:
        where = f"{self.method.upper()} {self.path}"
        if self.callback_of:
            return f"callback of {self.callback_of}: {where}"
        return f"{self.operation_id} ({where})"


def operations(spec: Mapping[str, Any]) -> list[Operation]:
    """The operations of `paths`, in document order (callbacks not included)."""
    found = []
    for path, item in (spec.get("paths") or {}).items():
        item_node, item_ptr = deref(spec, item, pointer("paths", path))
        for method in HTTP_METHODS:
            if method in item_node:
                found.append(Operation(path, method, item_node[method], item_ptr + pointer(method), item_node))
    return found


def callback_operations(spec: Mapping[str, Any], op: Operation) -> list[Operation]:
    found = []
    for name, callback in (op.node.get("callbacks") or {}).items():
        cb_node, cb_ptr = deref(spec, callback, op.ptr + pointer("callbacks", name))
        for expression, item in cb_node.items():
            item_node, item_ptr = deref(spec, item, cb_ptr + pointer(expression))
            for method in HTTP_METHODS:
                if method in item_node:
                    found.append(
                        Operation(expression, method, item_node[method], item_ptr + pointer(method), item_node, op.operation_id)
                    )
    return found


def all_operations(spec: Mapping[str, Any]) -> list[Operation]:
    """Operations of `paths` and of their callbacks."""
    found = []
    for op in operations(spec):
        found.append(op)
        found.extend(callback_operations(spec, op))
    return found


def operation_by_id(spec: Mapping[str, Any], operation_id: str) -> Operation | None:
    for op in operations(spec):
        if op.node.get("operationId") == operation_id:
            return op
    return None


def parameters_of(spec: Mapping[str, Any], op: Operation) -> list[tuple[dict[str, Any], str]]:
    """Path-level and operation-level parameters (resolved), operation-level winning."""
    by_key: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    base_ptr = op.ptr.rsplit("/", 1)[0]
    for owner, owner_ptr in ((op.path_item, base_ptr), (op.node, op.ptr)):
        for index, param in enumerate(owner.get("parameters") or []):
            node, ptr = deref(spec, param, owner_ptr + pointer("parameters", index))
            by_key[(node.get("name"), node.get("in"))] = (node, ptr)
    return list(by_key.values())


def request_body_schema(spec: Mapping[str, Any], op: Operation, media_type: str | None = None) -> tuple[Any, str] | None:
    """The (resolved) schema of the request body, for `media_type` or the first one listed."""
    body = op.node.get("requestBody")
    if body is None:
        return None
    body, body_ptr = deref(spec, body, op.ptr + pointer("requestBody"))
    content = body.get("content") or {}
    if not content:
        return None
    media_type = media_type or next(iter(content))
    schema = content[media_type].get("schema")
    if schema is None:
        return None
    return deref(spec, schema, body_ptr + pointer("content", media_type, "schema"))


def responses_of(spec: Mapping[str, Any], op: Operation) -> list[tuple[str, dict[str, Any], str]]:
    found = []
    for status, response in (op.node.get("responses") or {}).items():
        node, ptr = deref(spec, response, op.ptr + pointer("responses", status))
        found.append((str(status), node, ptr))
    return found


def response_schema(spec: Mapping[str, Any], op: Operation, status: str = "200") -> tuple[Any, str] | None:
    for code, response, ptr in responses_of(spec, op):
        if code == status:
            content = response.get("content") or {}
            for media_type, media in content.items():
                if "schema" in media:
                    return deref(spec, media["schema"], ptr + pointer("content", media_type, "schema"))
    return None


# ---------------------------------------------------------------------------- examples
@dataclass
class ExampleCase:
    """One example value and the schema it must satisfy."""

    owner: str  # who the example belongs to: an operation label or a component name
    where: str  # e.g. "request application/json" or "response 200 application/json"
    name: str  # the key in `examples`, or "example"
    value: Any
    schema_ptr: str
    example_ptr: str = ""

    @property
    def label(self) -> str:
        return f"{self.owner}: {self.where}, example {self.name!r}"

    @property
    def test_id(self) -> str:
        owner = self.owner
        if owner.startswith("callback of "):
            owner = "callback-of-" + owner[len("callback of "):].split(":")[0]
        else:
            owner = owner.split(" ")[0]
        return f"{owner}|{self.where}|{self.name}"


def _examples_of(spec: Mapping[str, Any], holder: Mapping[str, Any], holder_ptr: str) -> Iterator[tuple[str, Any, str]]:
    """(name, value, pointer) of the `example` and every `examples` entry of a media type,
    parameter or header object. A component example is followed through its `$ref`."""
    if "example" in holder:
        yield "example", holder["example"], holder_ptr + pointer("example")
    for name, example in (holder.get("examples") or {}).items():
        node, ptr = deref(spec, example, holder_ptr + pointer("examples", name))
        if "value" in node:
            yield name, node["value"], ptr + pointer("value")
        else:
            # externalValue or an empty example: nothing this suite can check; flag it.
            yield name, _MISSING_VALUE, ptr


class _Missing:
    def __repr__(self) -> str:
        return "<example has no inline `value`>"


_MISSING_VALUE = _Missing()


def _media_examples(spec, content: Mapping[str, Any], content_ptr: str, owner: str, where: str) -> Iterator[ExampleCase]:
    for media_type, media in (content or {}).items():
        media_ptr = content_ptr + pointer(media_type)
        schema = media.get("schema")
        if schema is None:
            continue
        _, schema_ptr = deref(spec, schema, media_ptr + pointer("schema"))
        for name, value, example_ptr in _examples_of(spec, media, media_ptr):
            yield ExampleCase(owner, f"{where} {media_type}", name, value, schema_ptr, example_ptr)


def _parameter_examples(spec, param: Mapping[str, Any], param_ptr: str, owner: str) -> Iterator[ExampleCase]:
    where = f"parameter {param.get('in')} {param.get('name')}"
    if "schema" in param:
        _, schema_ptr = deref(spec, param["schema"], param_ptr + pointer("schema"))
        for name, value, example_ptr in _examples_of(spec, param, param_ptr):
            yield ExampleCase(owner, where, name, value, schema_ptr, example_ptr)
    if "content" in param:
        yield from _media_examples(spec, param["content"], param_ptr + pointer("content"), owner, where)


def _operation_examples(spec, op: Operation) -> Iterator[ExampleCase]:
    owner = op.label
    for param, param_ptr in parameters_of(spec, op):
        yield from _parameter_examples(spec, param, param_ptr, owner)
    if "requestBody" in op.node:
        body, body_ptr = deref(spec, op.node["requestBody"], op.ptr + pointer("requestBody"))
        yield from _media_examples(spec, body.get("content"), body_ptr + pointer("content"), owner, "request")
    for status, response, response_ptr in responses_of(spec, op):
        yield from _media_examples(spec, response.get("content"), response_ptr + pointer("content"), owner, f"response {status}")
        for header_name, header in (response.get("headers") or {}).items():
            header_node, header_ptr = deref(spec, header, response_ptr + pointer("headers", header_name))
            for name, value, example_ptr in _examples_of(spec, header_node, header_ptr):
                schema_ptr = deref(spec, header_node["schema"], header_ptr + pointer("schema"))[1]
                yield ExampleCase(owner, f"response {status} header {header_name}", name, value, schema_ptr, example_ptr)


def _schema_examples(spec) -> Iterator[ExampleCase]:
    """`example` and `default` keywords inside component schemas, checked against the schema
    object that carries them."""
    for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        for node, ptr in walk_schema_nodes(schema, pointer("components", "schemas", name)):
            for keyword in ("example", "default"):
                if keyword in node:
                    yield ExampleCase(f"components/schemas/{name}", f"schema at {ptr}", keyword, node[keyword], ptr, ptr + pointer(keyword))


def _component_examples(spec) -> Iterator[ExampleCase]:
    """Examples of reusable components, checked even if no operation uses the component."""
    components = spec.get("components") or {}
    for name, param in (components.get("parameters") or {}).items():
        yield from _parameter_examples(spec, param, pointer("components", "parameters", name), f"components/parameters/{name}")
    for name, body in (components.get("requestBodies") or {}).items():
        yield from _media_examples(spec, body.get("content"), pointer("components", "requestBodies", name, "content"), f"components/requestBodies/{name}", "request")
    for name, response in (components.get("responses") or {}).items():
        yield from _media_examples(spec, response.get("content"), pointer("components", "responses", name, "content"), f"components/responses/{name}", "response")
    for name, header in (components.get("headers") or {}).items():
        header_ptr = pointer("components", "headers", name)
        schema_ptr = deref(spec, header.get("schema", {}), header_ptr + pointer("schema"))[1]
        for ex_name, value, example_ptr in _examples_of(spec, header, header_ptr):
            yield ExampleCase(f"components/headers/{name}", "header", ex_name, value, schema_ptr, example_ptr)


def example_cases(spec: Mapping[str, Any]) -> list[ExampleCase]:
    """Every example value of the spec with the schema it belongs to."""
    cases: list[ExampleCase] = []
    for op in all_operations(spec):
        cases.extend(_operation_examples(spec, op))
    cases.extend(_component_examples(spec))
    cases.extend(_schema_examples(spec))
    return cases


def walk_schema_nodes(schema: Any, ptr: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema object nested in `schema` (not following `$ref`)."""
    if not isinstance(schema, Mapping):
        return
    yield schema, ptr
    for keyword in ("allOf", "oneOf", "anyOf"):
        for index, sub in enumerate(schema.get(keyword) or []):
            yield from walk_schema_nodes(sub, ptr + pointer(keyword, index))
    for keyword in ("not", "items", "additionalProperties"):
        if isinstance(schema.get(keyword), Mapping):
            yield from walk_schema_nodes(schema[keyword], ptr + pointer(keyword))
    for prop, sub in (schema.get("properties") or {}).items():
        yield from walk_schema_nodes(sub, ptr + pointer("properties", prop))


# ---------------------------------------------------------------------------- validation
def _uri_of(ptr: str) -> str:
    return SPEC_URI + "#" + quote(ptr, safe="/~")


def validator_for(spec: Mapping[str, Any], schema_ptr: str) -> OAS30Validator:
    """An OAS 3.0 validator for the schema at `schema_ptr`, resolving every `$ref` in the spec
    (including discriminator mappings) through a referencing Registry."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT4))
    return OAS30Validator({"$ref": _uri_of(schema_ptr)}, registry=registry, format_checker=OAS30Validator.FORMAT_CHECKER)


def validation_errors(spec: Mapping[str, Any], schema_ptr: str, value: Any) -> list[str]:
    """Readable messages for every way `value` fails the schema at `schema_ptr`."""
    if isinstance(value, _Missing):
        return ["the example has no inline `value` (externalValue cannot be checked offline)"]
    validator = validator_for(spec, schema_ptr)
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        detail = _best_leaf(error)
        messages.append(f"at {where}: {detail}")
    return messages


def _best_leaf(error) -> str:
    """The error, or for a failed oneOf/anyOf its deepest sub-error: a bare "is not valid under
    any of the given schemas" would not say what to fix."""
    if error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        inner = "/".join(str(p) for p in deepest.absolute_path)
        return f"matches no variant of its {error.validator}; closest: at {inner or '(root)'}: {deepest.message[:300]}"
    return error.message[:400]


# ---------------------------------------------------------------------------- schema flattening
@dataclass
class Flat:
    """A schema with its `allOf` merged: what a generator would see as one object."""

    properties: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # name -> schema parts
    required: set[str] = field(default_factory=set)
    keywords: dict[str, list[Any]] = field(default_factory=dict)  # other keyword -> values from every part
    variants: list[Any] = field(default_factory=list)  # resolved oneOf/anyOf members


def flatten(spec: Mapping[str, Any], schema: Any, ptr: str = "") -> Flat:
    flat = Flat()
    _merge_into(spec, schema, ptr, flat, set())
    return flat


def _merge_into(spec, schema, ptr, flat: Flat, seen: set[str]) -> None:
    schema, ptr = deref(spec, schema, ptr)
    if ptr in seen and ptr:
        return
    seen = seen | {ptr}
    for index, part in enumerate(schema.get("allOf") or []):
        _merge_into(spec, part, ptr + pointer("allOf", index), flat, seen)
    for keyword in ("oneOf", "anyOf"):
        for index, part in enumerate(schema.get(keyword) or []):
            flat.variants.append(deref(spec, part, ptr + pointer(keyword, index)))
    for name, prop in (schema.get("properties") or {}).items():
        flat.properties.setdefault(name, []).append(prop)
    flat.required.update(schema.get("required") or [])
    for keyword, value in schema.items():
        if keyword not in ("allOf", "oneOf", "anyOf", "properties", "required"):
            flat.keywords.setdefault(keyword, []).append(value)


def property_keywords(spec: Mapping[str, Any], parts: list[Any]) -> Flat:
    """The merged view of one property's schema parts."""
    flat = Flat()
    for part in parts:
        _merge_into(spec, part, "", flat, set())
    return flat


def effective_enum(flat: Flat) -> set[Any] | None:
    values = None
    for enum in flat.keywords.get("enum", []):
        values = set(enum) if values is None else values & set(enum)
    return values


def effective_min(flat: Flat, keyword: str) -> Any:
    values = flat.keywords.get(keyword, [])
    return min(values) if values else None


def all_properties(spec: Mapping[str, Any], schema: Any, ptr: str, where: str = "") -> Iterator[tuple[str, str, Flat, Flat]]:
    """(location, property name, flattened owner, flattened property) for every property
    reachable from `schema` through allOf/oneOf/anyOf/items/properties, at any depth."""
    yield from _walk_properties(spec, schema, ptr, where, set())


def _walk_properties(spec, schema, ptr, where, seen):
    schema, ptr = deref(spec, schema, ptr)
    # A named schema is walked once per branch (recursion guard); inline ones have no pointer.
    key = ptr or id(schema)
    if key in seen:
        return
    seen = seen | {key}
    flat = flatten(spec, schema, ptr)
    for name, parts in flat.properties.items():
        prop = property_keywords(spec, parts)
        yield where, name, flat, prop
        for part in parts:
            yield from _walk_properties(spec, part, "", f"{where}.{name}" if where else name, seen)
    for variant, variant_ptr in flat.variants:
        yield from _walk_properties(spec, variant, variant_ptr, where, seen)
    for items in flat.keywords.get("items", []):
        yield from _walk_properties(spec, items, "", f"{where}[]", seen)
    for additional in flat.keywords.get("additionalProperties", []):
        if isinstance(additional, Mapping):
            yield from _walk_properties(spec, additional, "", f"{where}{{}}", seen)


# ---------------------------------------------------------------------------- node tools
def node_tools_skip_reason() -> str | None:
    if os.environ.get("ESMS_SKIP_NODE_TOOLS") == "1":
        return "ESMS_SKIP_NODE_TOOLS=1: the Node portability checks (Spectral, Prism) are skipped"
    return None


def node_tool(name: str) -> Path:
    """The path of a binary from node_modules/.bin; a missing one is an error, not a skip."""
    binary = NODE_BIN / name
    if not binary.exists():
        raise AssertionError(
            f"{binary} is missing: run `make install` (it runs `npm ci`) "
            "to install the Node tools of package.json, or set ESMS_SKIP_NODE_TOOLS=1 to skip "
            "the Spectral and Prism checks knowingly."
        )
    return binary


CODE_FIELDS = ("CodeResult", "CodeResponse", "Code", "Error")


def result_code_of(example: Any) -> str | None:
    """The eSMS result code an answer carries, as a string ("100" for `Error: 0`)."""
    if not isinstance(example, Mapping):
        return None
    for field_name in CODE_FIELDS:
        if field_name in example:
            value = example[field_name]
            if field_name == "Error" and value == 0:
                return "100"
            return str(value)
    return None


SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def assert_no_problems(problems: list[str], heading: str = "") -> None:
    """Fail with the problems one per line, without a traceback full of spec dumps."""
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        pytest.fail(f"{heading or 'problems found'} ({len(problems)}):\n{lines}", pytrace=False)
