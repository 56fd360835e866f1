"""The control plane under /_mock (spec/mock-control.openapi.yaml), like WireMock's admin API.

Health, fixtures, the journal of accepted messages and their callbacks, scenarios, the mock
clock, and reset. Every answer is JSON; bad input is a 400 `{error, message}`, never a 5xx.
Nothing here shows a SecretKey (see `journal.scrub`).
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import orjson
import yaml
from flask import Blueprint, Request, Response, request

from mock_server.control import journal
from mock_server.store import document_limits
from mock_server.store.fixtures import FixtureConflict
from mock_server.esms.scenarios import Scenario
from mock_server.store import request_log

JSON_MIMETYPE = "application/json"
YAML_MIMETYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_LATENCY_MS = 60_000
MAX_TIMES = 1_000_000_000  # a scenario answers at most this many requests (absent: until removed)
MAX_ADVANCE_SECONDS = 10 * 366 * 86_400.0  # one call moves the clock at most ten years
MAX_OFFSET_SECONDS = 100 * 366 * 86_400.0  # and the clock stays within a century of real time
SCENARIO_FIELDS = ("operation", "match", "code", "message", "http_status", "latency_ms", "drop", "times", "scope")
MAX_SCOPE_CHARS = 200
_DIGITS = re.compile(r"^[0-9]{1,6}$")
_SCOPE = re.compile(r"^\S(.*\S)?$")  # the spec's pattern, searched as JSON Schema does


class BadRequest(Exception):
    """Answered 400 (or `status`) with `{error, message}` and, optionally, `problems`."""

    def __init__(self, message: str, *, error: str = "Bad request", status: int = 400,
                 problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error = error
        self.status = status
        self.problems = problems


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype=JSON_MIMETYPE)


def _json_body(req: Request) -> dict[str, Any]:
    raw = req.get_data(cache=False)
    if not raw.strip():
        raise BadRequest("the body is empty; send a JSON object", error="Malformed JSON")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})", error="Malformed JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", error="Malformed JSON")
    return data


def _show(value: Any) -> str:
    """A value as JSON, for messages about it."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:  # orjson.JSONEncodeError, e.g. an integer beyond 64 bits
        return repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text_arg(name: str) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    return value.strip() or None


def _limit_arg() -> int:
    raw = request.args.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {_show(raw)}")
    return int(raw)


def _time_arg(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    moment = journal.parse_time(raw)
    if moment is None:
        raise BadRequest(f"{name} must be a time in ISO 8601 (2025-01-15T09:30:00+07:00) or seconds since the epoch, "
                         f"not {_show(raw)}")
    return moment


def _reject_unknown_args(*known: str) -> None:
    unknown = sorted(set(request.args) - set(known))
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}; known: {', '.join(known)}")


