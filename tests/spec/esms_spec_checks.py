"""The checks the spec tests make. Each returns a list of problems, empty when the spec is right.

They take the spec as a dict, so test_spec_checks_can_fail.py can hand them a broken copy and
see them complain.
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator

import esms_reference_tables as ref
from esms_spec_support import (
    CODE_FIELDS,
    SNAKE_CASE,
    Flat,
    Operation,
    all_operations,
    all_properties,
    at,
    callback_operations,
    deref,
    effective_enum,
    effective_min,
    flatten,
    operation_by_id,
    operations,
    parameters_of,
    pointer,
    property_keywords,
    request_body_schema,
    responses_of,
    response_schema,
    result_code_of,
    walk_schema_nodes,
)

# ============================================================================ 1. validity


def openapi_validity_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    if not str(spec.get("openapi", "")).startswith("3.0."):
        problems.append(f"`openapi` is {spec.get('openapi')!r}; this document is written for OAS 3.0.x")
    for error in OpenAPIV30SpecValidator(spec).iter_errors():
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"at {where}: {error.message[:500]}")
    return problems


class _DuplicateKeyLoader(yaml.SafeLoader):
    pass


def _no_duplicates(loader, node, deep=False):
    seen: dict[Any, int] = {}
    duplicates = []
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            duplicates.append(f"key {key!r} repeated at line {key_node.start_mark.line + 1} (first at line {seen[key]})")
        else:
            seen[key] = key_node.start_mark.line + 1
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, "; ".join(duplicates), node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_DuplicateKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def duplicate_key_problems(text: str) -> list[str]:
    """PyYAML keeps the last of two equal keys silently; other parsers refuse the document."""
    try:
        yaml.load(text, Loader=_DuplicateKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.constructor.ConstructorError as error:
        return [str(error.problem)]
    return []


def _all_refs(node: Any, ptr: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"], ptr
        for key, value in node.items():
            yield from _all_refs(value, ptr + pointer(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _all_refs(value, ptr + pointer(index))


def ref_problems(spec: Mapping[str, Any]) -> list[str]:
    """Every $ref is local (the spec is one self-contained file) and points at something."""
    problems = []
    for target, ptr in _all_refs(spec):
        if not target.startswith("#/"):
            problems.append(f"{ptr}: $ref {target!r} is not a local reference")
            continue
        try:
            at(spec, target[1:])
        except (KeyError, IndexError, ValueError, TypeError):
            problems.append(f"{ptr}: $ref {target!r} points at nothing")
    return problems


def _walk_dicts(node: Any, ptr: str = "") -> Iterator[tuple[Mapping[str, Any], str]]:
    if isinstance(node, Mapping):
        yield node, ptr
        for key, value in node.items():
            yield from _walk_dicts(value, ptr + pointer(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_dicts(value, ptr + pointer(index))


def _schema_nodes(spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    """Every schema object of the document: component schemas and every inline `schema`."""
    for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        yield from walk_schema_nodes(schema, pointer("components", "schemas", name))
    for node, ptr in _walk_dicts(spec.get("paths") or {}, pointer("paths")):
        if isinstance(node.get("schema"), Mapping):
            yield from walk_schema_nodes(node["schema"], ptr + pointer("schema"))
    for section in ("parameters", "requestBodies", "responses", "headers", "callbacks"):
        base = pointer("components", section)
        for node, ptr in _walk_dicts((spec.get("components") or {}).get(section) or {}, base):
            if isinstance(node.get("schema"), Mapping):
                yield from walk_schema_nodes(node["schema"], ptr + pointer("schema"))


def nullable_problems(spec: Mapping[str, Any]) -> list[str]:
    """OAS 3.0.3: `nullable: true` only has a meaning next to a `type` in the same schema."""
    return [
        f"{ptr}: `nullable` without a `type` beside it (OAS 3.0.3 ignores it there)"
        for node, ptr in _schema_nodes(spec)
        if node.get("nullable") is True and "type" not in node
    ]


def discriminator_problems(spec: Mapping[str, Any]) -> list[str]:
    """Each discriminator maps every variant, and each mapped schema requires the property
    and accepts exactly its mapping key, so validators that use the discriminator (Prism,
    generators) and validators that only try each `oneOf` branch agree."""
    problems = []
    for node, ptr in _schema_nodes(spec):
        discriminator = node.get("discriminator")
        if not discriminator:
            continue
        prop = discriminator.get("propertyName")
        variants = node.get("oneOf") or node.get("anyOf") or []
        if not variants:
            problems.append(f"{ptr}: discriminator without oneOf/anyOf")
            continue
        mapping = discriminator.get("mapping") or {}
        variant_refs = {v.get("$ref") for v in variants}
        if set(mapping.values()) != variant_refs:
            problems.append(f"{ptr}: the discriminator mapping {sorted(mapping.values())} and the variants {sorted(variant_refs)} differ")
        for key, target in mapping.items():
            try:
                schema, schema_ptr = deref(spec, {"$ref": target}, ptr)
            except (KeyError, ValueError):
                problems.append(f"{ptr}: mapping {key!r} -> {target!r} points at nothing")
                continue
            flat = flatten(spec, schema, schema_ptr)
            if prop not in flat.required:
                problems.append(f"{target}: the discriminator property {prop!r} is not required")
            if prop not in flat.properties:
                problems.append(f"{target}: has no property {prop!r}")
                continue
            enum = effective_enum(property_keywords(spec, flat.properties[prop]))
            if enum != {key}:
                problems.append(f"{target}: {prop!r} accepts {sorted(enum) if enum else 'anything'}, but the mapping sends it only {key!r}")
    return problems


# ============================================================================ 2. examples


def unused_component_example_problems(spec: Mapping[str, Any]) -> list[str]:
    """A component example nobody references is never checked against any schema."""
    used = {target for target, _ in _all_refs(spec)}
    return [
        f"components/examples/{name} is referenced nowhere, so no schema checks it"
        for name in ((spec.get("components") or {}).get("examples") or {})
        if f"#/components/examples/{name}" not in used
    ]


# ============================================================================ 3. completeness


def endpoint_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    actual = {(op.method.upper(), op.path): op.operation_id for op in operations(spec)}
    expected = {(e.method, e.path): e for e in ref.ENDPOINTS}
    for key, endpoint in expected.items():
        if key not in actual:
            problems.append(f"#{endpoint.number} {endpoint.method} {endpoint.path} ({endpoint.operation_id}) is missing")
        elif actual[key] != endpoint.operation_id:
            problems.append(f"#{endpoint.number} {endpoint.method} {endpoint.path} has operationId {actual[key]!r}, expected {endpoint.operation_id!r}")
    for key, operation_id in actual.items():
        if key not in expected:
            problems.append(f"{key[0]} {key[1]} ({operation_id}) is not in the reference's §1 index")
    return problems


def status_host_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    top = [s.get("url") for s in spec.get("servers") or []]
    if ref.STATUS_HOST in top:
        problems.append(f"{ref.STATUS_HOST} is a top-level server: every operation would claim to live there")
    for op in operations(spec):
        servers = [s.get("url") for s in (op.node.get("servers") or op.path_item.get("servers") or [])]
        if op.operation_id == ref.STATUS_HOST_OPERATION:
            if "servers" not in op.path_item:
                problems.append(f"{op.label}: no per-path `servers` entry")
            if servers != [ref.STATUS_HOST]:
                problems.append(f"{op.label}: servers are {servers}, expected exactly [{ref.STATUS_HOST!r}]")
        elif ref.STATUS_HOST in servers:
            problems.append(f"{op.label}: claims the status host, where only {ref.STATUS_HOST_OPERATION} lives")
    return problems


def _component_schema(spec, name) -> tuple[Any, str]:
    ptr = pointer("components", "schemas", name)
    return at(spec, ptr), ptr


def reachable_schema_names(spec: Mapping[str, Any], node: Any) -> set[str]:
    """Names of the component schemas reachable from `node` through `$ref`s."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        for target, _ in _all_refs(current):
            if target.startswith("#/components/schemas/"):
                name = target.rsplit("/", 1)[1]
                if name not in names:
                    names.add(name)
                    stack.append(at(spec, target[1:]))
        # discriminator mappings are references too
        for node_, _ in _walk_dicts(current):
            for target in ((node_.get("discriminator") or {}).get("mapping") or {}).values():
                name = target.rsplit("/", 1)[1]
                if name not in names:
                    names.add(name)
                    stack.append(at(spec, target[1:]))
    return names


