"""`EsmsMock`: a served mock, its control plane and the helpers a test needs (the `esms_mock` fixture).

It is a ControlClient of a ServedMock (the supervisor) plus what tests ask for: the first
account's credentials, SDK clients on the mock, waits on the journal that say what was there
instead, and a short description of the journal for failure reports. No pytest import.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mock_server.esms.request_journal import CODE_HEADER, SCOPE_HEADER
from mock_server.testing.control_client import ControlClient
from mock_server.testing.errors import EsmsMockError, WaitTimeout
from mock_server.testing.supervisor import ServedMock

if TYPE_CHECKING:  # the SDK is imported when a client is asked for
    import subprocess

    import httpx

    from esms_zalo import Client

CALLBACK_STATES = ("pending", "delivered", "failed")
DEFAULT_TIMEOUT = 5.0
POLL_INTERVAL = 0.05
JOURNAL_LIMIT = 1000  # the most requests one call of the control plane lists


def read_fixtures(source: Any, root: Path | None = None) -> dict[str, Any]:
    """A Fixtures document from a dict, or from a YAML/JSON file (a relative path from `root`)."""
    import yaml

    if isinstance(source, Mapping):
        document: Any = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EsmsMockError(f"cannot read the esms-mock fixtures {path}: {exc.strerror or exc}") from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise EsmsMockError(f"the esms-mock fixtures {path} are not valid YAML or JSON: {exc}") from None
    else:
        raise EsmsMockError("esms_mock_fixtures must return a Fixtures document (a dict) or the path of a YAML or "
                            f"JSON file, not {type(source).__name__}")
    if not isinstance(document, dict):
        raise EsmsMockError(f"a Fixtures document is a mapping with `accounts`, not {type(document).__name__}")
    # Through JSON, as the control plane reads YAML: unquoted YAML dates become strings.
    return json.loads(json.dumps(document, default=str))  # type: ignore[no-any-return]


def describe_request(entry: Mapping[str, Any]) -> str:
    """One journal entry in one line: `#7 POST /path (send_zns_v5) refused 790: reason`."""
    what = entry.get("operation") or "no operation"
    code = f" {entry['code']}" if entry.get("code") else f" HTTP {entry.get('http_status')}"
    line = f"  - #{entry.get('id')} {entry.get('method')} {entry.get('path')} ({what}) {entry.get('outcome')}{code}"
    if entry.get("outcome") != "accepted" and entry.get("reason"):
        line += f": {entry['reason']}"
    if entry.get("did_you_mean") and entry["did_you_mean"] not in line:
        line += f" [did you mean {entry['did_you_mean']}]"
    return line


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _outcome_text(outcome: Any) -> str:
    if outcome is None:
        return ""
    return f"({outcome if isinstance(outcome, str) else json.dumps(outcome)})"


class EsmsMock(ControlClient):
    """A running esms-mock server and its control plane (the `esms_mock` fixture).

    Attributes: `base_url`, `api_key`, `secret_key` and `oaid` (the first account of the
    fixtures and its first OA), `fixtures` (the document served), `server` (the ServedMock),
    `port`, `pid`, `log_path`.
    """

    def __init__(self, server: ServedMock, document: dict[str, Any]) -> None:
        super().__init__(server.base_url)
        self.server = server
        self._document = document
        self._clients: list[Client] = []
        self._http_clients: list[httpx.Client] = []
        self.scope: str | None = None  # this test's X-Esms-Mock-Scope (see `begin_test`)
        self._log_mark = 0
        self._stopped = False

    @classmethod
    def start(cls, document: dict[str, Any], *, workdir: Path, delivery_delay: float = 0.2,
              callback_attempts: int = 5, start_timeout: float = 30.0, attempts: int = 3) -> EsmsMock:
        """Serve `document` from a fresh database in `workdir`; wait until /_mock/health answers."""
        workdir.mkdir(parents=True, exist_ok=True)
        fixtures_path = workdir / "fixtures.json"
        fixtures_path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        server = ServedMock(workdir / "esms-mock.sqlite3", fixtures=fixtures_path, workers=1, threads=4,
                            delivery_delay=delivery_delay, callback_attempts=callback_attempts,
                            log_path=workdir / "esms-mock.log", start_timeout=start_timeout, attempts=attempts)
        return cls(server.start(), document)

    # ------------------------------------------------------------------ the process
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process

    @property
    def log_path(self) -> Path:
        return self.server.log_path

    @property
    def db_path(self) -> Path:
        return self.server.db

    @property
    def running(self) -> bool:
        return not self._stopped and self.server.running

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server (and close the SDK clients handed out). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.close_clients()
        self.close()
        self.server.stop(grace)

    # ------------------------------------------------------------------ logs
    def log(self) -> str:
        """Everything the server has logged."""
        return self.server.log()

    def mark_log(self) -> None:
        with contextlib.suppress(OSError):
            self._log_mark = self.log_path.stat().st_size

    def log_since_mark(self) -> str:
        with open(self.log_path, "rb") as handle:
            handle.seek(self._log_mark)
            return handle.read().decode("utf-8", "replace")

    # ------------------------------------------------------------------ the control plane
    def _request(self, operation_id: str, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if self._stopped:
            raise EsmsMockError(f"the esms-mock server on {self.base_url} was stopped")
        return super()._request(operation_id, **kwargs)

    def _unreachable_detail(self) -> str:
        process = self.server.process
        state = "" if process is None or process.poll() is None else f" (the server exited with status {process.poll()})"
        return f"{state}\n{self.server.log_tail()}"

    @property
    def fixtures(self) -> dict[str, Any]:
        """The Fixtures document served (with its secrets)."""
        return json.loads(json.dumps(self._document))  # type: ignore[no-any-return]

    def load_fixtures(self, document: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Replace the fixtures (a dict or a YAML/JSON file). Journal, clock and scenarios are kept."""
        __tracebackhide__ = True
        loaded = read_fixtures(document)
        summary = super().load_fixtures(loaded)
        self._document = loaded
        return summary

    def use_fixtures(self, document: dict[str, Any]) -> None:
        """Load `document` unless it is what the server serves already."""
        __tracebackhide__ = True
        if _canonical(document) != _canonical(self._document):
            self.load_fixtures(document)

    def message(self, smsid: str) -> dict[str, Any]:
        """One message in detail, with each recipient's timeline and every callback attempt."""
        __tracebackhide__ = True
        try:
            return super().message(smsid)
        except EsmsMockError as exc:
            if exc.status_code != 404:
                raise
            raise EsmsMockError(f"no message {smsid} in the journal; it holds:\n{self._journal_lines()}", 404) from None

    # ------------------------------------------------------------------ credentials and the SDK
    def _first(self, key: str) -> dict[str, Any]:
        accounts = self._document.get("accounts") or []
        if not accounts:
            raise EsmsMockError(f"the fixtures have no account, so there is no {key}; add one to esms_mock_fixtures")
        return accounts[0]  # type: ignore[no-any-return]

    @property
    def api_key(self) -> str:
        return str(self._first("api_key")["api_key"])

    @property
    def secret_key(self) -> str:
        return str(self._first("secret_key")["secret_key"])

    @property
    def oaid(self) -> str | None:
        """The first OA of the first account, or None."""
        oas = self._first("oaid").get("oas") or []
        return str(oas[0]["oaid"]) if oas else None

    def client(self, **kwargs: Any) -> Client:
        """An `esms_zalo.Client` on this mock with the first account's keys (closed after the test).

        Its requests carry this test's `X-Esms-Mock-Scope` header (`scope_headers`), so scenarios
        added with `scope=esms_mock.scope` apply to them and to no other test's requests."""
        __tracebackhide__ = True
        from esms_zalo import Client

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("secret_key", self.secret_key)
        kwargs.setdefault("base_url", self.base_url)
        if self.scope is not None and "http_client" not in kwargs:
            import httpx

            # The SDK builds each request itself (so a client's default headers would not apply)
            # and gives it its own timeout: this client only adds the header, as it sends.
            scope_headers = self.scope_headers

            def add_scope(request: httpx.Request) -> None:
                request.headers.update(scope_headers)

            http = httpx.Client(trust_env=False, event_hooks={"request": [add_scope]})
            self._http_clients.append(http)
            kwargs["http_client"] = http
        client = Client(**kwargs)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        clients, self._clients = self._clients, []
        https, self._http_clients = self._http_clients, []
        for closable in (*clients, *https):
            with contextlib.suppress(Exception):
                closable.close()

    # ------------------------------------------------------------------ scopes and forced answers
    def begin_test(self, scope: str | None) -> None:
        """Start a test: its requests (through `client()`, or with `scope_headers`) carry `scope`."""
        self.scope = scope

    @property
    def scope_headers(self) -> dict[str, str]:
        """The header that marks a request as this test's (add it to your app's HTTP client to
        share one mock between parallel workers); empty without a scope."""
        return {SCOPE_HEADER: self.scope} if self.scope is not None else {}

    @staticmethod
    def forced_code_headers(code: str | int) -> dict[str, str]:
        """The header that makes the mock answer one request with `code`, without a scenario."""
        return {CODE_HEADER: str(code)}

    # ------------------------------------------------------------------ the request journal
    def assert_no_refused(self, *, include_unmatched: bool = True, **filters: Any) -> None:
        """Fail, listing each one with its code and reason, if the mock refused a request (or, with
        `include_unmatched`, got one to no eSMS operation) since the last reset.

        `filters` are those of `requests()` (e.g. `scope=esms_mock.scope`, `operation=...`)."""
        __tracebackhide__ = True
        found = [entry for outcome in (("refused", "unmatched") if include_unmatched else ("refused",))
                 for entry in self.requests(outcome=outcome, limit=JOURNAL_LIMIT, **filters)]
        if found:
            found.sort(key=lambda entry: entry["id"])
            lines = "\n".join(describe_request(entry) for entry in found)
            raise AssertionError(f"the eSMS mock refused {len(found)} request(s):\n{lines}")

    def count_requests(self, **filters: Any) -> int:
        """How many requests match `filters` (those of `requests()`), at most JOURNAL_LIMIT."""
        __tracebackhide__ = True
        return len(self.requests(limit=JOURNAL_LIMIT, **filters))

    def verify(self, count: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Like WireMock's verify: exactly `count` requests (at least one when None) match `filters`;
        returns them, newest first. Fails listing the journal's latest requests otherwise."""
        __tracebackhide__ = True
        found = self.requests(limit=JOURNAL_LIMIT, **filters)
        if (count is None and found) or (count is not None and len(found) == count):
            return found
        wanted = ", ".join(f"{key}={value!r}" for key, value in filters.items()) or "any request"
        expected = "at least 1" if count is None else str(count)
        raise AssertionError(f"expected {expected} request(s) matching {wanted} in the eSMS mock's journal, found "
                             f"{len(found)}; its latest requests:\n{self._request_lines()}")

    def _request_lines(self, limit: int = 10) -> str:
        found = self.requests(limit=limit)
        if not found:
            return "  (no request since the last reset)"
        return "\n".join(describe_request(entry) for entry in found)

    # ------------------------------------------------------------------ waits that explain themselves
    def wait_for_message(self, predicate: Callable[[dict[str, Any]], bool] | Mapping[str, Any] | None = None, *,
                         timeout: float = DEFAULT_TIMEOUT, **filters: Any) -> dict[str, Any]:
        """The newest message matching the filters (smsid, oaid, recipient, request_id) and `predicate`.

        `predicate` is a function of a journal entry, or a dict of filters. Raises WaitTimeout,
        listing the journal, when none matches within `timeout` seconds.
        """
        __tracebackhide__ = True
        if isinstance(predicate, Mapping):
            filters = {**predicate, **filters}
            predicate = None
        deadline = time.monotonic() + timeout
        while True:
            for found in self.messages(**filters):
                if predicate is None or predicate(found):
                    return found
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        wanted = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "any message"
        if predicate is not None:
            wanted += f" satisfying {getattr(predicate, '__name__', 'the predicate')}"
        raise WaitTimeout(f"no message ({wanted}) in the esms-mock journal within {timeout:g} s; "
                          f"it holds:\n{self._journal_lines()}")

    def wait_for_callback(self, smsid: str | None = None, state: str | None = "delivered", *,
                          timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The newest callback (of `smsid`) in `state` (pending, delivered, failed; None: any).

        `delivered` means the mock's GET to the CallbackUrl was answered 2xx. Raises WaitTimeout,
        saying where each callback of the message stands and why, when none is within `timeout`.
        """
        __tracebackhide__ = True
        if state is not None and state not in CALLBACK_STATES:
            raise ValueError(f"state must be one of {', '.join(CALLBACK_STATES)} or None, not {state!r}")
        deadline = time.monotonic() + timeout
        while True:
            found = self.callbacks(smsid=smsid, state=state, limit=1)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        what = f"callback of {smsid}" if smsid else "callback"
        raise WaitTimeout(f"no {what} {state or 'in any state'} within {timeout:g} s.\n{self._why_no_callback(smsid)}")

    def _why_no_callback(self, smsid: str | None) -> str:
        lines: list[str] = []
        callbacks = self.callbacks(smsid=smsid, limit=20)
        if smsid is not None:
            try:
                message = ControlClient.message(self, smsid)
            except EsmsMockError:
                return f"There is no message {smsid} in the journal; it holds:\n{self._journal_lines()}"
            if not message.get("callback_url"):
                lines.append(f"The message {smsid} was sent without a CallbackUrl, so no callback is made.")
            outcomes = {r.get("outcome") if isinstance(r.get("outcome"), str) else json.dumps(r.get("outcome"))
                        for r in message.get("recipients", [])}
            if "never_answered" in outcomes:
                lines.append("Its recipient's outcome is never_answered: it stays pending and has no callback.")
            if not message.get("status", {}).get("final") and message.get("send_at", "") > message.get("now", ""):
                lines.append(f"It is scheduled for {message['send_at']} and the mock clock says {message['now']}: "
                             "advance_clock() to get there.")
        if callbacks:
            lines.append("Callbacks:")
            for cb in callbacks:
                lines.append(f"  - {cb['smsid']} -> {cb['url']}: {cb['state']}, {cb['attempt_count']} attempt(s), "
                             f"due {cb['due_at']}" + (f", last error: {cb['last_error']}" if cb.get("last_error") else ""))
        else:
            lines.append("The mock has no callback" + (f" for {smsid}." if smsid else " at all."))
        return "\n".join(lines)

    def _journal_lines(self, limit: int = 10) -> str:
        found = self.messages(limit=limit)
        if not found:
            return "  (no message: nothing was accepted since the last reset)"
        lines = []
        for m in found:
            recipients = ", ".join(f"{r['recipient']} {_outcome_text(r.get('outcome'))}" for r in m.get("recipients", []))
            cb = m.get("callbacks", {})
            lines.append(f"  - {m['smsid']} {m['operation']} to {recipients or '-'}: {m['status']['label']}; "
                         f"callbacks {cb.get('delivered', 0)} delivered, {cb.get('pending', 0)} pending, "
                         f"{cb.get('failed', 0)} failed; callback_url {m.get('callback_url') or '(none)'}")
        return "\n".join(lines)

    def describe_journal(self) -> str:
        """The journal in a few lines (for failure reports)."""
        text = f"{self.base_url}: messages (newest first)\n{self._journal_lines(20)}"
        text += f"\nrequests (newest first)\n{self._request_lines(20)}"
        scenarios = self.scenarios()
        if scenarios:
            text += "\nscenarios:\n" + "\n".join(
                f"  - #{s['id']} {s['operation']} match={s['match']} code={s['code']} http_status={s['http_status']} "
                f"hits={s['hits']} remaining={s['remaining']}" for s in scenarios)
        return text

    def __repr__(self) -> str:
        return f"<EsmsMock {self.base_url} pid={self.pid} {'running' if self.running else 'stopped'}>"
