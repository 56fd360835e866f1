"""Parameters take Python types and the SDK writes the wire form the spec describes."""

from __future__ import annotations

import inspect
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sdk_fakes import FakeEsms, form_body, json_body

from esms_zalo import Client

UTC = timezone.utc


def _annotation(method: str, parameter: str) -> str:
    return str(inspect.signature(getattr(Client, method)).parameters[parameter].annotation)


def test_flags_are_bools_sent_as_1_and_0(client: Client, esms: FakeEsms) -> None:
    assert _annotation("send_zns_v6", "sandbox") == "bool | None"

    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, sandbox=True)
    client.send_zns_v6(oa_id="1", phone="0901888484", template_id="2", template_data={"otp": "1"}, sandbox=False)
    client.send_full_content_json(
        phone="0901888484", oa_id="1", content="x", sms_type="25", is_unicode=True
    )

    on, off, unicode = esms.bodies()
    assert (on["Sandbox"], off["Sandbox"], unicode["IsUnicode"]) == ("1", "0", "1")


def test_is_follower_left_out_means_all_users(client: Client, esms: FakeEsms) -> None:
    window = {"oa_id": "1", "offset": 0, "count": 10, "from_date": date(2025, 1, 1), "to_date": date(2025, 1, 31)}
    client.query_uid_list(**window)
    client.query_uid_list(**window, is_follower=False)

    everyone, non_followers = esms.bodies()
    assert "IsFollower" not in everyone
    assert non_followers["IsFollower"] == "0"


def test_dates_are_written_in_the_format_of_their_field(client: Client, esms: FakeEsms) -> None:
    assert _annotation("register_oa_package", "date_active") == "date"

    client.register_oa_package(oa_id="1", date_active=date(2025, 3, 9), duration_months=12, package=3)
    client.query_uid_list(oa_id="1", offset=0, count=10, from_date=date(2025, 1, 2), to_date=date(2025, 2, 3))

    package, uids = esms.bodies()
    assert (package["Dateactive"], package["Duaration"], package["Package"]) == ("2025-03-09", "12", 3)
    assert (uids["FromDate"], uids["ToDate"]) == ("02/01/2025", "03/02/2025")


def test_times_are_vietnam_time_an_aware_datetime_is_converted(client: Client, esms: FakeEsms) -> None:
    assert _annotation("send_zns_v6", "send_at") == "datetime | None"
    send = {"oa_id": "1", "phone": "0901888484", "template_id": "2", "template_data": {"otp": "1"}}

    client.send_zns_v6(**send, send_at=datetime(2025, 1, 15, 2, 30, tzinfo=UTC))
    client.send_zns_v6(**send, send_at=datetime(2025, 1, 15, 9, 30))  # naive: already Vietnam time
    client.get_ratings(
        oa_id="1",
        template_id="2",
        from_time=datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-5))),
        to_time=datetime(2025, 1, 31, 23, 59, 59),
        offset=0,
        limit=20,
    )

    aware, naive, ratings = esms.bodies()
    assert aware["SendDate"] == naive["SendDate"] == "2025-01-15 09:30:00"
    assert (ratings["FromTime"], ratings["ToTime"]) == ("2025-01-01 12:00:00", "2025-01-31 23:59:59")


def test_counts_the_wire_takes_as_text_are_sent_as_digits(client: Client, esms: FakeEsms) -> None:
    client.send_auto_generated_otp(phone="0901888484", multichannel_template_id="7", otp_mode="2", lifetime_minutes=5)
    client.get_sent_data(
        sms_type="25", from_time=datetime(2025, 1, 1), to_time=datetime(2025, 1, 2), page=1, page_size=50
    )

    otp, sent = esms.bodies()
    assert otp["TimeAlive"] == "5"
    assert (sent["Page"], sent["PageSize"], sent["From"]) == (1, 50, "2025-01-01 00:00:00")


def test_a_number_and_its_string_twin_is_typed_as_the_number() -> None:
    assert _annotation("register_oa_package", "package") == "Literal[1, 2, 3]"
    assert _annotation("get_sent_data", "page") == "int"


def test_the_form_operation_writes_flags_as_form_values(client: Client, esms: FakeEsms) -> None:
    client.send_full_content_form(phone="0901888484", oa_id="1", content="x", sms_type="25", sandbox=True)

    assert form_body(esms.last)["Sandbox"] == ["1"]


def test_a_value_of_the_wrong_type_is_refused_by_the_model_before_anything_is_sent(
    client: Client, esms: FakeEsms
) -> None:
    with pytest.raises(ValidationError):
        client.register_oa_package(oa_id="1", date_active="9 March", duration_months=12, package=3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        client.send_zns_v6(
            oa_id="1", phone="0901888484", template_id="2", template_data={}, sandbox="yes"  # type: ignore[arg-type]
        )

    assert esms.requests == []


def test_the_wire_form_itself_is_still_read_as_the_model_reads_it(client: Client, esms: FakeEsms) -> None:
    # A value already in wire form passes unchanged (the model validates it): callers that
    # build arguments from eSMS's own samples keep working.
    client.register_oa_package(oa_id="1", date_active="2025-03-09", duration_months="12", package=3)  # type: ignore[arg-type]

    assert json_body(esms.last)["Dateactive"] == "2025-03-09"
