"""The mock's persistent state: the SQLite store, the fixtures it serves, and the mock clock."""

from mock_server.store.sqlite import (
    CallbackDraft,
    MessageDraft,
    RecipientDraft,
    Refused,
    Store,
    StoreError,
)

__all__ = ["CallbackDraft", "MessageDraft", "RecipientDraft", "Refused", "Store", "StoreError"]