def request_objects(spec: Mapping[str, Any], op: Operation) -> list[tuple[str, set[str], set[str]]]:
    """(what, property names, required names) of an operation's request: one entry per
    request media type, or the query parameters of an operation with no body."""
    found = []
    if "requestBody" in op.node:
        body, body_ptr = deref(spec, op.node["requestBody"], op.ptr + pointer("requestBody"))
        for media_type, media in (body.get("content") or {}).items():
            schema, schema_ptr = deref(spec, media.get("schema") or {}, body_ptr + pointer("content", media_type, "schema"))
            flat = flatten(spec, schema, schema_ptr)
            found.append((f"request body {media_type}", set(flat.properties), set(flat.required)))
    else:
        params = [p for p, _ in parameters_of(spec, op) if p.get("in") == "query"]
        found.append(("query parameters", {p["name"] for p in params}, {p["name"] for p in params if p.get("required")}))
    return found


def request_field_problems(spec: Mapping[str, Any], row: ref.Fields) -> list[str]:
    op = operation_by_id(spec, row.operation_id)
    if op is None:
        return [f"operation {row.operation_id} does not exist"]
    if row.schema is None:
        objects = request_objects(spec, op)
    else:
        try:
            schema, schema_ptr = _component_schema(spec, row.schema)
        except KeyError:
            return [f"components/schemas/{row.schema} does not exist"]
        body = request_body_schema(spec, op)
        if body is None or row.schema not in reachable_schema_names(spec, body[0]) | {body[1].rsplit("/", 1)[1]}:
            return [f"components/schemas/{row.schema} is not reachable from the request of {op.label}"]
        flat = flatten(spec, schema, schema_ptr)
        objects = [(f"components/schemas/{row.schema}", set(flat.properties), set(flat.required))]
    problems = []
    for what, properties, required in objects:
        for name in sorted(row.required):
            if name not in properties:
                problems.append(f"{op.label} {what}: required field {name!r} (§{row.section}) is missing")
            elif name not in required:
                problems.append(f"{op.label} {what}: field {name!r} is required by §{row.section} but optional here")
        for name in sorted(row.optional):
            if name not in properties:
                problems.append(f"{op.label} {what}: optional field {name!r} (§{row.section}) is missing")
            elif name in required:
                problems.append(f"{op.label} {what}: field {name!r} is optional in §{row.section} but required here")
    return problems


