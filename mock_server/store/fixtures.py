"""Fixtures: what the mock knows before the first request, validated against the control-plane spec.

The schema is `Fixtures` in spec/mock-control.openapi.yaml; this module turns a validated
document into typed records with every default filled in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

import esms_spec
from mock_server.esms.phones import recipient_key
from mock_server.store import document_limits, secret_digest
from mock_server.esms.spec import to_json_schema

CONTROL_SPEC_PATH = esms_spec.spec_path(esms_spec.CONTROL_SPEC)
DEMO_FIXTURES_PATH = Path(__file__).resolve().parents[1] / "demo_fixtures.yaml"

OUTCOMES = ("delivered", "rejected", "never_answered")


class FixtureError(ValueError):
    """The fixtures document does not follow the Fixtures schema; `problems` lists each finding."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class FixtureConflict(FixtureError):
    """The document follows the schema but names one thing twice (an api_key, an OA, a template id):
    a rule JSON Schema cannot state, answered 409 by the control plane."""


@dataclass(frozen=True)
class TemplateParam:
    name: str
    type: str = "STRING"
    max_length: int = 30
    min_length: int = 0
    required: bool = True


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    tag: str
    sms_type: str
    status: str
    journey: bool
    content: str
    price: float | None
    params: tuple[TemplateParam, ...]


@dataclass(frozen=True)
class Rating:
    template_id: str
    rate: int
    submitted_at: str
    feedbacks: tuple[str, ...] = ()
    note: str = ""
    msg_id: str = ""
    tracking_id: str = ""


@dataclass(frozen=True)
class Oa:
    oaid: str
    name: str
    status: str
    daily_quota: int
    exceed_quota_allowed: bool
    quality_current: str
    quality_seven_day: str
    followers: tuple[str, ...]
    tags: dict[str, tuple[str, ...]]
    templates: dict[str, Template]
    ratings: tuple[Rating, ...]


@dataclass(frozen=True)
class MultichannelTemplate:
    id: str
    oaid: str
    template_id: str
    brandname: str
    code_length: int


@dataclass(frozen=True)
class Account:
    api_key: str
    # The SecretKey as the store keeps it: its keyed digest (mock_server.store.secret_digest). In a
    # document that did not come from the store (a file being checked), the secret as written.
    secret_digest: str = field(repr=False)
    balance: float
    user_id: int
    status: str
    allowed_ips: tuple[str, ...] | None
    brandnames: tuple[str, ...]
    multichannel_templates: dict[str, MultichannelTemplate]
    oas: dict[str, Oa]


@dataclass(frozen=True)
class Outcome:
    """What happens to a message sent to one recipient."""

    kind: str  # delivered | rejected | never_answered | zalo_error | result_code
    zalo_error: int = 0
    message: str = ""
    result_code: str = ""

    @classmethod
    def parse(cls, raw: Any) -> Outcome:
        if isinstance(raw, str):
            return cls(raw)
        if "zalo_error" in raw:
            return cls("zalo_error", zalo_error=int(raw["zalo_error"]), message=raw.get("message", ""))
        return cls("result_code", result_code=str(raw["result_code"]))

    def to_fixture(self) -> Any:
        if self.kind in OUTCOMES:
            return self.kind
        if self.kind == "zalo_error":
            return {"zalo_error": self.zalo_error, "message": self.message} if self.message else {"zalo_error": self.zalo_error}
        return {"result_code": self.result_code}


@dataclass(frozen=True)
class Prices:
    zns: float = 440.0
    zns_priority: float = 550.0
    follower: float = 55.0
    sms: float = 850.0


