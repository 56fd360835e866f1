"""What goes on the wire: paths, methods, encodings, aliases, credentials, hosts, timeouts."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from esms_zalo import Client, models
from sdk_fakes import (
    API_KEY,
    SECRET_KEY,
    FakeEsms,
    OperationExample,
    answer,
    form_body,
    json_body,
)


def _without_added_request_ids(sent: Any, expected: Any) -> Any:
    """`sent` minus the RequestIds the client added where the example had none."""
    if isinstance(sent, dict) and isinstance(expected, dict):
        return {
            key: _without_added_request_ids(value, expected.get(key))
            for key, value in sent.items()
            if not (key == "RequestId" and key not in expected)
        }
    if isinstance(sent, list) and isinstance(expected, list) and len(sent) == len(expected):
        return [_without_added_request_ids(s, e) for s, e in zip(sent, expected, strict=True)]
    return sent


def test_every_spec_example_goes_out_exactly_as_the_spec_shows_it(
    operation_example: OperationExample, client: Client, esms: FakeEsms
) -> None:
    esms.default = answer(operation_example.success_answer)

    getattr(client, operation_example.operation_id)(**operation_example.kwargs())

    request = esms.last
    assert request.method == operation_example.method
    assert request.url.path == operation_example.path
    expected_host = "status-sms.esms.vn" if operation_example.on_status_host else "rest.esms.vn"
    assert (request.url.scheme, request.url.host) == ("https", expected_host)
    expected = operation_example.expected_wire()
    if operation_example.media_type is None:
        assert request.content == b""
        assert dict(request.url.params) == {key: str(value) for key, value in expected.items()}
    elif operation_example.media_type == "application/x-www-form-urlencoded":
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        assert _without_added_request_ids(form_body(request), expected) == {k: [v] for k, v in expected.items()}
    else:
        assert _without_added_request_ids(json_body(request), expected) == expected


def test_every_operation_decodes_the_success_answer_of_the_spec_into_its_response_model(
    operation_example: OperationExample, client: Client, esms: FakeEsms
) -> None:
    esms.default = answer(operation_example.success_answer)

    result = getattr(client, operation_example.operation_id)(**operation_example.kwargs())

    return_type = inspect.signature(getattr(Client, operation_example.operation_id)).return_annotation
    assert type(result).__name__ == return_type
    assert result.model_dump(by_alias=True, exclude_unset=True) == operation_example.success_answer


def test_aliases_not_python_names_are_sent(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v6(oa_id="4097311281936189049", phone="0901888484", template_id="205644", template_data={"otp": "1"})

    body = json_body(esms.last)
    assert {"OAID", "Phone", "TempID", "TempData"} <= body.keys()
    assert not {"oa_id", "phone", "template_id", "template_data"} & body.keys()


def test_defaults_the_caller_did_not_choose_are_not_sent(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v4(oa_id="1", phone="0901888484", template_id="2", template_data=["x"])
    client.send_multichannel_message(
        phone="0901888484",
        channels=["zalo", "sms"],
        legs=[
            models.MultiChannelZnsLeg(template_id="2", template_data=["x"], oa_id="1"),
            models.MultiChannelSmsLeg(content="x", sms_type="2", brand_name="Brand"),
        ],
    )

    zns, multichannel = esms.bodies()
    assert not {"IsJourney", "Sandbox", "SendingMode", "SendDate"} & zns.keys()
    assert "IsUnicode" not in multichannel["Data"][1]
    assert "Sandbox" not in multichannel["Data"][0]


def test_a_default_the_caller_chose_explicitly_is_sent(client: Client, esms: FakeEsms) -> None:
    client.send_zns_v4(oa_id="1", phone="0901888484", template_id="2", template_data=["x"], sandbox=False, is_journey=False)

    body = json_body(esms.last)
    assert body["Sandbox"] == "0"
    assert body["IsJourney"] is False


def test_get_operations_send_everything_in_the_query_string(client: Client, esms: FakeEsms) -> None:
    client.get_send_status(sms_id="abc")

    request = esms.last
    assert request.method == "GET"
    assert request.content == b""
    assert "content-type" not in request.headers
    assert dict(request.url.params) == {"RefId": "abc", "ApiKey": API_KEY, "SecretKey": SECRET_KEY}


def test_the_form_operation_is_form_encoded(client: Client, esms: FakeEsms) -> None:
    client.send_full_content_form(
        phone="0901888484", oa_id="4097311281936189049", content="Đơn hàng ORD-001 đã xác nhận", sms_type="25"
    )

    request = esms.last
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = form_body(request)
    assert form["Content"] == ["Đơn hàng ORD-001 đã xác nhận"]
    assert form["Smstype"] == ["25"]
    assert form["ApiKey"] == [API_KEY] and form["SecretKey"] == [SECRET_KEY]


def test_json_bodies_are_utf8_json(client: Client, esms: FakeEsms) -> None:
    client.send_follower_message_v4(oa_id="1", user_id="2", content="Cảm ơn bạn")

    request = esms.last
    assert request.headers["content-type"] == "application/json"
    assert "Cảm ơn bạn".encode() in request.content


def test_invalid_arguments_fail_before_anything_is_sent(client: Client, esms: FakeEsms) -> None:
    with pytest.raises(ValidationError):
        client.send_zns_v6(oa_id="1", phone="not a phone", template_id="2", template_data={"otp": "1"})

    assert esms.requests == []


def test_the_client_fills_in_the_credentials(client: Client, esms: FakeEsms) -> None:
    client.get_balance()

    assert json_body(esms.last) == {"ApiKey": API_KEY, "SecretKey": SECRET_KEY}


def test_credentials_come_from_the_environment_when_not_given(
    make_client: Callable[..., Client], esms: FakeEsms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESMS_API_KEY", "env-key")
    monkeypatch.setenv("ESMS_SECRET_KEY", "env-secret")

    make_client(api_key=None, secret_key=None).get_balance()

    assert json_body(esms.last) == {"ApiKey": "env-key", "SecretKey": "env-secret"}


def test_credentials_given_to_the_constructor_beat_the_environment(
    client: Client, esms: FakeEsms, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESMS_API_KEY", "env-key")

    client.get_balance()

    assert json_body(esms.last)["ApiKey"] == API_KEY


@pytest.mark.parametrize("missing", ["api_key", "secret_key"])
def test_a_client_without_credentials_is_refused(missing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESMS_API_KEY", raising=False)
    monkeypatch.delenv("ESMS_SECRET_KEY", raising=False)
    given = {"api_key": "k", "secret_key": "s"}
    given[missing] = None  # type: ignore[assignment]

    with pytest.raises(ValueError, match="ESMS_"):
        Client(**given)


def test_no_method_takes_credentials() -> None:
    methods = [m for name, m in inspect.getmembers(Client, inspect.isfunction) if not name.startswith("_")]
    for method in methods:
        assert not {"api_key", "secret_key"} & inspect.signature(method).parameters.keys(), method.__name__


def test_default_hosts_are_the_spec_servers(client: Client, esms: FakeEsms) -> None:
    client.get_callback_data(sms_ids=["a"], oa_id="1")
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={})

    status_request, main_request = esms.requests
    assert str(status_request.url) == "https://status-sms.esms.vn/ZaloCallback/GetCallback"
    assert str(main_request.url) == "https://rest.esms.vn/MainService.svc/json/SendZaloMessage_V6/"


def test_a_base_url_alone_serves_both_hosts(make_client: Callable[..., Client], esms: FakeEsms) -> None:
    client = make_client(base_url="http://127.0.0.1:8099/")

    client.get_callback_data(sms_ids=["a"], oa_id="1")

    assert str(esms.last.url) == "http://127.0.0.1:8099/ZaloCallback/GetCallback"


def test_the_status_host_can_be_set_apart(make_client: Callable[..., Client], esms: FakeEsms) -> None:
    client = make_client(base_url="http://main.test", status_base_url="http://status.test")

    client.get_callback_data(sms_ids=["a"], oa_id="1")
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={})

    assert [r.url.host for r in esms.requests] == ["status.test", "main.test"]


def test_the_default_timeout_is_ten_seconds(client: Client, esms: FakeEsms) -> None:
    client.get_balance()

    assert esms.last.extensions["timeout"] == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


def test_the_timeout_is_configurable(make_client: Callable[..., Client], esms: FakeEsms) -> None:
    make_client(timeout=2.5).get_balance()
    make_client(timeout=httpx.Timeout(3.0, connect=1.0)).get_balance()

    first, second = (r.extensions["timeout"] for r in esms.requests)
    assert first == {"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}
    assert second["connect"] == 1.0 and second["read"] == 3.0


def test_the_sdk_names_itself_in_the_user_agent(client: Client, esms: FakeEsms) -> None:
    client.get_balance()

    assert esms.last.headers["user-agent"].startswith("esms-zalo-sdk/")


def test_the_client_closes_its_own_http_client_but_not_one_it_was_given(esms: FakeEsms) -> None:
    given = httpx.Client(transport=httpx.MockTransport(esms))
    with Client(API_KEY, SECRET_KEY, http_client=given):
        pass
    assert not given.is_closed

    own = Client(API_KEY, SECRET_KEY)
    own.close()
    assert own._http.is_closed


def test_constraints_of_aliased_scalar_types_still_apply(client: Client, esms: FakeEsms) -> None:
    # Params items are a type alias (TemplateParam: str, at most 2000 characters) in the models.
    with pytest.raises(ValidationError):
        client.send_zns_v4(oa_id="1", phone="0901888484", template_id="2", template_data=["x" * 2001])
    with pytest.raises(ValidationError):
        client.get_followers(oa_id="1", offset=-1, count=50)

    assert esms.requests == []


def test_whole_numbers_are_ints_and_sent_as_json_numbers_where_the_wire_takes_either(
    client: Client, esms: FakeEsms
) -> None:
    assert inspect.signature(Client.get_followers).parameters["count"].annotation == "int"

    client.get_followers(oa_id="1", offset=0, count=50)

    body = json_body(esms.last)
    assert (body["Offset"], body["Count"]) == (0, 50)
