"""Accepting messages: the RequestId, quota and balance checks, and the rows an accepted message writes.

The checks read, and what an accepted message stores is staged in memory (`StagedSends`) and
written just before its transaction commits. On the served mock's event loop every send of one
loop iteration shares one transaction (mock_server.loop_commits) and one `StagedSends`: a batch
reads the balance and the day's quota once, each send looks its RequestId up once, and the batch
writes one executemany per table. Writing per send (an upsert for the RequestId and the quota, an
update of the balance, an insert of the message, and a savepoint around them) took about twice the
SQLite time, measured with `make bench`.

The checks are exact because the transaction holds the writers' lock from its first read to its
commit: no other writer changes these rows meanwhile, and what an earlier send of the same batch
staged is counted (`StagedSends` answers from memory first). A refused send stages nothing: it
decides everything before it stages, so it needs no savepoint to undo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from mock_server.store import fixtures as fixtures_module
from mock_server.store.clock import vietnam_day
from mock_server.store.request_log import REQUEST_ID_WINDOW

if TYPE_CHECKING:
    from mock_server.store.sqlite import CallbackDraft, MessageDraft

_MESSAGE_COLUMNS = (
    "smsid, api_key, operation, type_id, oaid, template_id, campaign, request_id, callback_url, sandbox, "
    "accepted_at, send_at, final_at, content, body_json, extra_json, recipient, recipient_key, outcome_json, "
    "price, telcoid, network, zalo_msg_id"
)
_INSERT_MESSAGE = f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 23)})"
_INSERT_CALLBACK = "INSERT INTO callbacks (smsid, url, query, due_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)"
# Staged only once found unused or older than the window, so the conflict always takes the new one.
_RESERVE_REQUEST_ID = (
    "INSERT INTO request_ids (api_key, request_id, accepted_at, smsid) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (api_key, request_id) DO UPDATE SET accepted_at = excluded.accepted_at, smsid = excluded.smsid"
)
_ADD_QUOTA_USE = (
    "INSERT INTO quota_use (oaid, day, used) VALUES (?, ?, ?) "
    "ON CONFLICT (oaid, day) DO UPDATE SET used = quota_use.used + excluded.used"
)
_DEBIT = "UPDATE balances SET balance = balance - ? WHERE api_key = ?"

T = TypeVar("T")


class Refused(Exception):
    """The request stores nothing; `code` is the eSMS answer (124, 103)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class StagedSends:
    """What the accepted messages of one transaction store, held until `write` (just before its commit)."""

    def __init__(self, db: Any) -> None:
        self._db = db  # the transaction's connection (sqlite3, or the PostgreSQL store's)
        self._balances: dict[str, float | None] = {}  # balance with the staged debits; None: no such account
        self._debits: dict[str, float] = {}
        self._quota_used: dict[tuple[str, str], int] = {}  # (OAID, Vietnam day): used, staged use included
        self._quota_added: dict[tuple[str, str], int] = {}
        self._request_ids: dict[tuple[str, str], tuple[float, str]] = {}  # (ApiKey, RequestId): (accepted_at, SMSID)
        self._messages: list[tuple[Any, ...]] = []
        self._callbacks: list[tuple[Any, ...]] = []

    # ------------------------------------------------------------------ reading (staged first)
    def request_id_used(self, api_key: str, request_id: str, now: float) -> bool:
        """Whether the RequestId was accepted in the last 24 hours (eSMS answers 124)."""
        if (api_key, request_id) in self._request_ids:
            return True
        row = self._db.execute("SELECT accepted_at FROM request_ids WHERE api_key = ? AND request_id = ?",
                               (api_key, request_id)).fetchone()
        return row is not None and float(row[0]) > now - REQUEST_ID_WINDOW

    def quota_used(self, oaid: str, day: str) -> int:
        key = (oaid, day)
        used = self._quota_used.get(key)
        if used is None:
            row = self._db.execute("SELECT used FROM quota_use WHERE oaid = ? AND day = ?", key).fetchone()
            used = self._quota_used[key] = int(row[0]) if row else 0
        return used

    def balance(self, api_key: str) -> float | None:
        if api_key not in self._balances:
            row = self._db.execute("SELECT balance FROM balances WHERE api_key = ?", (api_key,)).fetchone()
            self._balances[api_key] = float(row[0]) if row else None
        return self._balances[api_key]

    # ------------------------------------------------------------------ staging and writing
    def stage(self, api_key: str, now: float, drafts: Sequence[MessageDraft], request_ids: dict[str, str],
              quota_used: dict[tuple[str, str], int], price: float) -> None:
        """Stage what accepted `drafts` store; nothing here can refuse them any more."""
        for request_id, smsid in request_ids.items():
            self._request_ids[(api_key, request_id)] = (now, smsid)
        for key, used in quota_used.items():
            self._quota_added[key] = self._quota_added.get(key, 0) + used - self.quota_used(*key)
            self._quota_used[key] = used
        if price > 0:
            self._balances[api_key] = (self.balance(api_key) or 0.0) - price
            self._debits[api_key] = self._debits.get(api_key, 0.0) + price
        for draft in drafts:
            self._messages.append(_message_row(api_key, draft, now))
            if draft.callbacks and not draft.sandbox:
                self._callbacks.extend((draft.smsid, c.url, c.query, c.due_at, c.due_at) for c in draft.callbacks)

    def write(self) -> None:
        """Write everything staged in the transaction (once, just before it commits)."""
        db = self._db
        if self._request_ids:
            db.executemany(_RESERVE_REQUEST_ID, [(api_key, request_id, accepted_at, smsid) for
                                                 (api_key, request_id), (accepted_at, smsid) in self._request_ids.items()])
        if self._quota_added:
            db.executemany(_ADD_QUOTA_USE, [(oaid, day, added) for (oaid, day), added in self._quota_added.items()])
        if self._debits:
            db.executemany(_DEBIT, [(price, api_key) for api_key, price in self._debits.items()])
        if self._messages:
            db.executemany(_INSERT_MESSAGE, self._messages)
        if self._callbacks:
            db.executemany(_INSERT_CALLBACK, self._callbacks)


