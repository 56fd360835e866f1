"""Multichannel: ZNS first with SMS fallback, the auto-generated OTP, and the OTP check."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from mock_server.esms.callbacks import callbacks_for
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
from mock_server.esms.phones import national
from mock_server.esms.results import EsmsError
from mock_server.store import MessageDraft

DEFAULT_OTP_MINUTES = 5


def send_multichannel_message(call: Call) -> dict[str, Any]:
    data = call.data
    phone = phone_or_108(data["Phone"])
    if data["Channels"] != ["zalo", "sms"]:
        raise EsmsError("110", 'Request data incorrect: Channels must be exactly ["zalo", "sms"]')
    zns_leg, sms_leg = data["Data"]
    if "TempID" not in zns_leg or "Content" not in sms_leg:
        raise EsmsError("110", "Request data incorrect: Data[0] must be the ZNS leg and Data[1] the SMS leg")
    if sms_leg["Brandname"] not in call.account.brandnames:
        raise EsmsError("104", f"Brandname {sms_leg['Brandname']} is not registered for this account")
    oa = require_oa(call, zns_leg["OAID"])
    template = require_template(oa, zns_leg["TempID"])
    check_values(template, values_from_params(template, list(zns_leg["Params"])))
    exempt = check_sending_mode(zns_leg, oa)
    send_at, final_at = schedule(call, None)
    target = recipient(call, phone, price=zns_price(call, template))
    if target.outcome.kind != "delivered":
        target.price = call.fixtures.prices.sms  # the SMS leg is sent, and paid for, instead
    draft = MessageDraft(
        smsid=new_smsid(), operation=call.op.operation_id, type_id=int(template.sms_type), oaid=oa.oaid,
        template_id=template.id, campaign=zns_leg.get("campaignid"),
        request_ids=request_ids(zns_leg.get("RequestId"), sms_leg.get("RequestId")),
        callback_url=zns_leg.get("CallbackUrl"), sandbox="1" in (zns_leg.get("Sandbox"), sms_leg.get("Sandbox")),
        send_at=send_at, final_at=final_at, content=sms_leg["Content"], body=redacted(data), recipients=[target],
        quota_oaid=oa.oaid, extra={"fallback": "sms" if target.outcome.kind != "delivered" else None},
        quota_fallback_price=call.fixtures.prices.sms,  # a ZNS failed for the quota is sent, and paid, as SMS
    )
    accept(call, [draft], oa=oa, quota_exempt=exempt, build_callbacks=functools.partial(
        callbacks_for, type_id=int(template.sms_type), sms_fallback_url=sms_leg.get("CallbackUrl"),
        sms_price=call.fixtures.prices.sms))
    return {"SMSID": draft.smsid}


def send_auto_generated_otp(call: Call) -> dict[str, Any]:
    data = call.data
    phone = phone_or_108(data["Phone"])
    combined = call.account.multichannel_templates.get(data["MultiChannelTempId"])
    if combined is None:
        raise EsmsError("789", f"TemplateId is not config: MultiChannelTempId {data['MultiChannelTempId']} is unknown")
    oa = require_oa(call, combined.oaid)
    template = require_template(oa, combined.template_id)
    code = "".join(secrets.choice("0123456789") for _ in range(combined.code_length))
    minutes = int(data.get("TimeAlive") or DEFAULT_OTP_MINUTES)
    sending = data["TypeId"] == "2"
    send_at, final_at = schedule(call, None)
    target = recipient(call, phone, price=zns_price(call, template) if sending else 0.0)
    if not sending:
        target.price = 0.0
    draft = MessageDraft(
        smsid=new_smsid(), operation=call.op.operation_id, type_id=int(template.sms_type), oaid=oa.oaid,
        template_id=template.id, campaign=None, request_ids=[], callback_url=None, sandbox=not sending,
        send_at=send_at, final_at=final_at, content=f"{code} is your verification code", body=redacted(data),
        recipients=[target], quota_oaid=oa.oaid if sending else None,
        extra={"otp": code, "expires_in_minutes": minutes, "sent": sending},
    )
    accept(call, [draft], oa=oa, build_callbacks=None)
    call.store.save_otp(call.account.api_key, national(phone), code, call.now + minutes * 60, draft.smsid)
    return {"SMSID": draft.smsid}


def check_otp(call: Call) -> dict[str, Any]:
    phone, code = call.data["Phone"], call.data["Code"]
    if call.store.use_otp(call.account.api_key, national(phone), code, call.now):
        return {"CountRegenerate": 0, "ErrorMessage": f"{phone}, Content: Success!"}
    raise EsmsError("117", f"{phone}, Content: {code} Code Invalid")


HANDLERS = {
    "send_multichannel_message": send_multichannel_message,
    "send_auto_generated_otp": send_auto_generated_otp,
    "check_otp": check_otp,
}