def callback_parameter_names(spec: Mapping[str, Any], cb: Operation) -> set[str]:
    """Query parameter names of a callback operation; an exploded form-style object parameter
    contributes its properties, each its own query parameter."""
    names = set()
    for param, param_ptr in parameters_of(spec, cb):
        if param.get("in") != "query":
            continue
        schema, schema_ptr = deref(spec, param.get("schema") or {}, param_ptr + pointer("schema"))
        if schema.get("type") == "object" and param.get("style", "form") == "form" and param.get("explode", True):
            names |= set(flatten(spec, schema, schema_ptr).properties)
        else:
            names.add(param["name"])
    return names


def delivery_callback_problems(spec: Mapping[str, Any]) -> list[str]:
    """The callback (§1 row W, §2.15): a GET to the CallbackUrl of every send operation that
    takes one, carrying every documented query parameter."""
    problems = []
    found = 0
    for op in operations(spec):
        if "sending" not in (op.node.get("tags") or []):
            continue
        for cb in callback_operations(spec, op):
            found += 1
            if cb.method != "get":
                problems.append(f"{cb.label}: eSMS calls the CallbackUrl with GET (§2.15), not {cb.method.upper()}")
            missing = ref.CALLBACK_QUERY_PARAMETERS - callback_parameter_names(spec, cb)
            if missing:
                problems.append(f"{cb.label}: query parameters of §2.15 missing: {sorted(missing)}")
    if not found:
        problems.append("no send operation declares the delivery callback (§1 row W)")
    return problems


def result_code_field_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for operation_id, (field_name, json_type) in ref.RESULT_CODE_FIELD.items():
        op = operation_by_id(spec, operation_id)
        if op is None:
            problems.append(f"operation {operation_id} does not exist")
            continue
        found = response_schema(spec, op, "200")
        if found is None:
            problems.append(f"{op.label}: no 200 response schema")
            continue
        flat = flatten(spec, *found)
        if field_name not in flat.properties:
            problems.append(f"{op.label}: the answer has no {field_name!r} (§2.4)")
            continue
        if field_name not in flat.required:
            problems.append(f"{op.label}: {field_name!r} is not required in the answer")
        types = set(property_keywords(spec, flat.properties[field_name]).keywords.get("type", []))
        if types != {json_type}:
            problems.append(f"{op.label}: {field_name!r} has type {sorted(types)}, §2.4 says {json_type}")
        others = (set(CODE_FIELDS) - {field_name}) & set(flat.properties)
        if others:
            problems.append(f"{op.label}: the answer also has {sorted(others)}; §2.4 gives it only {field_name!r}")
    return problems


def _request_properties(spec, op: Operation) -> Iterator[tuple[str, str, Flat, Flat]]:
    body = request_body_schema(spec, op)
    if body is not None:
        yield from all_properties(spec, body[0], body[1])


def enum_problems_for_field(spec, field_name: str, expected: frozenset, operation_ids: frozenset | None) -> list[str]:
    """Every property `field_name` of any request accepts exactly `expected`; and it is present
    on every operation of `operation_ids`."""
    problems = []
    seen_on = set()
    for op in operations(spec):
        for where, name, _, prop in _request_properties(spec, op):
            if name != field_name:
                continue
            seen_on.add(op.operation_id)
            enum = effective_enum(prop)
            if enum != set(expected):
                problems.append(f"{op.label}: {where + '.' if where else ''}{name} accepts {sorted(enum) if enum else 'any value'}, expected exactly {sorted(expected)}")
    if operation_ids is not None:
        for operation_id in sorted(operation_ids - seen_on):
            problems.append(f"{operation_id}: has no {field_name} field, which the reference documents for it")
    return sorted(set(problems))


