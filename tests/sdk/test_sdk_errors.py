"""A non-success result code raises the exception class of its family, whatever field carries it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from sdk_fakes import API_KEY, SECRET_KEY, SPEC_PATH, FakeEsms, answer

from esms_zalo import (
    AuthorizationError,
    BalanceError,
    Client,
    DuplicateRequestError,
    EsmsApiError,
    EsmsError,
    InvalidResponseError,
    NotFoundError,
    OaError,
    PayloadError,
    RateLimitError,
    TemplateError,
    UnknownCodeError,
    models,
)

# Written out by hand on purpose: the generated mapping must agree with this reading of the spec.
FAMILY_CLASSES: dict[str, type[EsmsApiError]] = {
    "authorization": AuthorizationError,
    "balance": BalanceError,
    "template": TemplateError,
    "duplicate_request": DuplicateRequestError,
    "oa": OaError,
    "payload": PayloadError,
    "not_found": NotFoundError,
    "rate_limit": RateLimitError,
}


def _table() -> list[dict[str, Any]]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return [row for row in yaml.safe_load(handle)["x-esms-result-codes"] if row["family"] != "success"]


def _send(client: Client) -> models.SendResponse:
    return client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"})


def test_every_family_of_the_table_has_its_class() -> None:
    assert {row["family"] for row in _table()} == FAMILY_CLASSES.keys()


@pytest.mark.parametrize("row", _table(), ids=lambda row: f"{row['code']}-{row['family']}")
def test_each_code_of_the_table_raises_its_family_class(row: dict[str, Any], client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": row["code"], "CountRegenerate": 0, "ErrorMessage": row["message"]})

    with pytest.raises(FAMILY_CLASSES[row["family"]]) as raised:
        _send(client)

    assert raised.value.code == row["code"]
    assert raised.value.message == row["message"]
    assert raised.value.family == row["family"]


def test_a_code_missing_from_the_table_raises_unknown_code_error(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "555", "ErrorMessage": "Something new"})

    with pytest.raises(UnknownCodeError) as raised:
        _send(client)

    assert raised.value.code == "555"
    assert "Something new" in str(raised.value)


def test_an_api_error_carries_code_message_request_response_and_parsed_answer(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "789", "CountRegenerate": 0, "ErrorMessage": "TemplateId is not config"})

    with pytest.raises(TemplateError) as raised:
        _send(client)

    error = raised.value
    assert isinstance(error, EsmsApiError) and isinstance(error, EsmsError)
    assert error.code == "789"
    assert error.message == "TemplateId is not config"
    assert error.operation == "send_zns_v6"
    assert isinstance(error.response, httpx.Response) and error.response.status_code == 200
    assert isinstance(error.request, httpx.Request) and error.request.url.path.endswith("/SendZaloMessage_V6/")
    assert isinstance(error.parsed, models.SendResponse) and error.parsed.result_code == "789"
    assert "789" in str(error) and "TemplateId is not config" in str(error)


def test_the_error_text_never_shows_the_credentials(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "101", "ErrorMessage": "Authorize Failed"})

    with pytest.raises(AuthorizationError) as raised:
        _send(client)

    assert API_KEY not in str(raised.value) and SECRET_KEY not in str(raised.value)


def test_without_error_message_the_table_text_is_used(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResponse": "101", "SMSID": "abc"})  # the vendor's 101 sample of GetSendStatus

    with pytest.raises(AuthorizationError) as raised:
        client.get_send_status(sms_id="abc")

    assert raised.value.message == "Authorize Failed"


# ---------------------------------------------------------------- the four code field styles
def test_code_result_as_a_string_is_the_code_of_send_operations(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "103", "CountRegenerate": 0, "ErrorMessage": "Balance not enough"})

    with pytest.raises(BalanceError):
        _send(client)


def test_a_code_sent_as_a_number_where_the_spec_says_string_still_counts(client: Client, esms: FakeEsms) -> None:
    esms.script = [answer({"CodeResult": 100, "SMSID": "abc"}), answer({"CodeResult": 101})]

    assert _send(client).result_code == "100"
    with pytest.raises(AuthorizationError) as raised:
        _send(client)
    assert raised.value.code == "101"


def test_code_response_is_the_code_of_get_balance_and_get_send_status(client: Client, esms: FakeEsms) -> None:
    esms.script = [
        answer({"Balance": 0, "CodeResponse": "101", "ErrorMessage": "Authorize Failed"}),
        answer({"CodeResponse": "105", "SMSID": "abc", "ErrorMessage": "Message not found"}),
        # CodeResult beside CodeResponse is not what get_balance reads.
        answer({"Balance": 125000, "CodeResponse": "100", "UserID": 12345, "CodeResult": "101"}),
    ]

    with pytest.raises(AuthorizationError):
        client.get_balance()
    with pytest.raises(NotFoundError):
        client.get_send_status(sms_id="abc")
    assert client.get_balance().balance == 125000


def test_code_as_a_json_number_is_the_code_of_get_callback_data(client: Client, esms: FakeEsms) -> None:
    esms.script = [
        answer({"Code": 101, "Message": "Authorize Failed", "Data_callback": []}),
        answer({"Code": 100, "Message": "Success", "Data_callback": []}),
    ]

    with pytest.raises(AuthorizationError) as raised:
        client.get_callback_data(sms_ids=["a"], oa_id="1")
    assert (raised.value.code, raised.value.message) == ("101", "Authorize Failed")
    assert client.get_callback_data(sms_ids=["a"], oa_id="1").data_callback == []


def test_error_zero_is_success_and_other_numbers_raise_for_get_template_info(client: Client, esms: FakeEsms) -> None:
    esms.script = [
        answer({"Data": None, "Error": 0, "Message": "Success"}),
        answer({"Data": None, "Error": 101, "Message": "Authorize Failed"}),
        answer({"Data": None, "Error": 789, "Message": "TemplateId is not config"}),
    ]

    assert client.get_template_info(template_id="205644", oa_id="1").result_code == 0
    with pytest.raises(AuthorizationError):
        client.get_template_info(template_id="205644", oa_id="1")
    with pytest.raises(TemplateError) as raised:
        client.get_template_info(template_id="205644", oa_id="1")
    assert raised.value.code == "789"


# ---------------------------------------------------------------- bulk: only the request's own code
def test_bulk_item_failures_stay_in_detail(client: Client, esms: FakeEsms) -> None:
    esms.default = answer(
        {
            "CodeResult": "100",
            "Message": "Sucess",
            "TotalFail": 1,
            "TotalSuccess": 1,
            "detail": [
                {"CodeResult": "100", "Phone": "0901888484", "SMSID": "abc"},
                {"CodeResult": "108", "Phone": "0900000002x", "ErrorMessage": "The phone number is not valid."},
            ],
        }
    )

    result = client.send_zns_bulk(oa_id="1", template_id="2", recipients=[models.ZnsBulkItem(phone="0901888484", template_data=["1"])])

    assert [item.result_code for item in result.detail or []] == ["100", "108"]


def test_a_bulk_request_refused_as_a_whole_raises(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "687", "ErrorMessage": "More than 500 phone numbers in the request"})

    with pytest.raises(PayloadError) as raised:
        client.send_zns_bulk(oa_id="1", template_id="2", recipients=[models.ZnsBulkItem(phone="0901888484", template_data=["1"])])

    assert raised.value.code == "687"


# ---------------------------------------------------------------- answers that are not eSMS answers
@pytest.mark.parametrize(
    "body",
    [
        "<html>maintenance</html>",
        {"SMSID": "abc"},
        {"CodeResult": "abc"},
        ["not", "an", "object"],
    ],
    ids=["not-json", "no-code", "code-not-digits", "json-array"],
)
def test_a_200_that_is_not_an_esms_answer_raises_invalid_response(body: Any, client: Client, esms: FakeEsms) -> None:
    esms.default = answer(body) if not isinstance(body, list) else httpx.Response(200, json=body)

    with pytest.raises(InvalidResponseError) as raised:
        _send(client)

    assert raised.value.response.status_code == 200


def test_a_success_answer_that_breaks_the_schema_raises_invalid_response(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResponse": "100", "SendStatus": 3})  # 3 is no SendStatus

    with pytest.raises(InvalidResponseError, match="SendStatusResponse"):
        client.get_send_status(sms_id="abc")


def test_unknown_fields_in_an_answer_are_kept_not_refused(client: Client, esms: FakeEsms) -> None:
    esms.default = answer({"CodeResult": "100", "SMSID": "abc", "BrandNewField": 7})

    result = _send(client)

    assert result.model_extra == {"BrandNewField": 7}
