"""Hypothesis strategies for the SDK's property tests, all derived from spec/esms-zalo.openapi.yaml.

Imported by the tests of tests/sdk as `sdk_strategies` (pytest puts this folder on sys.path).

* `wire_pairs(schema, style)`: values valid for an OpenAPI schema of the spec, as pairs
  `(what goes on the wire, what it means)`. The two differ only in the `Style.loose` forms eSMS
  really sends (a whole number as a digit string, a result code as a JSON number): the second
  is the canonical value a parser must arrive at. `Style.extras` adds unknown fields to every
  object the schema leaves open.
* `request_wire(op)`, `nudged_request(op)`, `fitting_request(op)`: request bodies (or query
  parameters) of an operation: as the schema allows them; the same with the demo OA and
  template ids often swapped in; shaped so that the mock's demo fixtures
  (mock_server/demo_fixtures.yaml) accept them with 100.
* `response_pairs(op)`, `forbidden_answers(op)`: answers of an operation, valid or broken.
* `MockEsms`: the mock server in-process, behind the generated Client.

The generator is written here rather than taken from hypothesis-jsonschema, whose 0.23.1 (the
latest release) fails on object schemas with the hypothesis this project pins
(`AttributeError: 'many' object has no attribute 'more'`). It covers the keywords the spec
uses: $ref, allOf (merged), oneOf/anyOf, enum, nullable, type, pattern, min/maxLength,
minimum/maximum, min/maxItems, uniqueItems, required, additionalProperties, maxProperties.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import BaseModel, TypeAdapter

import esms_spec
from esms_zalo import Client, _operations, models
from esms_zalo._core import Operation
from sdkgen.introspect import _Renderer
from sdkgen.naming import Vocabulary

SPEC: dict[str, Any] = esms_spec.load_spec(esms_spec.ESMS_SPEC)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
CREDENTIALS = ("ApiKey", "SecretKey")

# ---------------------------------------------------------------------- the settings profile
# Every property test of tests/sdk uses this profile: derandomized, so a run is reproducible and
# a failure prints the same falsifying example every time; no deadline, because an example that
# goes through the mock (reset, WSGI, SQLite) takes milliseconds and varies with the machine.
# too_slow is suppressed for the same reason: each example of the request tests does real work
# in the mock (a reset and up to three requests). ESMS_SDK_PROPERTY_EXAMPLES raises the count
# for a deeper run on a developer's machine.
settings.register_profile(
    "esms-sdk-properties",
    max_examples=int(os.environ.get("ESMS_SDK_PROPERTY_EXAMPLES", "30")),
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=(HealthCheck.too_slow,),
)
PROPERTIES = settings.get_profile("esms-sdk-properties")

# ---------------------------------------------------------------------- the demo fixtures
# What mock_server/demo_fixtures.yaml holds, as the fitting strategies need it.
DEMO_API_KEY = "DEMO_API_KEY"
DEMO_SECRET_KEY = "DEMO_SECRET_KEY"
DEMO_OA = "4097311281936189049"
DEMO_BRANDNAME = "DEMO"
DEMO_MULTICHANNEL_TEMPLATE = "12345"
DEMO_FOLLOWER = "7800378501923859642"
DEMO_RATED_TEMPLATE = "205645"
DEMO_TAG = "vip"


@dataclass(frozen=True)
class TemplateParam:
    name: str
    kind: str  # STRING or NUMBER
    max_length: int
    required: bool = True


DEMO_TEMPLATES: dict[str, tuple[TemplateParam, ...]] = {
    "205644": (TemplateParam("otp", "STRING", 10),),
    "205645": (
        TemplateParam("customer_name", "STRING", 30),
        TemplateParam("order_code", "STRING", 20),
        TemplateParam("payment_amount", "NUMBER", 12, required=False),
    ),
    "654321": (
        TemplateParam("customer_name", "STRING", 30),
        TemplateParam("order_code", "STRING", 20),
        TemplateParam("state", "STRING", 30),
    ),
}
JOURNEY_TEMPLATE = "654321"
# The mock's magic numbers (mock_server/delivery.py): the suffix 099 is answered 99 (block list).
BLOCKED_PHONE = "0900000099"
BLOCKED_UID = "9000000000000000099"
BLOCKED_HASH = hashlib.sha256(b"84900000099").hexdigest()

# Any text JSON can carry: no lone surrogates (they have no UTF-8 form).
TEXT = st.characters(codec="utf-8")
TEXT_CAP = 40  # free text is at most this much longer than its minimum, besides the boundary case
ARRAY_CAP = 3  # arrays are at most this much longer than their minimum


# ---------------------------------------------------------------------- reading the spec
def resolve(node: Any) -> Any:
    """Follow local `$ref`s."""
    return esms_spec.resolve(SPEC, node)


def refers_to(node: Any, name: str) -> bool:
    """Whether a property is `{$ref: .../name}` or a one-element allOf wrapper of it."""
    if not isinstance(node, dict):
        return False
    if node.get("$ref") == f"#/components/schemas/{name}":
        return True
    return any(refers_to(part, name) for part in node.get("allOf") or [])


_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "maxProperties")


def flatten(node: Any) -> dict[str, Any]:
    """The schema with its `$ref`s followed and its `allOf` parts merged into one set of keywords.

    Patterns become a list under `patterns` (two parts may each bring one); a property that
    several parts define gets an `allOf` of its definitions, merged in turn when generated.
    """
    node = resolve(node)
    out: dict[str, Any] = {k: v for k, v in node.items() if k not in ("allOf", "pattern")}
    if "pattern" in node:
        out["patterns"] = [node["pattern"]]
    for part in node.get("allOf") or []:
        out = _merge(out, flatten(part))
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            merged = dict(out[key])
            for name, schema in value.items():
                merged[name] = {"allOf": [merged[name], schema]} if name in merged else schema
            out[key] = merged
        elif key == "required":
            out[key] = sorted(set(out[key]) | set(value))
        elif key == "patterns":
            out[key] = [*out[key], *value]
        elif key in _LOWER_BOUNDS:
            out[key] = max(out[key], value)
        elif key in _UPPER_BOUNDS:
            out[key] = min(out[key], value)
        elif key == "enum":
            out[key] = [v for v in out[key] if v in value]
        elif key == "type" and out[key] != value:
            raise ValueError(f"allOf parts disagree on the type: {out[key]} and {value}")
        elif key == "additionalProperties" and value is False:
            out[key] = False
        # Anything else (description, title, default, x-...): the first part's word stands.
    return out


def spec_names() -> frozenset[str]:
    """Every property name of the spec and every field name and alias of the generated models,
    lower-cased: generated unknown fields must not collide with any of them."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "properties" and isinstance(value, dict):
                    names.update(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(SPEC)
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, info in value.model_fields.items():
                names.add(name)
                names.add(info.alias or name)
    names.add("decoded_error_info")
    return frozenset(name.lower() for name in names)


KNOWN_NAMES = spec_names()


# ---------------------------------------------------------------------- schema -> strategy
@dataclass(frozen=True)
class Style:
    """How a generated value is put on the wire.

    `loose`: eSMS's own forms of numbers, each drawn at random in place of the canonical one:
    whole numbers (and integer enums) as digit strings, decimals as strings, result codes and
    other digit-string enums as JSON numbers. `extras`: unknown fields in every open object.
    """

    loose: bool = False
    extras: bool = False
    null_extras: bool = True  # the client drops None values (exclude_none): requests have none


CANONICAL = Style()
AS_ESMS_SENDS = Style(loose=True, extras=True)

Pair = tuple[Any, Any]  # (wire value, canonical value)


def json_values(*, null: bool = True) -> SearchStrategy[Any]:
    scalars = (st.none() if null else st.nothing()) | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(TEXT, max_size=10)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=5), inner, max_size=3),
        max_leaves=6,
    )


