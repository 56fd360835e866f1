"""What the PostgreSQL store does differently from the SQLite one (mock_server.store.postgresql): its
schema migrations, callback leases between instances, and the URL it shows. The behaviour both
share is tested on both backends (test_store.py, test_sending.py, test_control.py, test_served.py)."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from mock_server.esms.callbacks import callbacks_for
from mock_server.store import StoreError, open_store
from mock_server.store.fixtures import DEMO_FIXTURES_PATH
from mock_server.store.postgresql import PostgresStore, _to_postgresql, without_password
from test_store import API_KEY, draft


@pytest.fixture
def database(postgres_cluster: Any) -> str:
    return postgres_cluster.new_database()  # type: ignore[no-any-return]


def test_instances_starting_together_create_the_schema_once(database: str) -> None:
    with ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(lambda _: open_store(database), range(6)))
    assert all(isinstance(store, PostgresStore) for store in stores)
    rows = stores[0].connection().execute("SELECT version FROM schema_migrations").fetchall()
    assert [row[0] for row in rows] == [3, 4]
    assert len({store._digest._key for store in stores}) == 1  # one SecretKey digest key for every instance
    for store in stores:
        store.close()


def test_a_database_made_by_a_newer_version_is_refused(database: str) -> None:
    store = open_store(database)
    store.connection().execute("INSERT INTO schema_migrations (version) VALUES (999)")
    store.close()
    with pytest.raises(StoreError, match="newer version of esms-mock"):
        open_store(database)


def test_a_callback_leased_by_one_instance_is_left_to_it_until_its_lease_ends(database: str) -> None:
    first, second = open_store(database), open_store(database)
    first.load_fixtures(yaml.safe_load(DEMO_FIXTURES_PATH.read_text(encoding="utf-8")))
    message = draft(uuid.uuid4().hex)
    first.accept(API_KEY, [message], time.time(), build_callbacks=lambda d: callbacks_for(d, type_id=25))
    due = message.final_at + 1
    [leased] = first.claim_due_callbacks(due, lease_seconds=15, limit=10)
    assert second.claim_due_callbacks(due, lease_seconds=15, limit=10) == []  # another instance's lease
    [taken_over] = second.claim_due_callbacks(due + 16, lease_seconds=15, limit=10)  # the first one died
    assert taken_over["id"] == leased["id"] and taken_over["attempts"] == 2
    first.close()
    second.close()


def test_the_url_is_shown_without_its_password() -> None:
    assert without_password("postgresql://mock:s3cret@db.internal:5432/esms") == "postgresql://mock:***@db.internal:5432/esms"
    assert without_password("postgresql://mock@/esms?host=/run/pg") == "postgresql://mock@/esms?host=/run/pg"


def test_placeholders_become_psycopgs_and_quoted_text_is_left_alone() -> None:
    assert _to_postgresql("SELECT '?', x FROM t WHERE a = ? AND b LIKE '%x'") == \
        "SELECT '?', x FROM t WHERE a = %s AND b LIKE '%%x'"