@dataclass(frozen=True)
class Fixtures:
    accounts: tuple[Account, ...]
    recipients: dict[str, Outcome]
    prices: Prices
    document: dict[str, Any]  # as stored (secrets as digests), for GET /_mock/fixtures
    # How a SecretKey sent in a request becomes what `Account.secret_digest` holds.
    digest: Callable[[str], str] = field(default=lambda secret: secret, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {a.api_key: a for a in self.accounts})
        object.__setattr__(self, "_by_oa", {oaid: a for a in self.accounts for oaid in a.oas})
        object.__setattr__(self, "_digests", frozenset(a.secret_digest for a in self.accounts))

    def account(self, api_key: str, secret_key: str) -> Account | None:
        found: Account | None = self._by_key.get(api_key)  # type: ignore[attr-defined]
        if found is None or not secret_digest.matches(found.secret_digest, self.digest(secret_key)):
            return None
        return found

    def is_a_secret(self, text: str) -> bool:
        """Whether `text` is the SecretKey of an account (to mask it wherever it would be shown)."""
        return self.digest(text) in self._digests  # type: ignore[attr-defined]

    def oa_owner(self, oaid: str) -> Account | None:
        """The account an OA is attached to, if any."""
        return self._by_oa.get(oaid)  # type: ignore[attr-defined,no-any-return]


_validator: jsonschema_rs.Validator | None = None


def _schema_validator() -> jsonschema_rs.Validator:
    global _validator
    if _validator is None:
        schemas = esms_spec.load_yaml(CONTROL_SPEC_PATH)["components"]["schemas"]
        schema = to_json_schema(schemas["Fixtures"])
        schema["definitions"] = {name: to_json_schema(s) for name, s in schemas.items()}
        _validator = jsonschema_rs.Draft4Validator(json.loads(json.dumps(schema).replace("#/components/schemas/", "#/definitions/")))
    return _validator


def read_document(path: Path | str) -> dict[str, Any]:
    """A fixtures file (YAML or JSON) as a document; not yet validated."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        if str(path).endswith(".json"):
            document = json.loads(text)
        else:
            document_limits.check_yaml_nesting(text)
            document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        document_limits.check_tree(document)
    except document_limits.DocumentTooComplex as exc:
        raise FixtureError(f"{path}: {exc}") from None
    except RecursionError:  # JSON nested deeper than the interpreter's recursion limit
        raise FixtureError(f"{path}: {document_limits.DocumentTooComplex.__doc__}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise FixtureError(f"{path}: not valid YAML or JSON: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise FixtureError(f"{path}: the fixtures must be a mapping with accounts and recipients")
    return document


def parse(document: Any, digest: Callable[[str], str] | None = None) -> Fixtures:
    """Validate a document and build the typed fixtures; `digest` is the store's (see Fixtures.digest)."""
    errors = list(_schema_validator().iter_errors(document))
    if errors:
        lines = [f"{_where(document, e.instance_path)}: {e.message}" for e in errors[:10]]
        raise FixtureError("fixtures do not follow the Fixtures schema:\n  " + "\n  ".join(lines), lines)
    conflicts = _conflicts(document)
    if conflicts:
        raise FixtureConflict("fixtures name the same thing twice:\n  " + "\n  ".join(conflicts), conflicts)
    accounts = tuple(_account(raw, index) for index, raw in enumerate(document.get("accounts", [])))
    recipients = {recipient_key(key): Outcome.parse(value) for key, value in document.get("recipients", {}).items()}
    prices = Prices(**document.get("prices", {}))
    return Fixtures(accounts, recipients, prices, document) if digest is None else Fixtures(
        accounts, recipients, prices, document, digest)


