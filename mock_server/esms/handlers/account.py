"""Balance, OAs, templates, quota, quality, ratings, followers, user ids and registrations."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mock_server.store.clock import parse_vietnam_datetime
from mock_server.esms.handlers.common import Call, require_oa
from mock_server.esms.results import EsmsError

MAX_RATINGS = 50
MAX_UIDS = 50
MAX_UID_OFFSET = 9_950
REGISTRATION_BASE_ID = 50_000


def get_balance(call: Call) -> dict[str, Any]:
    return {"Balance": call.store.balance(call.account.api_key), "UserID": call.account.user_id}


def list_oas(call: Call) -> dict[str, Any]:
    oas = [{"OAID": oa.oaid, "OAName": oa.name} for oa in call.account.oas.values() if oa.status == "active"]
    return {"ErrorMessage": "success", "ZOAList": oas}


def list_templates(call: Call) -> dict[str, Any]:
    oa = require_oa(call, call.data["OAId"])
    templates = [
        {
            "TempContent": t.content,
            "TempId": int(t.id),
            "TempName": t.name,
            "ZNSTempDetail": [
                {"Limit": p.max_length, "Param": p.name, "ParamLevel": level,
                 "RequireType": {"NUMBER": "type_number", "DATE": "type_date", "URL": "type_cta_url"}.get(p.type, "type_text")}
                for level, p in enumerate(t.params, start=1)
            ],
        }
        for t in oa.templates.values()
        if t.sms_type == call.data["SmsType"]
    ]
    return {"ErrorMessage": "success", "ZNSTemplates": templates}


def get_template_info(call: Call) -> dict[str, Any]:
    oa = require_oa(call, call.data["OAId"])
    template = oa.templates.get(call.data["TemplateId"])
    if template is None:
        raise EsmsError("789", f"TemplateId is not config: {call.data['TemplateId']} is not set up for OA {oa.oaid}")
    return {"Data": {
        "TemplateId": int(template.id),
        "TemplateName": template.name,
        "Status": template.status,
        "Reason": "approved" if template.status == "ENABLE" else template.status.lower(),
        "PreviewUrl": f"https://account.zalo.cloud/znspreview/mock-{template.id}",
        "TemplateTag": template.tag,
        "TemplateQuality": "HIGH",
        "Timeout": 7_200_000 if template.tag == "OTP" else 86_400_000,
        "ApplyTemplateQuota": False,
        "TemplateDailyQuota": None,
        "TemplateRemainingQuota": None,
        "ListParams": [
            {"Name": p.name, "Require": p.required, "Type": p.type, "MaxLength": p.max_length,
             "MinLength": p.min_length, "AcceptNull": not p.required}
            for p in template.params
        ],
        "ListButtons": [],
    }}


def get_quota(call: Call) -> dict[str, Any]:
    oa = require_oa(call, call.data["OAID"])
    used = call.store.quota_used(oa.oaid, call.now)
    return {"ErrorMessage": "success", "DailyQuota": oa.daily_quota, "RemainingQuota": max(0, oa.daily_quota - used)}


def get_quality(call: Call) -> dict[str, Any]:
    oa = require_oa(call, call.data["OAID"])
    return {"ErrorMessage": "success", "Oa7dayQuality": oa.quality_seven_day, "OaCurrentQuality": oa.quality_current}


def get_ratings(call: Call) -> dict[str, Any]:
    data = call.data
    oa = require_oa(call, data["OAID"])
    try:
        start, end = parse_vietnam_datetime(data["FromTime"]), parse_vietnam_datetime(data["ToTime"])
    except ValueError:
        raise EsmsError("110", "Request data incorrect: FromTime and ToTime must be yyyy-MM-dd HH:mm:ss dates") from None
    offset, limit = int(data["Offset"]), int(data["Limit"])
    if limit < 1 or limit > MAX_RATINGS:
        raise EsmsError("110", f"Request data incorrect: Limit must be 1 to {MAX_RATINGS}")
    matching = [
        r for r in oa.ratings
        if r.template_id == data["TemplateID"] and start <= parse_vietnam_datetime(r.submitted_at) <= end
    ]
    page = matching[offset:offset + limit]
    return {"ErrorMessage": "success", "Total": len(matching), "Data": [
        {"feedbacks": list(r.feedbacks), "msgId": r.msg_id, "note": r.note, "rate": r.rate,
         "submitDate": str(int(parse_vietnam_datetime(r.submitted_at) * 1000)), "trackingId": r.tracking_id}
        for r in page
    ]}


def get_followers(call: Call) -> dict[str, Any]:
    oa = require_oa(call, call.data["OAID"])
    offset, count = int(call.data["Offset"]), int(call.data["Count"])
    page = oa.followers[offset:offset + count]
    return {"ErrorMessage": "success", "Total": len(oa.followers), "Followers": [{"User_Id": uid} for uid in page]}


def query_uid_list(call: Call) -> dict[str, Any]:
    data = call.data
    oa = require_oa(call, data["OAID"])
    for name in ("FromDate", "ToDate"):
        try:
            parse_vietnam_datetime(data[name], "%d/%m/%Y")
        except ValueError:
            raise EsmsError("161", f"{name} is invalid date format.") from None
    offset, count = int(data["Offset"]), int(data["Count"])
    if offset > MAX_UID_OFFSET:
        raise EsmsError("162", "Offset is invalid.")
    if count < 1 or count > MAX_UIDS:
        raise EsmsError("162", "Count is invalid.")
    followers = list(oa.followers)
    users = followers if data.get("IsFollower", "") in ("", "1") else []
    if data.get("TagName"):
        tagged = set(oa.tags.get(data["TagName"], ()))
        users = [u for u in users if u in tagged]
    return {"Data": {"Count": count, "Offset": offset, "Total": len(users), "Users": users[offset:offset + count]}}


def _register(call: Call, kind: str, fields: tuple[str, ...]) -> dict[str, Any]:
    require_oa(call, call.data["OAID"])
    fingerprint = hashlib.sha256(json.dumps([call.data.get(f) for f in fields], sort_keys=True).encode()).hexdigest()
    registration = call.store.register(call.account.api_key, kind, fingerprint, call.now)
    if registration is None:
        raise EsmsError("199")
    return {"ErrorMessage": "ViHAT has received the request and is reviewing it.",
            "ServicePreviewId": REGISTRATION_BASE_ID + registration}


def register_zns_template(call: Call) -> dict[str, Any]:
    return _register(call, "zns_template", ("OAID", "Content", "SmsType", "ImageUrl", "CTA1", "CTA2"))


def register_oa_package(call: Call) -> dict[str, Any]:
    try:
        parse_vietnam_datetime(call.data["Dateactive"], "%Y-%m-%d")
    except ValueError:
        raise EsmsError("110", "Request data incorrect: Dateactive must be a yyyy-MM-dd date") from None
    return _register(call, "oa_package", ("OAID", "Package", "Dateactive", "Duaration"))


HANDLERS = {
    "get_balance": get_balance,
    "list_oas": list_oas,
    "list_templates": list_templates,
    "get_template_info": get_template_info,
    "get_quota": get_quota,
    "get_quality": get_quality,
    "get_ratings": get_ratings,
    "get_followers": get_followers,
    "query_uid_list": query_uid_list,
    "register_zns_template": register_zns_template,
    "register_oa_package": register_oa_package,
}
