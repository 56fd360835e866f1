"""The journal as the control plane shows it: stored messages, recipients and callbacks as JSON.

Everything time-dependent (a recipient's SendStatus, a delivery timeline) is derived from the
mock clock with `delivery.progress`, as the eSMS status operations derive it, so the journal and
`GetSendStatus` tell the same story. Nothing here ever shows a SecretKey: the handlers store the
request without it, and `scrub` masks any key named like it, any text that is an account's
SecretKey (the store keeps only digests, so such text is recognised by its digest), and any
secret of a document being loaded, in whatever the control plane answers.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from mock_server.store.clock import VIETNAM
from mock_server.esms.delivery import FINISHED, HANDED_TO_CARRIER, REJECTED, WAITING, progress
from mock_server.store.fixtures import Fixtures, Outcome
from mock_server.esms.phones import hashed, recipient_key
from mock_server.store import Store, secret_digest

MASK = secret_digest.MASK
CALLBACK_STATES = ("pending", "delivered", "failed")
STATUS_LABELS = {
    WAITING: "waiting",
    HANDED_TO_CARRIER: "handed to Zalo or the carrier",
    REJECTED: "rejected",
    FINISHED: "finished",
}
_SECRET_FIELDS = frozenset({"secretkey", "secret_key"})
_MIN_SECRET_LENGTH = 4  # shorter "secrets" would mask innocent text; the schema asks for 1+ characters


def iso(at: float | None) -> str | None:
    """ISO 8601 in Vietnam time with milliseconds: `2025-01-15T09:30:00.000+07:00`."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, VIETNAM).isoformat(timespec="milliseconds")


# ---------------------------------------------------------------------- secrets
def secrets_of(document: Any) -> set[str]:
    """Every secret_key value of a (possibly invalid) fixtures document being loaded."""
    return {secret for secret in _secret_values(document) if len(secret) >= _MIN_SECRET_LENGTH and secret != MASK}


