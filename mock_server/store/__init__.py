"""The mock's persistent state: the store (SQLite by default, or PostgreSQL shared by several
instances), the fixtures it serves, and the mock clock."""

from __future__ import annotations

import os

from mock_server.store.sqlite import (
    CallbackDraft,
    MessageDraft,
    RecipientDraft,
    Refused,
    Store,
    StoreError,
)

URL_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: object) -> bool:
    """Whether `--db` names a PostgreSQL database (a libpq URL) rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def open_store(location: str | os.PathLike[str]) -> Store:
    """The store `--db` names: a PostgreSQL URL, or else a SQLite file."""
    if is_database_url(location):
        try:  # psycopg is the optional extra `postgresql`: SQLite needs nothing installed
            from mock_server.store.postgresql import PostgresStore
        except ImportError:
            raise StoreError("a postgresql:// --db needs psycopg: pip install 'esms-zalo-mock[postgresql]'") from None
        return PostgresStore(str(location))
    return Store(location)


__all__ = ["CallbackDraft", "MessageDraft", "RecipientDraft", "Refused", "Store", "StoreError", "is_database_url",
           "open_store"]
