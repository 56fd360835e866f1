"""Schemathesis against `esms-mock serve`: every operation of both specs, valid and invalid data,
the response checks, and a stateful run that follows the spec's links (SMSID -> status queries).

Bounded and seeded (a few examples per operation, derandomized) so it takes a minute or two;
`make fuzz` (see the README) runs the same checks with thousands of examples.

The eSMS operations get one check more, `result_code_conformance` (mock_server/testing/verify.py):
the code in each answer is one the operation lists in `x-esms-result-codes`. One check is off
for them, because it contradicts documented eSMS behaviour:
`negative_data_rejection` expects a 4xx for schema-invalid input, and eSMS answers HTTP 200 with
an error code in the body (`110`, `210`, ...) instead; the response schema check still holds.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from contract_support import (
    CONTROL_SPEC,
    ESMS_SPEC,
    MAX_EXAMPLES,
    SEED,
    STATEFUL_SCENARIOS,
    record_case,
    steer_to_demo,
)
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from mock_server.testing import ServedMock
from mock_server.testing.verify import Credentials, install_hooks, result_code_conformance

ESMS_QUIRKS = [negative_data_rejection]  # HTTP 200 + error code for invalid input (see the docstring)
ESMS_CHECKS = [result_code_conformance]  # eSMS's own: every answer's code is one its operation documents


def _load(path: Path) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_path(str(path))
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    schema.config.seed = SEED
    return schema


ESMS = _load(ESMS_SPEC)
install_hooks(ESMS, Credentials(), extra=steer_to_demo)  # most requests authenticated, one in five not
CONTROL = _load(CONTROL_SPEC)


@pytest.fixture(scope="session")
def esms_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    served = ServedMock(tmp_path_factory.mktemp("contract") / "esms.sqlite3", workers=2).start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="session")
def control_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    """A server of its own: fuzzing /_mock/fixtures and /_mock/scenarios changes what eSMS answers."""
    served = ServedMock(tmp_path_factory.mktemp("contract") / "control.sqlite3").start()
    try:
        yield served
    finally:
        served.stop()


@ESMS.parametrize()
def test_esms_operation_conforms(case: schemathesis.Case, esms_mock: ServedMock) -> None:
    record_case(case.operation.label)
    case.call_and_validate(base_url=esms_mock.base_url, additional_checks=ESMS_CHECKS, excluded_checks=ESMS_QUIRKS,
                           timeout=30)


@CONTROL.parametrize()
def test_control_operation_conforms(case: schemathesis.Case, control_mock: ServedMock) -> None:
    record_case(case.operation.label)
    case.call_and_validate(base_url=control_mock.base_url, timeout=30)


def test_stateful_links_from_sends_to_status_queries(esms_mock: ServedMock) -> None:
    base_url = esms_mock.base_url
    followed: list[str] = []  # SMSIDs a status query found (CodeResponse 100)

    class Workflow(ESMS.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts from the same state, so the same requests get the same kind of
            # answer (no 124 for a RequestId an earlier scenario used): Hypothesis needs that.
            reset = urllib.request.Request(f"{base_url}/_mock/reset", data=b"", method="POST")
            with urllib.request.urlopen(reset, timeout=30):  # noqa: S310 - loopback
                pass

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": base_url, "timeout": 30}

        def after_call(self, response, case):  # type: ignore[no-untyped-def]
            if case.operation.label.endswith(("/GetSendStatus", "/GetSmsReceiverStatus_get")) and case.query:
                body = response.json() if response.status_code == 200 else {}
                if body.get("CodeResponse") == "100":
                    followed.append(str(case.query.get("RefId")))

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(response, additional_checks=ESMS_CHECKS, excluded_checks=ESMS_QUIRKS,
                                   transport_kwargs=kwargs)

    Workflow.run(settings=hypothesis.settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=6,
                                              derandomize=True, deadline=None, database=None,
                                              suppress_health_check=list(hypothesis.HealthCheck)))
    assert followed, "no status query followed a send's SMSID link to an accepted message"