def follower_enum_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    op = operation_by_id(spec, "send_follower_message_v5")
    if op is None:
        return ["send_follower_message_v5 does not exist"]
    template_types: set[str] = set()
    media_types: set[str] = set()
    for where, name, _, prop in _request_properties(spec, op):
        enum = effective_enum(prop) or set()
        if name == "template_type":
            template_types |= enum
        if name == "media_type":
            media_types |= enum
    if template_types != ref.FOLLOWER_TEMPLATE_TYPES:
        problems.append(
            f"V5 follower template_type values: missing {sorted(ref.FOLLOWER_TEMPLATE_TYPES - template_types)}, "
            f"unexpected {sorted(template_types - ref.FOLLOWER_TEMPLATE_TYPES)}"
        )
    if media_types != ref.MEDIA_TYPES:
        problems.append(f"media_type values are {sorted(media_types)}, expected {sorted(ref.MEDIA_TYPES)}")
    v4 = operation_by_id(spec, "send_follower_message_v4")
    if v4 is not None:
        v4_types = set()
        for where, name, _, prop in _request_properties(spec, v4):
            if name == "Template_type":
                v4_types |= effective_enum(prop) or set()
        if "media" not in v4_types:
            problems.append("send_follower_message_v4: Template_type does not accept `media` (§3.2)")
    for union, expected in (("Button", ref.BUTTON_TYPES), ("TransactionButton", ref.BUTTON_TYPES), ("TransactionElement", ref.ELEMENT_TYPES)):
        schema = ((spec.get("components") or {}).get("schemas") or {}).get(union)
        if schema is None:
            problems.append(f"components/schemas/{union} does not exist")
            continue
        mapping = set(((schema.get("discriminator") or {}).get("mapping") or {}))
        if mapping != expected:
            problems.append(f"{union}: the `type` values are {sorted(mapping)}, expected {sorted(expected)}")
        if union not in reachable_schema_names(spec, request_body_schema(spec, op)[0]):
            problems.append(f"{union} is not reachable from the V5 follower request")
    return problems


def _property_at(spec, schema, schema_ptr, dotted: str) -> Flat | None:
    flat = flatten(spec, schema, schema_ptr)
    prop = None
    for segment in dotted.split("."):
        if segment not in flat.properties:
            return None
        prop = property_keywords(spec, flat.properties[segment])
        flat = prop
    return prop


def limit_problems(spec: Mapping[str, Any], limit: ref.Limit) -> list[str]:
    op = operation_by_id(spec, limit.operation_id)
    if op is None:
        return [f"operation {limit.operation_id} does not exist"]
    if limit.schema is None:
        body = request_body_schema(spec, op)
        if body is None:
            return [f"{op.label} has no request body"]
        schema, schema_ptr, owner = body[0], body[1], f"{op.label} request"
    else:
        schema, schema_ptr = _component_schema(spec, limit.schema)
        owner = f"components/schemas/{limit.schema}"
    prop = _property_at(spec, schema, schema_ptr, limit.field)
    if prop is None:
        return [f"{owner}: has no field {limit.field!r}"]
    actual = effective_min(prop, limit.keyword)
    if actual != limit.value:
        return [f"{owner}: {limit.field} has {limit.keyword} {actual}, §{limit.section} says {limit.value}"]
    return []


def request_id_and_text_limit_problems(spec: Mapping[str, Any]) -> list[str]:
    """RequestId is at most 50 characters wherever a request carries one, and every message
    text of the follower operations at most 2,000."""
    problems = []
    for op in operations(spec):
        for where, name, _, prop in _request_properties(spec, op):
            label = f"{op.label}: {where + '.' if where else ''}{name}"
            if name == "RequestId" and effective_min(prop, "maxLength") != ref.REQUEST_ID_MAX_LENGTH:
                problems.append(f"{label} has maxLength {effective_min(prop, 'maxLength')}, §2.7 says {ref.REQUEST_ID_MAX_LENGTH}")
            if op.operation_id.startswith("send_follower_message") and name in ("text", "Content") and where in ("", "Payload.message"):
                if effective_min(prop, "maxLength") != ref.TEXT_MAX_LENGTH:
                    problems.append(f"{label} has maxLength {effective_min(prop, 'maxLength')}, §3 says {ref.TEXT_MAX_LENGTH}")
        for param, _ in parameters_of(spec, op):
            if param.get("name") == "RequestId":
                problems.append(f"{op.label}: RequestId as a parameter is not checked by this suite; make it a body field")
    return problems


