"""parse_delivery_callback over generated callbacks.

* Every documented callback parses back to the values it was built from, in each of the three
  `error_info` encodings of the reference (§2.15): ZNS by phone (a JSON string literal, `{`
  and `}` left unescaped), follower and journey (encoded twice, `<JSON>____dd/MM/yyyy
  HH:mm:ss`), ZNS by Zalo user id (a plain JSON object); in any parameter order, as a raw query
  string, a full URL or a framework's mapping.
* The exact query strings the mock's own `build_query` sends parse back to the message and
  outcome they were built from.
* Arbitrary query strings (text, percent-encoded bytes, huge numbers, deep nesting, URL-ish
  prefixes) and mappings raise nothing but CallbackParseError.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, quote_from_bytes, quote_plus

from hypothesis import given, note, settings
from hypothesis import strategies as st
from sdk_strategies import PROPERTIES, TEXT

from esms_zalo import CallbackParseError, DeliveryReport, parse_delivery_callback
from mock_server.esms.callbacks import TYPE_FOLLOWER, TYPE_JOURNEY, TYPE_SMS, build_query, zalo_result
from mock_server.store.clock import format_vietnam
from mock_server.store.fixtures import Outcome
from mock_server.store import MessageDraft, RecipientDraft

SEND_STATUSES = (0, 1, 2, 4, 5, 7)
# Characters that matter to the encodings: the separator, escapes, query syntax, JSON syntax.
AWKWARD = ["____", "_", "%", "%25", "%7B", "+", "&", "=", "#", "?", '"', "\\", "{", "}", "[", "]", ":", ",", " ", "\n", "é", "😀"]


def awkward_text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Text that mixes arbitrary characters with the ones each encoding could trip on."""
    pieces = st.one_of(st.text(TEXT, max_size=8), st.sampled_from(AWKWARD))
    return st.lists(pieces, max_size=6).map("".join).filter(lambda s: min_size <= len(s) <= max_size)


def report_times() -> st.SearchStrategy[str]:
    return st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda d: d.strftime("%d/%m/%Y %H:%M:%S")
    )


def counters() -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=10**6)


def hex_ids() -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789abcdef"), min_size=1, max_size=24)


