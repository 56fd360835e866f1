"""SQLite state: fixtures, balances, quota use, accepted messages, callbacks and their attempts.

One file, WAL mode, shared by every worker process. Each accepted request is one short
`BEGIN IMMEDIATE` transaction, so a `RequestId` is reserved exactly once however many workers
race for it, and a message answered 100 is committed (and survives kill -9) before the answer
is written. Connections are per thread and per process (opened after a fork, never inherited).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from mock_server.store import acceptance, request_log, secret_digest
from mock_server.store import fixtures as fixtures_module
from mock_server.store.acceptance import Refused, StagedSends, staged_alone
from mock_server.store.clock import vietnam_day
from mock_server.store.fixtures import Fixtures

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    clock_offset REAL NOT NULL DEFAULT 0,
    fixtures_version INTEGER NOT NULL DEFAULT 0,
    fixtures_json TEXT NOT NULL DEFAULT '{}',  -- every secret_key as its digest (store.secret_digest)
    scenarios_version INTEGER NOT NULL DEFAULT 0,
    secret_digest_key TEXT NOT NULL DEFAULT ''  -- this database's random key of the SecretKey digests
);
INSERT OR IGNORE INTO meta (id) VALUES (1);
CREATE TABLE IF NOT EXISTS balances (api_key TEXT PRIMARY KEY, balance REAL NOT NULL);
CREATE TABLE IF NOT EXISTS quota_use (oaid TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (oaid, day));
CREATE TABLE IF NOT EXISTS request_ids (api_key TEXT NOT NULL, request_id TEXT NOT NULL,
    accepted_at REAL NOT NULL, smsid TEXT, PRIMARY KEY (api_key, request_id));
CREATE TABLE IF NOT EXISTS messages (
    -- One row per SMSID; every SMSID has one recipient (a bulk send gets one SMSID per item), so
    -- the recipient's columns live here: an accepted message touches as few b-trees as it can.
    seq INTEGER PRIMARY KEY,
    smsid TEXT NOT NULL UNIQUE,
    api_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    oaid TEXT,
    template_id TEXT,
    campaign TEXT,
    request_id TEXT,
    callback_url TEXT,
    sandbox INTEGER NOT NULL,
    accepted_at REAL NOT NULL,
    send_at REAL NOT NULL,
    final_at REAL NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    body_json TEXT NOT NULL,
    extra_json TEXT NOT NULL DEFAULT '{}',
    recipient TEXT NOT NULL,
    recipient_key TEXT NOT NULL,
    outcome_json TEXT NOT NULL,
    price REAL NOT NULL,
    telcoid INTEGER NOT NULL,
    network TEXT NOT NULL,
    zalo_msg_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (api_key, type_id, accepted_at);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient_key);
CREATE INDEX IF NOT EXISTS messages_by_zalo_id ON messages (zalo_msg_id);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an attempt in flight during a reset must not land on a new row
    smsid TEXT NOT NULL,
    url TEXT NOT NULL,
    query TEXT NOT NULL,
    due_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS callback_attempts (
    id INTEGER PRIMARY KEY,
    callback_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS otps (api_key TEXT NOT NULL, phone TEXT NOT NULL, code TEXT NOT NULL,
    expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0, smsid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (id INTEGER PRIMARY KEY, api_key TEXT NOT NULL, kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (api_key, kind, fingerprint));
CREATE TABLE IF NOT EXISTS scenarios (id INTEGER PRIMARY KEY, spec_json TEXT NOT NULL, remaining INTEGER,
    created_at REAL NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
"""

SCHEMA += request_log.SCHEMA

SCHEMA_VERSION = 4  # PRAGMA user_version of a database this code can use
# Older versions it upgrades in place. 2 -> 3: SecretKeys stored in clear become digests (below,
# in Store.__init__). 3 -> 4: the request journal (issue 10), whose tables SCHEMA creates if
# they do not exist, so running SCHEMA is that whole step.
MIGRATES_FROM = (2, 3)

JOURNAL_TABLES = ("requests", "messages", "callbacks", "callback_attempts", "request_ids", "quota_use", "otps", "registrations")


class StoreError(Exception):
    """The database file cannot be used (e.g. made by another version)."""