# ============================================================================ 4. result codes


def code_table(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(spec.get("x-esms-result-codes") or [])


def code_table_problems(spec: Mapping[str, Any]) -> list[str]:
    table = code_table(spec)
    if not table:
        return ["there is no top-level x-esms-result-codes table"]
    problems = []
    counts = Counter(str(entry.get("code")) for entry in table)
    problems += [f"code {code} appears {n} times in the table" for code, n in counts.items() if n > 1]
    for entry in table:
        code = entry.get("code")
        if not isinstance(code, str) or not re.fullmatch(r"-?[0-9]+", code):
            problems.append(f"table entry {entry!r}: `code` must be a string of digits")
        if entry.get("family") not in ref.RESULT_CODE_FAMILIES:
            problems.append(f"code {code}: family {entry.get('family')!r} is not one of {sorted(ref.RESULT_CODE_FAMILIES)}")
        for key in ("message", "meaning"):
            if not isinstance(entry.get(key), str) or not entry.get(key).strip():
                problems.append(f"code {code}: no {key}")
    success = [e.get("code") for e in table if e.get("family") == "success"]
    if success != ["100"]:
        problems.append(f"the success family holds {success}; only 100 means success")
    missing = ref.REFERENCE_RESULT_CODES - set(counts)
    if missing:
        problems.append(f"codes of the reference (§2.14) missing from the table: {sorted(missing, key=int)}")
    return problems


def error_code_maps(node: Any, ptr: str = "") -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any], str]]:
    """(x-esms-error-codes value, the schema node carrying it, pointer) anywhere in `node`."""
    for holder, holder_ptr in _walk_dicts(node, ptr):
        if "x-esms-error-codes" in holder:
            yield holder["x-esms-error-codes"], holder, holder_ptr


def unknown_code_problems(spec: Mapping[str, Any]) -> list[str]:
    known = {str(entry.get("code")) for entry in code_table(spec)}
    problems = []
    for op in operations(spec):
        codes = op.node.get("x-esms-result-codes")
        if not isinstance(codes, list) or not codes:
            problems.append(f"{op.label}: no x-esms-result-codes list")
            continue
        problems += [f"{op.label}: x-esms-result-codes lists {c!r} twice" for c, n in Counter(codes).items() if n > 1]
        problems += [f"{op.label}: x-esms-result-codes has {c!r}, which is not in the top-level table" for c in codes if str(c) not in known]
        invalid = op.node.get("x-esms-invalid-request-code")
        if invalid is None:
            problems.append(f"{op.label}: no x-esms-invalid-request-code")
        elif str(invalid) not in known:
            problems.append(f"{op.label}: x-esms-invalid-request-code {invalid!r} is not in the top-level table")
    schema_keywords = {
        "maxItems", "minItems", "maxLength", "minLength", "pattern", "enum", "maximum", "minimum",
        "uniqueItems", "type", "format", "required", "maxProperties", "minProperties", "additionalProperties",
    }
    for codes, holder, ptr in error_code_maps(spec):
        if not isinstance(codes, Mapping):
            problems.append(f"{ptr}: x-esms-error-codes must be a mapping")
            continue
        merged = flatten(spec, holder, "")
        for reason, code in codes.items():
            if str(code) not in known:
                problems.append(f"{ptr}: x-esms-error-codes {reason}: {code!r} is not in the top-level table")
            if reason not in ("missing", "invalid") and reason not in schema_keywords:
                problems.append(f"{ptr}: x-esms-error-codes key {reason!r} is neither missing, invalid nor a JSON Schema keyword")
            elif reason in schema_keywords and reason not in merged.keywords:
                problems.append(f"{ptr}: x-esms-error-codes names {reason!r}, a keyword this schema does not use")
    return problems


def _request_error_codes(spec, op: Operation) -> set[str]:
    codes = set()
    body = request_body_schema(spec, op)
    nodes = []
    if body is not None:
        nodes.append(body[0])
        nodes += [at(spec, pointer("components", "schemas", n)) for n in reachable_schema_names(spec, body[0])]
    for param, _ in parameters_of(spec, op):
        nodes.append(param)
        if "schema" in param:
            nodes += [at(spec, pointer("components", "schemas", n)) for n in reachable_schema_names(spec, param["schema"])]
    for node in nodes:
        for mapping, _, _ in error_code_maps(node):
            codes |= {str(c) for c in mapping.values()}
    return codes


