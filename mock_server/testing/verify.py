"""`esms-mock verify`: does a server answer like spec/esms-zalo.openapi.yaml says?

Runs schemathesis against any eSMS-compatible base URL (this mock, another mock, or the real
eSMS with `--sandbox`): for every operation of the spec it generates schema-valid requests that
carry the given credentials, sends them and checks each answer with schemathesis's response
checks (no 5xx, a documented status code, content type, headers and body schema) and one check
of its own that stock schemathesis lacks: the result code in each answer is one the operation
documents in its `x-esms-result-codes` (a body schema allows any code of digits). It prints one
line per operation and a summary of what did not conform; the exit code is 0 when everything
conforms and 1 otherwise.

`--sandbox` forces `Sandbox: "1"` into every sending request (top level, and in each item of a
multichannel `Data` list) and leaves out the operations that would act for real without a
sandbox switch (`send_auto_generated_otp`, the two registrations), so it is safe to point at the
real eSMS with real keys.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import esms_spec

ESMS_SPEC_PATH = esms_spec.spec_path(esms_spec.ESMS_SPEC)
DEMO_API_KEY, DEMO_SECRET_KEY = "DEMO_API_KEY", "DEMO_SECRET_KEY"
# Operations that act for real on eSMS and have no Sandbox switch: never sent with --sandbox.
NO_SANDBOX_OPERATIONS = frozenset({"send_auto_generated_otp", "register_zns_template", "register_oa_package"})
# Share of generated requests that keep the generated (wrong) credentials instead of the given ones.
UNAUTHENTICATED_SHARE = 5  # one in five


@dataclass
class Credentials:
    api_key: str = DEMO_API_KEY
    secret_key: str = DEMO_SECRET_KEY

    def apply(self, data: Any, names: tuple[str, str] = ("ApiKey", "SecretKey")) -> Any:
        if isinstance(data, dict):
            return {**data, names[0]: self.api_key, names[1]: self.secret_key}
        return data


def credential_location(operation: Any) -> str | None:
    """'query' when the operation takes ApiKey in the query string, 'body' when in its body."""
    for parameter in operation.iter_parameters():
        if getattr(parameter, "name", None) == "ApiKey" and getattr(parameter, "location", None) == "query":
            return "query"
    definition = operation.definition.raw
    if "requestBody" in definition:
        return "body"
    return None


def is_sending(operation: Any) -> bool:
    return "sending" in (operation.definition.raw.get("tags") or [])


def force_sandbox(body: Any) -> Any:
    """Sandbox "1" at the top level and in every item of a multichannel `Data` list."""
    if not isinstance(body, dict):
        return body
    body = {**body, "Sandbox": "1"}
    if isinstance(body.get("Data"), list) and "Channels" in body:  # multichannel: Sandbox per leg
        body["Data"] = [{**item, "Sandbox": "1"} if isinstance(item, dict) else item for item in body["Data"]]
    elif isinstance(body.get("Data"), list):  # bulk: the top-level switch only
        pass
    return body


def install_hooks(schema: Any, credentials: Credentials, *, sandbox: bool = False,
                  unauthenticated_share: int | None = UNAUTHENTICATED_SHARE,
                  extra: Callable[[Any, dict[str, Any]], Any] | None = None) -> None:
    """Schema hooks: most generated requests carry `credentials`; `sandbox` forces Sandbox "1".

    `unauthenticated_share` n: one request in n keeps its generated credentials (None: never).
    `extra(operation, body)` returns a strategy of bodies, to steer bodies towards fixtures.
    """
    from hypothesis import strategies as st

    def choose(data: Any, apply: Callable[[Any], Any]) -> Any:
        if not isinstance(data, dict):
            return st.just(data)
        if not unauthenticated_share:
            return st.just(apply(data))
        return st.integers(0, unauthenticated_share - 1).map(lambda i: data if i == 0 else apply(data))

    @schema.hook("flatmap_body")
    def _body(context: Any, body: Any) -> Any:
        operation = context.operation
        if operation is None or credential_location(operation) != "body" or not isinstance(body, dict):
            return st.just(body)
        strategy = choose(body, credentials.apply)
        if extra is not None:
            strategy = strategy.flatmap(lambda value: extra(operation, value))
        if sandbox and is_sending(operation):
            strategy = strategy.map(force_sandbox)
        return strategy

    @schema.hook("flatmap_query")
    def _query(context: Any, query: Any) -> Any:
        operation = context.operation
        if operation is None or credential_location(operation) != "query" or not isinstance(query, dict):
            return st.just(query)
        return choose(query, credentials.apply)


def response_checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, status_code_conformance, content_type_conformance,
            response_headers_conformance, response_schema_conformance, result_code_conformance]


# ---------------------------------------------------------------------------- eSMS's own check
def result_code_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """The result code of the answer is one its operation documents in `x-esms-result-codes`.

    A schemathesis check (`(ctx, response, case)`, raises AssertionError on failure). The code
    is in the envelope field the operation's answers use (CodeResult, CodeResponse, Code or
    Error); `Error: 0`, the success of GetZnsTemplateInfo's envelope, is code 100. Operations
    without `x-esms-result-codes` (the control plane) and answers without the field (left to
    the schema check) pass.
    """
    __tracebackhide__ = True
    documented = _documented_result_codes(case.operation)
    if documented is None:
        return None
    code_field, codes = documented
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or code_field not in body:
        return None
    code = result_code_of(code_field, body[code_field])
    if code not in codes:
        operation_id = case.operation.definition.raw.get("operationId", case.operation.label)
        raise AssertionError(f"Undocumented result code {code!r} in {code_field}: {operation_id} documents "
                             f"{', '.join(codes)} (x-esms-result-codes)")
    return True


def result_code_of(code_field: str, value: Any) -> str:
    """The eSMS result code an envelope field carries, as the spec's tables spell it ("100")."""
    if code_field == "Error" and value in (0, "0"):  # GetZnsTemplateInfo: `Error` 0 = success
        return "100"
    return str(value)