UNKNOWN_KEYS = st.text(TEXT, min_size=1, max_size=15).filter(lambda key: key.lower() not in KNOWN_NAMES)


_BUILT: dict[tuple[int, Style], tuple[Any, SearchStrategy[Pair]]] = {}


def wire_pairs(schema: Any, style: Style = CANONICAL) -> SearchStrategy[Pair]:
    """(wire, canonical) pairs of values that the schema allows."""
    key = (id(schema), style)
    if key not in _BUILT:  # the schema is kept beside its strategy, so its id is never reused
        _BUILT[key] = (schema, _build(schema, style))
    return _BUILT[key][1]


def _build(schema: Any, style: Style) -> SearchStrategy[Pair]:
    if refers_to(schema, "ResultCode"):
        return _result_codes(style)
    flat = flatten(schema)
    base = _wire_pairs(flat, style)
    if flat.get("nullable"):
        return st.just((None, None)) | base
    return base


def _wire_pairs(s: dict[str, Any], style: Style) -> SearchStrategy[Pair]:
    alternatives = s.get("oneOf") or s.get("anyOf")
    if alternatives:
        return st.one_of([wire_pairs(branch, style) for branch in alternatives])
    if "enum" in s:
        values = [v for v in s["enum"] if v is not None]
        return _with_forms(st.sampled_from(values), style)
    kind = s.get("type") or ("object" if "properties" in s or "additionalProperties" in s else None)
    if kind == "string":
        return _strings(s).map(lambda v: (v, v))
    if kind == "integer":
        return _with_forms(st.integers(min_value=s.get("minimum"), max_value=s.get("maximum")), style)
    if kind == "number":
        low, high = s.get("minimum"), s.get("maximum")
        numbers = st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False) | st.integers(
            min_value=None if low is None else math.ceil(low), max_value=None if high is None else math.floor(high)
        )
        return _with_forms(numbers, style)
    if kind == "boolean":
        return st.booleans().map(lambda v: (v, v))
    if kind == "array":
        return _arrays(s, style)
    if kind == "object":
        return _objects(s, style)
    return json_values().map(lambda v: (v, v))


def _with_forms(values: SearchStrategy[Any], style: Style) -> SearchStrategy[Pair]:
    """The canonical value and, in the loose style, the other forms eSMS sends it in (a form
    is picked by a small integer rather than a flatmap, so that failures shrink well)."""
    if not style.loose:
        return values.map(lambda v: (v, v))
    return st.tuples(values, st.integers(0, 2)).map(lambda t: _form(t[0], t[1]))


def _form(value: Any, choice: int) -> Pair:
    forms: list[Any] = [value]
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        forms.append(str(value))
    elif isinstance(value, float):
        forms.append(repr(value))
        forms.append(f"{value:.4f}")  # the callbacks' and reports' four decimals
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value) and str(int(value)) == value:
        forms.append(int(value))  # a digit-string enum or code ("1") as eSMS sometimes sends it (1)
    wire = forms[choice % len(forms)]
    return wire, _canonical(wire, value)


def _canonical(wire: Any, value: Any) -> Any:
    if isinstance(wire, str) and isinstance(value, float):
        return float(wire)  # "0.1235" means 0.1235, whatever value it was rounded from
    return value


def _result_codes(style: Style) -> SearchStrategy[Pair]:
    documented = sorted(esms_spec.result_codes(SPEC), key=int)
    codes = st.sampled_from(["100", *documented]) | st.from_regex(r"-?[0-9]{1,6}", fullmatch=True)
    return _with_forms(codes, style)