def operation_code_problems(spec: Mapping[str, Any]) -> list[str]:
    """What an operation can answer is in its list: the codes of its example answers (nested
    per-item codes too), its invalid-request code and every field-level code of its request."""
    problems = []
    for op in operations(spec):
        listed = {str(c) for c in op.node.get("x-esms-result-codes") or []}
        invalid = op.node.get("x-esms-invalid-request-code")
        if invalid is not None and str(invalid) not in listed:
            problems.append(f"{op.label}: x-esms-invalid-request-code {invalid} is not in its x-esms-result-codes")
        for code in sorted(_request_error_codes(spec, op) - listed, key=int):
            problems.append(f"{op.label}: its request's x-esms-error-codes can answer {code}, which is not in its x-esms-result-codes")
        for status, name, value in response_examples(spec, op):
            for code in _codes_in_answer(value):
                if code not in listed:
                    problems.append(f"{op.label}: response {status} example {name!r} carries code {code}, which is not in its x-esms-result-codes")
    return problems


def response_examples(spec, op: Operation) -> Iterator[tuple[str, str, Any]]:
    """(status, name, value) of the named examples (and bare `example`) of every response."""
    for status, response, response_ptr in responses_of(spec, op):
        for media_type, media in (response.get("content") or {}).items():
            if "example" in media:
                yield status, "example", media["example"]
            for name, example in (media.get("examples") or {}).items():
                node, _ = deref(spec, example, response_ptr)
                yield status, name, node.get("value")


def _codes_in_answer(value: Any) -> set[str]:
    codes = set()
    top = result_code_of(value)
    if top is not None:
        codes.add(top)
    for node, _ in _walk_dicts(value):
        if node is not value and "CodeResult" in node:
            codes.add(str(node["CodeResult"]))
    return codes


def success_and_authorization_example_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for op in operations(spec):
        named = {}
        for status, name, value in response_examples(spec, op):
            if name != "example" and status.startswith("2"):
                named.setdefault(result_code_of(value), []).append(name)
        for code, what in (("100", "success (code 100, `Code: 100` or `Error: 0`)"), ("101", "authorization failure (101)")):
            if code not in named:
                problems.append(f"{op.label}: no named example of {what} in its 2xx responses")
    return problems


# ============================================================================ 5. callbacks and links


def _schema_pointer_exists(spec, schema, schema_ptr, json_pointer: str) -> bool:
    """Whether a JSON pointer into an instance (e.g. `/Data/0/CallbackUrl`) can exist under
    the schema, through properties, items and the variants of oneOf/anyOf/allOf."""
    segments = [s for s in json_pointer.split("/")[1:]]
    frontier = [(schema, schema_ptr)]
    for segment in segments:
        nxt = []
        for node, node_ptr in frontier:
            node, node_ptr = deref(spec, node, node_ptr)
            flat = flatten(spec, node, node_ptr)
            candidates = [flat] + [flatten(spec, v, p) for v, p in flat.variants]
            for candidate in candidates:
                if segment.isdigit():
                    nxt += [(items, "") for items in candidate.keywords.get("items", [])]
                for part in candidate.properties.get(segment.replace("~1", "/").replace("~0", "~"), []):
                    nxt.append((part, ""))
        if not nxt:
            return False
        frontier = nxt
    return True


_CALLBACK_EXPRESSION = re.compile(r"^\{\$request\.body#(/[^}]*)\}$")


def callback_url_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for op in operations(spec):
        body = request_body_schema(spec, op)
        locations = set()
        if body is not None:
            for where, name, _, _ in all_properties(spec, body[0], body[1]):
                if name == "CallbackUrl":
                    locations.add(f"{where}.{name}" if where else name)
        callbacks = op.node.get("callbacks") or {}
        if locations and not callbacks:
            problems.append(f"{op.label}: the request takes {sorted(locations)} but the operation declares no `callbacks`")
        covered = set()
        for cb in callback_operations(spec, op):
            match = _CALLBACK_EXPRESSION.match(cb.path)
            if not match:
                problems.append(f"{cb.label}: the callback URL is not a `{{$request.body#/...}}` expression")
                continue
            json_pointer = match.group(1)
            if body is None or not _schema_pointer_exists(spec, body[0], body[1], json_pointer):
                problems.append(f"{cb.label}: {json_pointer} is not a field of the request")
            covered.add(".".join(("[]" if s.isdigit() else s) for s in json_pointer.split("/")[1:]).replace(".[]", "[]"))
        for location in sorted(locations - covered):
            if callbacks:
                problems.append(f"{op.label}: no callback is declared for the request's {location}")
    return problems


def send_operations(spec: Mapping[str, Any]) -> list[Operation]:
    """Operations tagged `sending` whose answer carries an SMSID (at any depth)."""
    found = []
    for op in operations(spec):
        if "sending" not in (op.node.get("tags") or []):
            continue
        schema = response_schema(spec, op, "200")
        if schema and any(name == "SMSID" for _, name, _, _ in all_properties(spec, *schema)):
            found.append(op)
    return found