def _documented_result_codes(operation: Any) -> tuple[str, tuple[str, ...]] | None:
    """(the operation's code field, its documented codes), or None when it documents none."""
    codes = operation.definition.raw.get("x-esms-result-codes")
    code_field = _code_fields(operation.schema.raw_schema).get(operation.label)
    if not codes or code_field is None:
        return None
    return code_field, tuple(str(code) for code in codes)


_CODE_FIELDS: dict[int, tuple[Any, dict[str, str]]] = {}  # id(spec document) -> (document, label -> field)


def _code_fields(document: Any) -> dict[str, str]:
    """Each operation's envelope field ("POST /path" -> "CodeResult"), read once per spec document
    by the mock's spec reader from the document schemathesis loaded (not a second read)."""
    cached = _CODE_FIELDS.get(id(document))
    if cached is None or cached[0] is not document:
        from mock_server.esms.spec import ApiSpec

        if "x-esms-result-codes" not in document:  # not the eSMS spec
            return {}
        fields = {f"{op.method} {op.path}": op.code_field for op in ApiSpec(document).operations.values()}
        cached = _CODE_FIELDS[id(document)] = (document, fields)
    return cached[1]


@dataclass
class OperationResult:
    label: str
    operation_id: str
    requests: int = 0
    skipped: str | None = None
    problems: dict[str, str] = field(default_factory=dict)  # distinct title -> first detail

    @property
    def conforms(self) -> bool:
        return not self.problems


def load_schema(spec: Path | str = ESMS_SPEC_PATH) -> Any:
    import schemathesis

    return schemathesis.openapi.from_path(str(spec))


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def run(base_url: str, *, sandbox: bool = False, max_examples: int = 10, seed: int = 0,
        credentials: Credentials | None = None, spec: Path | str = ESMS_SPEC_PATH, timeout: float = 30.0,
        only: Sequence[str] = (), out: TextIO | None = None) -> list[OperationResult]:
    """Check every operation of `spec` against `base_url`; one result per operation."""
    import requests

    out = out or sys.stdout
    schema = load_schema(spec)
    install_hooks(schema, credentials or Credentials(), sandbox=sandbox)
    checks = response_checks()
    selected = [op for op in operations(schema) if not only or op.definition.raw.get("operationId") in only]
    session = requests.Session()
    results: list[OperationResult] = []
    base_url = base_url.rstrip("/")
    for index, operation in enumerate(selected, 1):
        operation_id = operation.definition.raw.get("operationId", operation.label)
        result = OperationResult(operation.label, operation_id)
        results.append(result)
        prefix = f"[{index:2}/{len(selected)}] {operation_id:<28} {operation.label}"
        if sandbox and operation_id in NO_SANDBOX_OPERATIONS:
            result.skipped = "no Sandbox switch: it would act for real"
            print(f"{prefix}  skipped ({result.skipped})", file=out, flush=True)
            continue
        started = time.monotonic()

        _probe_operation(operation, result, base_url=base_url, session=session, checks=checks,
                         max_examples=max_examples, seed=seed, timeout=timeout)
        state = "ok" if result.conforms else f"DOES NOT CONFORM ({len(result.problems)} distinct problem(s))"
        print(f"{prefix}  {result.requests} requests, {time.monotonic() - started:.1f} s  {state}",
              file=out, flush=True)
    session.close()
    return results