def _secret_values(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.lower() in _SECRET_FIELDS and isinstance(value, str):
                yield value
            else:
                yield from _secret_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_values(item)


def scrub(node: Any, secrets: set[str], fixtures: Fixtures | None = None) -> Any:
    """A copy of `node` with SecretKey-like fields masked, any text holding one of `secrets` masked,
    and any text that is the SecretKey of an account of `fixtures` masked."""
    if isinstance(node, dict):
        return {key: MASK if isinstance(key, str) and key.lower() in _SECRET_FIELDS else scrub(value, secrets, fixtures)
                for key, value in node.items()}
    if isinstance(node, list):
        return [scrub(item, secrets, fixtures) for item in node]
    if isinstance(node, str):
        if fixtures is not None and len(node) >= _MIN_SECRET_LENGTH and fixtures.is_a_secret(node):
            return MASK
        for secret in secrets:
            if secret in node:
                node = node.replace(secret, MASK)
    return node


def masked_fixtures(document: dict[str, Any]) -> dict[str, Any]:
    """The fixtures document with every `secret_key` (a digest) shown as `********`."""
    return scrub(document, set())  # type: ignore[no-any-return]


def fixtures_summary(fixtures: Fixtures) -> dict[str, Any]:
    oas = [oa for account in fixtures.accounts for oa in account.oas.values()]
    return {
        "accounts": len(fixtures.accounts),
        "oas": len(oas),
        "templates": sum(len(oa.templates) for oa in oas),
        "multichannel_templates": sum(len(a.multichannel_templates) for a in fixtures.accounts),
        "recipients": len(fixtures.recipients),
    }


# ---------------------------------------------------------------------- reading the store
def find_messages(store: Store, *, smsid: str | None = None, oaid: str | None = None, recipient: str | None = None,
                  request_id: str | None = None, limit: int = 100) -> list[sqlite3.Row]:
    """Messages matching every given filter, newest first.

    `recipient` is a phone number in any 0/84/+84 form (also matching a message sent to its
    SHA-256 with hash_phone), a Zalo user id, or a hash as sent.
    """
    clauses: list[str] = []
    args: list[Any] = []
    if smsid:
        clauses.append("m.smsid = ?")
        args.append(smsid)
    if oaid:
        clauses.append("m.oaid = ?")
        args.append(oaid)
    if request_id:
        clauses.append("(m.request_id = ? OR EXISTS (SELECT 1 FROM request_ids r WHERE r.smsid = m.smsid AND r.request_id = ?))")
        args += [request_id, request_id]
    if recipient:
        keys = {recipient_key(recipient), recipient.strip()}
        key = recipient_key(recipient)
        if key.isdigit() and key.startswith("0"):
            keys.add(hashed(key))
        marks = ",".join("?" * len(keys))
        clauses.append(f"(m.recipient_key IN ({marks}) OR m.recipient IN ({marks}))")
        args += [*keys, *keys]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return store.connection().execute(  # type: ignore[no-any-return]
        f"SELECT m.* FROM messages m{where} ORDER BY m.seq DESC LIMIT ?", (*args, limit)  # noqa: S608
    ).fetchall()


def recipient_keys(recipient: str) -> list[str]:
    """The stored keys a recipient filter matches: any 0/84/+84 form of a phone (and its SHA-256),
    a Zalo user id or a hash as sent."""
    key = recipient_key(recipient)
    keys = {key, recipient.strip()}
    if key.isdigit() and key.startswith("0"):
        keys.add(hashed(key))
    return sorted(keys)


MAX_EPOCH_SECONDS = 99_999_999_999.0  # the year 5138: any later "time" is a mistake
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


def parse_time(raw: str) -> float | None:
    """Seconds since the epoch from an RFC 3339 date-time (ISO 8601 with seconds and an offset)
    or from seconds since the epoch; None if it is neither (the spec's `TimeFilter`)."""
    text = raw
    if _NUMBER.match(text):
        value = float(text)
        return value if 0 <= value <= MAX_EPOCH_SECONDS else None
    if not _DATE_TIME.match(text):
        return None
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    whole, dot, fraction = text.partition(".")
    if dot:  # Python before 3.11 reads 3 or 6 digits of fraction only: keep microseconds
        digits = re.match(r"[0-9]*", fraction).group()  # type: ignore[union-attr]
        text = f"{whole}.{digits[:6].ljust(6, '0')}{fraction[len(digits):]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # e.g. month 13 or second 60
        return None
    return moment.timestamp()


def request_json(row: sqlite3.Row) -> dict[str, Any]:
    """One entry of the request journal (GET /_mock/requests)."""
    try:
        body = json.loads(row["body"])
    except ValueError:
        body = row["body"]
    return {
        "id": int(row["id"]),
        "received_at": iso(row["received_at"]),
        "method": row["method"],
        "path": row["path"],
        "operation": row["operation"],
        "outcome": row["outcome"],
        "code": row["code"],
        "reason": row["reason"],
        "field": row["field"],
        "http_status": int(row["http_status"]),
        "smsid": row["smsid"],
        "request_id": row["request_id"],
        "recipient": row["recipient"],
        "scope": row["scope"],
        "forced": row["forced"],
        "body": body,
        "did_you_mean": row["did_you_mean"],
    }


def callbacks_of(store: Store, smsids: Sequence[str]) -> dict[str, list[sqlite3.Row]]:
    found: dict[str, list[sqlite3.Row]] = {smsid: [] for smsid in smsids}
    for start in range(0, len(smsids), 500):
        chunk = list(smsids[start:start + 500])
        marks = ",".join("?" * len(chunk))
        for row in store.connection().execute(
            f"SELECT * FROM callbacks WHERE smsid IN ({marks}) ORDER BY id", chunk  # noqa: S608
        ):
            found[row["smsid"]].append(row)
    return found


def advance_clock(store: Store, seconds: float, limit: float) -> float | None:
    """Move the mock clock forward atomically (concurrent advances add up); the new offset, or
    None (and no move) when the offset would pass `limit`."""
    with store.transaction() as db:
        row = db.execute("UPDATE meta SET clock_offset = clock_offset + ? WHERE clock_offset + ? <= ? "
                         "RETURNING clock_offset", (seconds, seconds, limit)).fetchone()
        return None if row is None else float(row[0])


# ---------------------------------------------------------------------- JSON
def clock_json(offset: float, now: float) -> dict[str, Any]:
    return {"now": round(now, 3), "now_iso": iso(now), "offset_seconds": offset}


def _outcome(row: sqlite3.Row) -> Outcome:
    return Outcome.parse(json.loads(row["outcome_json"]))


def _status(message: sqlite3.Row, recipient: sqlite3.Row, now: float) -> dict[str, Any]:
    state = progress(_outcome(recipient), message["send_at"], message["final_at"], now)
    return {"send_status": state.send_status, "label": STATUS_LABELS.get(state.send_status, ""),
            "final": state.final, "sent": state.sent, "success": state.success}


def _message_status(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    """The message's SendStatus as GetSendStatus computes it from its recipients."""
    if not statuses:
        send_status, final = WAITING, False
    elif not all(s["final"] for s in statuses):
        send_status = HANDED_TO_CARRIER if any(s["send_status"] == HANDED_TO_CARRIER for s in statuses) else WAITING
        final = False
    else:
        send_status = REJECTED if all(s["send_status"] == REJECTED for s in statuses) else FINISHED
        final = True
    return {"send_status": send_status, "label": STATUS_LABELS[send_status], "final": final,
            "delivered": sum(1 for s in statuses if s["success"]),
            "failed": sum(1 for s in statuses if s["final"] and not s["success"])}


def timeline(message: sqlite3.Row, recipient: sqlite3.Row, now: float) -> list[dict[str, Any]]:
    """When the recipient's SendStatus was or will be 2, 7 and final, from the same rule as `progress`."""
    outcome = _outcome(recipient)
    send_at, final_at = message["send_at"], message["final_at"]
    moments = [message["accepted_at"], send_at + (final_at - send_at) / 2, final_at]
    events: list[dict[str, Any]] = []
    for at in moments:
        state = progress(outcome, send_at, final_at, at)
        if events and events[-1]["send_status"] == state.send_status:
            continue
        events.append({"send_status": state.send_status, "label": STATUS_LABELS.get(state.send_status, ""),
                       "final": state.final, "at": iso(at), "reached": now >= at})
    return events


def _recipient_json(message: sqlite3.Row, row: sqlite3.Row, now: float, *, with_timeline: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "recipient": row["recipient"],
        "outcome": _outcome(row).to_fixture(),
        "price": float(row["price"]),
        "network": row["network"],
        "telcoid": int(row["telcoid"]),
        "zalo_msg_id": row["zalo_msg_id"],
        "status": _status(message, row, now),
    }
    if with_timeline:
        entry["timeline"] = timeline(message, row, now)
    return entry


def _callbacks_summary(rows: list[sqlite3.Row]) -> dict[str, int]:
    summary = {"total": len(rows), "pending": 0, "delivered": 0, "failed": 0, "attempts": 0}
    for row in rows:
        summary[row["state"]] = summary.get(row["state"], 0) + 1
        summary["attempts"] += int(row["attempts"])
    return summary


def callback_json(row: sqlite3.Row, attempts: list[sqlite3.Row]) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "smsid": row["smsid"],
        "url": row["url"],
        "query": row["query"],
        "state": row["state"],
        "due_at": iso(row["due_at"]),
        "next_attempt_at": iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
        "last_error": row["last_error"],
        "attempt_count": len(attempts),
        "attempts": [
            {"attempt": int(a["attempt"]), "at": iso(a["at"]), "status_code": a["status_code"], "error": a["error"],
             "duration_ms": round(float(a["duration_ms"]), 3)}
            for a in attempts
        ],
    }


def message_json(message: sqlite3.Row, recipients: list[sqlite3.Row], callbacks: list[sqlite3.Row], now: float,
                 attempts: dict[int, list[sqlite3.Row]] | None = None) -> dict[str, Any]:
    """One journal entry; with `attempts`, the detailed form (timelines and every callback attempt)."""
    detailed = attempts is not None
    entries = [_recipient_json(message, row, now, with_timeline=detailed) for row in recipients]
    entry: dict[str, Any] = {
        "smsid": message["smsid"],
        "operation": message["operation"],
        "type_id": int(message["type_id"]),
        "oaid": message["oaid"],
        "template_id": message["template_id"],
        "campaign": message["campaign"],
        "request_id": message["request_id"],
        "callback_url": message["callback_url"],
        "sandbox": bool(message["sandbox"]),
        "accepted_at": iso(message["accepted_at"]),
        "send_at": iso(message["send_at"]),
        "final_at": iso(message["final_at"]),
        "status": _message_status([e["status"] for e in entries]),
        "content": message["content"],
        "request": json.loads(message["body_json"]),
        "extra": json.loads(message["extra_json"] or "{}"),
        "recipients": entries,
    }
    if detailed:
        entry["callbacks"] = [callback_json(row, attempts.get(int(row["id"]), [])) for row in callbacks]
    else:
        entry["callbacks"] = _callbacks_summary(callbacks)
    return entry


def messages_json(store: Store, rows: list[sqlite3.Row], now: float) -> list[dict[str, Any]]:
    smsids = [row["smsid"] for row in rows]
    recipients = store.recipients_of(smsids)
    callbacks = callbacks_of(store, smsids)
    return [message_json(row, recipients[row["smsid"]], callbacks[row["smsid"]], now) for row in rows]


def message_detail(store: Store, smsid: str, now: float) -> dict[str, Any] | None:
    message = store.message(smsid)
    if message is None:
        return None
    callbacks = store.callbacks_for(smsid)
    attempts = store.callback_attempts([int(row["id"]) for row in callbacks])
    return message_json(message, store.recipients(smsid), callbacks, now, attempts)


def callbacks_json(store: Store, *, smsid: str | None, state: str | None, limit: int) -> list[dict[str, Any]]:
    rows = store.all_callbacks(smsid=smsid, state=state, limit=limit)
    attempts = store.callback_attempts([int(row["id"]) for row in rows])
    return [callback_json(row, attempts[int(row["id"])]) for row in rows]