def _strings(s: dict[str, Any]) -> SearchStrategy[str]:
    low = s.get("minLength", 0)
    high = s.get("maxLength")
    patterns: list[str] = s.get("patterns") or []
    if patterns:
        first = patterns[0]
        found = st.from_regex(first, fullmatch=first.endswith("$"), alphabet=TEXT)
        return found.filter(
            lambda v: all(re.search(p, v) for p in patterns) and low <= len(v) and (high is None or len(v) <= high)
        )
    ordinary = st.text(TEXT, min_size=low, max_size=low + TEXT_CAP if high is None else min(high, low + TEXT_CAP))
    if high is None or high <= low + TEXT_CAP:
        return ordinary
    # The longest value allowed, cheaply: one character (1 to 4 bytes in UTF-8) repeated.
    longest = st.sampled_from(["a", "é", "€", "😀", " "]).map(lambda c: c * high)
    return st.one_of(ordinary, longest)


def _arrays(s: dict[str, Any], style: Style) -> SearchStrategy[Pair]:
    low = s.get("minItems", 0)
    high = s.get("maxItems")
    cap = low + ARRAY_CAP if high is None else min(high, low + ARRAY_CAP)
    unique_by = (lambda pair: json.dumps(pair[1], sort_keys=True)) if s.get("uniqueItems") else None
    items = wire_pairs(s.get("items", {}), style)
    return st.lists(items, min_size=low, max_size=cap, unique_by=unique_by).map(
        lambda pairs: ([w for w, _ in pairs], [c for _, c in pairs])
    )


def _objects(s: dict[str, Any], style: Style) -> SearchStrategy[Pair]:
    properties: dict[str, Any] = s.get("properties") or {}
    required = set(s.get("required") or ())
    parts: list[SearchStrategy[dict[str, Pair]]] = [
        st.fixed_dictionaries(
            {name: wire_pairs(schema, style) for name, schema in properties.items() if name in required},
            optional={name: wire_pairs(schema, style) for name, schema in properties.items() if name not in required},
        )
    ]
    additional = s.get("additionalProperties")
    if isinstance(additional, dict):
        keys = st.text(TEXT, min_size=1, max_size=20).filter(lambda key: key not in properties)
        parts.append(st.dictionaries(keys, wire_pairs(additional, style), max_size=min(s.get("maxProperties", 100), 4)))
    elif style.extras and additional is not False:
        values = json_values(null=style.null_extras)
        parts.append(st.dictionaries(UNKNOWN_KEYS, values.map(lambda v: (v, v)), max_size=2))

    def combine(dicts: tuple[dict[str, Pair], ...]) -> Pair:
        wire: dict[str, Any] = {}
        canonical: dict[str, Any] = {}
        for found in dicts:
            for key, (w, c) in found.items():
                if key not in wire:
                    wire[key], canonical[key] = w, c
        return wire, canonical

    return st.tuples(*parts).map(combine)


def canonical_values(schema: Any) -> SearchStrategy[Any]:
    return wire_pairs(schema, CANONICAL).map(lambda pair: pair[1])


# ---------------------------------------------------------------------- the operations
@dataclass(frozen=True)
class SpecOperation:
    """One operation of the spec, with the SDK's view of it."""

    operation_id: str
    method: str
    request_schema: dict[str, Any]  # for a GET, an object schema of its query parameters
    response_schema: dict[str, Any]
    result_codes: tuple[str, ...]
    sdk: Operation[Any]

    @property
    def request_model(self) -> type[BaseModel]:
        return self.sdk.request_model

    @property
    def response_model(self) -> type[BaseModel]:
        return self.sdk.response_model

    def __str__(self) -> str:
        return self.operation_id


def _spec_operations() -> list[SpecOperation]:
    found = []
    for item in SPEC["paths"].values():
        for method in ("get", "post"):
            if method not in item:
                continue
            op = item[method]
            if method == "get":
                parameters = [resolve(p) for p in op["parameters"]]
                request: dict[str, Any] = {
                    "type": "object",
                    "required": [p["name"] for p in parameters if p.get("required")],
                    "properties": {p["name"]: p["schema"] for p in parameters},
                }
            else:
                request = next(iter(resolve(op["requestBody"])["content"].values()))["schema"]
            response = resolve(op["responses"]["200"])["content"]["application/json"]["schema"]
            found.append(
                SpecOperation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    request_schema=request,
                    response_schema=response,
                    result_codes=tuple(op["x-esms-result-codes"]),
                    sdk=getattr(_operations, op["operationId"].upper()),
                )
            )
    return found


OPERATIONS = _spec_operations()
OPERATION_IDS = [op.operation_id for op in OPERATIONS]
BY_ID = {op.operation_id: op for op in OPERATIONS}


# ---------------------------------------------------------------------- requests
ABSENT = object()  # a field a fitting strategy removes


_REQUESTS: dict[tuple[str, bool], SearchStrategy[dict[str, Any]]] = {}
WITH_UNKNOWN_FIELDS = Style(extras=True, null_extras=False)


def request_wire(op: SpecOperation, *, unknown_fields: bool = False) -> SearchStrategy[dict[str, Any]]:
    """The operation's request as the schema allows it, credentials left out (the client adds
    them). `unknown_fields`: nested objects may carry fields the spec does not name (the
    schemas allow them, and the SDK sends them on); the top level cannot, a client method
    taking only the fields the spec names."""
    key = (op.operation_id, unknown_fields)
    if key not in _REQUESTS:
        known = set(op.request_model.model_fields) | {info.alias for info in op.request_model.model_fields.values()}
        _REQUESTS[key] = wire_pairs(op.request_schema, WITH_UNKNOWN_FIELDS if unknown_fields else CANONICAL).map(
            lambda pair: {k: v for k, v in pair[1].items() if k not in CREDENTIALS and k in known}
        )
    return _REQUESTS[key]