def _probe_operation(operation: Any, result: OperationResult, *, base_url: str, session: Any, checks: list[Any],
                     max_examples: int, seed: int, timeout: float) -> None:
    """Send `max_examples` generated requests; record each distinct failure, never stop early."""
    import hypothesis
    import requests
    from schemathesis import GenerationMode
    from schemathesis.core.failures import Failure, FailureGroup

    def record(title: str, detail: str) -> None:
        result.problems.setdefault(title, detail)

    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=max_examples, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck), print_blob=False,
                         phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
    @hypothesis.given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def probe(case: Any) -> None:
        result.requests += 1
        try:
            response = case.call(base_url=base_url, session=session, timeout=timeout)
        except requests.RequestException as exc:
            record(f"no answer: {type(exc).__name__}", str(exc)[:300])
            return
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                record(failure.title, _detail(failure, case, response))
        except Failure as failure:
            record(failure.title, _detail(failure, case, response))

    try:
        probe()
    except hypothesis.errors.Unsatisfiable:
        pass
    except Exception as exc:  # a generation problem is a finding too, not a crash of verify
        record(f"could not test: {type(exc).__name__}", str(exc)[:300])


def _detail(failure: Any, case: Any, response: Any) -> str:
    message = " ".join(str(getattr(failure, "message", "") or "").split())
    body = response.text if hasattr(response, "text") else ""
    return (f"{message[:400]}\n      request: {case.method} {case.formatted_path} "
            f"body={_short(case.body)} query={_short(case.query)}\n"
            f"      answer: HTTP {response.status_code} {_short(body)}")


def _short(value: Any, limit: int = 240) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."


def summary(results: Sequence[OperationResult], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    failing = [r for r in results if not r.conforms]
    tested = [r for r in results if r.skipped is None]
    skipped = [r for r in results if r.skipped is not None]
    requests_sent = sum(r.requests for r in results)
    print("", file=out)
    if failing:
        print(f"Summary: {len(failing)} of {len(tested)} operations DO NOT CONFORM "
              f"({requests_sent} requests).", file=out)
        for result in failing:
            print(f"  {result.operation_id} ({result.label}):", file=out)
            for title, detail in result.problems.items():
                print(f"    - {title}: {detail}", file=out)
    else:
        print(f"Summary: all {len(tested)} operations conform ({requests_sent} requests).", file=out)
    for result in skipped:
        print(f"  skipped {result.operation_id}: {result.skipped}", file=out)
    out.flush()
    return 1 if failing else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", required=True, help="the server to check, e.g. http://127.0.0.1:8080")
    parser.add_argument("--sandbox", action="store_true",
                        help='force Sandbox "1" into every send and skip operations without a sandbox switch '
                             "(use this against the real eSMS)")
    parser.add_argument("--max-examples", type=int, default=10, metavar="N",
                        help="generated requests per operation (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="generation seed (default: %(default)s)")
    parser.add_argument("--api-key", default=os.environ.get("ESMS_API_KEY", DEMO_API_KEY),
                        help="ApiKey sent with most requests (default: $ESMS_API_KEY or DEMO_API_KEY)")
    parser.add_argument("--secret-key", default=os.environ.get("ESMS_SECRET_KEY", DEMO_SECRET_KEY),
                        help="SecretKey sent with most requests (default: $ESMS_SECRET_KEY or DEMO_SECRET_KEY)")
    parser.add_argument("--operation", action="append", default=[], metavar="OPERATION_ID",
                        help="check only this operationId (repeatable)")
    parser.add_argument("--spec", default=str(ESMS_SPEC_PATH), help=argparse.SUPPRESS)


def run_from_args(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        print("esms-mock verify needs schemathesis: pip install 'esms-zalo-mock[contract]'", file=sys.stderr)
        return 2
    print(f"esms-mock verify: {args.base_url} against {Path(args.spec).name}, "
          f"{args.max_examples} examples per operation, seed {args.seed}"
          f"{', sandbox forced' if args.sandbox else ''}", file=out, flush=True)
    results = run(args.base_url, sandbox=args.sandbox, max_examples=args.max_examples, seed=args.seed,
                  credentials=Credentials(args.api_key, args.secret_key), spec=args.spec,
                  only=args.operation, out=out)
    return summary(results, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="esms-mock verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
