"""What every handler shares: the call context, OA/template checks, scheduling and acceptance."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mock_server.esms.callbacks import Dispatcher
from mock_server.store.clock import parse_vietnam_datetime
from mock_server.esms.delivery import QUOTA_EXCEEDED, charges, outcome_for
from mock_server.store.fixtures import Account, Fixtures, Oa, Outcome, Template
from mock_server.esms.phones import national, recipient_key, telco
from mock_server.esms.results import EsmsError
from mock_server.esms.spec import Operation
from mock_server.store import CallbackDraft, MessageDraft, RecipientDraft, Refused, Store

log = logging.getLogger("esms_mock.messages")

ZALO_NETWORK = "Zalo"
ZALO_TELCOID = 9  # the telcoid of a Zalo user id (the vendor's UID callback sample), as the callback sends it


@dataclass
class Call:
    """One validated request and everything a handler may use."""

    op: Operation
    data: dict[str, Any]
    account: Account
    fixtures: Fixtures
    store: Store
    now: float
    delivery_delay: float
    dispatcher: Dispatcher | None


# ---------------------------------------------------------------------- lookups
def require_oa(call: Call, oaid: str) -> Oa:
    """204 when no account has the OA; 799 when it is another account's or inactive.

    799 is a ZNS code: the operations whose code list has no 799 (follower messages, template
    lists, registrations) answer 204 for an OA they cannot use, as for an unknown one.
    """
    owner = call.fixtures.oa_owner(oaid)
    if owner is None:
        raise EsmsError("204", f"OAID {oaid} not found")
    unusable = "799" if "799" in call.op.result_codes else "204"
    if owner.api_key != call.account.api_key:
        raise EsmsError(unusable, f"OAID {oaid} is not attached to this account")
    oa = owner.oas[oaid]
    if oa.status != "active":
        raise EsmsError(unusable, f"OAID {oaid} is inactive")
    return oa


def require_template(oa: Oa, template_id: str) -> Template:
    template = oa.templates.get(template_id)
    if template is None:
        raise EsmsError("789", f"TemplateId is not config: {template_id} is not set up for OA {oa.oaid}")
    if template.status != "ENABLE":
        raise EsmsError("789", f"TemplateId is not config: template {template_id} is {template.status}")
    return template


def check_values(template: Template, values: dict[str, str]) -> None:
    """790 unless the values fit the template's variables."""
    known = {p.name for p in template.params}
    if not known.issuperset(values):
        unknown = sorted(set(values) - known)
        raise EsmsError("790", f"Template data is not correct: {', '.join(unknown)} not in template {template.id}")
    for param in template.params:
        value = values.get(param.name)
        if value is None or value == "":
            if param.required:
                raise EsmsError("790", f"Template data is not correct: {param.name} is missing")
            continue
        if not isinstance(value, str):
            raise EsmsError("790", f"Template data is not correct: {param.name} must be a string")
        if len(value) > param.max_length or len(value) < param.min_length:
            raise EsmsError("790", f"Template data is not correct: {param.name} must be {param.min_length} to {param.max_length} characters")
        if param.type == "NUMBER" and not (value.isdigit() and len(value) <= 12):
            raise EsmsError("790", f"Template data is not correct: {param.name} must be digits (at most 12)")
        if param.type == "DATE":
            try:
                parse_vietnam_datetime(value, "%d/%m/%Y")
            except ValueError:
                raise EsmsError("790", f"Template data is not correct: {param.name} must be a dd/MM/yyyy date") from None


def values_from_params(template: Template, params: list[str]) -> dict[str, str]:
    """Positional `Params` in the order of the template's variables."""
    if len(params) != len(template.params):
        raise EsmsError("790", f"Template data is not correct: template {template.id} takes {len(template.params)} params, got {len(params)}")
    return {param.name: value for param, value in zip(template.params, params)}


def check_sending_mode(data: dict[str, Any], oa: Oa) -> bool:
    """True for exceed-quota sending (mode 3), after its two documented refusals."""
    if data.get("SendingMode") != "3":
        return False
    if data.get("SendDate"):
        raise EsmsError("801")
    if not oa.exceed_quota_allowed:
        raise EsmsError("802")
    return True


def schedule(call: Call, send_date: str | None) -> tuple[float, float]:
    """(send_at, final_at): now or the SendDate (Vietnam time), then the delivery delay."""
    send_at = call.now
    if send_date:
        try:
            send_at = max(call.now, parse_vietnam_datetime(send_date))
        except ValueError:
            raise EsmsError(call.op.invalid_request_code, f"SendDate {send_date!r} is not a valid yyyy-MM-dd HH:mm:ss date") from None
    return send_at, send_at + call.delivery_delay


def zns_price(call: Call, template: Template | None, sms_type: str = "25") -> float:
    if template is not None and template.price is not None:
        return float(template.price)
    kind = template.sms_type if template is not None else sms_type
    return call.fixtures.prices.zns_priority if kind == "24" else call.fixtures.prices.zns


