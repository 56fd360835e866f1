"""SecretKeys are stored as keyed digests (mock_server.store.secret_digest): never in clear in the
SQLite file, and requests authenticate against the digest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from mock_server.store import Store
from mock_server.store.secret_digest import MASK, PREFIX, SecretDigest, new_key
from mock_server.store.sqlite import SCHEMA_VERSION

SECRET = "S3CRET-only-in-the-fixtures-9f2c"
DOCUMENT = {"accounts": [{"api_key": "K1", "secret_key": SECRET, "balance": 5000}]}


def file_bytes(db: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db.parent.glob(db.name + "*") if path.is_file())


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(tmp_path / "mock.sqlite3")
    yield opened
    opened.close()


def test_the_database_file_never_holds_a_secret_key_in_clear(store: Store, tmp_path: Path):
    store.load_fixtures(DOCUMENT)
    store.checkpoint()
    assert SECRET.encode() not in file_bytes(tmp_path / "mock.sqlite3")
    [account] = store.fixtures().document["accounts"]
    assert account["secret_key"].startswith(PREFIX) and SECRET not in account["secret_key"]


def test_requests_authenticate_against_the_digest(store: Store):
    store.load_fixtures(DOCUMENT)
    fixtures = store.fixtures()
    assert fixtures.account("K1", SECRET) is not None
    assert fixtures.account("K1", SECRET + "x") is None
    assert fixtures.account("K1", fixtures.document["accounts"][0]["secret_key"]) is None  # the digest is no key
    assert fixtures.account("K2", SECRET) is None


def test_each_database_has_its_own_digest_key(tmp_path: Path):
    digests = []
    for name in ("a.sqlite3", "b.sqlite3"):
        store = Store(tmp_path / name)
        store.load_fixtures(DOCUMENT)
        digests.append(store.fixtures().document["accounts"][0]["secret_key"])
        store.close()
    assert digests[0] != digests[1]


def test_a_masked_secret_sent_back_keeps_the_accounts_secret(store: Store):
    store.load_fixtures(DOCUMENT)
    store.load_fixtures({"accounts": [{"api_key": "K1", "secret_key": MASK, "balance": 7}]})
    assert store.fixtures().account("K1", SECRET) is not None
    store.load_fixtures(store.fixtures().document)  # the stored document, loaded again
    assert store.fixtures().account("K1", SECRET) is not None


def test_a_masked_secret_of_a_new_account_is_that_text(store: Store):
    store.load_fixtures({"accounts": [{"api_key": "NEW", "secret_key": MASK}]})
    assert store.fixtures().account("NEW", MASK) is not None


def test_a_database_of_schema_2_is_upgraded_and_its_clear_secrets_removed(tmp_path: Path):
    db = tmp_path / "old.sqlite3"
    Store(db).close()
    with sqlite3.connect(db) as old:  # what schema 2 looked like: no digest key, secrets in clear, no journal
        old.execute("ALTER TABLE meta DROP COLUMN secret_digest_key")
        old.execute("DROP TABLE requests")
        old.execute("DROP TABLE journal_pruning")
        old.execute("UPDATE meta SET fixtures_json = ?, fixtures_version = 1", (json.dumps(DOCUMENT),))
        old.execute("INSERT INTO balances VALUES ('K1', 5000)")
        old.execute("PRAGMA user_version = 2")
    assert SECRET.encode() in file_bytes(db)
    store = Store(db)
    try:
        assert store.fixtures().account("K1", SECRET) is not None
        assert store.connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert store.connection().execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 0
    finally:
        store.close()
    assert SECRET.encode() not in file_bytes(db)


def test_get_fixtures_masks_the_digest(client):
    document = client.get("/_mock/fixtures").get_json()
    assert {account["secret_key"] for account in document["accounts"]} == {MASK}
    assert PREFIX not in json.dumps(document)


def test_a_remembered_digest_is_the_digest_computed_afresh() -> None:
    key = new_key()
    remembered = SecretDigest(key)
    assert remembered(SECRET) == remembered(SECRET) == SecretDigest(key)(SECRET)
    assert remembered(SECRET + "x") != remembered(SECRET)


def test_the_digests_kept_in_memory_are_bounded_in_number_and_length() -> None:
    digest = SecretDigest(new_key())
    for n in range(SecretDigest.CACHED + 10):
        digest(f"secret-{n}")
    digest("x" * (SecretDigest.CACHED_LENGTH + 1))
    assert len(digest._known) <= SecretDigest.CACHED
    assert all(len(secret) <= SecretDigest.CACHED_LENGTH for secret in digest._known)