@dataclass
class RecipientDraft:
    recipient: str
    recipient_key: str
    outcome: fixtures_module.Outcome
    price: float
    telcoid: int
    network: str
    zalo_msg_id: str


@dataclass
class CallbackDraft:
    url: str
    query: str
    due_at: float


@dataclass
class MessageDraft:
    """One SMSID: what `accept` stores for it."""

    smsid: str
    operation: str
    type_id: int
    oaid: str | None
    template_id: str | None
    campaign: str | None
    request_ids: list[str]
    callback_url: str | None
    sandbox: bool
    send_at: float
    final_at: float
    content: str
    body: dict[str, Any]
    recipients: list[RecipientDraft]
    callbacks: list[CallbackDraft] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    quota_oaid: str | None = None  # the OA whose daily ZNS quota this message uses
    quota_fallback_price: float = 0.0  # a recipient's price once the quota fails its ZNS (multichannel: the SMS)

    @property
    def price(self) -> float:
        return sum(r.price for r in self.recipients)


T = TypeVar("T")


class Commits(Protocol):
    """How `Store.accept` runs its job: GroupCommit (threads) or LoopCommits (mock_server.loop_commits)."""

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T: ...

    def stage(self, job: Callable[[StagedSends], T]) -> T: ...

    def flush(self) -> None: ...

    def after_commit(self, then: Callable[[], None]) -> None: ...

    def state(self, read: Callable[[sqlite3.Connection], T]) -> T: ...


class _Ticket:
    """One job waiting for a group commit.

    A waiting ticket is woken exactly once: to lead the next batch, or because its batch is
    committed. A lock held from creation and released by the waker is the cheapest one-shot
    signal (an Event builds a Condition, which showed in profiles of the send path).
    """

    __slots__ = ("job", "signal", "result", "error", "done", "lead")

    def __init__(self, job: Callable[[sqlite3.Connection], Any]) -> None:
        self.job = job
        self.signal = threading.Lock()
        self.signal.acquire()
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False

    def wake(self) -> None:
        if self.signal.locked():
            self.signal.release()


