"""Fixtures shared by every test folder: the two store backends.

`store_backend` runs a test once on SQLite and once on PostgreSQL (a throw-away cluster started
once per session, on first use; mock_server.testing.postgres_cluster), so the behaviour tests of
both implementations cannot drift apart. A test gets a fresh database from `store_location`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[object]:
    from mock_server.testing.postgres_cluster import ClusterError, PostgresCluster

    try:
        cluster = PostgresCluster().start()
    except ClusterError as exc:  # `make test` installs PostgreSQL; a bare pytest run may lack it
        pytest.fail(f"no PostgreSQL for the postgresql backend tests: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_location(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new database of the backend: a SQLite file path, or a PostgreSQL URL."""
    if store_backend == "sqlite":
        return str(tmp_path / "store.sqlite3")
    return request.getfixturevalue("postgres_cluster").new_database()  # type: ignore[no-any-return]