# ---------------------------------------------------------------------- building messages
# Identifiers start with the time in milliseconds (12 hex digits), like a UUIDv7: each new one sorts
# after the last, so storing it appends to its index instead of touching a random page (random ids
# made an accepted message write several more pages, measured in `make bench`). The rest is random,
# from the process's Mersenne Twister (reseeded in every forked worker by the random module): these
# identify messages, they protect nothing, and a system call per id showed in profiles.
# %-formatting and random() rather than format specs and randrange (Python code): these run for
# every message, and this way cost a quarter less.
def _time_prefix() -> str:
    return "%012x" % (time.time_ns() // 1_000_000)


def new_smsid() -> str:
    """32 hex characters and a short decimal suffix (100 to 999), like the vendor's samples."""
    return "%s%020x%d" % (_time_prefix(), random.getrandbits(80), 100 + int(random.random() * 900))


def new_zalo_msg_id() -> str:
    """20 hex characters."""
    return "%s%08x" % (_time_prefix(), random.getrandbits(32))


def recipient(call: Call, address: str, *, price: float, by_uid: bool = False, outcome: Outcome | None = None) -> RecipientDraft:
    """A recipient with its outcome decided now; a synchronous outcome (`result_code`) refuses the request."""
    key = recipient_key(address)
    found = outcome or outcome_for(key, call.fixtures)
    if found.kind == "result_code":
        raise EsmsError(found.result_code)
    telcoid, network = (ZALO_TELCOID, ZALO_NETWORK) if by_uid else telco(key)
    return RecipientDraft(
        recipient=address,
        recipient_key=key,
        outcome=found,
        price=price if charges(found) else 0.0,
        telcoid=telcoid,
        network=network,
        zalo_msg_id=new_zalo_msg_id(),
    )


MAX_JOURNAL_DEPTH = 32
TOO_DEEP = "(nested too deeply to keep)"


def redacted(data: dict[str, Any]) -> dict[str, Any]:
    """The request as the journal keeps it: never the SecretKey, and no deeper than
    MAX_JOURNAL_DEPTH levels (an unknown field may hold anything the JSON parser accepts, and
    the journal must still be able to write it)."""
    # Scalars are taken as they are, without a call each: most of a body is scalars.
    return {key: _bounded(value, 1) if isinstance(value, (dict, list)) else value
            for key, value in data.items() if key != "SecretKey"}


def _bounded(value: dict[str, Any] | list[Any], depth: int) -> Any:
    if depth >= MAX_JOURNAL_DEPTH:
        return TOO_DEEP
    depth += 1
    if isinstance(value, dict):
        return {key: _bounded(item, depth) if isinstance(item, (dict, list)) else item for key, item in value.items()}
    return [_bounded(item, depth) if isinstance(item, (dict, list)) else item for item in value]


def request_ids(*values: Any) -> list[str]:
    """The request's RequestIds, each once: one request never collides with itself."""
    if len(values) == 1:  # most requests: one RequestId, or none
        value = values[0]
        return [value] if isinstance(value, str) and value else []
    return list(dict.fromkeys(value for value in values if isinstance(value, str) and value))


def accept(
    call: Call,
    drafts: list[MessageDraft],
    *,
    build_callbacks: Callable[[MessageDraft], list[CallbackDraft]] | None,
    oa: Oa | None = None,
    quota_exempt: bool = False,
    partial: bool = False,
) -> list[str | None]:
    """Store the messages in one transaction (124 and 103 come from here); the dispatcher is woken
    once they are committed, if they queued a callback."""
    try:
        results = call.store.accept(
            call.account.api_key,
            drafts,
            call.now,
            daily_quota=oa.daily_quota if oa else None,
            quota_exempt=quota_exempt,
            on_quota_exceeded=QUOTA_EXCEEDED,
            partial=partial,
            build_callbacks=build_callbacks,
        )
    except Refused as refused:
        raise EsmsError(refused.code, None) from None
    for draft, result in zip(drafts, results) if log.isEnabledFor(logging.INFO) else ():
        if result is None:
            log.info(
                "event=message_accepted smsid=%s operation=%s type_id=%d oaid=%s recipients=%d sandbox=%s price=%.0f",
                draft.smsid, draft.operation, draft.type_id, draft.oaid or "-", len(draft.recipients),
                str(draft.sandbox).lower(), draft.price,
            )
    if call.dispatcher is not None and any(d.callbacks for d in drafts):
        call.store.commits.after_commit(call.dispatcher.wake)
    return results


def phone_or_108(phone: str) -> str:
    digits = phone.lstrip("+")
    if not (digits.isdigit() and (national_form := national(phone)).startswith("0") and len(national_form) in (10, 11)):
        raise EsmsError("108", f"The phone number {phone} is not valid.")
    return phone