def _conflicts(document: dict[str, Any]) -> list[str]:
    """Identifiers that must be unique: api_key over accounts, oaid over all OAs, a template id
    within its OA, a multichannel template id within its account."""
    found: list[str] = []

    def once(seen: dict[str, str], key: str, where: str, what: str) -> None:
        if key in seen:
            found.append(f"{where}: {what} {key!r} is already at {seen[key]}")
        else:
            seen[key] = where

    api_keys: dict[str, str] = {}
    oaids: dict[str, str] = {}
    for a, account in enumerate(document.get("accounts", [])):
        once(api_keys, account["api_key"], f"accounts/{a}/api_key", "api_key")
        multichannel: dict[str, str] = {}
        for t, template in enumerate(account.get("multichannel_templates", [])):
            once(multichannel, template["id"], f"accounts/{a}/multichannel_templates/{t}/id", "template id")
        for o, oa in enumerate(account.get("oas", [])):
            once(oaids, oa["oaid"], f"accounts/{a}/oas/{o}/oaid", "OA")
            templates: dict[str, str] = {}
            for t, template in enumerate(oa.get("templates", [])):
                once(templates, template["id"], f"accounts/{a}/oas/{o}/templates/{t}/id", "template id")
    return found


def _where(document: Any, instance_path: Any) -> str:
    """The path of an error as the document spells it (jsonschema-rs turns digit-only keys into ints)."""
    parts: list[str] = []
    node = document
    for step in instance_path:
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            parts.append(str(step))
            node = node[step]
        elif isinstance(node, dict):
            key = next((k for k in node if k == step or str(k) == str(step) or (str(k).lstrip("+0").isdigit() and int(str(k).lstrip("+")) == step)), str(step))
            parts.append(str(key))
            node = node.get(key)
        else:
            parts.append(str(step))
            node = None
    return "/".join(parts) or "(top)"


def _account(raw: dict[str, Any], index: int) -> Account:
    return Account(
        api_key=raw["api_key"],
        secret_digest=raw["secret_key"],
        balance=float(raw.get("balance", 1_000_000)),
        user_id=int(raw.get("user_id", 10001 + index)),
        status=raw.get("status", "active"),
        allowed_ips=tuple(raw["allowed_ips"]) if "allowed_ips" in raw else None,
        brandnames=tuple(raw.get("brandnames", ["DEMO"])),
        multichannel_templates={
            t["id"]: MultichannelTemplate(t["id"], t["oaid"], t["template_id"], t.get("brandname", "DEMO"), t.get("code_length", 6))
            for t in raw.get("multichannel_templates", [])
        },
        oas={oa["oaid"]: _oa(oa) for oa in raw.get("oas", [])},
    )


def _oa(raw: dict[str, Any]) -> Oa:
    quality = raw.get("quality", {})
    return Oa(
        oaid=raw["oaid"],
        name=raw.get("name", raw["oaid"]),
        status=raw.get("status", "active"),
        daily_quota=int(raw.get("daily_quota", 500)),
        exceed_quota_allowed=bool(raw.get("exceed_quota_allowed", False)),
        quality_current=quality.get("current", "HIGH"),
        quality_seven_day=quality.get("seven_day", "HIGH"),
        followers=tuple(raw.get("followers", [])),
        tags={name: tuple(uids) for name, uids in raw.get("tags", {}).items()},
        templates={t["id"]: _template(t) for t in raw.get("templates", [])},
        ratings=tuple(
            Rating(r["template_id"], r["rate"], r["submitted_at"], tuple(r.get("feedbacks", [])), r.get("note", ""), r.get("msg_id", ""), r.get("tracking_id", ""))
            for r in raw.get("ratings", [])
        ),
    )


def _template(raw: dict[str, Any]) -> Template:
    params = tuple(
        TemplateParam(p["name"], p.get("type", "STRING"), p.get("max_length", 30), p.get("min_length", 0), p.get("required", True))
        for p in raw.get("params", [])
    )
    content = raw.get("content") or "<p>" + " ".join("{{%s}}" % p.name for p in params) + "</p>"
    return Template(
        id=raw["id"],
        name=raw.get("name", raw["id"]),
        tag=raw.get("tag", "TRANSACTION"),
        sms_type=raw.get("sms_type", "25"),
        status=raw.get("status", "ENABLE"),
        journey=bool(raw.get("journey", False)),
        content=content,
        price=raw.get("price"),
        params=params,
    )
