"""The callback sender (mock_server.callbacks.Dispatcher) across a fork: a worker forked from a
process that has sent callbacks makes its own thread pool and HTTP client."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from mock_server.esms.callbacks import CallbackSettings, Dispatcher
from mock_server.store import Store


def test_a_forked_process_opens_its_own_pool_and_client(tmp_path: Path):
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    store = Store(tmp_path / "esms.sqlite3")
    dispatcher = Dispatcher(store, CallbackSettings())
    dispatcher._open()
    parent_pool, parent_client = dispatcher._pool, dispatcher._client
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()

    def child() -> None:
        dispatcher._open()
        pool = dispatcher._pool
        fresh = pool is not parent_pool and dispatcher._client is not parent_client
        results.put((fresh, pool.submit(os.getpid).result(timeout=10) == os.getpid()))  # its threads run

    process = fork.Process(target=child)
    process.start()
    assert results.get(timeout=60) == (True, True)
    process.join(timeout=60)
    dispatcher.stop()
    store.close()
