"""The inbox's list: the journal's messages (and refused requests, where the mock records them)
matching the filters of the page's URL, as the rows the list shows.

The filters the store indexes (SMSID, OA, recipient in any form, RequestId) are applied in SQL by
`journal.find_messages`, the control plane's own query; the rest (template, status, code, time)
on the entries it returns, which are at most `SCAN_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from mock_server.control import journal
from mock_server.store import Store
from mock_server.store.clock import VIETNAM
from mock_server.store.fixtures import Fixtures
from mock_server.ui import rendering

LIST_LIMIT = 100  # newest first; the filters find older ones
SCAN_LIMIT = 1000
STATUS_CHOICES = (("", "any status"), ("2", "2 waiting"), ("7", "7 at Zalo or the carrier"), ("5", "5 finished"),
                  ("4", "4 rejected"), ("refused", "refused request"))


@dataclass(frozen=True)
class Filters:
    """The list's filters, as the page's query string carries them (so a link can be shared)."""

    recipient: str = ""  # a phone in any 0/84/+84 form, a Zalo user id or a hash
    smsid: str = ""
    request_id: str = ""
    template: str = ""
    oa: str = ""
    status: str = ""
    code: str = ""
    since: str = ""  # datetime-local text, Vietnam time: 2025-01-15T09:30
    until: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        return cls(**{f.name: (args.get(f.name) or "").strip()[:200] for f in fields(cls)})

    def query(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def any(self) -> bool:
        return bool(self.query())


def _moment(text: str) -> datetime | None:
    """A filter's time (Vietnam time unless it says otherwise), or None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def _codes_of(entry: dict[str, Any]) -> set[str]:
    """The codes a person may search a message by: 100 (accepted) and its recipients' Zalo errors or results."""
    codes = {"100"}
    for recipient in entry.get("recipients", []):
        outcome = recipient.get("outcome")
        if isinstance(outcome, dict):
            codes.update(str(outcome[k]) for k in ("zalo_error", "result_code") if k in outcome)
    return codes


def _within(at: str | None, since: datetime | None, until: datetime | None) -> bool:
    if at is None or (since is None and until is None):
        return True
    moment = datetime.fromisoformat(at)
    return (since is None or moment >= since) and (until is None or moment <= until)


def _message_matches(entry: dict[str, Any], filters: Filters, since: datetime | None, until: datetime | None) -> bool:
    if filters.template and entry.get("template_id") != filters.template:
        return False
    if filters.status and str(entry["status"]["send_status"]) != filters.status:
        return False
    if filters.code and filters.code not in _codes_of(entry):
        return False
    return _within(entry.get("accepted_at"), since, until)


def message_row(entry: dict[str, Any], fixtures: Fixtures) -> dict[str, Any]:
    oa = rendering.find_oa(fixtures, entry.get("oaid"))
    template = oa.templates.get(entry["template_id"]) if oa is not None and entry.get("template_id") else None
    recipients = entry.get("recipients", [])
    status = entry["status"]
    return {
        "kind": "message",
        "id": entry["smsid"],
        "at": entry["accepted_at"],
        "recipient": ", ".join(r["recipient"] for r in recipients),
        "oa": oa.name if oa is not None else (entry.get("oaid") or ""),
        "operation": rendering.kind_label(entry),
        "template": template.name if template is not None else (entry.get("template_id") or ""),
        "send_status": status["send_status"],
        "status_label": status["label"],
        "final": status["final"],
        "outcome": "; ".join(rendering.outcome_label(r["outcome"]) for r in recipients) if status["final"] else "",
        "success": status["final"] and status["delivered"] == len(recipients),
        "sandbox": entry["sandbox"],
        "price": sum(r["price"] for r in recipients),
        "smsid": entry["smsid"],
        "request_id": entry.get("request_id") or "",
    }


def request_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A request the mock did not accept (from the request journal), as a list row."""
    return {
        "kind": "request",
        "id": str(entry.get("id", "")),
        "at": entry.get("received_at") or "",
        "recipient": entry.get("recipient") or "",
        "oa": "",
        "operation": entry.get("operation") or entry.get("path") or "",
        "template": "",
        "outcome": entry.get("outcome") or "refused",
        "code": entry.get("code") or "",
        "reason": entry.get("reason") or "",
        "did_you_mean": entry.get("did_you_mean") or "",
        "body": rendering.pretty_json(entry.get("body")) if entry.get("body") is not None else "",
        "request_id": entry.get("request_id") or "",
        "smsid": entry.get("smsid") or "",
    }


def message_entries(store: Store, filters: Filters, now: float) -> list[dict[str, Any]]:
    if filters.status == "refused":
        return []
    # Read only what the list shows unless some filter is applied after the query.
    scan = SCAN_LIMIT if (filters.template or filters.status or filters.code or filters.since or filters.until) else LIST_LIMIT
    rows = journal.find_messages(store, smsid=filters.smsid or None, oaid=filters.oa or None,
                                 recipient=filters.recipient or None, request_id=filters.request_id or None,
                                 limit=scan)
    since, until = _moment(filters.since), _moment(filters.until)
    entries = [e for e in journal.messages_json(store, rows, now) if _message_matches(e, filters, since, until)]
    return entries[:LIST_LIMIT]


def request_filters(filters: Filters) -> dict[str, Any] | None:
    """The request journal's query for these filters (keywords of `request_log.find`); None when
    they can only match messages."""
    if filters.status and filters.status != "refused" or filters.template or filters.oa:
        return None
    since, until = _moment(filters.since), _moment(filters.until)
    return {"recipient_keys": journal.recipient_keys(filters.recipient) if filters.recipient else (),
            "smsid": filters.smsid or None, "request_id": filters.request_id or None, "code": filters.code or None,
            "since": since.timestamp() if since else None, "until": until.timestamp() if until else None}


def merge(messages: list[dict[str, Any]], requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message rows and request rows together, newest first, at most LIST_LIMIT."""
    def moment(row: dict[str, Any]) -> float:
        parsed = _moment(row["at"]) if row["at"] else None
        return parsed.timestamp() if parsed else 0.0

    return sorted([*messages, *requests], key=moment, reverse=True)[:LIST_LIMIT]


def version(store: Store, now: float, newest_request: str) -> str:
    """What the list depends on, in a few cheap reads: a poll whose version has not changed is
    answered 304 without reading or rendering the list. Messages still on their way change with
    the clock, so while one of the newest is, the version changes every second."""
    db = store.connection()
    newest_seq, latest_final = db.execute(
        "SELECT MAX(seq), MAX(final_at) FROM (SELECT seq, final_at FROM messages ORDER BY seq DESC LIMIT ?) AS newest",
        (LIST_LIMIT,)).fetchone()
    offset, fixtures_version, _ = store.state()
    moving = int(now) if latest_final is not None and latest_final > now - 1 else 0
    return f"{newest_seq or 0}-{fixtures_version}-{offset:g}-{moving}-{newest_request}"
