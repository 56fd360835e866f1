"""Group commit on the event loop (mock_server.loop_commits): the sends of one loop iteration share one
transaction (accepted messages staged and written together, other jobs each in a savepoint); every
100 is committed before it is answered."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mock_server.loop_commits import LoopCommits
from mock_server.store import Refused, Store, is_database_url, open_store, request_log
from mock_server.store.request_log import JournalWriter, RequestRow
from mock_server.testing import ServedMock
from test_store import API_KEY, PRICE, draft, new_store

V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"


def stored_smsids(location: str | Path) -> set[str]:
    """What another connection sees committed in the database (a SQLite file or a PostgreSQL URL)."""
    if not is_database_url(str(location)):  # a plain connection: opening a Store would wait for the writers' lock
        with sqlite3.connect(location) as db:
            return {row[0] for row in db.execute("SELECT smsid FROM messages")}
    store = open_store(location)
    try:
        return {row[0] for row in store.connection().execute("SELECT smsid FROM messages")}
    finally:
        store.close()


def on_a_loop(store: Store, work: Any) -> Any:
    """Run `work(commits)` on a fresh event loop with LoopCommits installed on its thread."""
    async def main() -> Any:
        commits = LoopCommits(store, asyncio.get_running_loop()).install()
        return await work(commits)

    return asyncio.run(main())


def test_sends_of_one_loop_iteration_share_one_commit_and_each_is_stored(store_location: str) -> None:
    store = open_store(new_store(store_location))
    drafts = [draft(uuid.uuid4().hex) for _ in range(5)]

    async def work(commits: LoopCommits) -> list[Any]:
        waits = []
        for one in drafts:
            assert store.accept(API_KEY, [one], one.send_at) == [None]
            waits.append(commits.joined())
        assert len({id(wait) for wait in waits}) == 1  # one batch, one commit
        assert stored_smsids(store_location) == set()  # nothing is visible (or answerable) before the commit
        return [await wait for wait in waits]

    assert on_a_loop(store, work) == [None] * 5  # committed, no failure
    assert stored_smsids(store_location) == {d.smsid for d in drafts}


def test_a_refused_or_failing_request_in_a_batch_does_not_undo_the_others(store_location: str) -> None:
    store = open_store(new_store(store_location))
    first, repeated, last = draft("same-id"), draft("same-id"), draft(uuid.uuid4().hex)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO balances (api_key, balance) VALUES ('half-written', 1)")
        raise RuntimeError("a bug in a handler")

    async def work(commits: LoopCommits) -> Any:
        assert store.accept(API_KEY, [first], first.send_at) == [None]
        with pytest.raises(Refused):  # 124: the RequestId of `first`, in the same open batch
            store.accept(API_KEY, [repeated], repeated.send_at)
        with pytest.raises(RuntimeError):
            commits.run(broken)
        assert store.accept(API_KEY, [last], last.send_at) == [None]
        return await commits.joined()  # type: ignore[misc]

    assert on_a_loop(store, work) is None
    assert stored_smsids(store_location) == {first.smsid, last.smsid}
    assert store.connection().execute("SELECT COUNT(*) FROM balances WHERE api_key = 'half-written'").fetchone()[0] == 0


def test_sends_of_one_batch_spend_the_balance_together_and_the_one_it_does_not_cover_gets_103(
        store_location: str) -> None:
    store = open_store(new_store(store_location, balance=2.5 * PRICE))
    first, second, third = (draft(uuid.uuid4().hex) for _ in range(3))

    async def work(commits: LoopCommits) -> Any:
        assert store.accept(API_KEY, [first], first.send_at) == [None]
        assert store.accept(API_KEY, [second], second.send_at) == [None]
        with pytest.raises(Refused) as refused:  # 2.5 prices minus the two staged in this batch
            store.accept(API_KEY, [third], third.send_at)
        assert refused.value.code == "103"
        return await commits.joined()  # type: ignore[misc]

    assert on_a_loop(store, work) is None
    assert stored_smsids(store_location) == {first.smsid, second.smsid}
    assert store.balance(API_KEY) == pytest.approx(0.5 * PRICE)
    assert store.quota_used(first.quota_oaid or "", time.time()) == 2  # the refused send used no quota


def test_a_request_id_stored_by_an_earlier_batch_is_refused_with_124_in_a_later_one(store_location: str) -> None:
    store = open_store(new_store(store_location))
    first, repeated = draft("kept-id"), draft("kept-id")

    async def work(commits: LoopCommits) -> Any:
        store.accept(API_KEY, [first], first.send_at)
        await commits.joined()  # type: ignore[misc]
        with pytest.raises(Refused) as refused:
            store.accept(API_KEY, [repeated], repeated.send_at)
        return refused.value.code

    assert on_a_loop(store, work) == "124"
    assert stored_smsids(store_location) == {first.smsid}


def test_another_write_on_the_loop_commits_the_open_batch_first_instead_of_waiting_for_it(store_location: str) -> None:
    store = open_store(new_store(store_location))
    one = draft(uuid.uuid4().hex)

    async def work(commits: LoopCommits) -> Any:
        store.accept(API_KEY, [one], one.send_at)
        pending = commits.joined()
        store.set_clock_offset(60)  # its own transaction: would deadlock on the writers' lock held by the batch
        assert pending is not None and pending.done()
        return await pending

    assert on_a_loop(store, work) is None
    assert stored_smsids(store_location) == {one.smsid}


def test_other_threads_commit_in_a_transaction_of_their_own_beside_an_open_batch(store_location: str) -> None:
    store = open_store(new_store(store_location))
    one = draft(uuid.uuid4().hex)

    other = draft(uuid.uuid4().hex)

    async def work(commits: LoopCommits) -> Any:
        store.accept(API_KEY, [other], other.send_at)  # the loop's batch, open until the next iteration
        batch = commits.joined()
        result: list[Any] = []
        thread = threading.Thread(target=lambda: result.append(store.accept(API_KEY, [one], one.send_at)))
        thread.start()  # waits for the writers' lock, which the batch holds
        assert batch is not None
        await batch
        await asyncio.to_thread(thread.join)
        return result, commits.joined()

    assert on_a_loop(store, work) == ([[None]], None)
    assert stored_smsids(store_location) == {one.smsid, other.smsid}


def test_the_loop_reads_the_clock_another_thread_set_once_no_batch_is_open(store_location: str) -> None:
    store = open_store(new_store(store_location))

    async def work(commits: LoopCommits) -> tuple[float, float]:
        before = store.state()[0]  # read on the loop's writer connection, no batch open
        await asyncio.to_thread(store.set_clock_offset, 3600.0)  # another thread's transaction
        return before, store.state()[0]

    assert on_a_loop(store, work) == (0.0, 3600.0)


def test_every_100_answered_by_the_served_mock_survives_kill_9(store_location: str) -> None:
    server = ServedMock(store_location).start()
    try:
        def send(_: int) -> str | None:
            body = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY", "OAID": "4097311281936189049",
                    "Phone": "0901888484", "TempID": "205644", "TempData": [{"key": "otp", "value": "1"}],
                    "RequestId": uuid.uuid4().hex}
            request = urllib.request.Request(server.base_url + V5, data=json.dumps(body).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                answer = json.loads(response.read())
            return answer["SMSID"] if answer["CodeResult"] == "100" else None

        with ThreadPoolExecutor(16) as pool:
            answered = [smsid for smsid in pool.map(send, range(300)) if smsid]
        server.kill()  # no shutdown, no flush: only what was committed is in the file
    finally:
        server.stop()
    assert len(answered) == 300
    assert set(answered) <= stored_smsids(store_location)


def journal_row(path: str = "/x") -> RequestRow:
    return RequestRow(time.time(), "POST", path, None, "null", outcome="unmatched", http_status=404)


def test_journal_entries_join_the_loop_commit_and_nobody_waits_for_them(store_location: str) -> None:
    store = open_store(new_store(store_location))
    one = draft(uuid.uuid4().hex)

    async def work(commits: LoopCommits) -> None:
        assert store.accept(API_KEY, [one], one.send_at) == [None]
        sent = commits.joined()
        commits.add(journal_row("/a"))
        commits.add(journal_row("/b"))
        assert commits.joined() is None  # an entry makes no answer wait
        assert sent is not None and await sent is None

    on_a_loop(store, work)
    assert [row["path"] for row in request_log.find(store)] == ["/b", "/a"]
    assert stored_smsids(store_location) == {one.smsid}


def test_a_journal_entry_that_cannot_be_written_does_not_undo_the_sends(store_location: str) -> None:
    store = open_store(new_store(store_location))
    one = draft(uuid.uuid4().hex)
    unwritable = journal_row()
    unwritable.body = None  # type: ignore[assignment]  # the column is NOT NULL

    async def work(commits: LoopCommits) -> BaseException | None:
        assert store.accept(API_KEY, [one], one.send_at) == [None]
        sent = commits.joined()
        commits.add(unwritable)
        assert sent is not None
        return await sent

    assert on_a_loop(store, work) is None
    assert stored_smsids(store_location) == {one.smsid} and request_log.find(store) == []


def test_journal_entries_of_other_threads_go_to_the_writer(store_location: str) -> None:
    store = open_store(new_store(store_location))
    writer = JournalWriter(store)

    async def work(commits: LoopCommits) -> None:
        await asyncio.get_running_loop().run_in_executor(None, commits.add, journal_row("/thread"))

    async def main() -> None:
        await work(LoopCommits(store, asyncio.get_running_loop(), journal=writer).install())

    asyncio.run(main())
    writer.stop()
    assert [row["path"] for row in request_log.find(store)] == ["/thread"]


def test_journal_entries_without_sends_are_committed_together_shortly_after(store_location: str) -> None:
    store = open_store(new_store(store_location))

    async def work(commits: LoopCommits) -> list[str]:
        commits.add(journal_row("/a"))
        commits.add(journal_row("/b"))
        before = [row["path"] for row in request_log.find(store)]
        await asyncio.sleep(0.2)
        return before

    assert on_a_loop(store, work) == []  # not before the delay (nobody waited for them)
    assert [row["path"] for row in request_log.find(store)] == ["/b", "/a"]