def blueprint(state: Any) -> Blueprint:
    bp = Blueprint("esms_mock_control", __name__, url_prefix="/_mock")
    store = state.store

    def now_and_offset() -> tuple[float, float]:
        offset = store.state()[0]
        return time.time() + offset, offset

    def answer(body: Any, status: int = 200, extra_secrets: set[str] | None = None) -> Response:
        return _json(journal.scrub(body, extra_secrets or set(), store.fixtures()), status)

    def changed() -> None:
        """Clock or scenarios changed: let due callbacks go out now."""
        if state.dispatcher is not None:
            state.dispatcher.wake()

    @bp.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> Response:
        body: dict[str, Any] = {"error": error.error, "message": error.message}
        if error.problems is not None:
            body["problems"] = error.problems
        return _json(journal.scrub(body, set(), store.fixtures()), error.status)

    # ------------------------------------------------------------------ health
    @bp.get("/health")
    def get_health() -> Response:
        now, offset = now_and_offset()
        return answer({
            "status": "ok",
            "operations": len(state.spec.operations),
            "spec_version": str(state.spec.document.get("info", {}).get("version", "")),
            "database": store.path,
            "fixtures_version": store.state()[1],
            "clock": journal.clock_json(offset, now),
            "instance": state.config.instance_id,
        })

    # ------------------------------------------------------------------ fixtures
    @bp.get("/fixtures")
    def get_fixtures() -> Response:
        return answer(journal.masked_fixtures(store.fixtures().document))

    @bp.put("/fixtures")
    def put_fixtures() -> Response:
        raw = request.get_data(cache=False)
        if not raw.strip():
            raise BadRequest("the body is empty; send a Fixtures document as JSON or YAML", error="Malformed fixtures")
        try:
            if request.mimetype in YAML_MIMETYPES:
                try:
                    document_limits.check_yaml_nesting(raw)
                    loaded_yaml = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
                    document_limits.check_tree(loaded_yaml)  # before JSON could expand YAML aliases
                    # Through JSON, as a JSON body would be: unquoted YAML dates become strings.
                    document = json.loads(json.dumps(loaded_yaml, default=str))
                except (yaml.YAMLError, TypeError, ValueError) as exc:
                    if isinstance(exc, document_limits.DocumentTooComplex):
                        raise
                    raise BadRequest(f"the body is not valid YAML ({_yaml_problem(exc)})",
                                     error="Malformed fixtures") from None
            else:
                try:
                    document = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise BadRequest(f"the body is not valid JSON ({exc}); send application/yaml for YAML",
                                     error="Malformed fixtures") from None
                document_limits.check_tree(document)
        except document_limits.DocumentTooComplex as exc:
            raise BadRequest(str(exc), error="Malformed fixtures") from None
        try:
            loaded = store.load_fixtures(document)
        except ValueError as exc:  # FixtureError, or a value the schema validator cannot read
            problems = list(getattr(exc, "problems", None) or _problems_from(str(exc)))
            submitted = journal.secrets_of(document)
            conflict = isinstance(exc, FixtureConflict)
            body = {"error": "Conflicting fixtures" if conflict else "Invalid fixtures",
                    "message": "the fixtures were not loaded; the previous ones are kept", "problems": problems}
            return answer(body, 409 if conflict else 400, submitted)
        return answer({"status": "loaded", "fixtures_version": store.state()[1], **journal.fixtures_summary(loaded)})

    # ------------------------------------------------------------------ journal
    @bp.get("/messages")
    def list_messages() -> Response:
        _reject_unknown_args("smsid", "oaid", "recipient", "request_id", "limit")
        rows = journal.find_messages(
            store, smsid=_text_arg("smsid"), oaid=_text_arg("oaid"), recipient=_text_arg("recipient"),
            request_id=_text_arg("request_id"), limit=_limit_arg(),
        )
        now, _ = now_and_offset()
        messages = journal.messages_json(store, rows, now)
        return answer({"now": journal.iso(now), "count": len(messages), "messages": messages})

    @bp.get("/messages/<smsid>")
    def get_message(smsid: str) -> Response:
        now, _ = now_and_offset()
        found = journal.message_detail(store, smsid, now)
        if found is None:
            raise BadRequest(f"no message {smsid} in the journal", error="Not Found", status=404)
        return answer({"now": journal.iso(now), **found})

    @bp.get("/requests")
    def list_requests() -> Response:
        known = ("outcome", "code", "operation", "recipient", "request_id", "smsid", "scope", "since", "until", "limit")
        _reject_unknown_args(*known)
        outcome = request.args.get("outcome")
        if outcome is not None and outcome not in request_log.OUTCOMES:
            raise BadRequest(f"outcome must be one of {', '.join(request_log.OUTCOMES)}, not {_show(outcome)}")
        # Enumerations and patterns are taken as sent: an empty or padded value is not "any".
        operation = request.args.get("operation")
        if operation is not None and operation not in state.spec.operations:
            raise BadRequest(f"operation must be an operationId of the eSMS spec, not {_show(operation)}")
        code = request.args.get("code")
        if code is not None and not _DIGITS.match(code):
            raise BadRequest(f"code must be an eSMS result code made of digits, like \"789\", not {_show(code)}")
        recipient = _text_arg("recipient")
        state.journal_writer.flush()  # this process's requests of the last moments (see request_log)
        rows = request_log.find(
            store, outcome=outcome, code=code, operation=operation,
            recipient_keys=journal.recipient_keys(recipient) if recipient else (),
            request_id=_text_arg("request_id"), smsid=_text_arg("smsid"), scope=_text_arg("scope"),
            since=_time_arg("since"), until=_time_arg("until"), limit=_limit_arg(),
        )
        entries = [journal.request_json(row) for row in rows]
        return answer({"count": len(entries), "requests": entries})

    @bp.get("/requests/<int:id>")
    def get_request(id: int) -> Response:  # noqa: A002 - the spec's name for the parameter
        state.journal_writer.flush()
        row = request_log.one(store, id) if id < 2**63 else None
        if row is None:
            raise BadRequest(f"no request {id} in the journal (it may have been pruned)", error="Not Found",
                             status=404)
        return answer(journal.request_json(row))

    @bp.get("/callbacks")
    def list_callbacks() -> Response:
        _reject_unknown_args("smsid", "state", "limit")
        wanted = request.args.get("state")  # an enum: empty is not "any state", it is no state at all
        if wanted is not None and wanted not in journal.CALLBACK_STATES:
            raise BadRequest(f"state must be one of {', '.join(journal.CALLBACK_STATES)}, not {_show(wanted)}")
        callbacks = journal.callbacks_json(store, smsid=_text_arg("smsid"), state=wanted, limit=_limit_arg())
        now, _ = now_and_offset()
        return answer({"now": journal.iso(now), "count": len(callbacks), "callbacks": callbacks})

    @bp.post("/messages/<smsid>/callback/replay")
    def replay_callback(smsid: str) -> Response:
        """Send the message's callback again now (a replay), whatever became of the earlier attempts."""
        if store.message(smsid) is None:
            raise BadRequest(f"no message {smsid} in the journal", error="Not Found", status=404)
        now, _ = now_and_offset()
        replayed = store.replay_callbacks(smsid, now)
        if not replayed:
            if not store.callbacks_for(smsid):
                raise BadRequest(f"message {smsid} has no callback: it was sent without a CallbackUrl (or in sandbox)",
                                 error="Conflict", status=409)
            raise BadRequest(f"the callback of {smsid} is not due yet (the message has not reached its final state) "
                             "or is being sent right now; it goes out by itself", error="Conflict", status=409)
        attempts = store.callback_attempts([int(row["id"]) for row in replayed])
        callbacks = [journal.callback_json(row, attempts[int(row["id"])]) for row in replayed]
        changed()
        return answer({"now": journal.iso(now), "smsid": smsid, "replayed": len(callbacks), "callbacks": callbacks}, 202)

    # ------------------------------------------------------------------ reset
    @bp.post("/reset")
    def reset() -> Response:
        state.journal_writer.flush()  # requests answered before the reset are forgotten with it
        store.reset()
        state.scenarios.remove()  # bumps the scenarios version, so every worker forgets its cached scenarios
        changed()
        now, offset = now_and_offset()
        return answer({"status": "reset", "clock": journal.clock_json(offset, now)})

    # ------------------------------------------------------------------ scenarios
    @bp.get("/scenarios")
    def list_scenarios() -> Response:
        return answer({"scenarios": [_scenario_json(s) for s in state.scenarios.all()]})

    @bp.post("/scenarios")
    def add_scenario() -> Response:
        scenario = _scenario_from(_json_body(request), state.spec.operations)
        added = state.scenarios.add(scenario)
        changed()
        return answer(_scenario_json(added), 201)

    @bp.delete("/scenarios/<int:scenario_id>")
    def delete_scenario(scenario_id: int) -> Response:
        if not any(s.id == scenario_id for s in state.scenarios.all()):
            raise BadRequest(f"no scenario {scenario_id}", error="Not Found", status=404)
        removed = state.scenarios.remove(scenario_id)
        changed()
        return answer({"removed": removed})

    @bp.delete("/scenarios")
    def delete_scenarios() -> Response:
        removed = state.scenarios.remove()
        changed()
        return answer({"removed": removed})

    # ------------------------------------------------------------------ clock
    @bp.get("/clock")
    def get_clock() -> Response:
        now, offset = now_and_offset()
        return answer(journal.clock_json(offset, now))

    @bp.post("/clock/advance")
    def advance_clock() -> Response:
        data = _json_body(request)
        unknown = sorted(set(data) - {"seconds"})
        if unknown:
            raise BadRequest(f"unknown field(s): {', '.join(unknown)}; send {{\"seconds\": N}}")
        seconds = data.get("seconds")
        if not _is_number(seconds) or seconds <= 0:
            raise BadRequest(f"seconds must be a number greater than 0, not {_show(seconds)}")
        if seconds > MAX_ADVANCE_SECONDS:
            raise BadRequest(f"seconds must be at most {MAX_ADVANCE_SECONDS:.0f} (ten years)")
        offset = journal.advance_clock(store, float(seconds), MAX_OFFSET_SECONDS)
        if offset is None:  # a valid request, refused by the clock's state
            raise BadRequest("the clock would be more than a century ahead; POST /_mock/clock/reset first",
                             error="Conflict", status=409)
        changed()
        return answer(journal.clock_json(offset, time.time() + offset))

    @bp.post("/clock/reset")
    def reset_clock() -> Response:
        store.set_clock_offset(0.0)
        changed()
        now, offset = now_and_offset()
        return answer(journal.clock_json(offset, now))

    return bp