# ---------------------------------------------------------------------- documented callbacks
@st.composite
def documented_callbacks(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(query string, the parameters' values, the decoded error_info) of one callback."""
    family = draw(st.sampled_from(["zns_by_phone", "follower", "journey", "zns_by_uid"]))
    values: dict[str, Any] = {
        "SMSID": draw(awkward_text(1).filter(str.strip)),
        "SendFailed": draw(counters()),
        "SendStatus": draw(st.sampled_from(SEND_STATUSES)),
        "SendSuccess": draw(counters()),
        "TotalPrice": float(f"{draw(st.floats(0, 10**7, allow_nan=False)):.4f}"),
        "TotalReceiver": draw(counters()),
        "TotalSent": draw(counters()),
        "RequestId": draw(awkward_text()),
        "TypeId": {"zns_by_phone": draw(st.sampled_from([24, 25])), "follower": 26, "journey": 27, "zns_by_uid": 25}[family],
        "phonenumber": draw(awkward_text()),
        "partnerids": draw(st.one_of(st.just(""), hex_ids())),
        "oaid": draw(awkward_text()),
    }
    if family.startswith("zns"):
        values["telcoid"] = draw(st.integers(0, 99))
        values["tempid"] = draw(awkward_text())
    error = draw(st.integers(-10**6, 10**6))
    message = draw(awkward_text())
    if family == "zns_by_phone":
        info: dict[str, Any] = {"error": error, "message": message}
        literal = json.dumps(json.dumps(info, ensure_ascii=draw(st.booleans())), ensure_ascii=draw(st.booleans()))
        encoded = quote(literal, safe="{}")  # the vendor leaves { and } unescaped
        decoded: dict[str, Any] = {**info, "data": None, "reported_at": None}
    elif family == "zns_by_uid":
        data = {
            "delivery_time": draw(st.one_of(st.none(), st.from_regex(r"[0-9]{13}", fullmatch=True))),
            "message": draw(awkward_text()),
            "status": draw(st.integers(-1, 1)),
        }
        info = {"error": error, "message": message, "data": data}
        encoded = quote(json.dumps(info, ensure_ascii=draw(st.booleans())), safe="{}")
        decoded = {**info, "reported_at": None}
    else:
        data = {"message_id": draw(hex_ids()), "user_id": draw(awkward_text())}
        info = {"data": data, "error": error, "message": message}
        reported_at = draw(report_times())
        text = json.dumps(info, separators=(",", ":"), ensure_ascii=draw(st.booleans())) + "____" + reported_at
        encoded = quote(quote(text, safe=""), safe="")  # encoded twice
        decoded = {**info, "reported_at": reported_at}
    plain = draw(st.sampled_from([lambda v: quote(v, safe=""), quote_plus]))
    parameters = [f"{name}={plain(str(value))}" for name, value in values.items()] + [f"error_info={encoded}"]
    query = "&".join(draw(st.permutations(parameters)))
    return query, values, decoded


def _assert_decoded(report: DeliveryReport, decoded: dict[str, Any] | None) -> None:
    if decoded is None:
        assert report.decoded_error_info is None
        return
    info = report.decoded_error_info
    assert info is not None
    assert info.error == decoded["error"]
    assert info.message == decoded["message"]
    assert info.reported_at == decoded["reported_at"]
    if decoded["data"] is None:
        assert info.data is None
    else:
        assert info.data is not None
        assert info.data.model_dump(by_alias=True, exclude_unset=True) == decoded["data"]


def _assert_parameters(report: DeliveryReport, values: dict[str, Any]) -> None:
    got = report.model_dump(by_alias=True, exclude={"decoded_error_info", "error_info"}, exclude_unset=True)
    assert got == values


@PROPERTIES
@given(callback=documented_callbacks(), form=st.sampled_from(["query", "?query", "url", "mapping"]))
def test_every_documented_callback_parses_back_to_the_values_it_was_built_from(
    callback: tuple[str, dict[str, Any], dict[str, Any] | None], form: str
) -> None:
    query, values, decoded = callback
    note(f"query: {query!r} given as {form}")
    given_as: Any = {
        "query": query,
        "?query": "?" + query,
        "url": "https://your-server.example/esms-callback?" + query,
        "mapping": dict(parse_qsl(query, keep_blank_values=True)),  # what Flask's request.args holds
    }[form]

    report = parse_delivery_callback(given_as)

    _assert_parameters(report, values)
    _assert_decoded(report, decoded)


# ---------------------------------------------------------------------- the mock's own callbacks
@st.composite
def mock_callbacks(draw: st.DrawFn) -> tuple[str, MessageDraft, RecipientDraft, int, bool]:
    family = draw(st.sampled_from(["zns_by_phone", "zns_by_uid", "follower", "journey", "sms"]))
    type_id = {"zns_by_phone": draw(st.sampled_from([24, 25])), "zns_by_uid": 25, "follower": TYPE_FOLLOWER,
               "journey": TYPE_JOURNEY, "sms": TYPE_SMS}[family]
    outcome = draw(
        st.one_of(
            st.sampled_from([Outcome("delivered"), Outcome("rejected"), Outcome("never_answered")]),
            st.builds(lambda e, m: Outcome("zalo_error", zalo_error=e, message=m), st.integers(-10**6, 10**6), awkward_text()),
        )
    )
    recipient = RecipientDraft(
        recipient=draw(awkward_text(1)),
        recipient_key="",
        outcome=outcome,
        price=draw(st.floats(0, 10**7, allow_nan=False)),
        telcoid=draw(st.integers(0, 99)),
        network="",
        zalo_msg_id=draw(hex_ids()),
    )
    sent_at = draw(st.floats(946_684_800, 4_102_444_800))  # 2000 to 2100
    draft = MessageDraft(
        smsid=draw(awkward_text(1).filter(str.strip)),
        operation="send_zns_v6",
        type_id=type_id,
        oaid=draw(st.one_of(st.none(), awkward_text())),
        template_id=draw(st.one_of(st.none(), awkward_text())),
        campaign=None,
        request_ids=draw(st.lists(awkward_text(1), max_size=2)),
        callback_url="http://127.0.0.1:9/esms-callback",
        sandbox=False,
        send_at=sent_at,
        final_at=sent_at + draw(st.floats(0, 3600)),
        content="",
        body={},
        recipients=[recipient],
    )
    by_uid = family == "zns_by_uid"
    return build_query(draft, recipient, type_id=type_id, by_uid=by_uid, final_at=draft.final_at), draft, recipient, type_id, by_uid


@PROPERTIES
@given(callback=mock_callbacks())
def test_the_query_strings_the_mock_sends_parse_back_to_the_same_values(
    callback: tuple[str, MessageDraft, RecipientDraft, int, bool],
) -> None:
    query, draft, recipient, type_id, by_uid = callback
    note(f"query: {query!r}")

    report = parse_delivery_callback(query)

    delivered = recipient.outcome.kind == "delivered"
    assert report.sms_id == draft.smsid
    assert report.sms_type == type_id
    assert report.send_status == (4 if recipient.outcome.kind == "rejected" else 5)
    assert (report.send_success, report.send_failed) == ((1, 0) if delivered else (0, 1))
    assert report.total_price == float(f"{recipient.price:.4f}")
    assert report.request_id == (draft.request_ids[0] if draft.request_ids else "")
    assert report.recipient == recipient.recipient
    if type_id == TYPE_SMS:
        assert report.carrier_id == recipient.telcoid
        assert report.decoded_error_info is None
        return
    error, message = zalo_result(recipient.outcome)
    info = report.decoded_error_info
    assert info is not None and (info.error, info.message) == (error, message)
    assert report.oa_id == (draft.oaid or "")
    if type_id in (TYPE_FOLLOWER, TYPE_JOURNEY):
        assert info.data is not None
        assert (info.data.zalo_message_id, info.data.user_id) == (recipient.zalo_msg_id, recipient.recipient)
        assert info.reported_at == format_vietnam(draft.final_at)
        return
    assert report.template_id == (draft.template_id or "")
    assert report.carrier_id == (9 if by_uid else recipient.telcoid)
    assert info.reported_at is None
    if by_uid:
        assert info.data is not None
        assert (info.data.delivery_time, info.data.status) == (None, 1 if delivered else 0)
        assert info.data.message == ("Delivered" if delivered else message)
    else:
        assert info.data is None


# ---------------------------------------------------------------------- anything else
PARAMETER_NAMES = [
    "SMSID", "SendFailed", "SendStatus", "SendSuccess", "TotalPrice", "TotalReceiver", "TotalSent", "RequestId",
    "TypeId", "telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid", "switchsmsid",
    "send_status", "decoded_error_info", "total_price",
]


def hostile_values() -> st.SearchStrategy[str]:
    """Values aimed at each way of reading a parameter."""
    return st.one_of(
        st.text(TEXT, max_size=20),
        st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{1,10})?", fullmatch=True),
        st.integers(4_000, 6_000).map(lambda n: "9" * n),  # more digits than int() converts by default
        st.binary(max_size=20).map(quote_from_bytes),  # bytes, some not UTF-8
        st.tuples(st.sampled_from(['"', "%", "%25", "{", "[", ""]), st.text(TEXT, max_size=20)).map("".join),
        st.tuples(st.sampled_from(["[", '{"a":', "%5B", '"[']), st.integers(1, 5) | st.integers(500, 20_000)).map(
            lambda t: t[0] * t[1]  # nested deeper than json can follow
        ),
        st.builds(lambda t, s: quote(quote(t, safe=""), safe=""), st.text(TEXT, max_size=20), st.just("")),
        st.builds(lambda n, d: f'{{"error":{n},"message":"x"}}____{d}', st.integers(), st.text(TEXT, max_size=10)),
    )


def hostile_queries() -> st.SearchStrategy[str]:
    names = st.one_of(st.just("error_info"), st.sampled_from(PARAMETER_NAMES), st.text(TEXT, max_size=8))
    pairs = st.lists(st.tuples(names, hostile_values()), max_size=6).map(
        lambda items: "&".join(f"{name}={value}" for name, value in items)
    )
    # The required parameters first, so that the parser gets as far as the others.
    others = st.lists(
        st.tuples(names.filter(lambda n: n not in ("SMSID", "SendStatus")), hostile_values()), min_size=1, max_size=4
    ).map(lambda items: "SMSID=x&SendStatus=5&" + "&".join(f"{name}={value}" for name, value in items))
    prefixes = st.sampled_from(["", "?", "/", "/cb?", "http://", "https://", "http://h/?", " "])
    return st.one_of(
        st.text(TEXT, max_size=60),
        st.tuples(prefixes, st.text(TEXT, max_size=30), pairs).map("".join),
        st.tuples(prefixes, pairs).map("".join),
        st.tuples(prefixes, others).map("".join),
    )


# Parsing takes microseconds: these two look at many more inputs than the tests that go
# through the mock.
MANY = settings(PROPERTIES, max_examples=max(PROPERTIES.max_examples * 10, 300))


@MANY
@given(query=hostile_queries())
def test_an_arbitrary_query_string_raises_nothing_but_callback_parse_error(query: str) -> None:
    note(f"query: {query[:500]!r}")
    try:
        report = parse_delivery_callback(query)
    except CallbackParseError:
        return
    assert isinstance(report, DeliveryReport)


@MANY
@given(
    mapping=st.dictionaries(
        st.one_of(st.just("error_info"), st.sampled_from(PARAMETER_NAMES), st.text(TEXT, max_size=8)),
        st.one_of(hostile_values(), st.lists(hostile_values(), max_size=3)),
        max_size=6,
    ).map(lambda found: {"SMSID": "x", "SendStatus": "5", **found})
)
def test_an_arbitrary_mapping_raises_nothing_but_callback_parse_error(mapping: dict[str, Any]) -> None:
    note(f"mapping: { {k: (v[:200] if isinstance(v, str) else v) for k, v in mapping.items()}!r}")
    try:
        report = parse_delivery_callback(mapping)
    except CallbackParseError:
        return
    assert isinstance(report, DeliveryReport)