def nudged_request(op: SpecOperation) -> SearchStrategy[dict[str, Any]]:
    """A schema-valid request whose OA and template ids are often the demo ones, so that the
    answer comes from deeper checks than "OAID not found"."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        wire = draw(request_wire(op, unknown_fields=True))
        for key in ("OAID", "OAId"):
            if key in wire:  # three times in four
                wire[key] = draw(st.sampled_from([DEMO_OA, DEMO_OA, DEMO_OA, wire[key]]))
        for key in ("TempID", "TemplateId", "TemplateID"):
            if key in wire:
                wire[key] = draw(st.sampled_from([*sorted(DEMO_TEMPLATES), wire[key]]))
        return wire

    return build()


@dataclass
class PlannedRequest:
    """A request and what must happen in the mock before it is sent.

    `setup`: None; "message" (send a ZNS message first; its SMSID goes into `smsid_field`);
    "otp" (have the mock issue an OTP to `Phone`; the code goes into `Code`). `advance` moves
    the mock clock that many seconds after the setup, so that status answers vary.
    """

    wire: dict[str, Any]
    setup: str | None = None
    smsid_field: str | None = None
    zalo_id_field: str | None = None
    advance: float = 0.0
    with_callback_url: bool = False


def phones() -> SearchStrategy[str]:
    """Valid Vietnamese mobile numbers in the three written forms, never the blocked magic one."""
    return st.builds(
        lambda prefix, digits: prefix + digits,
        st.sampled_from(["0", "84", "+84"]),
        st.from_regex(r"[0-9]{9,10}", fullmatch=True),
    ).filter(lambda phone: national(phone) != BLOCKED_PHONE)


def national(phone: str) -> str:
    digits = phone.removeprefix("+")
    return "0" + digits[2:] if digits.startswith("84") and len(digits) >= 11 else digits


def send_dates() -> SearchStrategy[Any]:
    """A real SendDate (or none): yyyy-MM-dd HH:mm:ss of an actual moment, or empty."""
    moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))
    return st.one_of(st.just(ABSENT), st.just(""), moments.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")))


def moments(fmt: str) -> SearchStrategy[str]:
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.strftime(fmt)
    )


# DigitsOrInteger's largest value, the same in both forms: 999999999.
WHOLE_NUMBER_MAX: int = next(b["maximum"] for b in SCHEMAS["DigitsOrInteger"]["anyOf"] if b.get("type") == "integer")


def whole_numbers(low: int, high: int = WHOLE_NUMBER_MAX) -> SearchStrategy[Any]:
    """DigitsOrInteger: a JSON number, or a string of 1 to 9 digits (leading zeros allowed)."""
    numbers = st.integers(min_value=low, max_value=high)
    digits = st.tuples(numbers, st.integers(0, 3)).map(lambda t: str(t[0]).zfill(min(9, len(str(t[0])) + t[1])))
    return st.one_of(numbers, digits)


def template_value(param: TemplateParam) -> SearchStrategy[str]:
    if param.kind == "NUMBER":
        value = st.from_regex(r"[0-9]{1,%d}" % param.max_length, fullmatch=True)
    else:
        value = st.text(TEXT, min_size=1, max_size=param.max_length)
    return value if param.required else st.one_of(st.just(""), value)


def template_values(template_id: str) -> SearchStrategy[dict[str, str]]:
    """Values for each variable of a demo template; an optional one may be left out."""
    params = DEMO_TEMPLATES[template_id]
    return st.fixed_dictionaries(
        {p.name: template_value(p) for p in params if p.required},
        optional={p.name: template_value(p) for p in params if not p.required},
    )


def template_params(template_id: str) -> SearchStrategy[list[str]]:
    """Positional Params: one value per variable, in the template's order."""
    return st.tuples(*(template_value(p) for p in DEMO_TEMPLATES[template_id])).map(list)


def image_urls() -> SearchStrategy[str]:
    path = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_/."), max_size=30)
    query = st.one_of(st.just(""), st.text(st.sampled_from("abc=&0123456789"), max_size=10).map(lambda q: "?" + q))
    return st.builds(
        lambda scheme, host, p, ext, q: f"{scheme}{host}/{p}{ext}{q}",
        st.sampled_from(["http://", "https://"]),
        st.sampled_from(["cdn.example", "127.0.0.1:8080", "xn--d1acufc.example"]),
        path,
        st.sampled_from([".png", ".jpg", ".PNG", ".JPG"]),
        query,
    )


