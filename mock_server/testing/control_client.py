"""A client of the mock's control plane (`/_mock/`, spec/mock-control.openapi.yaml).

Hand-written against the spec, one method per operation, named as a Python caller expects
(`messages()`, `add_scenario()`, `advance_clock()`); `ROUTES` maps each operationId to its
method and path, and tests/testing/test_control_client.py checks every route against the spec
and every answer against the spec's schemas. Answers are the JSON the spec documents (dicts);
a refusal raises EsmsMockError with the control plane's problems listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from mock_server.testing.errors import EsmsMockError

if TYPE_CHECKING:
    import httpx


class ControlClient:
    """The control plane of an esms-mock server at `base_url`."""

    # operationId -> (HTTP method, path) of spec/mock-control.openapi.yaml.
    ROUTES: ClassVar[dict[str, tuple[str, str]]] = {
        "get_health": ("GET", "/_mock/health"),
        "get_fixtures": ("GET", "/_mock/fixtures"),
        "put_fixtures": ("PUT", "/_mock/fixtures"),
        "list_messages": ("GET", "/_mock/messages"),
        "get_message": ("GET", "/_mock/messages/{smsid}"),
        "replay_callback": ("POST", "/_mock/messages/{smsid}/callback/replay"),
        "list_callbacks": ("GET", "/_mock/callbacks"),
        "list_requests": ("GET", "/_mock/requests"),
        "get_request": ("GET", "/_mock/requests/{id}"),
        "reset": ("POST", "/_mock/reset"),
        "list_scenarios": ("GET", "/_mock/scenarios"),
        "add_scenario": ("POST", "/_mock/scenarios"),
        "delete_scenarios": ("DELETE", "/_mock/scenarios"),
        "delete_scenario": ("DELETE", "/_mock/scenarios/{scenario_id}"),
        "get_clock": ("GET", "/_mock/clock"),
        "advance_clock": ("POST", "/_mock/clock/advance"),
        "reset_clock": ("POST", "/_mock/clock/reset"),
    }

    def __init__(self, base_url: str, *, timeout: float = 15.0, http: httpx.Client | None = None) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ the wire
    def _request(self, operation_id: str, *, path_params: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, json_body: Any = None) -> Any:
        __tracebackhide__ = True
        import httpx

        method, template = self.ROUTES[operation_id]
        path = template.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            answer = self._http.request(method, self.base_url + path, params=query or None,
                                        json=json_body if json_body is not None else None)
        except httpx.TransportError as exc:
            raise EsmsMockError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}"
                                f"{self._unreachable_detail()}") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            raise EsmsMockError(f"{method} {path} answered {answer.status_code}: {_refusal(body, answer.text)}",
                                answer.status_code)
        return body

    def _unreachable_detail(self) -> str:
        """Said after a transport error; a supervisor adds the server's state and log."""
        return ""

    # ------------------------------------------------------------------ health, reset, fixtures
    def health(self) -> dict[str, Any]:
        """{status, database, ...}: the server is up (GET /_mock/health)."""
        __tracebackhide__ = True
        return self._request("get_health")  # type: ignore[no-any-return]

    def reset(self) -> dict[str, Any]:
        """Forget messages, callbacks, RequestIds, quota use and scenarios; clock back to real time."""
        __tracebackhide__ = True
        return self._request("reset")  # type: ignore[no-any-return]

    def served_fixtures(self) -> dict[str, Any]:
        """The fixtures document in use, every `secret_key` shown as `********` (GET /_mock/fixtures)."""
        __tracebackhide__ = True
        return self._request("get_fixtures")  # type: ignore[no-any-return]

    def load_fixtures(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the fixtures (a Fixtures document); journal, clock and scenarios are kept."""
        __tracebackhide__ = True
        return self._request("put_fixtures", json_body=dict(document))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ journal
    def messages(self, *, smsid: str | None = None, oaid: str | None = None, recipient: str | None = None,
                 request_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Accepted messages, newest first: request, recipients, status, callbacks."""
        __tracebackhide__ = True
        params = {"smsid": smsid, "oaid": oaid, "recipient": recipient, "request_id": request_id, "limit": limit}
        return self._request("list_messages", params=params)["messages"]  # type: ignore[no-any-return]

    def message(self, smsid: str) -> dict[str, Any]:
        """One message in detail, with each recipient's timeline and every callback attempt."""
        __tracebackhide__ = True
        return self._request("get_message", path_params={"smsid": smsid})  # type: ignore[no-any-return]

    def replay_callback(self, smsid: str) -> list[dict[str, Any]]:
        """Send the message's callback again now; the callbacks made pending again."""
        __tracebackhide__ = True
        return self._request("replay_callback", path_params={"smsid": smsid})["callbacks"]  # type: ignore[no-any-return]

    def callbacks(self, *, smsid: str | None = None, state: str | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
        """Delivery callbacks sent or to send, newest first, with every attempt."""
        __tracebackhide__ = True
        params = {"smsid": smsid, "state": state, "limit": limit}
        return self._request("list_callbacks", params=params)["callbacks"]  # type: ignore[no-any-return]

    def requests(self, *, outcome: str | None = None, code: str | int | None = None, operation: str | None = None,
                 recipient: str | None = None, request_id: str | None = None, smsid: str | None = None,
                 scope: str | None = None, since: str | float | None = None, until: str | float | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
        """Every request to an eSMS path (accepted, refused, unmatched), newest first, matching the filters.

        `since`/`until`: an RFC 3339 date-time or seconds since the epoch (mock clock)."""
        __tracebackhide__ = True
        params = {"outcome": outcome, "code": None if code is None else str(code), "operation": operation,
                  "recipient": recipient, "request_id": request_id, "smsid": smsid, "scope": scope,
                  "since": since, "until": until, "limit": limit}
        return self._request("list_requests", params=params)["requests"]  # type: ignore[no-any-return]

    def request_entry(self, entry_id: int) -> dict[str, Any]:
        """One request of the journal by its `id`."""
        __tracebackhide__ = True
        return self._request("get_request", path_params={"id": int(entry_id)})  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ scenarios
    def scenarios(self) -> list[dict[str, Any]]:
        """Every scenario, in the order they are tried, with how often each was used."""
        __tracebackhide__ = True
        return self._request("list_scenarios")["scenarios"]  # type: ignore[no-any-return]

    def add_scenario(self, operation: str, *, match: Mapping[str, Any] | None = None, code: str | int | None = None,
                     message: str | None = None, http_status: int | None = None, latency_ms: int | None = None,
                     drop: bool | None = None, times: int | None = None, scope: str | None = None) -> dict[str, Any]:
        """Force answers: the next `times` requests to `operation` ("*": all) whose fields equal `match`
        (and, with `scope`, only requests with that X-Esms-Mock-Scope header)."""
        __tracebackhide__ = True
        body = {k: v for k, v in {"operation": operation, "match": dict(match) if match else None, "code": code,
                                   "message": message, "http_status": http_status, "latency_ms": latency_ms,
                                   "drop": drop, "times": times, "scope": scope}.items() if v is not None}
        return self._request("add_scenario", json_body=body)  # type: ignore[no-any-return]

    def remove_scenario(self, scenario_id: int) -> int:
        """Remove one scenario; the number removed (1)."""
        __tracebackhide__ = True
        return int(self._request("delete_scenario", path_params={"scenario_id": int(scenario_id)})["removed"])

    def remove_scenarios(self) -> int:
        """Remove every scenario; the number removed."""
        __tracebackhide__ = True
        return int(self._request("delete_scenarios")["removed"])

    # ------------------------------------------------------------------ clock
    def clock(self) -> dict[str, Any]:
        """{now, now_iso, offset_seconds} of the mock clock."""
        __tracebackhide__ = True
        return self._request("get_clock")  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the mock clock forward: messages progress, due callbacks go out at once."""
        __tracebackhide__ = True
        return self._request("advance_clock", json_body={"seconds": seconds})  # type: ignore[no-any-return]

    def reset_clock(self) -> dict[str, Any]:
        """The mock clock back to real time (the only way it moves back)."""
        __tracebackhide__ = True
        return self._request("reset_clock")  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<ControlClient {self.base_url}>"


def _refusal(body: Any, text: str) -> str:
    """The control plane's Error answer in one line, or its problems one per line."""
    if not isinstance(body, dict):
        return text[:500]
    problems = body.get("problems") or []
    if problems:
        return f"{body.get('error', 'error')}:" + "".join(f"\n  - {problem}" for problem in problems)
    return f"{body.get('error', 'error')}: {body.get('message', '')}"