def staged_alone(db: Any, job: Callable[[StagedSends], T]) -> T:
    """Run `job` on a `StagedSends` of its own in the transaction open on `db`, and write what it staged."""
    staged = StagedSends(db)
    result = job(staged)
    staged.write()
    return result


def accept(
    staged: StagedSends,
    api_key: str,
    drafts: Sequence[MessageDraft],
    now: float,
    *,
    daily_quota: int | None,
    quota_exempt: bool,
    on_quota_exceeded: fixtures_module.Outcome | None,
    partial: bool,
    build_callbacks: Callable[[MessageDraft], list[CallbackDraft]] | None,
) -> list[str | None]:
    """Decide which drafts are accepted and stage them (see `Store.accept` for the contract)."""
    results: list[str | None] = []
    stored: list[MessageDraft] = []
    reserving: dict[str, str] = {}  # RequestId -> SMSID, this request's (one draft may repeat another's)
    for draft in drafts:
        if len(draft.recipients) != 1:
            raise ValueError(f"a message has exactly one recipient, not {len(draft.recipients)}")
        code = None
        if not draft.sandbox and any(request_id in reserving or staged.request_id_used(api_key, request_id, now)
                                     for request_id in draft.request_ids):
            code = "124"
            if not partial:
                raise Refused(code, "RequestId already used in the last 24 hours")
        results.append(code)
        if code is None:
            stored.append(draft)
            if not draft.sandbox:
                reserving.update((request_id, draft.smsid) for request_id in draft.request_ids)
    day = vietnam_day(now)
    quota_used: dict[tuple[str, str], int] = {}
    for draft in stored:
        if draft.quota_oaid and not draft.sandbox:
            key = (draft.quota_oaid, day)
            first = quota_used.get(key)
            if first is None:
                first = staged.quota_used(*key)  # quota already used before this message
            quota_used[key] = first + len(draft.recipients)
            if daily_quota is None or quota_exempt or on_quota_exceeded is None:
                continue
            for offset, recipient in enumerate(draft.recipients):
                if first + offset >= daily_quota:
                    recipient.outcome = on_quota_exceeded
                    recipient.price = draft.quota_fallback_price
    price = sum(d.price for d in stored if not d.sandbox)
    if price > 0:
        balance = staged.balance(api_key)
        if balance is None or balance < price:
            raise Refused("103", f"the balance does not cover {price:.0f} VND")
    for draft in stored:
        # Built last: the quota may have changed a recipient's outcome above.
        if build_callbacks is not None and not draft.sandbox:
            draft.callbacks = build_callbacks(draft)
    staged.stage(api_key, now, stored, reserving, quota_used, price)
    return results


def _message_row(api_key: str, draft: MessageDraft, now: float) -> tuple[Any, ...]:
    r = draft.recipients[0]
    return (
        draft.smsid, api_key, draft.operation, draft.type_id, draft.oaid, draft.template_id,
        draft.campaign, draft.request_ids[0] if draft.request_ids else None, draft.callback_url,
        int(draft.sandbox), now, draft.send_at, draft.final_at, draft.content,
        orjson.dumps(draft.body).decode(), orjson.dumps(draft.extra).decode(),
        r.recipient, r.recipient_key, orjson.dumps(r.outcome.to_fixture()).decode(), r.price,
        r.telcoid, r.network, r.zalo_msg_id,
    )