def _apply(wire: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = dict(wire)
    for key, value in fields.items():
        if value is ABSENT:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _zns_common(draw: st.DrawFn, wire: dict[str, Any], template_id: str) -> dict[str, Any]:
    """OA and template of the demo fixtures; a schedule and sending mode the mock accepts."""
    wire = _apply(wire, OAID=DEMO_OA, TempID=template_id, SendDate=draw(send_dates()))
    if wire.get("SendingMode") == "3":
        wire = _apply(wire, SendDate=draw(st.sampled_from([ABSENT, ""])))  # 801: mode 3 cannot be scheduled
    return wire


def _fit_transaction(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """A transaction card within the rules the schema cannot say (see TableElement, TransactionPayload)."""
    limits = {"banner": 1, "header": 1, "text": 2, "table": 1}
    counts: dict[str, int] = {}
    kept = []
    for element in payload["elements"]:
        if counts.get(element["type"], 0) < limits[element["type"]]:
            counts[element["type"]] = counts.get(element["type"], 0) + 1
            kept.append(element)
    for element in kept:
        if element["type"] != "table":
            continue
        rows = [dict(row) for row in element["content"]]
        for row in rows:
            if row.get("key") not in ("Status", "Trạng thái"):
                row.pop("style", None)
        identifying = draw(st.sampled_from(["Order Code", "Customer Name", "Code", "Booking Code"]))
        if not any("Code" in r["key"] or r["key"].startswith("Mã") or r["key"] in ("Customer Name", "Tên khách hàng") for r in rows):
            rows[0] = {**rows[0], "key": identifying}
            rows[0].pop("style", None)
        element["content"] = rows
    return {**payload, "elements": kept}


def _fitting(op_id: str) -> SearchStrategy[PlannedRequest]:
    op = BY_ID[op_id]

    @st.composite
    def build(draw: st.DrawFn) -> PlannedRequest:
        wire = draw(request_wire(op))
        template = draw(st.sampled_from(sorted(DEMO_TEMPLATES)))
        not_blocked_uid = st.text(TEXT, min_size=1, max_size=20).filter(lambda u: u != BLOCKED_UID)
        plan = PlannedRequest(wire)
        if op_id == "send_follower_message_v4":
            user = draw(st.sampled_from([DEMO_FOLLOWER, wire["User_id"]]))
            wire = _apply(wire, OAID=DEMO_OA, User_id=DEMO_FOLLOWER if user == BLOCKED_UID else user)
            if wire.get("Template_type") == "media":
                wire["Url"] = draw(image_urls())
        elif op_id == "send_follower_message_v5":
            payload = json.loads(json.dumps(wire["Payload"]))
            if payload["recipient"]["user_id"] == BLOCKED_UID:
                payload["recipient"]["user_id"] = DEMO_FOLLOWER
            attachment = payload["message"]["attachment"]
            if str(attachment["payload"].get("template_type", "")).startswith("transaction_"):
                attachment["payload"] = _fit_transaction(draw, attachment["payload"])
            wire = _apply(wire, OAID=DEMO_OA, Payload=payload, SendDate=draw(send_dates()))
        elif op_id in ("send_zns_v5", "send_zns_v6", "send_zns_by_uid", "send_zns_by_hashed_phone", "send_zns_v4"):
            journey = op_id == "send_zns_v4" and wire.get("IsJourney") is True
            if journey:
                template = JOURNEY_TEMPLATE
                wire.setdefault("OrderId", draw(st.text(TEXT, min_size=1, max_size=100)))
            wire = _zns_common(draw, wire, template)
            values = draw(template_values(template))
            if op_id == "send_zns_v5":
                pairs = [{"key": k, "value": v} for k, v in values.items()]
                wire["TempData"] = draw(st.permutations(pairs)) if pairs else []
            elif op_id == "send_zns_v4":
                wire["Params"] = draw(template_params(template))
            else:
                wire["TempData"] = values
            if "Phone" in wire:
                wire["Phone"] = draw(phones())
            if op_id == "send_zns_by_uid":
                wire["ZaloUid"] = draw(not_blocked_uid)
            if op_id == "send_zns_by_hashed_phone" and wire["HashPhone"] == BLOCKED_HASH:
                wire["HashPhone"] = "0" * 64
        elif op_id == "send_multichannel_message":
            zns = _apply(draw(canonical_values(SCHEMAS["MultiChannelZnsLeg"])), OAID=DEMO_OA, TempID=template)
            zns["Params"] = draw(template_params(template))
            sms = _apply(draw(canonical_values(SCHEMAS["MultiChannelSmsLeg"])), Brandname=DEMO_BRANDNAME)
            wire = _apply(wire, Phone=draw(phones()), Channels=["zalo", "sms"], Data=[zns, sms])
        elif op_id == "send_auto_generated_otp":
            wire = _apply(wire, Phone=draw(phones()), MultiChannelTempId=DEMO_MULTICHANNEL_TEMPLATE)
        elif op_id == "check_otp":
            wire = _apply(wire, Phone=draw(phones()))
            plan.setup = "otp"
        elif op_id == "send_zns_bulk":
            wire = _zns_common(draw, wire, template)
            items = []
            seen: set[str] = set()
            for item in wire["Data"]:
                item = _apply(item, Phone=draw(phones()), Params=draw(template_params(template)))
                request_id = item.get("RequestId")
                if request_id in seen:
                    item.pop("RequestId")  # a RequestId used twice in one request refuses the second item (124)
                elif request_id:
                    seen.add(request_id)
                items.append(item)
            wire["Data"] = items
        elif op_id in ("send_full_content_form", "send_full_content_json"):
            wire = _apply(wire, OAID=DEMO_OA, Phone=draw(phones()))
        elif op_id in ("get_send_status", "get_receiver_status", "query_zns_status"):
            plan.setup, plan.smsid_field = "message", ("SmsId" if op_id == "query_zns_status" else "RefId")
            plan.advance = draw(st.sampled_from([0.0, 0.6, 5.0]))
        elif op_id == "get_sent_data":
            wide = st.sampled_from([("2000-01-01 00:00:00", "2099-12-31 23:59:59")])
            start, end = draw(wide | st.tuples(moments("%Y-%m-%d %H:%M:%S"), moments("%Y-%m-%d %H:%M:%S")))
            wire = _apply(wire, From=start, To=end, Page=draw(whole_numbers(1, 10**6)), PageSize=draw(whole_numbers(1, 500)))
            plan.setup, plan.advance = draw(st.sampled_from([None, "message"])), draw(st.sampled_from([0.0, 5.0]))
        elif op_id == "get_callback_data":
            wire = _apply(wire, OAId=DEMO_OA)
            plan.setup, plan.smsid_field, plan.with_callback_url = "message", "ListRefid", True
            plan.advance = draw(st.sampled_from([0.0, 5.0]))
        elif op_id == "get_zalo_message_status":
            wire = _apply(wire, OAID=DEMO_OA)
            if draw(st.booleans()):
                plan.setup, plan.zalo_id_field = "message", "MessageId"
                plan.advance = draw(st.sampled_from([0.0, 0.6, 5.0]))
        elif op_id == "estimate_zns_price":
            wire = _apply(wire, OAID=DEMO_OA, TempID=template, Phone=draw(phones()), Params=draw(template_params(template)))
        elif op_id == "list_templates":
            wire = _apply(wire, OAId=DEMO_OA)
        elif op_id == "get_template_info":
            wire = _apply(wire, OAId=DEMO_OA, TemplateId=template)
        elif op_id in ("get_quota", "get_quality", "get_followers", "register_zns_template"):
            wire = _apply(wire, OAID=DEMO_OA)
            if op_id == "get_followers":
                wire = _apply(wire, Offset=draw(whole_numbers(0)), Count=draw(whole_numbers(0)))
        elif op_id == "get_ratings":
            wide = st.sampled_from([("2025-01-01 00:00:00", "2025-01-31 23:59:59")])
            start, end = draw(wide | st.tuples(moments("%Y-%m-%d %H:%M:%S"), moments("%Y-%m-%d %H:%M:%S")))
            wire = _apply(
                wire, OAID=DEMO_OA, TemplateID=draw(st.sampled_from([DEMO_RATED_TEMPLATE, wire["TemplateID"]])),
                FromTime=start, ToTime=end, Offset=draw(whole_numbers(0)), Limit=draw(whole_numbers(1, 50)),
            )
        elif op_id == "query_uid_list":
            wire = _apply(
                wire, OAID=DEMO_OA, FromDate=draw(moments("%d/%m/%Y")), ToDate=draw(moments("%d/%m/%Y")),
                Offset=draw(whole_numbers(0, 9_950)), Count=draw(whole_numbers(1, 50)),
            )
            if "TagName" in wire and draw(st.booleans()):
                wire["TagName"] = DEMO_TAG
        elif op_id == "register_oa_package":
            wire = _apply(wire, OAID=DEMO_OA, Dateactive=draw(moments("%Y-%m-%d")))
        plan.wire = wire
        return plan

    return build()


def fitting_request(op: SpecOperation) -> SearchStrategy[PlannedRequest]:
    """A request the demo fixtures accept with 100, with what must happen before it is sent."""
    return _fitting(op.operation_id)


def client_kwargs(op: SpecOperation, wire: Mapping[str, Any], *, typed: bool) -> dict[str, Any]:
    """The wire fields as keyword arguments of the client method (the SDK's names).

    `typed`: what a typed caller passes: nested objects as the SDK's models, and flags, dates,
    times and digit strings as the Python values the vocabulary gives them (bool, date,
    datetime, int) wherever the SDK writes that value back to the same wire text. Otherwise the
    wire values themselves, plain dicts and lists (what the client also accepts).
    """
    fields = op.request_model.model_fields
    names = {(info.alias or name): name for name, info in fields.items()}
    kwargs: dict[str, Any] = {}
    for key, value in wire.items():
        name = names[key]
        if typed and isinstance(value, (dict, list)):
            value = TypeAdapter(fields[name].annotation).validate_python(value)
        elif typed:
            value = _python_value(op.request_model, name, key, value)
        kwargs[name] = value
    return kwargs


def _python_value(model: type[BaseModel], name: str, wire_name: str, value: Any) -> Any:
    """The Python value a caller would pass for a wire value, when the SDK writes it back as is."""
    declared_in = next(k for k in model.__mro__ if name in inspect.get_annotations(k)).__name__
    entry = _VOCABULARY.lookup(declared_in, wire_name)
    if entry is None or not isinstance(value, str):
        return value
    if entry.kind == "flag" and value in ("0", "1"):
        return value == "1"
    if entry.kind == "integer" and value.isdigit() and str(int(value)) == value:
        # A number-or-digits field sends an int as a JSON number: only text-only fields round-trip.
        return int(value) if fields_take_text_only(model, name) else value
    if entry.kind in ("date", "datetime") and entry.wire_format:
        try:
            moment = datetime.strptime(value, entry.wire_format)
        except ValueError:
            return value
        python = moment.date() if entry.kind == "date" else moment
        return python if python.strftime(entry.wire_format) == value else value
    return value


def fields_take_text_only(model: type[BaseModel], name: str) -> bool:
    """Whether the field's type, aliases expanded as sdkgen reads it, takes no int."""
    return "int" not in _Renderer().render(model.model_fields[name].annotation).split(" | ")


_VOCABULARY = Vocabulary.load()


def sent_fields(request: httpx.Request) -> dict[str, Any]:
    """What a request carried: its JSON body, its form, or its query string."""
    if request.method == "GET":
        return dict(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True))
    if request.headers.get("content-type") == "application/x-www-form-urlencoded":
        return dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))
    return json.loads(request.content)