def _links(spec, op: Operation) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
    for status, response, response_ptr in responses_of(spec, op):
        for name, link in (response.get("links") or {}).items():
            node, ptr = deref(spec, link, response_ptr + pointer("links", name))
            yield status, name, node, ptr


def send_link_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    senders = send_operations(spec)
    if not senders:
        return ["no send operation found"]
    for op in senders:
        links = [(name, link) for status, name, link, _ in _links(spec, op) if status == "200"]
        to_status = [(name, link) for name, link in links if link.get("operationId") == "get_send_status"]
        if not to_status:
            problems.append(f"{op.label}: its 200 response has no link to get_send_status")
        for name, link in to_status:
            refid = (link.get("parameters") or {}).get("RefId", "")
            if not (isinstance(refid, str) and refid.startswith("$response.body#") and refid.endswith("/SMSID")):
                problems.append(f"{op.label}: link {name!r} does not feed RefId from the answer's SMSID (it sends {refid!r})")
    return problems


def _expression_problem(spec, op: Operation, status: str, expression: Any) -> str | None:
    if not isinstance(expression, str) or not expression.startswith("$"):
        return None  # a constant
    if expression in ("$url", "$method", "$statusCode"):
        return None
    match = re.fullmatch(r"\$(request|response)\.body#(/.*)?", expression)
    if match:
        source, json_pointer = match.group(1), match.group(2) or ""
        if source == "request":
            bodies = []
            if "requestBody" in op.node:
                body, body_ptr = deref(spec, op.node["requestBody"], op.ptr + pointer("requestBody"))
                for media_type, media in (body.get("content") or {}).items():
                    bodies.append(deref(spec, media.get("schema") or {}, body_ptr + pointer("content", media_type, "schema")))
        else:
            found = response_schema(spec, op, status)
            bodies = [found] if found else []
        if not bodies:
            return f"{expression}: the operation has no {source} body"
        if not all(_schema_pointer_exists(spec, s, p, json_pointer) for s, p in bodies):
            return f"{expression}: {json_pointer} is not a field of the {source} body"
        return None
    match = re.fullmatch(r"\$request\.(query|path|header)\.(.+)", expression)
    if match:
        names = {(p.get("in"), p.get("name")) for p, _ in parameters_of(spec, op)}
        if (match.group(1), match.group(2)) not in names:
            return f"{expression}: the operation has no such parameter"
        return None
    if re.fullmatch(r"\$response\.header\..+", expression):
        return None
    return f"{expression}: not a runtime expression OAS 3.0 defines"


def link_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for op in operations(spec):
        for status, name, link, ptr in _links(spec, op):
            label = f"{op.label}: response {status} link {name!r}"
            if "operationRef" in link:
                problems.append(f"{label}: uses operationRef; use operationId, which every generator supports")
                continue
            target = operation_by_id(spec, link.get("operationId", ""))
            if target is None:
                problems.append(f"{label}: operationId {link.get('operationId')!r} does not exist")
                continue
            target_params = {p.get("name"): p for p, _ in parameters_of(spec, target)}
            given = {}
            for key, expression in (link.get("parameters") or {}).items():
                param_name = key.split(".", 1)[1] if key.split(".", 1)[0] in ("query", "path", "header", "cookie") and "." in key else key
                given[param_name] = expression
                if param_name not in target_params:
                    problems.append(f"{label}: parameter {key!r} is not a parameter of {target.operation_id}")
            for param_name, param in target_params.items():
                if param.get("required") and param_name not in given:
                    problems.append(f"{label}: does not supply {target.operation_id}'s required parameter {param_name!r}")
            if "requestBody" in link:
                body = request_body_schema(spec, target)
                if body is None:
                    problems.append(f"{label}: sends a requestBody, but {target.operation_id} takes none")
                elif isinstance(link["requestBody"], Mapping):
                    flat = flatten(spec, *body)
                    for field_name in link["requestBody"]:
                        if field_name not in flat.properties:
                            problems.append(f"{label}: requestBody field {field_name!r} is not a field of {target.operation_id}'s request")
                    for field_name in sorted(flat.required - set(link["requestBody"])):
                        problems.append(f"{label}: requestBody lacks {target.operation_id}'s required field {field_name!r}")
                    for expression in link["requestBody"].values():
                        problem = _expression_problem(spec, op, status, expression)
                        if problem:
                            problems.append(f"{label}: {problem}")
            for expression in given.values():
                problem = _expression_problem(spec, op, status, expression)
                if problem:
                    problems.append(f"{label}: {problem}")
    return problems


# ============================================================================ 6. operation ids and tags

OPERATION_TAGS = frozenset({"sending", "status", "account"})


