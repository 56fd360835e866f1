"""Requirement 7: other teams can load the spec with their tools.

* Spectral (`spectral:oas` via the repository's .spectral.yaml) finds no error and no warning.
* Prism mocks it: it starts, accepts every request example with a success answer, serves every
  named answer and (with `--errors`) finds each one valid against its schema with its own
  validator, and refuses a request that breaks the schema.
* Node's YAML parsers (YAML 1.2, as Spectral, Prism and most JS generators use) read exactly
  the document PyYAML (YAML 1.1) reads, and every `pattern` is an ECMAScript regex too.

These run the binaries of node_modules (package.json). Without node_modules they fail and say
to run `make install`; ESMS_SKIP_NODE_TOOLS=1 skips them instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from esms_node_tools import ecmascript_pattern_problems, prism_mock, spectral_lint, yaml_parity_problems
from esms_spec_checks import patterns
from esms_spec_support import (
    SPEC_PATH,
    SPECTRAL_RULESET,
    assert_no_problems,
    deref,
    node_tools_skip_reason,
    operations,
    parameters_of,
    responses_of,
    result_code_of,
    the_spec,
)

# Rules of spectral:oas that .spectral.yaml may switch off, each for a reason given there.
DELIBERATELY_DISABLED_RULES = {"path-keys-no-trailing-slash"}


def _skip_if_asked() -> None:
    reason = node_tools_skip_reason()
    if reason:
        pytest.skip(reason)


# ============================================================================ Spectral


@pytest.fixture(scope="module")
def spectral_findings(tmp_path_factory):
    _skip_if_asked()
    return spectral_lint(SPEC_PATH, tmp_path_factory.mktemp("spectral"))


def test_spectral_oas_ruleset_reports_no_errors(spectral_findings):
    assert_no_problems([str(f) for f in spectral_findings if f.severity == 0], "spectral lint found errors")


def test_spectral_oas_ruleset_reports_no_warnings(spectral_findings):
    assert_no_problems([str(f) for f in spectral_findings if f.severity == 1], "spectral lint found warnings")


def test_spectral_ruleset_extends_spectral_oas_and_disables_only_known_rules():
    ruleset = yaml.safe_load(SPECTRAL_RULESET.read_text(encoding="utf-8"))
    extends = ruleset.get("extends")
    extends = extends if isinstance(extends, list) else [extends]
    assert "spectral:oas" in [e if isinstance(e, str) else e[0] for e in extends]
    disabled = {rule for rule, setting in (ruleset.get("rules") or {}).items() if setting in ("off", False)}
    assert disabled <= DELIBERATELY_DISABLED_RULES, (
        f"rules switched off without a reason recorded in this test: {sorted(disabled - DELIBERATELY_DISABLED_RULES)}"
    )
    for override in ruleset.get("overrides") or []:
        for file_pattern in override.get("files", []):
            assert "#/" in file_pattern, f"override {file_pattern!r} switches rules off for a whole file, not one spot"


# ============================================================================ Prism


def _first_request_example(spec, op) -> tuple[str, Any] | None:
    """('json' | 'form' | 'query', payload) of the operation's first request example."""
    if "requestBody" in op.node:
        body, _ = deref(spec, op.node["requestBody"], "")
        for media_type, media in (body.get("content") or {}).items():
            kind = {"application/json": "json", "application/x-www-form-urlencoded": "form"}.get(media_type)
            if kind is None:
                continue
            for name, example in (media.get("examples") or {}).items():
                return kind, deref(spec, example, "")[0]["value"]
            if "example" in media:
                return kind, media["example"]
        return None
    query = {}
    for param, _ in parameters_of(spec, op):
        if param.get("in") == "query" and "example" in param:
            query[param["name"]] = param["example"]
    return "query", query


def _request_cases(spec) -> list[tuple[str, str, str, str, Any]]:
    """(id, method, path, kind, payload) of every request example of every operation."""
    cases = []
    for op in operations(spec):
        if "requestBody" in op.node:
            body, _ = deref(spec, op.node["requestBody"], "")
            for media_type, media in (body.get("content") or {}).items():
                kind = {"application/json": "json", "application/x-www-form-urlencoded": "form"}.get(media_type)
                if kind is None:
                    continue  # text/plain carries the same schema; its JSON form is sent
                for name, example in (media.get("examples") or {}).items():
                    cases.append((f"{op.operation_id}|{name}", op.method, op.path, kind, deref(spec, example, "")[0]["value"]))
        else:
            first = _first_request_example(spec, op)
            cases.append((f"{op.operation_id}|query", op.method, op.path, "query", first[1]))
    return cases


