"""PostgreSQL state: the same store as mock_server.store.sqlite, shared by several mock instances.

`esms-mock serve --db postgresql://...` selects it (psycopg 3). The SQL of the SQLite store is
reused as it is, through a thin connection adapter (`?` placeholders become `%s`, rows are read by
index and by name like sqlite3.Row); only what differs between the engines is written here:

- no writers' lock file: an advisory lock (WRITERS_LOCK) is the writers' lock of every instance,
  and row locks make each step safe on its own (the INSERT ... ON CONFLICT of a RequestId waits
  for a concurrent insert of the same id to commit; UPDATE balances ... WHERE balance >= price
  re-reads the row it waited for);
- callbacks are leased with SELECT ... FOR UPDATE SKIP LOCKED, so two instances never lease the
  same one; a lease that runs out (its instance died) makes the callback due again for any;
- the schema is created and migrated from the files in postgresql_migrations/, under an advisory
  lock, so instances that start together migrate it once.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from mock_server.store import secret_digest
from mock_server.store.sqlite import GroupCommit, Store, StoreError

MIGRATIONS = "postgresql_migrations"  # a folder of mock_server.store (package data)
MIGRATION_LOCK = 0x65736D73  # the advisory lock of schema changes ("esms")
# The advisory lock every write transaction takes first, on every instance: SQLite's writers' lock
# file, for all instances. Without it two batches (each many sends, of several accounts) could
# each hold a balance row or a RequestId the other waits for: a deadlock, which PostgreSQL breaks
# by failing one of the statements, and a send would answer an error. Batches still commit many
# sends each (group commit), so the lock is taken once per batch, not once per send.
WRITERS_LOCK = 0x65736D74


def without_password(url: str) -> str:
    """The URL as it may be shown (banner, /_mock/health): the password never leaves the process."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[1]}"))


class Row:
    """A result row read by position or by column name, like sqlite3.Row (the shared code does both)."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = {column.name: index for index, column in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


@lru_cache(maxsize=512)
def _to_postgresql(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s`; a `?` in quoted text stays, and every literal `%`
    is doubled (psycopg reads placeholders in quoted text too)."""
    parts = re.split(r"('(?:[^']|'')*')", sql.replace("%", "%%"))
    for index in range(0, len(parts), 2):  # the even parts are outside quotes
        parts[index] = parts[index].replace("?", "%s")
    return "".join(parts).replace("BEGIN IMMEDIATE", "BEGIN")


class Connection:
    """A psycopg connection (autocommit: transactions are the explicit BEGIN ... COMMIT of the store)
    with the calls the SQLite store makes on sqlite3.Connection."""

    def __init__(self, url: str) -> None:
        self.raw = psycopg.connect(url, autocommit=True, row_factory=_row_factory)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        if not args:
            return self.raw.execute(sql.replace("BEGIN IMMEDIATE", "BEGIN"))
        return self.raw.execute(_to_postgresql(sql), tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        cursor.executemany(_to_postgresql(sql), [tuple(row) for row in rows])
        return cursor

    def close(self) -> None:
        self.raw.close()


class PostgresStore(Store):
    """The store on a PostgreSQL database shared by every instance (see the module's docstring)."""

    def __init__(self, url: str) -> None:  # noqa: D107 - SQLite's __init__ (files, PRAGMAs) does not apply
        self.url = url
        self.path = without_password(url)
        self._local = threading.local()
        self._fixtures_cache = None
        self.commits = GroupCommit(self)
        self._writer = None
        self._writer_pid = None
        self._cache_lock = threading.Lock()
        try:
            db = self.connection()
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.path}: {' '.join(str(exc).split())}") from None
        self._migrate(db)
        self._digest = secret_digest.SecretDigest(db.execute("SELECT secret_digest_key FROM meta").fetchone()[0])

    def _migrate(self, db: Connection) -> None:
        """Apply the migration files this database has not had yet, once, whichever instance starts first."""
        files = sorted(f for f in (resources.files("mock_server.store") / MIGRATIONS).iterdir() if f.name.endswith(".sql"))
        known = {int(f.name.split("_", 1)[0]): f for f in files}
        # Not under the writers' lock: an instance starting while others serve must not wait for,
        # nor hold up, their batches (only a new migration's DDL waits for the tables it alters).
        with self._transaction_on(db, writers_lock=False) as tx:
            tx.execute("SELECT pg_advisory_xact_lock(%s)" % MIGRATION_LOCK)
            tx.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            applied = {int(row[0]) for row in tx.execute("SELECT version FROM schema_migrations")}
            if applied and max(applied) > max(known):
                raise StoreError(f"{self.path} was made by a newer version of esms-mock (schema {max(applied)}, this "
                                 f"one uses {max(known)}); upgrade esms-mock or choose another --db")
            for version in sorted(set(known) - applied):
                tx.execute(known[version].read_text(encoding="utf-8"))
                tx.execute("INSERT INTO schema_migrations (version) VALUES (?)", (version,))
            tx.execute("UPDATE meta SET secret_digest_key = ? WHERE secret_digest_key = ''", (secret_digest.new_key(),))

    # ------------------------------------------------------------------ connections
    def connection(self) -> Connection:  # type: ignore[override]
        """This thread's connection (opened in this process: never one inherited through a fork)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db, local.pid = Connection(self.url), os.getpid()
        return local.db  # type: ignore[no-any-return]

    def writer_connection(self) -> tuple[Connection, int]:  # type: ignore[override]
        """The connection of this process's group commits (no lock file: PostgreSQL's locks are shared)."""
        if self._writer_pid != os.getpid():
            self._writer, self._writer_pid = Connection(self.url), os.getpid()
        return self._writer, -1  # type: ignore[return-value]

    @contextmanager
    def _transaction_on(self, db: Connection, *, writers_lock: bool = True) -> Iterator[Connection]:
        if writers_lock:
            self._begin_writing(db)
        else:
            db.execute("BEGIN")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextmanager
    def transaction(self, *, writer: bool = False) -> Iterator[Connection]:  # type: ignore[override]
        if not writer:
            self.commits.flush()  # a batch this thread holds open may hold row locks this one waits for
        with self._transaction_on(self.writer_connection()[0] if writer else self.connection()) as db:
            yield db

    @staticmethod
    def _begin_writing(db: Connection) -> None:
        db.execute("BEGIN")
        db.execute(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})")  # noqa: S608 - a constant

    def begin_batch(self) -> Connection:  # type: ignore[override]
        db = self.writer_connection()[0]
        self._begin_writing(db)
        return db

    def end_batch(self, db: Connection, *, commit: bool) -> None:  # type: ignore[override]
        db.execute("COMMIT" if commit else "ROLLBACK")

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints on its own."""

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None and getattr(self._local, "pid", None) == os.getpid():
            db.close()
            self._local.db = None
            self._local.pid = None
        if self._writer is not None and self._writer_pid == os.getpid():
            self._writer.close()
            self._writer, self._writer_pid = None, None

    # ------------------------------------------------------------------ what SQLite spells differently
    # Lease due callbacks with SKIP LOCKED: those another instance is leasing right now are left
    # to it, and an expired lease (its instance died) makes a callback due again.
    _LEASE_LOCK = " FOR UPDATE SKIP LOCKED"
    _OTP_ROW = "id"

    def next_callback_due(self) -> float | None:
        row = self.connection().execute(
            "SELECT MIN(GREATEST(next_attempt_at, lease_until)) FROM callbacks WHERE state = 'pending'"
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None
