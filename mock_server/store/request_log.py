"""The request journal's table: every request to an eSMS path, accepted, refused or unmatched.

The request path (mock_server.esms.api) hands its finished row to a `JournalSink`. On the served
mock's event loop that is the loop's group commit (mock_server.loop_commits): the rows of a loop
iteration are inserted in its transaction, just before its commit. Elsewhere (the WSGI app of
`create_app` and Flask's test client, the control plane's threads) it is `JournalWriter`: a
lock-free queue put, and a thread of the same process writes what is queued, many rows per
transaction. A commit per request would have cost the invalid send half its throughput
(`make bench`). The control plane writes out its own process's queue before it reads, so a test
on a one-worker mock (the pytest plugin's) reads every request it made; with several workers a
request answered less than a millisecond ago by another worker may not be listed yet. No
secondary index: the table is bounded (`prune`), so a filtered read scans at most the configured
number of rows, and each insert touches one b-tree only.
"""

from __future__ import annotations

import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mock_server.store.clock import DAY_SECONDS

if TYPE_CHECKING:
    from mock_server.store.sqlite import Store

log = logging.getLogger("esms_mock.journal")

OUTCOMES = ("accepted", "refused", "unmatched")
STATUS_WINDOW = 7 * DAY_SECONDS  # status operations answer for messages of the last 7 days (docs §7.1)
REQUEST_ID_WINDOW = DAY_SECONDS

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    operation TEXT,
    outcome TEXT NOT NULL,
    code TEXT,
    reason TEXT,
    field TEXT,
    http_status INTEGER NOT NULL,
    smsid TEXT,
    request_id TEXT,
    recipient TEXT,
    recipient_key TEXT,
    scope TEXT,
    forced TEXT,
    body TEXT NOT NULL,
    did_you_mean TEXT
);
CREATE TABLE IF NOT EXISTS journal_pruning (id INTEGER PRIMARY KEY CHECK (id = 1), pruned_at REAL NOT NULL);
INSERT OR IGNORE INTO journal_pruning (id, pruned_at) VALUES (1, 0);
"""

_INSERT = ("INSERT INTO requests (received_at, method, path, operation, outcome, code, reason, field, http_status, "
           "smsid, request_id, recipient, recipient_key, scope, forced, body, did_you_mean) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass
class RequestRow:
    """One journal entry as it is stored; `body` is JSON text with the SecretKey masked."""

    received_at: float
    method: str
    path: str
    operation: str | None
    body: str
    outcome: str = "accepted"
    code: str | None = None
    reason: str | None = None
    field: str | None = None
    http_status: int = 200
    smsid: str | None = None
    request_id: str | None = None
    recipient: str | None = None
    recipient_key: str | None = None
    scope: str | None = None
    forced: str | None = None  # "header" or "scenario #N" when the answer was forced
    did_you_mean: str | None = None

    def values(self) -> tuple[Any, ...]:
        return (self.received_at, self.method, self.path, self.operation, self.outcome, self.code, self.reason,
                self.field, self.http_status, self.smsid, self.request_id, self.recipient, self.recipient_key,
                self.scope, self.forced, self.body, self.did_you_mean)


def insert(store: Store, rows: Sequence[RequestRow]) -> None:
    """Store `rows` in one transaction (tests and the writer)."""
    with store.transaction() as db:
        insert_into(db, rows)


def insert_into(db: sqlite3.Connection, rows: Sequence[RequestRow]) -> None:
    """Store `rows` in the transaction open on `db`."""
    db.executemany(_INSERT, [row.values() for row in rows])


class JournalSink(Protocol):
    """Where the request path hands a finished entry: `JournalWriter` (a thread of the process),
    or on the served mock's event loop `mock_server.loop_commits.LoopCommits` (the loop's own
    group commit)."""

    def add(self, row: RequestRow) -> None: ...


class JournalWriter:
    """Writes queued rows in a daemon thread of this process (one per process, started after a fork).

    `add` costs the request path a queue put. The thread blocks until a row comes, waits
    WRITE_DELAY for more, then writes everything queued in one transaction: at most about 50
    commits a second, whatever the load. `flush` (the control plane, before it reads) is
    written at once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[RequestRow | threading.Event | None] = queue.SimpleQueue()
        self._pid: int | None = None
        self._lock = threading.Lock()
        self.dropped = 0  # entries not journaled because MAX_QUEUED were waiting

    def add(self, row: RequestRow) -> None:
        if self._pid != os.getpid():
            self._start()
        if self._queue.qsize() >= MAX_QUEUED:  # the disk cannot keep up: keep memory flat, lose entries
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.warning("event=journal_entries_dropped total=%d", self.dropped)
            return
        self._queue.put(row)

    def flush(self, timeout: float = 5.0) -> None:
        """Return once every row queued in this process before the call is written."""
        if self._pid != os.getpid():
            return  # nothing was queued in this process
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def stop(self) -> None:
        """Write what is queued and end the thread (at shutdown)."""
        with self._lock:
            if self._pid != os.getpid():
                return  # never started here, or stopped already
            self._pid = None  # a later entry starts a new thread (and queue)
            queued = self._queue
        done = threading.Event()
        queued.put(done)
        queued.put(None)
        done.wait(5.0)

    def _start(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()  # a queue inherited through a fork has no reader
                threading.Thread(target=self._run, name="esms-journal-writer", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        pending = self._queue
        while True:
            batch = [pending.get()]
            if isinstance(batch[0], RequestRow):
                # Let the rows of the next few milliseconds join this one: one transaction per
                # request cost the invalid send (about 20 microseconds of work) three times that, and each
                # commit makes the other connections of the process drop their page caches.
                time.sleep(WRITE_DELAY)
            while len(batch) < MAX_WRITE_BATCH:
                try:
                    batch.append(pending.get_nowait())
                except queue.Empty:
                    break
            rows = [item for item in batch if isinstance(item, RequestRow)]
            if rows:
                try:
                    insert(self._store, rows)
                except Exception:  # a journal that cannot be written must not stop the mock
                    log.exception("event=journal_not_written rows=%d", len(rows))
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            if any(item is None for item in batch):
                return


MAX_WRITE_BATCH = 2000
MAX_QUEUED = 100_000  # entries waiting to be written, at most (a few tens of MB)
WRITE_DELAY = 0.02  # seconds a queued row may wait for others to share its transaction


def find(store: Store, *, outcome: str | None = None, code: str | None = None, operation: str | None = None,
         recipient_keys: Sequence[str] = (), request_id: str | None = None, smsid: str | None = None,
         scope: str | None = None, since: float | None = None, until: float | None = None,
         limit: int = 100) -> list[sqlite3.Row]:
    """Journal rows matching every given filter, newest first."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, value in (("outcome", outcome), ("code", code), ("operation", operation),
                          ("request_id", request_id), ("smsid", smsid), ("scope", scope)):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if recipient_keys:
        marks = ",".join("?" * len(recipient_keys))
        clauses.append(f"(recipient_key IN ({marks}) OR recipient IN ({marks}))")
        args += [*recipient_keys, *recipient_keys]
    if since is not None:
        clauses.append("received_at >= ?")
        args.append(since)
    if until is not None:
        clauses.append("received_at <= ?")
        args.append(until)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return store.connection().execute(  # type: ignore[no-any-return]
        f"SELECT * FROM requests{where} ORDER BY id DESC LIMIT ?", (*args, limit)  # noqa: S608 - fixed columns
    ).fetchall()


def one(store: Store, request_id: int) -> sqlite3.Row | None:
    return store.connection().execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Retention:
    """How much of the journal is kept: at most `max_requests` rows and `max_days` days (0: no limit).

    Accepted messages (the `messages` table, which status operations read) are kept for
    `max_days` but never less than the 7 days in which eSMS answers their status."""

    max_requests: int = 10_000
    max_days: float = 7.0
    interval: float = 5.0  # seconds between two prunings (by any worker process)

    @property
    def message_seconds(self) -> float:
        return max(self.max_days * DAY_SECONDS, STATUS_WINDOW)


def prune(store: Store, retention: Retention, now: float) -> int:
    """Delete what `retention` no longer keeps, unless another process pruned within the interval.

    Returns the number of journal rows deleted. Runs off the request path (see `Pruner`). Rows
    are found by arrival order (the primary keys) rather than by a time index, which every insert
    would pay for: the oldest rows go first, at most `BATCH` of each table per pruning.

    Each transaction deletes at most `CHUNK` rows. Every writer waits for the writers' lock
    while a pruning holds it, the served mock's event loop included: deleting the 35,000 entries
    that five seconds of `make bench` add, in one transaction, held it for 50 to 70 ms, which
    was the slowest answer of the run and raised the p99 of the valid send by a third."""
    with store.transaction() as db:
        claimed = db.execute("UPDATE journal_pruning SET pruned_at = ? WHERE pruned_at <= ? OR pruned_at > ?",
                             (now, now - retention.interval, now)).rowcount
    if not claimed:
        return 0
    deleted = 0
    if retention.max_requests > 0:
        deleted += _delete_beyond_newest(store, retention.max_requests)
    if retention.max_days > 0:
        deleted += _delete_oldest(store, "requests", "id", "received_at < ?", now - retention.max_days * DAY_SECONDS)
        before = now - retention.message_seconds
        _delete_oldest(store, "callbacks", "id", "due_at < ? AND state != 'pending'", before)
        with store.transaction() as db:
            db.execute("DELETE FROM callback_attempts WHERE callback_id < (SELECT MIN(id) FROM callbacks)")
        _delete_oldest(store, "messages", "seq", "accepted_at < ? AND final_at < ?", before, before)
    _delete_oldest(store, "request_ids", "rowid", "accepted_at < ?", now - REQUEST_ID_WINDOW)
    return deleted


BATCH = 5000  # rows of one table deleted per pruning, at most
CHUNK = 1000  # rows deleted per transaction, at most (about 1.5 ms of the writers' lock for journal entries)


def _delete_beyond_newest(store: Store, keep: int) -> int:
    """Delete the journal entries older than the newest `keep`, CHUNK per transaction."""
    db = store.connection()
    row = db.execute("SELECT id FROM requests ORDER BY id DESC LIMIT 1 OFFSET ?", (keep,)).fetchone()
    if row is None:
        return 0
    last, deleted = int(row[0]), 0
    lowest = int(db.execute("SELECT MIN(id) FROM requests").fetchone()[0])
    while lowest <= last:
        upto = min(last, lowest + CHUNK - 1)  # ids only grow: at most CHUNK rows from the lowest
        with store.transaction() as writing:
            deleted += writing.execute("DELETE FROM requests WHERE id <= ?", (upto,)).rowcount
        lowest = upto + 1
    return deleted


def _delete_oldest(store: Store, table: str, key: str, old: str, *args: float) -> int:
    """Delete those of the BATCH oldest rows (in `key` order) for which `old` holds, a slice of
    CHUNK rows per transaction: only a prefix is read, so a pruning costs the same however large
    the table."""
    deleted, after = 0, -1  # the keys are positive integers
    for _ in range(BATCH // CHUNK):
        with store.transaction() as db:
            bound = db.execute(
                f"SELECT MAX({key}) FROM (SELECT {key} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?) AS slice",  # noqa: S608 - fixed names
                (after, CHUNK),
            ).fetchone()[0]
            if bound is None:  # no rows left after the previous slice
                break
            deleted += db.execute(f"DELETE FROM {table} WHERE {key} > ? AND {key} <= ? AND {old}",  # noqa: S608
                                  (after, bound, *args)).rowcount
        after = bound
    return deleted


class Pruner:
    """Prunes the journal every `retention.interval` seconds in a daemon thread of this process.

    Each worker process runs one; `prune` lets only one of them work per interval. A failure is
    logged and retried at the next interval: pruning must never stop the mock."""

    def __init__(self, store: Store, retention: Retention, clock_offset: Callable[[], float]) -> None:
        self._store = store
        self._retention = retention
        self._clock_offset = clock_offset
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="esms-journal-pruner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._retention.interval):
            try:
                prune(self._store, self._retention, time.time() + self._clock_offset())
            except Exception:
                log.exception("event=journal_prune_failed")