def expected_on_the_wire(op: SpecOperation, wire: Mapping[str, Any]) -> dict[str, Any]:
    fields = {**wire, "ApiKey": DEMO_API_KEY, "SecretKey": DEMO_SECRET_KEY}
    if op.sdk.encoding != "json":
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return fields


def without_filled_request_ids(op: SpecOperation, sent: Any, given: Any) -> Any:
    """`sent` with each RequestId the client filled in (the caller gave none, or "") put back as
    given, after checking that the filled-in one is a uuid4."""
    sent = json.loads(json.dumps(sent))
    for path in op.sdk.request_id_paths:
        _restore(sent, given, path)
    return sent


def _restore(sent: Any, given: Any, path: tuple[str, ...]) -> None:
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(sent, list) and isinstance(given, list):
            for s, g in zip(sent, given, strict=False):
                _restore(s, g, rest)
        return
    if not isinstance(sent, dict) or not isinstance(given, dict):
        return
    if rest:
        if head in sent and head in given:
            _restore(sent[head], given[head], rest)
        return
    if given.get(head) in (None, ""):
        filled = sent.get(head)
        assert isinstance(filled, str) and uuid.UUID(filled).version == 4, f"RequestId {filled!r} is no uuid4"
        if head in given:
            sent[head] = given[head]
        else:
            del sent[head]


