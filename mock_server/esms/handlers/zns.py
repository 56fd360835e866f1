"""ZNS template messages: by phone (V5 list, V6 object, V4 params and journey), by Zalo UID, by
hashed phone, bulk, the full-content forms, and the price estimate."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

from mock_server.esms.callbacks import TYPE_JOURNEY, callbacks_for
from mock_server.esms.handlers.common import (
    Call,
    accept,
    check_sending_mode,
    check_values,
    new_smsid,
    phone_or_108,
    recipient,
    redacted,
    request_ids,
    require_oa,
    require_template,
    schedule,
    values_from_params,
    zns_price,
)
from mock_server.esms.delivery import MAGIC_PHONE_PREFIX
from mock_server.esms.phones import national
from mock_server.esms.results import EsmsError
from mock_server.store import MessageDraft


def _content(template_content: str, values: dict[str, str]) -> str:
    text = template_content
    for name, value in values.items():
        text = text.replace("{{%s}}" % name, value)
    return text


def _send(call: Call, address: str, values: dict[str, str] | list[str], *, by_uid: bool = False) -> dict[str, Any]:
    data = call.data
    oa = require_oa(call, data["OAID"])
    template = require_template(oa, data["TempID"])
    named = values_from_params(template, values) if isinstance(values, list) else values
    check_values(template, named)
    exempt = check_sending_mode(data, oa)
    journey = bool(data.get("IsJourney"))
    if journey:
        if not data.get("OrderId"):
            raise EsmsError("110", "Request data incorrect: OrderId is required when IsJourney is true")
        if not template.journey:
            raise EsmsError("790", f"Template data is not correct: template {template.id} is not a journey template")
    send_at, final_at = schedule(call, data.get("SendDate"))
    type_id = TYPE_JOURNEY if journey else int(template.sms_type)
    draft = MessageDraft(
        smsid=new_smsid(),
        operation=call.op.operation_id,
        type_id=type_id,
        oaid=oa.oaid,
        template_id=template.id,
        campaign=data.get("campaignid"),
        request_ids=request_ids(data.get("RequestId")),
        callback_url=data.get("CallbackUrl"),
        sandbox=data.get("Sandbox") == "1",
        send_at=send_at,
        final_at=final_at,
        content=_content(template.content, named),
        body=redacted(data),
        recipients=[recipient(call, address, price=zns_price(call, template), by_uid=by_uid)],
        extra={"order_id": data["OrderId"]} if journey else {},
        quota_oaid=oa.oaid,
    )
    accept(call, [draft], build_callbacks=functools.partial(callbacks_for, type_id=type_id, by_uid=by_uid),
           oa=oa, quota_exempt=exempt)
    return {"SMSID": draft.smsid}


def send_zns_v5(call: Call) -> dict[str, Any]:
    pairs = call.data["TempData"]
    values: dict[str, str] = {}
    for pair in pairs:
        if pair["key"] in values:
            raise EsmsError("790", f"Template data is not correct: {pair['key']} is given twice")
        values[pair["key"]] = pair["value"]
    return _send(call, phone_or_108(call.data["Phone"]), values)


def send_zns_v6(call: Call) -> dict[str, Any]:
    return _send(call, phone_or_108(call.data["Phone"]), dict(call.data["TempData"]))


def send_zns_by_uid(call: Call) -> dict[str, Any]:
    return _send(call, call.data["ZaloUid"], dict(call.data["TempData"]), by_uid=True)


def _wrong_form_hashes(numbers: Iterable[str]) -> set[str]:
    """SHA-256 of the `0...` and `+84...` forms of national numbers: hashes of the wrong form."""
    found: set[str] = set()
    for number in numbers:
        for form in (number, "+84" + number[1:]):
            found.add(hashlib.sha256(form.encode()).hexdigest())
    return found


# Every magic number (0900000000 to 0900000999) hashed in the two wrong forms.
_MAGIC_WRONG_FORM = _wrong_form_hashes(f"{MAGIC_PHONE_PREFIX}{n:03d}" for n in range(1000))


def send_zns_by_hashed_phone(call: Call) -> dict[str, Any]:
    """The hash of a number the mock knows (a magic number or a fixture's), taken of the `0...` or
    `+84...` form instead of the `84...` form, is the vendor's wrong-number error: 108."""
    hash_phone = call.data["HashPhone"]
    known = (national(key) for key in call.fixtures.recipients if key.isdigit() and key.startswith("0"))
    if hash_phone in _MAGIC_WRONG_FORM or hash_phone in _wrong_form_hashes(known):
        raise EsmsError("108", "The phone number is not valid: hash the 84... form of the number")
    return _send(call, hash_phone, dict(call.data["TempData"]))


def send_zns_v4(call: Call) -> dict[str, Any]:
    return _send(call, phone_or_108(call.data["Phone"]), list(call.data["Params"]))


def send_zns_bulk(call: Call) -> dict[str, Any]:
    data = call.data
    oa = require_oa(call, data["OAID"])
    template = require_template(oa, data["TempID"])
    exempt = check_sending_mode(data, oa)
    send_at, final_at = schedule(call, data.get("SendDate"))
    type_id = int(template.sms_type)
    detail: list[dict[str, Any]] = []
    drafts: list[MessageDraft] = []
    positions: list[int] = []
    for item in data["Data"]:
        phone = item["Phone"]
        try:
            phone_or_108(phone)
            named = values_from_params(template, list(item["Params"]))
            check_values(template, named)
            target = recipient(call, phone, price=zns_price(call, template))
        except EsmsError as refused:
            detail.append({"CodeResult": refused.code, "Phone": phone,
                           "ErrorMessage": refused.message or call_message(refused.code, phone)})
            continue
        positions.append(len(detail))
        detail.append({"CodeResult": "100", "Phone": phone})
        drafts.append(MessageDraft(
            smsid=new_smsid(), operation=call.op.operation_id, type_id=type_id, oaid=oa.oaid, template_id=template.id,
            campaign=data.get("campaignid"), request_ids=request_ids(item.get("RequestId")),
            callback_url=data.get("CallbackUrl"), sandbox=data.get("Sandbox") == "1", send_at=send_at,
            final_at=final_at, content=_content(template.content, named),
            body=redacted({**{k: v for k, v in data.items() if k != "Data"}, "Data": [item]}),
            recipients=[target], quota_oaid=oa.oaid,
        ))
    results = accept(call, drafts, build_callbacks=functools.partial(callbacks_for, type_id=type_id),
                     oa=oa, quota_exempt=exempt, partial=True) if drafts else []
    for position, draft, result in zip(positions, drafts, results):
        if result is None:
            detail[position]["SMSID"] = draft.smsid
        else:
            detail[position].update(CodeResult=result, ErrorMessage="RequestId already exists")
    success = sum(1 for entry in detail if entry["CodeResult"] == "100")
    return {"Message": "Sucess", "TotalSuccess": success, "TotalFail": len(detail) - success, "detail": detail}


def call_message(code: str, phone: str) -> str:
    return f"The phone number {phone} is not valid." if code == "108" else "Rejected"


def _full_content(call: Call, sms_type: str) -> dict[str, Any]:
    data = call.data
    phone = phone_or_108(data["Phone"])
    oa = require_oa(call, data["OAID"])
    send_at, final_at = schedule(call, None)
    draft = MessageDraft(
        smsid=new_smsid(), operation=call.op.operation_id, type_id=int(sms_type), oaid=oa.oaid, template_id=None,
        campaign=None, request_ids=request_ids(data.get("RequestId")), callback_url=None,
        sandbox=data.get("Sandbox") == "1", send_at=send_at, final_at=final_at, content=data["Content"],
        body=redacted(data), recipients=[recipient(call, phone, price=zns_price(call, None, sms_type))], quota_oaid=oa.oaid,
    )
    accept(call, [draft], build_callbacks=None, oa=oa)
    return {"SMSID": draft.smsid}


def send_full_content_form(call: Call) -> dict[str, Any]:
    return _full_content(call, call.data["Smstype"])


def send_full_content_json(call: Call) -> dict[str, Any]:
    return _full_content(call, call.data["SmsType"])


def estimate_zns_price(call: Call) -> dict[str, Any]:
    data = call.data
    phone_or_108(data["Phone"])
    oa = require_oa(call, data["OAID"])
    template = require_template(oa, data["TempID"])
    check_values(template, values_from_params(template, list(data["Params"])))
    return {"ErrorMessage": "success", "TotalPrice": zns_price(call, template), "TotalReceiver": 1}


HANDLERS = {
    "send_zns_v5": send_zns_v5,
    "send_zns_v6": send_zns_v6,
    "send_zns_by_uid": send_zns_by_uid,
    "send_zns_by_hashed_phone": send_zns_by_hashed_phone,
    "send_zns_v4": send_zns_v4,
    "send_zns_bulk": send_zns_bulk,
    "send_full_content_form": send_full_content_form,
    "send_full_content_json": send_full_content_json,
    "estimate_zns_price": estimate_zns_price,
}