def _yaml_problem(error: Exception) -> str:
    """What is wrong and where, without PyYAML's snippet of the line (it could hold a secret)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or type(error).__name__
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else problem


def _problems_from(message: str) -> list[str]:
    """The problems a FixtureError describes, one per line after its heading."""
    lines = [line.strip() for line in message.splitlines()]
    return [line for line in lines[1:] if line] or [message]


def _scenario_json(scenario: Scenario) -> dict[str, Any]:
    body = scenario.to_json()
    body["active"] = scenario.remaining is None or scenario.remaining > 0
    return body


def _scenario_from(data: dict[str, Any], operations: dict[str, Any]) -> Scenario:
    """A scenario from the POST body, or BadRequest saying what is wrong."""
    problems: list[str] = []
    unknown = sorted(set(data) - set(SCENARIO_FIELDS))
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")
    nulls = [name for name in SCENARIO_FIELDS if name in data and data[name] is None]
    if nulls:
        problems.append(f"{', '.join(nulls)} must not be null (leave the field out instead)")
    operation = data.get("operation")
    if not isinstance(operation, str) or (operation != "*" and operation not in operations):
        problems.append(f"operation must be an operationId of the eSMS spec or \"*\", not {_show(operation)}")
    match = {} if data.get("match") is None else data["match"]
    if not isinstance(match, dict):
        problems.append("match must be an object of top-level request fields and the values they must equal")
    code = data.get("code")
    if _is_int(code) and code >= 0:
        code = str(code)
    if code is not None and not (isinstance(code, str) and _DIGITS.match(code)):
        problems.append(f"code must be an eSMS result code made of digits, like \"789\", not {_show(code)}")
    message = data.get("message")
    if message is not None and not isinstance(message, str):
        problems.append("message must be a string")
    elif message is not None and code is None:
        problems.append("message is only used with code")
    http_status = data.get("http_status")
    if http_status is not None and not (_is_int(http_status) and 200 <= http_status <= 599):
        problems.append(f"http_status must be a whole number from 200 to 599, not {_show(http_status)}")
    latency_ms = data.get("latency_ms", 0)
    if not (_is_int(latency_ms) and 0 <= latency_ms <= MAX_LATENCY_MS):
        problems.append(f"latency_ms must be a whole number from 0 to {MAX_LATENCY_MS}, not {_show(latency_ms)}")
        latency_ms = 0
    drop = data.get("drop", False)
    if not isinstance(drop, bool):
        problems.append("drop must be true or false")
    times = data.get("times")
    if times is not None and not (_is_int(times) and 1 <= times <= MAX_TIMES):
        problems.append(f"times must be a whole number from 1 to {MAX_TIMES} (or absent: until removed), not {_show(times)}")
    scope = data.get("scope")
    if scope is not None and not (isinstance(scope, str) and len(scope) <= MAX_SCOPE_CHARS and _SCOPE.search(scope)):
        problems.append(f"scope must be 1 to {MAX_SCOPE_CHARS} characters without surrounding spaces (the value of "
                        f"the X-Esms-Mock-Scope header), not {_show(scope)}")
    if not problems and code is None and http_status is None and not latency_ms and not drop:
        problems.append("a scenario needs at least one effect: code, http_status, latency_ms or drop")
    if problems:
        raise BadRequest("; ".join(problems), error="Invalid scenario", problems=problems)
    return Scenario(operation=operation, match=match, code=code, message=message, http_status=http_status,
                    latency_ms=latency_ms, drop=drop, times=times, scope=scope)