# ---------------------------------------------------------------------- the mock, in-process
class RecordingWSGITransport(httpx.WSGITransport):
    """httpx.WSGITransport that keeps every request it carried."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


class MockEsms:
    """The mock server (demo fixtures, no callback dispatcher) behind the generated Client."""

    def __init__(self, db_path: Path) -> None:
        from mock_server.app import create_app
        from mock_server.config import MockConfig

        self.app = create_app(MockConfig(db_path=db_path, start_dispatcher=False))
        self.transport = RecordingWSGITransport(app=self.app)
        self.http = httpx.Client(transport=self.transport, base_url="http://mock")
        # No retries: a 5xx of the mock must show at once, not after backoff.
        self.client = Client(
            api_key=DEMO_API_KEY, secret_key=DEMO_SECRET_KEY, base_url="http://mock", http_client=self.http, max_retries=0
        )

    def close(self) -> None:
        self.http.close()
        self.app.extensions["esms_mock"].shutdown()

    def reset(self) -> None:
        answer = self.http.post("/_mock/reset")
        assert answer.status_code == 200, answer.text

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            answer = self.http.post("/_mock/clock/advance", json={"seconds": seconds})
            assert answer.status_code == 200, answer.text

    def journal(self, smsid: str) -> dict[str, Any]:
        answer = self.http.get(f"/_mock/messages/{smsid}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    @property
    def last_request(self) -> httpx.Request:
        return self.transport.requests[-1]

    def send_message(self, *, callback_url: bool) -> models.SendResponse:
        """One ordinary ZNS message the status operations can report on."""
        return self.client.send_zns_v6(
            oa_id=DEMO_OA,
            phone="0901888484",
            template_id="205644",
            template_data={"otp": "123456"},
            sandbox=False,
            callback_url="http://127.0.0.1:9/esms-callback" if callback_url else None,
        )

    def prepare(self, plan: PlannedRequest) -> dict[str, Any]:
        """Run the plan's setup; return the request with what the setup decided filled in."""
        wire = dict(plan.wire)
        if plan.setup == "message":
            smsid = self.send_message(callback_url=plan.with_callback_url).sms_id
            assert smsid
            if plan.smsid_field == "ListRefid":
                wire["ListRefid"] = [*wire.get("ListRefid", [])[:2], smsid]
            elif plan.smsid_field:
                wire[plan.smsid_field] = smsid
            if plan.zalo_id_field:
                wire[plan.zalo_id_field] = self.journal(smsid)["recipients"][0]["zalo_msg_id"]
        elif plan.setup == "otp":
            sent = self.client.send_auto_generated_otp(
                phone=wire["Phone"], multichannel_template_id=DEMO_MULTICHANNEL_TEMPLATE, otp_mode="2"
            )
            assert sent.sms_id
            wire["Code"] = self.journal(sent.sms_id)["extra"]["otp"]
        self.advance(plan.advance)
        return wire


# ---------------------------------------------------------------------- answers
def response_pairs(op: SpecOperation, *, success: bool | None = None) -> SearchStrategy[Pair]:
    """Answers of the operation as eSMS may send them: valid for the schema, with unknown fields
    and eSMS's number forms, the result code biased towards success and the documented codes.
    `success=True` gives only success answers, `success=False` only the documented others."""
    code_field = op.sdk.code_field
    success_code: Any = 0 if code_field == "Error" else 100
    if op.sdk.code_type == "string":
        success_code = "100"
    documented: list[Any] = [c for c in op.result_codes if c != "100"]
    if op.sdk.code_type == "number":
        documented = [int(c) for c in documented]
        others = st.integers()
    else:
        others = st.from_regex(r"-?[0-9]{1,6}", fullmatch=True)
    if success is True:
        codes = st.just(success_code)
    elif success is False:
        codes = st.sampled_from(documented)
    else:
        codes = st.one_of(st.just(success_code), st.sampled_from([success_code, *documented]), others)
    loose_code = _with_forms(codes, AS_ESMS_SENDS)

    return st.tuples(wire_pairs(op.response_schema, AS_ESMS_SENDS), loose_code).map(
        lambda t: ({**t[0][0], code_field: t[1][0]}, {**t[0][1], code_field: t[1][1]})
    )


