"""The inbox's pages under /_mock/ui/ (a Flask blueprint of the control plane), and `GET /`.

Server-rendered HTML (Jinja2 escapes every value) with a little JavaScript that polls fragments
of the same pages for live updates: polling, not server-sent events, so that no browser tab holds
one of the server's worker threads, and each poll is one read of the journal (SQLite in WAL mode:
readers never block the send path's writes). Every asset is served from the package: the page
works with no network, and its Content-Security-Policy lets it load scripts from nowhere else.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Response, abort, render_template, request, url_for

from mock_server.control import journal
from mock_server.control import discovery
from mock_server.ui import inbox, rendering, request_journal

PACKAGE_DIR = Path(__file__).parent
SWAGGER_DIR = PACKAGE_DIR / "static" / "swagger-ui"
POLL_MS = 1500
# Images are the sent URLs (a placeholder shows when they cannot load offline); nothing else
# comes from elsewhere. Swagger UI sets inline styles, hence 'unsafe-inline' for styles only.
CSP = ("default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")
FORM_OPERATIONS = frozenset({"send_full_content_form"})


def blueprint(state: Any) -> Blueprint:
    bp = Blueprint("esms_mock_ui", __name__, url_prefix="/_mock/ui", template_folder="templates",
                   static_folder="static", static_url_path="/static")
    store = state.store

    def now() -> float:
        return time.time() + store.state()[0]

    def masked(node: Any) -> Any:
        # The store holds SecretKeys as digests only, so a secret is recognised as a whole text
        # value (besides every SecretKey-like field), not inside a longer text.
        return journal.scrub(node, set(), store.fixtures())

    def page(template: str, **context: Any) -> Response:
        response = Response(render_template(template, **context), mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    def list_context() -> dict[str, Any]:
        filters = inbox.Filters.from_args(request.args)
        fixtures = store.fixtures()
        at = now()
        # Only the rows' few fields are shown: masking them is cheaper than masking whole entries.
        messages = masked([inbox.message_row(e, fixtures) for e in inbox.message_entries(store, filters, at)])
        query = inbox.request_filters(filters)
        requests = [] if query is None else [  # masked before the body is turned into text
            inbox.request_row(masked(r)) for r in request_journal.not_accepted(state, query, inbox.LIST_LIMIT)]
        return {"filters": filters, "rows": inbox.merge(messages, requests), "now": journal.iso(at),
                "poll_ms": POLL_MS,
                "status_choices": inbox.STATUS_CHOICES, "oas": _oas(fixtures),
                "messages_url": url_for("esms_mock_ui.list_page") + "messages/"}

    @bp.errorhandler(404)
    def not_found(error: Any) -> Response:
        response = page("not_found.html", message=getattr(error, "description", "") or "Not found")
        response.status_code = 404
        return response

    @bp.get("/")
    def list_page() -> Response:
        return page("inbox.html", **list_context())

    @bp.get("/rows")
    def list_rows() -> Response:
        """The list's rows, for the page's poll; 304 when nothing they depend on changed."""
        version = inbox.version(store, now(), request_journal.newest(state))
        if request.headers.get("X-Inbox-Version") == version:
            return Response(status=304, headers={"X-Inbox-Version": version})
        response = page("_rows.html", **list_context())
        response.headers["X-Inbox-Version"] = version
        return response

    def message_context(smsid: str) -> dict[str, Any]:
        at = now()
        entry = journal.message_detail(store, smsid, at)
        if entry is None:
            abort(404, f"no message {smsid} in the journal")
        entry = masked(entry)
        fixtures = store.fixtures()
        op = state.spec.operations.get(entry["operation"])
        path = op.path if op is not None else ""
        return {
            "m": entry,
            "row": inbox.message_row(entry, fixtures),
            "bubbles": rendering.bubbles(entry, fixtures),
            "outcomes": [(r, rendering.outcome_label(r["outcome"]), rendering.zalo_error_meaning(r["outcome"]))
                         for r in entry["recipients"]],
            "request_json": rendering.pretty_json(entry["request"]),
            "curl": rendering.curl_command(request.host_url, path, entry["request"],
                                           form=entry["operation"] in FORM_OPERATIONS),
            "now": journal.iso(at),
            "poll_ms": POLL_MS,
        }

    @bp.get("/messages/<smsid>")
    def message_page(smsid: str) -> Response:
        return page("message.html", **message_context(smsid))

    @bp.get("/messages/<smsid>/story")
    def message_story(smsid: str) -> Response:
        return page("_story.html", **message_context(smsid))

    @bp.get("/controls")
    def controls_page() -> Response:
        at = now()
        offset = store.state()[0]
        fixtures_json = rendering.pretty_json(journal.masked_fixtures(store.fixtures().document))
        return page("controls.html", clock=journal.clock_json(offset, at),
                    scenarios=[s.to_json() for s in state.scenarios.all()], fixtures_json=fixtures_json)

    @bp.get("/docs")
    def docs_page() -> Response:
        return page("docs.html", specs=list(discovery.SPEC_FILES), swagger=(SWAGGER_DIR / "swagger-ui-bundle.js").is_file())

    return bp


def _oas(fixtures: Any) -> list[tuple[str, str]]:
    return [(oa.oaid, oa.name) for account in fixtures.accounts for oa in account.oas.values()]
