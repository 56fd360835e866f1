"""Group commit on the served mock's event loop (mock_server.edge).

A commit costs far more than the few inserts of an accepted message. On the event loop, every
send handled in one iteration of the loop joins one open transaction (SQLite or PostgreSQL): an
accepted message's writes are staged and written together just before the commit (`stage`,
mock_server.store.acceptance), any other job runs in a SAVEPOINT of its own (`run`: a failing job
rolls back alone). The transaction is committed by a callback scheduled for the next iteration,
and each request's answer waits for that commit (`committed`). So no 100 is sent before its
message is committed, and a batch costs one commit.

Only the loop's thread batches: any other thread (the control plane's pool) commits its job in a
transaction of its own. A write of the loop's thread outside `accept` (a scenario's hit
count, an OTP) goes through `Store.transaction`, which flushes the open batch first: the batch
holds the writers' lock, which that transaction would otherwise wait for forever.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from mock_server.store import Store, request_log
from mock_server.store.acceptance import StagedSends, staged_alone
from mock_server.store.request_log import JournalSink, RequestRow

log = logging.getLogger("esms_mock")
T = TypeVar("T")


class _Batch:
    __slots__ = ("db", "committed", "jobs", "journal", "then", "state", "staged")

    def __init__(self, db: sqlite3.Connection, committed: asyncio.Future[BaseException | None]) -> None:
        self.db = db
        self.committed = committed  # its result: None once committed, or why the commit failed
        self.jobs = 0
        self.journal: list[RequestRow] = []  # request journal entries, inserted just before the commit
        self.then: list[Callable[[], None]] = []  # called once committed (`after_commit`)
        self.state: Any = None  # the store's state as read while this batch held the lock (`state`)
        self.staged: StagedSends | None = None  # the accepted messages' writes, written just before the commit


JOURNAL_DELAY = 0.02  # seconds a journal entry may wait for a batch of sends to share its commit


class LoopCommits:
    """`Store.commits` for a process that serves from an event loop; install it on the loop's thread."""

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, journal: JournalSink | None = None) -> None:
        self._store = store
        self._journal = journal  # where entries of other threads go (the writer thread)
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._open: _Batch | None = None
        self._joined: _Batch | None = None
        self._journal_rows: list[RequestRow] = []  # entries waiting for the next commit
        self._journal_timer: asyncio.TimerHandle | None = None

    def install(self) -> LoopCommits:
        self._store.commits = self
        return self

    def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        if threading.get_ident() != self._loop_thread:
            # Its own transaction on its own connection: the thread group commit would share the
            # loop's writer connection (one per process), and its lock descriptor, with the open batch.
            with self._store.transaction() as db:
                return job(db)
        db = self._join().db
        db.execute("SAVEPOINT job")
        try:
            result = job(db)
        except BaseException:
            db.execute("ROLLBACK TO job")
            db.execute("RELEASE job")
            raise
        db.execute("RELEASE job")
        return result

    def stage(self, job: Callable[[StagedSends], T]) -> T:
        """Run `job` on the open batch's `StagedSends` (see mock_server.store.acceptance): what it
        stages is written just before the batch commits, with every other send of the batch.

        No savepoint: a job that refuses (124, 103) or fails has staged nothing. Off the loop's
        thread, a transaction of its own, as `run`."""
        if threading.get_ident() != self._loop_thread:
            with self._store.transaction() as db:
                return staged_alone(db, job)
        batch = self._join()
        if batch.staged is None:
            batch.staged = StagedSends(batch.db)
        return job(batch.staged)

    def _join(self) -> _Batch:
        """The open batch (begun if none), which the request being handled now waits for."""
        batch = self._open or self._begin()
        self._joined = batch
        batch.jobs += 1
        return batch

    def after_commit(self, then: Callable[[], None]) -> None:
        """Call `then` once what the loop's thread just stored is committed (at once elsewhere:
        other threads commit before `run` returns). Nothing is called after a failed commit.

        The callback dispatcher is woken this way, and only by sends that queued a callback: a
        wake-up after every commit cost each send about a quarter of its CPU (profiled)."""
        batch = self._open if threading.get_ident() == self._loop_thread else None
        if batch is None:
            then()
        elif then not in batch.then:
            batch.then.append(then)

    def state(self, read: Callable[[Any], T]) -> T:
        """`read(connection)` (the store's clock and versions), read once per batch on the loop's thread.

        While a batch is open this process holds the writers' lock, and whatever changes the
        clock, the fixtures or the scenarios writes under that lock: what was read after the
        batch began stays true until it commits. A read per request showed in profiles. The
        loop's thread reads on the batches' connection, open or not: any other connection of
        the process discards its page cache after each of the loop's commits and reads it again."""
        if threading.get_ident() != self._loop_thread:
            return read(self._store.connection())
        batch = self._open
        if batch is None:
            return read(self._store.writer_connection()[0])
        if batch.state is None:
            batch.state = read(batch.db)
        return batch.state  # type: ignore[no-any-return]

    def add(self, row: RequestRow) -> None:
        """Journal `row` with the loop's next commit; nobody waits for it.

        Under load the entries ride along with the next batch of sends (no commit of their own);
        without sends they are committed JOURNAL_DELAY later, many per commit, or at once when the
        control plane is asked something (`flush`). A commit per entry, or a writer thread's own
        commits, made this loop's connection drop its page cache far more often."""
        if threading.get_ident() != self._loop_thread:
            if self._journal is not None:
                self._journal.add(row)
            return
        self._journal_rows.append(row)
        if self._open is None and self._journal_timer is None:
            self._journal_timer = self._loop.call_later(JOURNAL_DELAY, self._journal_alone)

    def _journal_alone(self) -> None:
        self._journal_timer = None
        if self._journal_rows and self._open is None:
            self.flush()

    def joined(self) -> asyncio.Future[BaseException | None] | None:
        """The commit the request just handled must wait for (None if it wrote nothing); resets."""
        batch, self._joined = self._joined, None
        return batch.committed if batch is not None else None

    def _begin(self) -> _Batch:
        db = self._store.begin_batch()  # SQLite: under the writers' lock of every process
        self._open = _Batch(db, self._loop.create_future())
        self._loop.call_soon(self.flush)
        return self._open

    def flush(self) -> None:
        """Commit the open batch now (on the loop's thread; elsewhere there is none to commit)."""
        if threading.get_ident() != self._loop_thread:
            return
        batch = self._open
        if batch is None:
            if not self._journal_rows:
                return
            batch = self._begin()  # for the journal's entries alone
        self._open = None
        outcome: BaseException | None = None
        journal, self._journal_rows = self._journal_rows, []
        try:
            if batch.staged is not None:
                batch.staged.write()  # if this fails, no send of the batch is stored: each answers the honest 500
            if journal:
                batch.journal = journal
                self._insert_journal(batch)
            self._store.end_batch(batch.db, commit=True)
        except Exception as exc:  # nothing of the batch is stored: each of its requests answers an error
            log.exception("event=commit_failed")
            outcome = exc
            self._journal_rows[:0] = journal  # other requests' entries: they go with the next commit
            try:
                self._store.end_batch(batch.db, commit=False)
            except Exception:  # noqa: S110 - the connection is gone: nothing left to roll back
                pass
        batch.committed.set_result(outcome)
        log.debug("event=commit jobs=%d", batch.jobs)
        if outcome is None:
            for then in batch.then:
                then()

    @staticmethod
    def _insert_journal(batch: _Batch) -> None:
        """The batch's journal entries, in a savepoint: if they fail, the sends are still committed."""
        db = batch.db
        db.execute("SAVEPOINT journal")
        try:
            request_log.insert_into(db, batch.journal)
        except Exception:  # the journal must never cost a caller its answer
            log.exception("event=journal_not_written rows=%d", len(batch.journal))
            db.execute("ROLLBACK TO journal")
        db.execute("RELEASE journal")