class GroupCommit:
    """Runs concurrent jobs of one process in a single transaction, each in its own savepoint.

    A commit costs far more than the few inserts of an accepted message. The first thread to
    arrive leads: it takes the queued jobs (its own and any that came while it waited for the
    writer lock), runs each inside a SAVEPOINT (a refused job, e.g. 124, rolls back alone),
    commits once, and wakes every owner; then it promotes the next waiting thread to lead. No
    answer is given before its data is committed.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._leading = False

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        ticket = _Ticket(job)
        with self._lock:
            self._queue.append(ticket)
            if not self._leading:
                self._leading = ticket.lead = True
        while not ticket.done:
            if ticket.lead:
                self._lead()
            else:
                ticket.signal.acquire()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[no-any-return]

    def stage(self, job: Callable[[StagedSends], T]) -> T:
        """`job` in a transaction (a group commit's savepoint) of its own, its staged writes written at its end."""
        return self.run(lambda db: staged_alone(db, job))

    def flush(self) -> None:
        """Nothing to do: every batch is committed before `run` returns (see mock_server.loop_commits)."""

    def after_commit(self, then: Callable[[], None]) -> None:
        """Call `then` now: what `run` stored is committed when it returns."""
        then()

    def state(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """`read` on this thread's connection: no batch stays open between jobs here."""
        return read(self._store.connection())

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake()
                else:
                    self._leading = False
            for ticket in batch:
                ticket.done = True
                ticket.wake()

    def _commit(self, batch: list[_Ticket]) -> None:
        if len(batch) == 1:  # the common case: no savepoint needed, the transaction is the job's
            ticket = batch[0]
            try:
                with self._store.transaction(writer=True) as db:
                    ticket.result = ticket.job(db)
            except Exception as exc:
                ticket.error = exc
            return
        try:
            with self._store.transaction(writer=True) as db:
                for ticket in batch:
                    db.execute("SAVEPOINT job")
                    try:
                        ticket.result = ticket.job(db)
                    except Exception as exc:  # the job's own refusal (Refused) or failure
                        db.execute("ROLLBACK TO job")
                        ticket.error = exc
                    db.execute("RELEASE job")
        except Exception as exc:  # the commit itself failed: nothing of the batch is stored
            for ticket in batch:
                ticket.error = ticket.error or exc


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._fixtures_cache: tuple[int, Fixtures] | None = None
        # How `accept` commits: threads group-commit here; the served mock's event loop swaps in
        # its own (mock_server.loop_commits), with the same `run` and `flush`.
        self.commits: Commits = GroupCommit(self)
        self._writer: sqlite3.Connection | None = None
        self._writer_fd = -1
        self._writer_pid: int | None = None
        self._cache_lock = threading.Lock()
        db = self.connection()
        db.execute("PRAGMA journal_mode=WAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION, *MIGRATES_FROM) or (
            version == 0 and db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
        ):
            raise StoreError(f"{self.path} was made by another version of esms-mock (schema {version}, this one "
                             f"uses {SCHEMA_VERSION}); delete it or choose another --db")
        if version == 2:
            db.execute("ALTER TABLE meta ADD COLUMN secret_digest_key TEXT NOT NULL DEFAULT ''")
        db.executescript(SCHEMA)
        db.execute("UPDATE meta SET secret_digest_key = ? WHERE secret_digest_key = ''", (secret_digest.new_key(),))
        self._digest = secret_digest.SecretDigest(db.execute("SELECT secret_digest_key FROM meta").fetchone()[0])
        if version == 2:  # its fixtures hold every secret_key in clear: keep only their digests
            stored = json.loads(db.execute("SELECT fixtures_json FROM meta").fetchone()[0])
            if stored.get("accounts"):
                db.execute("UPDATE meta SET fixtures_json = ?", (json.dumps(
                    secret_digest.with_digests(stored, self._digest, {}), ensure_ascii=False),))
            # The clear secrets must not linger in free pages of the file, nor in the WAL.
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # ------------------------------------------------------------------ connections
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened in this process: never one inherited through a fork)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db, local.pid = self._open(), os.getpid()
        return local.db  # type: ignore[no-any-return]

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        # OFF hands each commit to the operating system without an fsync. That is durable
        # against a crash of the process (kill -9): the written pages are in the OS's cache and
        # reach the file. Only an OS crash or power cut could lose or damage recent data, which a
        # mock can accept; NORMAL's fsync at every checkpoint cost up to 30 ms in the request
        # that ran it, and made p99 latency three times higher (README, Fidelity notes).
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA busy_timeout=30000")
        # SQLite's automatic checkpoint stays on: without it the WAL grew past 1 GB under
        # sustained load, as a passive checkpoint never catches up with the writers. The
        # dispatcher also checkpoints every second (`checkpoint`), so that the one that falls
        # inside a request's COMMIT usually has little left to copy.
        # Each thread of each worker has a connection; 1 MiB of page cache apiece keeps the
        # whole server's memory small and flat (the hot pages are few: the latest inserts).
        db.execute("PRAGMA cache_size=-1024")
        return db

    def writer_connection(self) -> tuple[sqlite3.Connection, int]:
        """The connection and lock descriptor of this process's group commits.

        One per process rather than per thread: whichever thread leads a batch, the commit goes
        through the same connection, whose page cache is then still valid for the next batch
        (a connection discards its cache whenever another connection has written)."""
        if self._writer_pid != os.getpid():
            self._writer = self._open()
            self._writer_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._writer_pid = os.getpid()
        return self._writer, self._writer_fd  # type: ignore[return-value]

    @contextmanager
    def transaction(self, *, writer: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; `writer` is for the group commit's leader only (see GroupCommit).

        Writers queue on a file lock first: SQLite's own busy handler polls with sleeps of up
        to 100 ms, which made p99 latency explode under concurrent sends, while a blocked flock
        wakes the next writer as soon as the lock is released."""
        if not writer:
            self.commits.flush()  # a batch this thread holds open would wait for this lock forever
        db, lock = self.writer_connection() if writer else (self.connection(), self._writer_lock())
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _writer_lock(self) -> int:
        """This thread's descriptor of the lock file (flock excludes other descriptors, also in-process)."""
        local = self._local
        if getattr(local, "lock_pid", None) != os.getpid():
            local.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
            local.lock_pid = os.getpid()
        return int(local.lock_fd)

    def begin_batch(self) -> sqlite3.Connection:
        """Open the process's writer transaction of a loop group commit (mock_server.loop_commits)."""
        db, lock_fd = self.writer_connection()
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # the writers' lock of every process (see transaction)
        try:
            db.execute("BEGIN IMMEDIATE")
        except BaseException:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            raise
        return db

    def end_batch(self, db: sqlite3.Connection, *, commit: bool) -> None:
        """Commit (or roll back) the transaction `begin_batch` opened, and let the next writer in."""
        try:
            db.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            fcntl.flock(self.writer_connection()[1], fcntl.LOCK_UN)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file without blocking writers (called off the request path;
        the automatic checkpoint still bounds the WAL)."""
        self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            db.close()
            self._local.db = None
            self._local.pid = None
        if getattr(self._local, "lock_pid", None) == os.getpid():
            os.close(self._local.lock_fd)
            self._local.lock_pid = None
        if self._writer is not None and self._writer_pid == os.getpid():
            self._writer.close()
            os.close(self._writer_fd)
            self._writer, self._writer_pid = None, None

    # ------------------------------------------------------------------ clock and fixtures
    def state(self) -> tuple[float, int, int]:
        """(clock offset, fixtures version, scenarios version): the one read every request makes
        (read once per batch while a loop's batch holds the writers' lock, see LoopCommits.state)."""
        return self.commits.state(self._read_state)

    @staticmethod
    def _read_state(db: sqlite3.Connection) -> tuple[float, int, int]:
        row = db.execute("SELECT clock_offset, fixtures_version, scenarios_version FROM meta").fetchone()
        return float(row[0]), int(row[1]), int(row[2])

    def set_clock_offset(self, offset: float) -> None:
        with self.transaction() as db:
            db.execute("UPDATE meta SET clock_offset = ?", (offset,))

    def fixtures(self, version: int | None = None) -> Fixtures:
        """The current fixtures, parsed once per version and process."""
        if version is None:
            version = self.state()[1]
        cached = self._fixtures_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._cache_lock:
            row = self.connection().execute("SELECT fixtures_version, fixtures_json FROM meta").fetchone()
            parsed = fixtures_module.parse(json.loads(row[1]), self._digest)
            self._fixtures_cache = (int(row[0]), parsed)
            return parsed

    def load_fixtures(self, document: dict[str, Any]) -> Fixtures:
        """Replace the fixtures (validated first) and reset balances; the journal is kept.

        Secrets are stored as digests; an account whose secret_key is `********` (as GET
        /_mock/fixtures shows it) keeps the secret its api_key has now."""
        fixtures_module.parse(document)  # the document as sent: refused before anything changes
        try:
            kept = {a.api_key: a.secret_digest for a in self.fixtures().accounts} if self.state()[1] else {}
        except fixtures_module.FixtureError:  # stored by an older version under looser rules: replaced whole
            kept = {}
        stored = secret_digest.with_digests(document, self._digest, kept)
        parsed = fixtures_module.parse(stored, self._digest)
        with self.transaction() as db:
            db.execute(
                "UPDATE meta SET fixtures_json = ?, fixtures_version = fixtures_version + 1",
                (json.dumps(stored, ensure_ascii=False),),
            )
            db.execute("DELETE FROM balances")
            db.executemany(
                "INSERT INTO balances (api_key, balance) VALUES (?, ?)",
                [(a.api_key, a.balance) for a in parsed.accounts],
            )
        return parsed

    def reset(self) -> None:
        """Forget every message, callback and reservation; balances back to the fixtures; clock to now."""
        current = self.fixtures()
        with self.transaction() as db:
            for table in JOURNAL_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM scenarios")
            db.execute("DELETE FROM balances")
            db.executemany(
                "INSERT INTO balances (api_key, balance) VALUES (?, ?)",
                [(a.api_key, a.balance) for a in current.accounts],
            )
            db.execute("UPDATE meta SET clock_offset = 0, scenarios_version = scenarios_version + 1")

    # ------------------------------------------------------------------ accounts
    def balance(self, api_key: str) -> float:
        row = self.connection().execute("SELECT balance FROM balances WHERE api_key = ?", (api_key,)).fetchone()
        return float(row[0]) if row else 0.0

    def quota_used(self, oaid: str, now: float) -> int:
        row = self.connection().execute(
            "SELECT used FROM quota_use WHERE oaid = ? AND day = ?", (oaid, vietnam_day(now))
        ).fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ accepting messages
    def accept(
        self,
        api_key: str,
        drafts: Sequence[MessageDraft],
        now: float,
        *,
        daily_quota: int | None = None,
        quota_exempt: bool = False,
        on_quota_exceeded: fixtures_module.Outcome | None = None,
        partial: bool = False,
        build_callbacks: Callable[[MessageDraft], list[CallbackDraft]] | None = None,
    ) -> list[str | None]:
        """Store accepted messages atomically (group-committed with concurrent requests).

        Returns, per draft, None when stored or the code that refused it (124 for a RequestId
        used in the last 24 hours). Without `partial`, any refusal refuses the whole request
        (raises `Refused`). Raises `Refused("103")` when the balance does not cover the price.
        """
        return self.commits.stage(lambda staged: acceptance.accept(
            staged, api_key, drafts, now, daily_quota=daily_quota, quota_exempt=quota_exempt,
            on_quota_exceeded=on_quota_exceeded, partial=partial, build_callbacks=build_callbacks))

    # ------------------------------------------------------------------ reading messages
    def message(self, smsid: str, api_key: str | None = None) -> sqlite3.Row | None:
        sql = "SELECT * FROM messages WHERE smsid = ?" + (" AND api_key = ?" if api_key else "")
        args = (smsid, api_key) if api_key else (smsid,)
        return self.connection().execute(sql, args).fetchone()  # type: ignore[no-any-return]

    # A message's recipient, in the shape of a row of its own (`idx` 0), for code that reads
    # recipients apart from their message.
    _RECIPIENT = "SELECT smsid, 0 AS idx, recipient, recipient_key, outcome_json, price, telcoid, network, zalo_msg_id FROM messages"

    def recipients(self, smsid: str) -> list[sqlite3.Row]:
        return self.connection().execute(f"{self._RECIPIENT} WHERE smsid = ?", (smsid,)).fetchall()  # noqa: S608

    def recipients_of(self, smsids: Sequence[str]) -> dict[str, list[sqlite3.Row]]:
        found: dict[str, list[sqlite3.Row]] = {smsid: [] for smsid in smsids}
        for start in range(0, len(smsids), 500):
            chunk = list(smsids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.connection().execute(f"{self._RECIPIENT} WHERE smsid IN ({marks})", chunk):  # noqa: S608
                found[row["smsid"]].append(row)
        return found

    def message_by_zalo_id(self, zalo_msg_id: str) -> tuple[sqlite3.Row, sqlite3.Row] | None:
        message = self.connection().execute(
            "SELECT * FROM messages WHERE zalo_msg_id = ? LIMIT 1", (zalo_msg_id,)
        ).fetchone()
        return (message, message) if message is not None else None

    def messages_between(self, api_key: str, type_ids: Sequence[int], start: float, end: float,
                         offset: int, limit: int) -> tuple[int, list[sqlite3.Row]]:
        marks = ",".join("?" * len(type_ids))
        where = f"api_key = ? AND type_id IN ({marks}) AND accepted_at >= ? AND accepted_at <= ? AND sandbox = 0"
        args = (api_key, *type_ids, start, end)
        db = self.connection()
        total = db.execute(f"SELECT COUNT(*) FROM messages WHERE {where}", args).fetchone()[0]  # noqa: S608
        rows = db.execute(
            f"SELECT * FROM messages WHERE {where} ORDER BY seq LIMIT ? OFFSET ?", (*args, limit, offset)  # noqa: S608
        ).fetchall()
        return int(total), rows

    # ------------------------------------------------------------------ callbacks
    def callbacks_for(self, smsid: str) -> list[sqlite3.Row]:
        return self.connection().execute("SELECT * FROM callbacks WHERE smsid = ? ORDER BY id", (smsid,)).fetchall()

    def callback_attempts(self, callback_ids: Sequence[int]) -> dict[int, list[sqlite3.Row]]:
        found: dict[int, list[sqlite3.Row]] = {cid: [] for cid in callback_ids}
        if callback_ids:
            marks = ",".join("?" * len(callback_ids))
            for row in self.connection().execute(
                f"SELECT * FROM callback_attempts WHERE callback_id IN ({marks}) ORDER BY id", list(callback_ids)  # noqa: S608
            ):
                found[row["callback_id"]].append(row)
        return found

    def all_callbacks(self, *, smsid: str | None = None, state: str | None = None, limit: int = 100) -> list[sqlite3.Row]:
        clauses, args = [], []
        if smsid:
            clauses.append("smsid = ?"); args.append(smsid)
        if state:
            clauses.append("state = ?"); args.append(state)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return self.connection().execute(
            f"SELECT * FROM callbacks{where} ORDER BY id DESC LIMIT ?", (*args, limit)  # noqa: S608
        ).fetchall()

    # What a SELECT adds to lock the rows it claims (callbacks leased, an OTP used): nothing in
    # SQLite, whose writers take turns on one lock; PostgreSQL's store skips rows another instance holds.
    _LEASE_LOCK = ""

    def claim_due_callbacks(self, now: float, lease_seconds: float, limit: int) -> list[sqlite3.Row]:
        """Lease due callbacks to this worker; a lease that expires (a crash) makes them due again."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE callbacks SET lease_until = ?, attempts = attempts + 1 WHERE id IN ("
                " SELECT id FROM callbacks WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ?"
                f" ORDER BY next_attempt_at LIMIT ?{self._LEASE_LOCK}) RETURNING *",
                (now + lease_seconds, now, now, limit),
            ).fetchall()

    def record_attempt(self, callback_id: int, attempt: int, at: float, status_code: int | None, error: str | None,
                       duration_ms: float, *, state: str, next_attempt_at: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO callback_attempts (callback_id, attempt, at, status_code, error, duration_ms) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (callback_id, attempt, at, status_code, error, duration_ms),
            )
            db.execute(
                "UPDATE callbacks SET state = ?, next_attempt_at = ?, lease_until = 0, last_error = ? WHERE id = ?",
                (state, next_attempt_at, error, callback_id),
            )

    def replay_callbacks(self, smsid: str, now: float) -> list[sqlite3.Row]:
        """Make the message's due callbacks pending again, due `now`, whatever their state: the
        next attempt sends the same query once more (a replay, like Svix's). Not those still
        waiting for the message's final state or being sent right now (their lease): they go out
        anyway. Answers the callbacks replayed, as they were made pending (the dispatcher may
        already be sending them when the caller reads them again)."""
        with self.transaction() as db:
            return sorted(db.execute(
                "UPDATE callbacks SET state = 'pending', next_attempt_at = ?, last_error = NULL "
                "WHERE smsid = ? AND due_at <= ? AND NOT (state = 'pending' AND lease_until > ?) RETURNING *",
                (now, smsid, now, now),
            ).fetchall(), key=lambda row: int(row["id"]))

    def next_callback_due(self) -> float | None:
        row = self.connection().execute(
            "SELECT MIN(MAX(next_attempt_at, lease_until)) FROM callbacks WHERE state = 'pending'"
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # ------------------------------------------------------------------ OTP and registrations
    def save_otp(self, api_key: str, phone: str, code: str, expires_at: float, smsid: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO otps (api_key, phone, code, expires_at, smsid) VALUES (?, ?, ?, ?, ?)",
                       (api_key, phone, code, expires_at, smsid))

    # How an OTP row is named: SQLite's rowid; PostgreSQL's table has an id column.
    _OTP_ROW = "rowid"

    def use_otp(self, api_key: str, phone: str, code: str, now: float) -> bool:
        with self.transaction() as db:
            return db.execute(
                f"UPDATE otps SET used = 1 WHERE {self._OTP_ROW} = (SELECT {self._OTP_ROW} FROM otps "  # noqa: S608
                f"WHERE api_key = ? AND phone = ? AND code = ? AND used = 0 AND expires_at > ? LIMIT 1{self._LEASE_LOCK})",
                (api_key, phone, code, now),
            ).rowcount == 1

    def register(self, api_key: str, kind: str, fingerprint: str, now: float) -> int | None:
        """A registration id, or None when the identical request is already in progress (199)."""
        with self.transaction() as db:
            row = db.execute(
                "INSERT INTO registrations (api_key, kind, fingerprint, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (api_key, kind, fingerprint) DO NOTHING RETURNING id",
                (api_key, kind, fingerprint, now),
            ).fetchone()
            return None if row is None else int(row[0])
