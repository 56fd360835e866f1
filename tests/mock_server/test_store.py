"""The store under concurrency and crashes, on both backends (SQLite, PostgreSQL).

Several processes share one database (the workers of a server, or several servers on one
PostgreSQL): a RequestId raced by
several processes at once is accepted exactly once, a balance raced by several processes is
never overspent, and a message whose acceptance was committed survives the process that stored
it being killed with SIGKILL.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest
import yaml
from mock_server.esms.callbacks import callbacks_for
from mock_server.store.fixtures import DEMO_FIXTURES_PATH, Outcome
from mock_server.store import MessageDraft, RecipientDraft, Refused, open_store

# This module does not import conftest: the worker processes import it (spawn), and should not
# pay for Flask and the spec validators they never use.
API_KEY = "DEMO_API_KEY"
OAID = "4097311281936189049"
OTP_TEMPLATE = "205644"
PHONE = "0901888484"
WORKERS = 8
PRICE = 440.0
CONTEXT = multiprocessing.get_context("spawn")


def draft(request_id: str | None = None, *, smsid: str | None = None, price: float = PRICE,
          callback_url: str | None = "http://127.0.0.1:9/cb") -> MessageDraft:
    """A one-recipient ZNS as the handlers build it."""
    now = time.time()
    return MessageDraft(
        smsid=smsid or uuid.uuid4().hex + "100",
        operation="send_zns_v6",
        type_id=25,
        oaid=OAID,
        template_id=OTP_TEMPLATE,
        campaign=None,
        request_ids=[request_id] if request_id else [],
        callback_url=callback_url,
        sandbox=False,
        send_at=now,
        final_at=now + 0.2,
        content="123456",
        body={"ApiKey": API_KEY, "Phone": PHONE, "RequestId": request_id},
        recipients=[RecipientDraft(PHONE, PHONE, Outcome("delivered"), price, 2, "Mobifone", uuid.uuid4().hex[:20])],
        quota_oaid=OAID,
    )


def new_store(path: str, balance: float = 1_000_000) -> str:
    """The database at `path` (a SQLite file or a PostgreSQL URL) with the demo fixtures."""
    document = yaml.safe_load(DEMO_FIXTURES_PATH.read_text(encoding="utf-8"))
    document["accounts"][0]["balance"] = balance
    store = open_store(path)
    store.load_fixtures(document)
    store.close()
    return path


# ---------------------------------------------------------------------------- work done in child processes
def _accept_at_the_same_moment(path: str, request_id: str, start: Any, results: Any) -> None:
    """Open an own Store on the shared file, wait until every worker is ready, then accept one message."""
    store = open_store(path)
    store.balance(API_KEY)  # the connection is open before the race starts
    message = draft(request_id)
    start.wait(timeout=120)  # a barrier: released when the last worker arrives
    try:
        store.accept(API_KEY, [message], time.time(), daily_quota=500,
                     build_callbacks=lambda d: callbacks_for(d, type_id=25))
        results.put(("accepted", message.smsid))
    except Refused as refused:
        results.put((refused.code, message.smsid))
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put((f"error: {type(exc).__name__}: {exc}", message.smsid))
    finally:
        store.close()


def _accept_then_die(path: str, smsid: str, request_id: str) -> None:
    store = open_store(path)
    store.accept(API_KEY, [draft(request_id, smsid=smsid)], time.time(), daily_quota=500,
                 build_callbacks=lambda d: callbacks_for(d, type_id=25))
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint, no atexit
    time.sleep(60)  # never reached


def _race(path: str, request_ids: list[str | None]) -> list[tuple[str, str]]:
    start = CONTEXT.Barrier(len(request_ids))
    results = CONTEXT.Queue()
    processes = [CONTEXT.Process(target=_accept_at_the_same_moment, args=(str(path), rid, start, results))
                 for rid in request_ids]
    for process in processes:
        process.start()
    found = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0, process.exitcode
    return found


# ---------------------------------------------------------------------------- tests
def test_request_id_raced_by_several_processes_is_accepted_exactly_once(store_location):
    path = new_store(store_location)
    request_id = "race-" + uuid.uuid4().hex[:8]
    found = _race(path, [request_id] * WORKERS)
    outcomes = sorted(outcome for outcome, _ in found)
    assert outcomes == ["124"] * (WORKERS - 1) + ["accepted"], outcomes
    [winner] = [smsid for outcome, smsid in found if outcome == "accepted"]
    store = open_store(path)
    rows = store.connection().execute("SELECT smsid FROM messages WHERE request_id = ?", (request_id,)).fetchall()
    assert [row["smsid"] for row in rows] == [winner]
    assert store.balance(API_KEY) == pytest.approx(1_000_000 - PRICE)
    assert len(store.all_callbacks()) == 1
    store.close()


def test_different_request_ids_raced_by_several_processes_are_all_accepted(store_location):
    path = new_store(store_location)
    found = _race(path, [f"many-{i}" for i in range(WORKERS)])
    assert [outcome for outcome, _ in found] == ["accepted"] * WORKERS
    store = open_store(path)
    seqs = [row["seq"] for row in store.connection().execute("SELECT seq FROM messages")]
    assert sorted(seqs) == list(range(1, WORKERS + 1))  # one ordered journal, no duplicate positions
    assert store.balance(API_KEY) == pytest.approx(1_000_000 - WORKERS * PRICE)
    assert store.quota_used(OAID, time.time()) == WORKERS
    store.close()


def test_balance_raced_by_several_processes_is_never_overspent(store_location):
    path = new_store(store_location, balance=3 * PRICE + 100)
    found = _race(path, [None] * WORKERS)
    outcomes = sorted(outcome for outcome, _ in found)
    assert outcomes == ["103"] * (WORKERS - 3) + ["accepted"] * 3, outcomes
    store = open_store(path)
    assert store.balance(API_KEY) == pytest.approx(100)
    assert store.connection().execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 3
    store.close()


def test_committed_message_survives_sigkill_of_the_process_that_stored_it(store_location):
    path = new_store(store_location)
    smsid = uuid.uuid4().hex + "777"
    request_id = "durable-" + uuid.uuid4().hex[:8]
    child = CONTEXT.Process(target=_accept_then_die, args=(str(path), smsid, request_id))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == -signal.SIGKILL
    store = open_store(path)
    message = store.message(smsid)
    assert message is not None, "the committed message was lost with the process"
    assert (message["request_id"], message["api_key"], message["oaid"]) == (request_id, API_KEY, OAID)
    assert [row["recipient"] for row in store.recipients(smsid)] == [PHONE]
    assert len(store.callbacks_for(smsid)) == 1
    assert store.balance(API_KEY) == pytest.approx(1_000_000 - PRICE)
    # The RequestId reservation survived too: the same id is still a duplicate.
    with pytest.raises(Refused) as refused:
        store.accept(API_KEY, [draft(request_id)], time.time())
    assert refused.value.code == "124"
    store.close()


def test_refused_acceptance_leaves_nothing_behind(store_location):
    path = new_store(store_location, balance=PRICE - 1)
    store = open_store(path)
    with pytest.raises(Refused) as refused:
        store.accept(API_KEY, [draft("left-nothing")], time.time(), daily_quota=500,
                     build_callbacks=lambda d: callbacks_for(d, type_id=25))
    assert refused.value.code == "103"
    db = store.connection()
    for table in ("messages", "callbacks", "request_ids", "quota_use"):
        assert db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table  # noqa: S608
    assert store.balance(API_KEY) == PRICE - 1
    store.close()


def test_request_id_window_is_24_hours(store_location):
    store = open_store(new_store(store_location))
    now = time.time()
    store.accept(API_KEY, [draft("window")], now)
    with pytest.raises(Refused):
        store.accept(API_KEY, [draft("window")], now + 86_400 - 1)
    store.accept(API_KEY, [draft("window")], now + 86_400 + 1)
    store.close()


def test_partial_acceptance_reports_each_duplicate_and_stores_the_rest(store_location):
    store = open_store(new_store(store_location))
    now = time.time()
    store.accept(API_KEY, [draft("taken")], now)
    results = store.accept(API_KEY, [draft("fresh-1"), draft("taken"), draft("fresh-2"), draft("fresh-1")], now,
                           partial=True)
    assert results == [None, "124", None, "124"]
    assert store.connection().execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 3
    store.close()


def test_a_store_opened_before_a_fork_opens_its_own_connection_in_the_child(store_location):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    path = new_store(store_location)
    store = open_store(path)
    store.accept(API_KEY, [draft("before-the-fork")], time.time())  # the parent's connections exist, the group writer's too
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()

    def child() -> None:
        try:
            store.accept(API_KEY, [draft("forked")], time.time())
            results.put("accepted")
        except Exception as exc:  # reported to the parent
            results.put(repr(exc))

    process = fork.Process(target=child)
    process.start()
    assert results.get(timeout=60) == "accepted"
    process.join(timeout=60)
    assert store.connection().execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 2
    store.accept(API_KEY, [draft("after-the-fork")], time.time())  # and the parent's own still work
    store.close()


# ---------------------------------------------------------------------------- threads of one process (group commit)
def _in_threads(count: int, work: Any) -> list[Any]:
    """Run `work(i)` in `count` threads released together; each result, or the exception it raised."""
    start = threading.Barrier(count)
    found: list[Any] = [None] * count

    def run(index: int) -> None:
        start.wait(timeout=60)
        try:
            found[index] = work(index)
        except Exception as exc:  # the test reads it
            found[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread never got its answer from the group commit"
    return found


def test_request_id_raced_by_threads_of_one_process_is_accepted_exactly_once(store_location):
    store = open_store(new_store(store_location))
    found = _in_threads(WORKERS, lambda i: store.accept(API_KEY, [draft("thread-race")], time.time()))
    refused = [r for r in found if isinstance(r, Refused)]
    assert [r.code for r in refused] == ["124"] * (WORKERS - 1)
    assert found.count([None]) == 1
    assert store.connection().execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1
    assert store.balance(API_KEY) == pytest.approx(1_000_000 - PRICE)
    store.close()


def test_a_refused_job_in_a_group_commit_rolls_back_alone(store_location):
    """Jobs that queue while a commit runs are committed together; the one refused (124) leaves
    nothing behind, and every other job of its batch is stored."""
    store = open_store(new_store(store_location))
    store.accept(API_KEY, [draft("already-used")], time.time())
    followers = WORKERS - 1
    holding = threading.Event()  # the first job has the writer: the others may queue now

    def hold_until_all_queued(db: Any) -> int:
        holding.set()
        deadline = time.monotonic() + 30
        while len(store.commits._queue) < followers and time.monotonic() < deadline:
            time.sleep(0.001)
        return len(store.commits._queue)  # the batch the next leader takes

    def work(index: int) -> Any:
        if index == 0:
            return store.commits.run(hold_until_all_queued)
        assert holding.wait(timeout=30)
        message = draft(f"batch-{index}")
        if index == 1:  # reserves its first RequestId, then finds its second one taken: all undone
            message.request_ids = ["reserved-then-undone", "already-used"]
        return store.accept(API_KEY, [message], time.time())

    found = _in_threads(WORKERS, work)
    assert found[0] == followers, "the other jobs did not form one batch"
    assert isinstance(found[1], Refused) and found[1].code == "124"
    assert found[2:] == [[None]] * (WORKERS - 2)
    db = store.connection()
    assert db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1 + WORKERS - 2
    assert db.execute("SELECT COUNT(*) FROM request_ids").fetchone()[0] == 1 + WORKERS - 2
    assert db.execute("SELECT COUNT(*) FROM request_ids WHERE request_id = 'reserved-then-undone'").fetchone()[0] == 0
    assert store.balance(API_KEY) == pytest.approx(1_000_000 - (WORKERS - 1) * PRICE)
    store.close()