def _answer_cases(spec) -> list[tuple[str, str, str, str, Any, str, str | None, Any]]:
    """(id, method, path, kind, request payload, status, example name, value) of every answer."""
    cases = []
    for op in operations(spec):
        first = _first_request_example(spec, op)
        if first is None:
            continue
        for status, response, _ in responses_of(spec, op):
            for media_type, media in (response.get("content") or {}).items():
                if "example" in media:
                    cases.append((f"{op.operation_id}|{status}|example", op.method, op.path, first[0], first[1], status, None, media["example"]))
                for name, example in (media.get("examples") or {}).items():
                    value = deref(spec, example, "")[0]["value"]
                    cases.append((f"{op.operation_id}|{status}|{name}", op.method, op.path, first[0], first[1], status, name, value))
    return cases


_SPEC = the_spec()
REQUEST_CASES = _request_cases(_SPEC)
ANSWER_CASES = _answer_cases(_SPEC)


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    _skip_if_asked()
    with prism_mock(SPEC_PATH, tmp_path_factory.mktemp("prism")) as server:
        yield server


def _send(prism, method, path, kind, payload, headers=None):
    if kind == "json":
        return prism.request(method, path, json_body=payload, headers=headers)
    if kind == "form":
        return prism.request(method, path, form=payload, headers=headers)
    return prism.request(method, path, query=payload, headers=headers)


def test_prism_loads_the_spec_and_answers_a_valid_example_with_200(prism):
    status, body = prism.request(
        "POST", "/MainService.svc/json/GetBalance_json", json_body={"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}
    )
    assert status == 200, body
    assert body.get("CodeResponse") == "100", body


def test_prism_reports_no_problem_while_loading_the_spec(prism):
    startup = prism.log().split("Prism is listening", 1)[0]
    problems = [line for line in startup.splitlines() if "warning" in line or "error" in line or "✖" in line]
    assert_no_problems(problems, "prism complained while loading the spec")


def test_prism_refuses_a_request_that_breaks_the_schema(prism):
    status, body = prism.request("POST", "/MainService.svc/json/GetBalance_json", json_body={"ApiKey": "DEMO_API_KEY"})
    assert status == 422, (status, body)


@pytest.mark.parametrize("case", REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_prism_accepts_every_request_example_and_answers_success_first(prism, case):
    _, method, path, kind, payload = case
    status, body = _send(prism, method, path, kind, payload)
    assert status == 200, f"{method.upper()} {path} with {payload!r}: prism answered {status}: {json.dumps(body)[:2000]}"
    assert result_code_of(body) == "100", f"the first 200 example of {path} is not the success answer: {body!r}"


@pytest.mark.parametrize("case", ANSWER_CASES, ids=[c[0] for c in ANSWER_CASES])
def test_prism_serves_every_documented_answer_and_finds_it_valid(prism, case):
    _, method, path, kind, payload, status, name, value = case
    prefer = f"code={status}" + (f", example={name}" if name else "")
    got_status, body = _send(prism, method, path, kind, payload, headers={"Prefer": prefer})
    assert got_status == int(status), (
        f"{method.upper()} {path} (Prefer: {prefer}): prism answered {got_status}: {json.dumps(body)[:2000]}"
    )
    assert body == value, f"prism served {body!r}, the spec says {value!r}"


# ============================================================================ YAML and regex portability


def test_node_yaml_parsers_read_exactly_what_pyyaml_reads():
    _skip_if_asked()
    assert_no_problems(yaml_parity_problems(SPEC_PATH), "the YAML means different things to different parsers")


def test_every_pattern_is_an_ecmascript_regex_in_unicode_mode(spec):
    _skip_if_asked()
    assert len(patterns(spec)) > 5
    assert_no_problems(ecmascript_pattern_problems(spec), "patterns JS validators (ajv, Prism) cannot compile")
