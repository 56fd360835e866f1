"""Scenarios: forced answers for requests that match an operation and, optionally, field values.

Like WireMock stubs or Prism's `Prefer` header, but stateful: a scenario can force a result
code, an HTTP status, added latency or a dropped connection, for the next N matching requests
or until removed. Active scenarios are cached per process and re-read only when their version
in the store changes, so requests pay nothing while none is defined.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from mock_server.store import Store


@dataclass(frozen=True)
class Scenario:
    operation: str  # an operationId, or "*" for every eSMS operation
    match: dict[str, Any] = field(default_factory=dict)  # top-level request fields that must be equal
    code: str | None = None  # answer with this result code
    message: str | None = None
    http_status: int | None = None  # answer with this HTTP status (the eSMS envelope as body)
    latency_ms: int = 0  # wait this long before answering
    drop: bool = False  # close the connection without an answer
    times: int | None = None  # how many matching requests; None = until removed
    scope: str | None = None  # only requests with this X-Esms-Mock-Scope header; None = every request
    id: int = 0
    hits: int = 0
    remaining: int | None = None

    def matches(self, operation: str, data: Any, scope: str | None = None) -> bool:
        if self.operation not in ("*", operation):
            return False
        if self.scope is not None and self.scope != scope:
            return False
        if not self.match:
            return True
        return isinstance(data, dict) and all(data.get(key) == value for key, value in self.match.items())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ScenarioBook:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: tuple[int, list[Scenario]] = (-1, [])
        self._lock = threading.Lock()

    def active(self, version: int) -> list[Scenario]:
        cached_version, cached = self._cache
        if cached_version == version:
            return cached
        with self._lock:
            rows = self._store.connection().execute(
                "SELECT id, spec_json, remaining, hits FROM scenarios WHERE remaining IS NULL OR remaining > 0 ORDER BY id"
            ).fetchall()
            scenarios = [
                Scenario(**{**json.loads(r["spec_json"]), "id": r["id"], "remaining": r["remaining"], "hits": r["hits"]})
                for r in rows
            ]
            self._cache = (version, scenarios)
            return scenarios

    def match(self, operation: str, data: Any, version: int, scope: str | None = None) -> Scenario | None:
        """The first active scenario for this request (of test `scope`), using up one of its `times`."""
        for scenario in self.active(version):
            if not scenario.matches(operation, data, scope):
                continue
            with self._store.transaction() as db:
                used = db.execute(
                    "UPDATE scenarios SET hits = hits + 1, remaining = CASE WHEN remaining IS NULL THEN NULL "
                    "ELSE remaining - 1 END WHERE id = ? AND (remaining IS NULL OR remaining > 0) RETURNING remaining",
                    (scenario.id,),
                ).fetchone()
                if used is None:
                    continue
                if used[0] == 0:  # used up: others must stop matching it
                    db.execute("UPDATE meta SET scenarios_version = scenarios_version + 1")
            return scenario
        return None

    def add(self, scenario: Scenario) -> Scenario:
        spec = {k: v for k, v in scenario.to_json().items() if k not in ("id", "hits", "remaining")}
        with self._store.transaction() as db:
            row_id = db.execute(
                "INSERT INTO scenarios (spec_json, remaining, created_at) VALUES (?, ?, ?) RETURNING id",
                (json.dumps(spec), scenario.times, time.time()),
            ).fetchone()[0]
            db.execute("UPDATE meta SET scenarios_version = scenarios_version + 1")
        return Scenario(**{**spec, "id": int(row_id or 0), "remaining": scenario.times})

    def remove(self, scenario_id: int | None = None) -> int:
        with self._store.transaction() as db:
            if scenario_id is None:
                removed = db.execute("DELETE FROM scenarios").rowcount
            else:
                removed = db.execute("DELETE FROM scenarios WHERE id = ?", (scenario_id,)).rowcount
            db.execute("UPDATE meta SET scenarios_version = scenarios_version + 1")
        return removed

    def all(self) -> list[Scenario]:
        rows = self._store.connection().execute("SELECT id, spec_json, remaining, hits FROM scenarios ORDER BY id").fetchall()
        return [Scenario(**{**json.loads(r["spec_json"]), "id": r["id"], "remaining": r["remaining"], "hits": r["hits"]})
                for r in rows]
