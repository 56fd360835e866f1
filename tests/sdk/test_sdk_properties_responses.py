"""Generated answers of every operation, fed to the generated Client through httpx.MockTransport.

* Every answer the spec allows parses: the success answer into the operation's response model,
  any other code into the typed `EsmsApiError` of its family (with the answer parsed beside
  it), even as eSMS really sends it: with fields the spec does not know, whole numbers as digit
  strings, decimals as strings ("55.0000"), and result codes as JSON numbers. The parsed model
  holds the canonical values (an oracle independent of the SDK: the generator knows what each
  loose form means).
* What the spec forbids in a success answer (a missing or unreadable code field, a type that
  cannot be coerced, a value outside an enum such as SendStatus 3, a pattern or a minimum
  broken, a required field missing) raises InvalidResponseError naming the operation and the
  field.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from sdk_strategies import (
    OPERATIONS,
    PROPERTIES,
    Breakage,
    SpecOperation,
    breakages,
    broken,
    first_example_kwargs,
    forbidden_answers,
    is_success_code,
    mentions,
    response_pairs,
)

from esms_zalo import Client, EsmsApiError, InvalidResponseError
from esms_zalo.errors import error_class_for


class ScriptedEsms:
    """Answers every request with the body it was last given."""

    def __init__(self) -> None:
        self.text = ""
        self.client = Client(
            api_key="test-api-key",
            secret_key="test-secret-key",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(self._answer)),
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=self.text.encode(), headers={"Content-Type": "application/json"})

    def call(self, op: SpecOperation, body: Any) -> Any:
        return self.call_raw(op, json.dumps(body))

    def call_raw(self, op: SpecOperation, text: str) -> Any:
        self.text = text
        return getattr(self.client, op.operation_id)(**first_example_kwargs(op))


@pytest.fixture(scope="module")
def esms() -> ScriptedEsms:
    return ScriptedEsms()


def _as_parsed(model: Any) -> Any:
    return model.model_dump(by_alias=True, exclude_unset=True)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_every_answer_the_spec_allows_parses_into_the_response_model_or_the_typed_error(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(answer=response_pairs(op))
    def check(answer: tuple[Any, Any]) -> None:
        wire, canonical = answer
        note(f"answer: {wire!r}")
        code = str(canonical[op.sdk.code_field])

        try:
            parsed = esms.call(op, wire)
        except EsmsApiError as error:
            assert not is_success_code(op, code), f"{op}: success answer {code} raised {error!r}"
            assert type(error) is error_class_for(code)
            assert error.code == code
            assert error.parsed is not None, f"{op}: a valid {code} answer was not parsed: {error}"
            assert type(error.parsed) is op.response_model
            assert _as_parsed(error.parsed) == canonical
        else:
            assert is_success_code(op, code), f"{op}: answer {code} did not raise"
            assert type(parsed) is op.response_model
            assert _as_parsed(parsed) == canonical

    check()


def _assert_refused_naming(op: SpecOperation, esms: ScriptedEsms, body: Any, field: str) -> None:
    with pytest.raises(InvalidResponseError) as raised:
        esms.call(op, body)
    message = str(raised.value)
    assert raised.value.operation == op.operation_id
    assert op.operation_id in message, message
    assert field in message, f"the error does not name {field}: {message}"


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_every_answer_the_spec_forbids_raises_invalid_response_naming_operation_and_field(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(case=forbidden_answers(op))
    def check(case: tuple[Any, Breakage]) -> None:
        body, breakage = case
        note(f"answer: {body!r}, broken: {breakage}")
        _assert_refused_naming(op, esms, body, breakage.field)

    check()


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_an_error_answer_that_breaks_the_spec_elsewhere_still_raises_its_typed_error_unparsed(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(case=forbidden_answers(op, success=False))
    def check(case: tuple[Any, Breakage]) -> None:
        body, breakage = case
        note(f"answer: {body!r}, broken: {breakage}")
        code = str(body[op.sdk.code_field])
        with pytest.raises(EsmsApiError) as raised:
            esms.call(op, body)
        assert type(raised.value) is error_class_for(code) and raised.value.code == code
        assert raised.value.parsed is None  # the answer does not fit the model: no half-parsed one

    check()


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_an_answer_without_its_code_field_raises_invalid_response_naming_it(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(answer=response_pairs(op, success=True), unreadable=st.sampled_from([None, "abc", "1.5", "", True, [], {}]))
    def check(answer: tuple[Any, Any], unreadable: Any) -> None:
        body = dict(answer[0])
        del body[op.sdk.code_field]
        note(f"answer: {body!r}, then with {op.sdk.code_field}={unreadable!r}")
        _assert_refused_naming(op, esms, body, op.sdk.code_field)
        _assert_refused_naming(op, esms, {**body, op.sdk.code_field: unreadable}, op.sdk.code_field)

    check()


WITH_SEND_STATUS = [op for op in OPERATIONS if mentions(op.response_schema, "SendStatus")]


@pytest.mark.parametrize("op", WITH_SEND_STATUS, ids=str)
def test_a_send_status_outside_the_spec_enum_is_refused_even_as_a_digit_string(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(
        answer=response_pairs(op, success=True),
        status=st.integers().filter(lambda n: n not in (0, 1, 2, 4, 5, 7)).flatmap(lambda n: st.sampled_from([n, str(n)])),
        data=st.data(),
    )
    def check(answer: tuple[Any, Any], status: Any, data: st.DataObject) -> None:
        canonical = answer[1]
        places = [b for b in breakages(op.response_schema, canonical) if b.field == "SendStatus" and b.kind == "outside the enum"]
        if not places:  # this answer carries no SendStatus: put one where the schema has it
            canonical = _with_a_send_status(op, canonical)
            places = [b for b in breakages(op.response_schema, canonical) if b.field == "SendStatus" and b.kind == "outside the enum"]
        place = data.draw(st.sampled_from(places))
        body = broken(canonical, Breakage(place.kind, place.path, place.field, status))
        note(f"answer: {body!r}")
        _assert_refused_naming(op, esms, body, "SendStatus")

    check()


def _with_a_send_status(op: SpecOperation, canonical: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(canonical))
    name = op.response_model.__name__
    if name == "SendStatusResponse":
        body["SendStatus"] = 5
    elif name == "ZnsStatusResponse":
        body["Data"] = {**(body.get("Data") or {}), "SendStatus": 5}
    elif name == "SentDataResponse":
        body["SentData"] = [*(body.get("SentData") or []), {"SendStatus": 5}]
    elif name == "CallbackDataResponse":
        body["Data_callback"] = [*(body.get("Data_callback") or []), {"SMSID": "x", "SendStatus": 5}]
    else:
        raise AssertionError(f"{name} has a SendStatus the test does not know where to put: teach _with_a_send_status")
    return body


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_an_answer_nested_deeper_than_json_can_follow_raises_invalid_response(
    op: SpecOperation, esms: ScriptedEsms
) -> None:
    @PROPERTIES
    @given(answer=response_pairs(op, success=True), depth=st.integers(2_000, 50_000), bracket=st.sampled_from("[{"))
    def check(answer: tuple[Any, Any], depth: int, bracket: str) -> None:
        nested = "[" * depth + "]" * depth if bracket == "[" else '{"a":' * depth + "1" + "}" * depth
        text = json.dumps(answer[0])[:-1] + f', "Unknown": {nested}}}'
        note(f"answer: {text[:300]!r}... ({depth} levels)")
        with pytest.raises(InvalidResponseError) as raised:
            esms.call_raw(op, text)
        assert op.operation_id in str(raised.value)

    check()
