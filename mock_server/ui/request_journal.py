"""The journal of every eSMS request (`GET /_mock/requests`), as the inbox reads it.

The inbox lists refused and unmatched requests from it beside the accepted messages. It is read
through the control plane's own route, in process, so the inbox and the control plane show the
same thing (filters, masking, bounds). This is the one place that knows the endpoint's shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask

REQUESTS_PATH = "/_mock/requests"
NOT_ACCEPTED = ("refused", "unmatched")


def not_accepted(app: Flask, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Refused and unmatched requests matching `filters` (the endpoint's own query parameters),
    newest first; [] when the journal cannot answer these filters (e.g. a malformed time)."""
    found: list[dict[str, Any]] = []
    wanted = filters.get("outcome")
    for outcome in NOT_ACCEPTED:
        if wanted and wanted != outcome:
            continue
        query = {**{k: v for k, v in filters.items() if v}, "outcome": outcome, "limit": str(limit)}
        response = app.test_client().get(REQUESTS_PATH, query_string=query)
        if response.status_code != 200:
            continue
        try:
            body = orjson.loads(response.get_data())
        except orjson.JSONDecodeError:
            continue
        found.extend(r for r in body.get("requests", []) if isinstance(r, dict))
    found.sort(key=lambda r: str(r.get("received_at", "")), reverse=True)
    return found[:limit]


def newest(app: Flask) -> str:
    """The id of the newest request the journal holds ('' when empty): part of the list's version."""
    response = app.test_client().get(REQUESTS_PATH, query_string={"limit": "1"})
    if response.status_code != 200:
        return ""
    try:
        requests = orjson.loads(response.get_data()).get("requests") or [{}]
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    return str(requests[0].get("id", "")) if isinstance(requests[0], dict) else ""
