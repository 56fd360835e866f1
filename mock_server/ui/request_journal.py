"""The journal of every eSMS request, as the inbox reads it.

The inbox lists refused and unmatched requests beside the accepted messages. It reads them with
the query `GET /_mock/requests` answers from (`request_log.find`) and shows them in that
endpoint's JSON form (`journal.request_json`), so the inbox and the control plane show the same.
"""

from __future__ import annotations

from typing import Any

from mock_server.control import journal
from mock_server.store import request_log

NOT_ACCEPTED = ("refused", "unmatched")


def not_accepted(state: Any, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Refused and unmatched requests matching `filters` (keyword filters of `request_log.find`),
    newest first."""
    state.journal_writer.flush()  # this process's requests of the last moments (see request_log)
    rows = [row for outcome in NOT_ACCEPTED
            for row in request_log.find(state.store, outcome=outcome, limit=limit, **filters)]
    rows.sort(key=lambda row: row["received_at"], reverse=True)
    return [journal.request_json(row) for row in rows[:limit]]


def newest(state: Any) -> str:
    """The id of the newest request the journal holds ('' when empty): part of the list's version."""
    state.journal_writer.flush()
    newest_id = state.store.connection().execute("SELECT MAX(id) FROM requests").fetchone()[0]
    return "" if newest_id is None else str(newest_id)