def operation_id_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    ids = []
    for op in all_operations(spec):
        operation_id = op.node.get("operationId")
        if operation_id is None:
            if op.callback_of is None:
                problems.append(f"{op.label}: no operationId")
            continue
        ids.append(operation_id)
        if not isinstance(operation_id, str) or not SNAKE_CASE.fullmatch(operation_id):
            problems.append(f"{op.label}: operationId {operation_id!r} is not snake_case")
        elif not operation_id.isidentifier():
            problems.append(f"{op.label}: operationId {operation_id!r} is not a Python identifier")
        elif keyword.iskeyword(operation_id) or keyword.issoftkeyword(operation_id):
            problems.append(f"{op.label}: operationId {operation_id!r} is a Python keyword")
    problems += [f"operationId {i!r} is used {n} times" for i, n in Counter(ids).items() if n > 1]
    return problems


def tag_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    declared = {t.get("name") for t in spec.get("tags") or []}
    for missing in sorted(OPERATION_TAGS - declared):
        problems.append(f"tag {missing!r} is not declared in the top-level `tags`")
    for op in operations(spec):
        tags = op.node.get("tags") or []
        ours = [t for t in tags if t in OPERATION_TAGS]
        if len(ours) != 1:
            problems.append(f"{op.label}: has tags {tags}; it needs exactly one of {sorted(OPERATION_TAGS)}")
        for tag in tags:
            if tag not in declared:
                problems.append(f"{op.label}: tag {tag!r} is not declared in the top-level `tags`")
    return problems


# ============================================================================ 7. portability helpers


def patterns(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(pointer, regex) of every schema `pattern` in the document."""
    return [(ptr, node["pattern"]) for node, ptr in _schema_nodes(spec) if isinstance(node.get("pattern"), str)]


def python_pattern_problems(spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for ptr, regex in patterns(spec):
        try:
            re.compile(regex)
        except re.error as error:
            problems.append(f"{ptr}: {regex!r} is not a Python regex: {error}")
    return problems


def reference_code_assignment_problems(spec: Mapping[str, Any]) -> list[str]:
    """Every code §2.14 attaches to an endpoint is in that operation's x-esms-result-codes."""
    problems = []
    by_number = {e.number: e for e in ref.ENDPOINTS}
    for code, numbers in sorted(ref.CODES_BY_ENDPOINT.items(), key=lambda item: int(item[0])):
        for number in sorted(numbers, key=int):
            endpoint = by_number[number]
            op = operation_by_id(spec, endpoint.operation_id)
            if op is None:
                continue  # reported by the endpoint test
            if code not in {str(c) for c in op.node.get("x-esms-result-codes") or []}:
                problems.append(f"{op.label}: §2.14 attaches code {code} to endpoint #{number}, but its x-esms-result-codes omit it")
    return problems


def _field_error_codes(spec, parts: list[Any]) -> dict[str, str]:
    codes: dict[str, str] = {}
    for part in parts:
        codes.update({k: str(v) for k, v in (part.get("x-esms-error-codes") or {}).items()})
    return codes


def phone_error_code_problems(spec: Mapping[str, Any]) -> list[str]:
    """§2.14: a badly formed phone number is `108` on every send. So every request field that
    is validated as a phone number (the `Phone` schema) maps `missing` and `invalid` to 108."""
    problems = []
    for op in operations(spec):
        body = request_body_schema(spec, op)
        if body is None:
            continue
        parts = flatten(spec, *body).properties.get("Phone", [])
        if not any("#/components/schemas/Phone" in str(part) for part in parts):
            continue
        codes = _field_error_codes(spec, parts)
        if codes.get("missing") != "108" or codes.get("invalid") != "108":
            problems.append(f"{op.label}: Phone maps failures to {codes or 'nothing'}; a missing or bad number is 108")
    return problems


def twin_operation_problems(spec: Mapping[str, Any], form_id: str = "send_full_content_form", json_id: str = "send_full_content_json") -> list[str]:
    """§6.2 and §6.3 are one operation in two encodings: the fields they share (`Smstype` is
    the form's spelling of `SmsType`) answer the same failures with the same codes."""
    form, json_op = operation_by_id(spec, form_id), operation_by_id(spec, json_id)
    if form is None or json_op is None:
        return [f"{form_id} or {json_id} does not exist"]
    form_fields = flatten(spec, *request_body_schema(spec, form)).properties
    json_fields = flatten(spec, *request_body_schema(spec, json_op)).properties
    by_lower = {name.lower(): name for name in json_fields}
    problems = []
    for name, parts in form_fields.items():
        twin = by_lower.get(name.lower())
        if twin is None:
            continue
        form_codes, json_codes = _field_error_codes(spec, parts), _field_error_codes(spec, json_fields[twin])
        if form_codes != json_codes:
            problems.append(f"{form.label}: {name} maps failures to {form_codes}, {json_op.operation_id}'s {twin} to {json_codes}")
    return problems
