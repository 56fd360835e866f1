"""Generated requests of every operation go through the generated Client to the mock server.

Two properties per operation, each over generated requests (sdk_strategies):

* any request the spec's schema allows gets a documented answer: success, or the typed
  `EsmsApiError` subclass of a code in the operation's `x-esms-result-codes`; never a
  ValidationError, InvalidResponseError or transport error of the SDK;
* a request shaped to the mock's demo fixtures (the demo credentials, OA and templates with
  their real variables, valid phones, real dates, SMSIDs and OTPs the mock issued) is
  accepted: 100.

Both also check the wire: the client sends the fields exactly as given, plus the credentials
and a uuid4 in every RequestId left empty. The mock is reset before every example, so each
example stands alone and a failure replays from its printed example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from pydantic import ValidationError
from sdk_strategies import (
    OPERATIONS,
    PROPERTIES,
    MockEsms,
    PlannedRequest,
    SpecOperation,
    client_kwargs,
    expected_on_the_wire,
    fitting_request,
    nudged_request,
    sent_fields,
    without_filled_request_ids,
)

from esms_zalo import EsmsApiError, EsmsError, UnknownCodeError, models
from esms_zalo.errors import error_class_for


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockEsms]:
    esms = MockEsms(tmp_path_factory.mktemp("mock") / "esms-mock.sqlite3")
    yield esms
    esms.close()


def _call(mock: MockEsms, op: SpecOperation, wire: dict[str, Any], *, typed: bool) -> tuple[str, Any]:
    """Call the operation's client method; (the result code, the answer or the API error)."""
    method = getattr(mock.client, op.operation_id)
    try:
        answer = method(**client_kwargs(op, wire, typed=typed))
    except EsmsApiError as error:
        return error.code, error
    except (EsmsError, ValidationError) as error:
        raise AssertionError(
            f"{op}: the SDK raised {type(error).__name__} for a request the spec allows: {error}"
        ) from error
    return "100", answer


def _assert_documented(op: SpecOperation, code: str, outcome: Any) -> None:
    assert code in op.result_codes, f"{op} answered {code}, not one of its x-esms-result-codes: {outcome}"
    if code == "100":
        assert type(outcome) is op.response_model
    else:
        assert type(outcome) is error_class_for(code) and not isinstance(outcome, UnknownCodeError)


def _assert_sent_as_given(mock: MockEsms, op: SpecOperation, wire: dict[str, Any]) -> None:
    expected = expected_on_the_wire(op, wire)
    sent = sent_fields(mock.last_request)
    assert without_filled_request_ids(op, sent, expected) == expected


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_every_request_the_schema_allows_gets_a_documented_answer_through_the_client(
    op: SpecOperation, mock: MockEsms
) -> None:
    @PROPERTIES
    @given(wire=nudged_request(op), typed=st.booleans())
    def check(wire: dict[str, Any], typed: bool) -> None:
        note(f"request: {wire!r}, typed: {typed}")
        mock.reset()

        code, outcome = _call(mock, op, wire, typed=typed)

        _assert_documented(op, code, outcome)
        _assert_sent_as_given(mock, op, wire)

    check()


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_every_request_the_demo_fixtures_allow_is_accepted_with_100(op: SpecOperation, mock: MockEsms) -> None:
    @PROPERTIES
    @given(plan=fitting_request(op), typed=st.booleans())
    def check(plan: PlannedRequest, typed: bool) -> None:
        note(f"plan: {plan!r}, typed: {typed}")
        mock.reset()
        wire = mock.prepare(plan)
        note(f"request: {wire!r}")

        code, outcome = _call(mock, op, wire, typed=typed)

        assert code == "100", f"{op} answered {code} to a request the demo fixtures allow: {outcome}"
        _assert_documented(op, code, outcome)
        _assert_sent_as_given(mock, op, wire)
        if isinstance(outcome, models.BulkSendResponse):
            # Every item fits the fixtures too, so every item is accepted with its own SMSID.
            assert outcome.detail and all(item.result_code == "100" and item.sms_id for item in outcome.detail)

    check()
