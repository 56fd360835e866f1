"""What the journal keeps of a request to an eSMS path, and the headers a test may add to one.

Built on the request path, so it does little: the body is serialised once with the SecretKey
masked (never stored, logged or shown), and nothing is looked up. The row is stored by
mock_server.esms.api once the outcome is known (see mock_server.store.request_log).

Two request headers are the mock's own, for tests; neither eSMS nor the SDK knows or sends them
(they are not in spec/esms-zalo.openapi.yaml, from which the SDK is generated):

- `X-Esms-Mock-Code: 103` answers the request with that result code at once, like Prism's
  `Prefer: code=...`, without a scenario set up first;
- `X-Esms-Mock-Scope: <name>` marks the request as a test's: scenarios registered with that
  scope match only requests that carry it, so parallel test workers sharing one mock do not
  see each other's forced answers, and the journal can be filtered by it.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

import orjson

from mock_server.esms.handlers.common import redacted
from mock_server.esms.phones import recipient_key
from mock_server.store.request_log import RequestRow

CODE_HEADER = "X-Esms-Mock-Code"
SCOPE_HEADER = "X-Esms-Mock-Scope"
MASK = "********"
MAX_BODY_CHARS = 16_384  # a longer body is kept as its truncated text
MAX_SCOPE_CHARS = 200
_CODE = re.compile(r"^[0-9]{1,6}$")
_SECRET_FIELDS = frozenset({"secretkey", "secret_key"})
# `"SecretKey": "..."` in JSON that did not parse, and `SecretKey=...` in a query or form.
_SECRET_IN_TEXT = re.compile(r'("secret_?key"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]*)|(secret_?key=)[^&\s]*', re.I)
# The fields that name a message's recipient, in the order they are looked for.
_RECIPIENT_FIELDS = ("Phone", "ZaloUid", "HashPhone", "UserId", "Uid")


class BadControlHeader(ValueError):
    """A mock header with a value the mock cannot use (answered 400, naming the header)."""


def forced_code(raw: str | None) -> str | None:
    """The result code an `X-Esms-Mock-Code` header value forces, or None without the header."""
    if raw is None:
        return None
    code = raw.strip()
    if not _CODE.match(code):
        raise BadControlHeader(f"{CODE_HEADER} must be an eSMS result code made of 1 to 6 digits, like 103, "
                               f"not {raw[:40]!r}")
    return code


def scope_of(raw: str | None) -> str | None:
    """The scope an `X-Esms-Mock-Scope` header value names, or None without the header."""
    if raw is None:
        return None
    scope = raw.strip()
    if not scope or len(scope) > MAX_SCOPE_CHARS:
        raise BadControlHeader(f"{SCOPE_HEADER} must be 1 to {MAX_SCOPE_CHARS} characters")
    return scope


def masked(data: Any) -> Any:
    """`data` with its SecretKey masked (top level: that is where eSMS reads it)."""
    if not isinstance(data, dict):
        return data
    shown: dict[Any, Any] | None = None  # a copy only when there is something to mask
    for key in data:
        if isinstance(key, str) and key.lower() in _SECRET_FIELDS:
            if shown is None:
                shown = dict(data)
            shown[key] = MASK  # in place: the keys keep their order
    return data if shown is None else shown


def bounded(data: dict[str, Any]) -> dict[str, Any]:
    """`data` cut at the depth the message journal keeps (mock_server.esms.handlers.common), its
    SecretKey masked rather than left out."""
    cut = redacted(data)
    return {**cut, "SecretKey": MASK} if "SecretKey" in data else cut


def masked_text(text: str) -> str:
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}\"{MASK}\"" if m.group(1) else f"{m.group(3)}{MASK}", text)


def body_text(data: Any, raw: bytes | str | None = None) -> str:
    """The body as the journal stores it: JSON of the masked request, or the masked raw text
    (as a JSON string) when it was not readable, truncated to MAX_BODY_CHARS."""
    if data is not None:
        try:
            text = orjson.dumps(masked(data)).decode()
        except TypeError:  # nested deeper than orjson writes, or a number beyond 64 bits
            shown = masked(bounded(data)) if isinstance(data, dict) else "(not shown: nested too deeply)"
            text = json.dumps(shown, ensure_ascii=False)
        if len(text) <= MAX_BODY_CHARS:
            return text
        return orjson.dumps(masked_text(text[:MAX_BODY_CHARS]) + "...").decode()
    if raw is None:
        return "null"
    if isinstance(raw, bytes):
        raw = raw[:MAX_BODY_CHARS].decode("utf-8", "replace")
    return orjson.dumps(masked_text(raw[:MAX_BODY_CHARS])).decode()


def unmatched_body(raw: bytes, query: str) -> str:
    """What a request to no operation sent: its JSON body (masked), else its body or query as text."""
    if raw.strip():
        try:
            return body_text(orjson.loads(raw))
        except orjson.JSONDecodeError:
            return body_text(None, raw)
    return body_text(None, f"?{query}" if query else None)


def recipient_of(data: Any) -> str | None:
    """The request's recipient (phone, Zalo user id or hashed phone), if it names one."""
    if not isinstance(data, dict):
        return None
    for name in _RECIPIENT_FIELDS:
        value = data.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    payload = data.get("Payload")  # follower messages: Payload.recipient.user_id
    if isinstance(payload, dict) and isinstance(payload.get("recipient"), dict):
        user = payload["recipient"].get("user_id")
        if isinstance(user, (str, int)) and not isinstance(user, bool):
            return str(user)
    return None


def request_id_of(data: Any) -> str | None:
    value = data.get("RequestId") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def new_row(method: str, path: str, operation: str | None, received_at: float, scope: str | None) -> RequestRow:
    return RequestRow(received_at=received_at, method=method, path=path, operation=operation, body="null", scope=scope)


def describe(row: RequestRow, data: Any, raw: bytes | None = None) -> None:
    """Fill in what the request says of itself: body, recipient, RequestId."""
    row.body = body_text(data, raw)
    recipient = recipient_of(data)
    if recipient is not None:
        row.recipient, row.recipient_key = recipient, recipient_key(recipient)
    row.request_id = request_id_of(data)


def did_you_mean(path: str, method: str, routes: dict[str, dict[str, Any]],
                 as_sent: str | None = None) -> tuple[str | None, str | None, str]:
    """(closest operation path as the spec spells it, its operationId when only the method is wrong, reason).

    `path` is normalised (mock_server.esms.routing), `as_sent` the path as the request spelt it."""
    shown = as_sent or path
    methods = routes.get(path)
    if methods:
        op = next(iter(methods.values()))
        allowed = ", ".join(sorted(m for m in methods if m != "HEAD"))
        return op.path, op.operation_id, f"{method} is not allowed on {op.path}; use {allowed}"
    candidates = list(routes)
    xml_form = path.replace("/mainservice.svc/xml/", "/mainservice.svc/json/", 1)
    close = [xml_form] if xml_form in routes else difflib.get_close_matches(path, candidates, n=1, cutoff=0.6)
    if not close:  # the operation name alone (a wrong prefix, a missing `/json/`)
        tail = path.rsplit("/", 1)[-1]
        by_name = {route.rsplit("/", 1)[-1]: route for route in candidates}
        names = difflib.get_close_matches(tail, list(by_name), n=1, cutoff=0.6)
        close = [by_name[names[0]]] if names else []
    if not close:
        return None, None, f"no eSMS operation at {shown}"
    suggestion = next(iter(routes[close[0]].values())).path
    return suggestion, None, f"no eSMS operation at {shown}; did you mean {suggestion}?"
