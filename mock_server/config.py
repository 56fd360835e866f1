"""The mock's configuration: one explicit object, built by the CLI or by tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from mock_server.esms.callbacks import CallbackSettings
from mock_server.esms.spec import DEFAULT_SPEC_PATH
from mock_server.store.request_log import Retention


@dataclass(frozen=True)
class MockConfig:
    db_path: str | Path = "esms-mock.sqlite3"
    fixtures_path: str | Path | None = None  # loaded at start when given (replaces stored fixtures)
    spec_path: str | Path = DEFAULT_SPEC_PATH
    delivery_delay: float = 1.0  # seconds from acceptance (or SendDate) to the final delivery state
    max_body_bytes: int = 1_048_576
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    journal: Retention = field(default_factory=Retention)  # how much of the request journal is kept
    start_dispatcher: bool = True  # tests of pure request handling may turn the background sender off
    # Returned by /_mock/health, so that the CLI announces "ready" only when this very server answers.
    instance_id: str = field(default_factory=lambda: secrets.token_hex(8))