def mentions(schema: Any, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether the schema refers to the component `name`, however deep."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = ref.rsplit("/", 1)[-1]
            return target == name or (target not in seen and mentions(resolve(schema), name, seen | {target}))
        return any(mentions(value, name, seen) for value in schema.values())
    if isinstance(schema, list):
        return any(mentions(item, name, seen) for item in schema)
    return False


def is_success_code(op: SpecOperation, code: str) -> bool:
    return code == "100" or (op.sdk.code_type == "number" and code == "0")


@dataclass(frozen=True)
class Breakage:
    """One thing the spec forbids in an answer, and the field a clear error must name."""

    kind: str
    path: tuple[Any, ...]
    field: str
    value: Any = None


_NOT_AN_INTEGER = ["abc", "1.5", 1.5, [1], {"n": 1}, ""]
_NOT_A_NUMBER = ["abc", [1.0], {"n": 1}, "", "1,5"]
_NOT_A_BOOLEAN = ["maybe", 2, 0.5, [True], {"b": True}]
_NOT_A_STRING = [[], ["x"], {"s": "x"}, True]
_NOT_AN_ARRAY = ["x", 5, {"a": 1}, True]
_NOT_AN_OBJECT = ["x", 5, [1], True]


def breakages(schema: Any, value: Any, path: tuple[Any, ...] = ()) -> list[Breakage]:
    """Every way to break `value` (valid for `schema`) that the spec forbids, field by field."""
    if refers_to(schema, "ResultCode"):
        return [Breakage("wrong type", path, str(path[-1]), v) for v in ("abc", "1.5", [], {"c": 1}, True)]
    s = flatten(schema)
    if value is None:
        return []
    found: list[Breakage] = []
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
    if "enum" in s:
        outside = {
            "integer": [v for v in (3, 6, 8, -2, 99) if v not in s["enum"]],
            "string": ["NOT_IN_THE_ENUM"],
        }.get(s.get("type", "string"), [])
        found += [Breakage("outside the enum", path, name, v) for v in outside]
        if s.get("type") == "integer":
            found += [Breakage("outside the enum", path, name, str(v)) for v in outside]
    kind = s.get("type") or ("object" if "properties" in s else None)
    if kind == "integer":
        found += [Breakage("wrong type", path, name, v) for v in _NOT_AN_INTEGER]
    elif kind == "number":
        found += [Breakage("wrong type", path, name, v) for v in _NOT_A_NUMBER]
    elif kind == "boolean":
        found += [Breakage("wrong type", path, name, v) for v in _NOT_A_BOOLEAN]
    elif kind == "string":
        found += [Breakage("wrong type", path, name, v) for v in _NOT_A_STRING]
        for pattern in s.get("patterns") or []:
            found.append(Breakage("pattern", path, name, "no match ~"))
            break
    elif kind == "array":
        found += [Breakage("wrong type", path, name, v) for v in _NOT_AN_ARRAY]
        for index, item in enumerate(value):
            found += breakages(s.get("items", {}), item, (*path, index))
    elif kind == "object":
        if path:
            found += [Breakage("wrong type", path, name, v) for v in _NOT_AN_OBJECT]
        properties = s.get("properties") or {}
        for required in s.get("required") or ():
            found.append(Breakage("missing", (*path, required), required))
        for key, item in value.items():
            if key in properties:
                found += breakages(properties[key], item, (*path, key))
    if "minimum" in s and kind in ("integer", "number"):
        found.append(Breakage("below the minimum", path, name, s["minimum"] - 1))
    if "maximum" in s and kind in ("integer", "number"):
        found.append(Breakage("above the maximum", path, name, s["maximum"] + 1))
    return found


def broken(body: Any, breakage: Breakage) -> Any:
    body = json.loads(json.dumps(body))
    target = body
    for part in breakage.path[:-1]:
        target = target[part]
    if breakage.kind == "missing":
        del target[breakage.path[-1]]
    else:
        target[breakage.path[-1]] = breakage.value
    return body


def forbidden_answers(op: SpecOperation, *, success: bool = True) -> SearchStrategy[tuple[Any, Breakage]]:
    """An answer broken in one way the spec forbids: a success answer anywhere, an answer with
    another documented code anywhere but in its (still readable) code field."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Any, Breakage]:
        canonical = draw(response_pairs(op, success=success))[1]

        def options() -> list[Breakage]:
            found = breakages(op.response_schema, canonical)
            return [b for b in found if success or b.path[:1] != (op.sdk.code_field,)]

        if not options():  # nothing but the code: give the answer its message, to break that
            canonical = {**canonical, op.sdk.message_fields[0]: "x"}
        breakage = draw(st.sampled_from(options()))
        return broken(canonical, breakage), breakage

    return build()


# ---------------------------------------------------------------------- models for round trips
def model_schemas() -> list[tuple[str, type[BaseModel], dict[str, Any]]]:
    """(label, model, schema) for every request and response model of the operations, and the
    callback's models."""
    found: dict[str, tuple[str, type[BaseModel], dict[str, Any]]] = {}
    for op in OPERATIONS:
        found.setdefault(op.request_model.__name__, (op.request_model.__name__, op.request_model, op.request_schema))
        found.setdefault(op.response_model.__name__, (op.response_model.__name__, op.response_model, op.response_schema))
    for name in ("DeliveryCallback", "ZaloErrorInfo"):
        found[name] = (name, getattr(models, name), {"$ref": f"#/components/schemas/{name}"})
    return sorted(found.values())


def is_request_model(model: type[BaseModel]) -> bool:
    return any(op.request_model is model for op in OPERATIONS)


_EXAMPLE_KWARGS: dict[str, dict[str, Any]] = {}


def first_example_kwargs(op: SpecOperation) -> dict[str, Any]:
    """Arguments of the operation from the spec's first example: any valid call will do when the
    answer is scripted."""
    if not _EXAMPLE_KWARGS:
        from sdk_fakes import load_operation_examples

        for example in load_operation_examples():
            _EXAMPLE_KWARGS.setdefault(example.operation_id, example.kwargs())
    return dict(_EXAMPLE_KWARGS[op.operation_id])
