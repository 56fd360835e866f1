"""Zalo OA follower ("consulting") messages, V4 (text or image) and V5 (media, buttons,
transaction card, request user info). Reported as TypeId 26."""

from __future__ import annotations

import functools
from typing import Any

from mock_server.esms.callbacks import TYPE_FOLLOWER, callbacks_for
from mock_server.esms.handlers.common import Call, accept, new_smsid, recipient, redacted, request_ids, require_oa, schedule
from mock_server.esms.results import EsmsError
from mock_server.store import MessageDraft

STATUS_KEYS = ("Trạng thái", "Status")
NAME_KEYS = ("Tên khách hàng", "Customer Name")


def _payload_error(reason: str) -> EsmsError:
    return EsmsError("210", f"Payload not as specified: {reason}")


def _send(call: Call, user_id: str, content: str, kind: str) -> dict[str, Any]:
    data = call.data
    oa = require_oa(call, data["OAID"])
    send_at, final_at = schedule(call, data.get("SendDate"))
    draft = MessageDraft(
        smsid=new_smsid(), operation=call.op.operation_id, type_id=TYPE_FOLLOWER, oaid=oa.oaid, template_id=None,
        campaign=None, request_ids=request_ids(data.get("RequestId")), callback_url=data.get("CallbackUrl"),
        sandbox=data.get("Sandbox") == "1", send_at=send_at, final_at=final_at, content=content, body=redacted(data),
        recipients=[recipient(call, user_id, price=call.fixtures.prices.follower, by_uid=True)],
        extra={"form": kind},
    )
    accept(call, [draft], build_callbacks=functools.partial(callbacks_for, type_id=TYPE_FOLLOWER))
    return {"SMSID": draft.smsid}


def send_follower_message_v4(call: Call) -> dict[str, Any]:
    data = call.data
    media = data.get("Template_type") == "media"
    if media and not data.get("Url"):
        raise _payload_error("Url is required when Template_type is media")
    if media and not data["Url"].lower().split("?")[0].endswith((".png", ".jpg", ".jpeg")):
        raise _payload_error("Url must be a .png or .jpg image")
    return _send(call, data["User_id"], data["Content"], "media" if media else "text")


def send_follower_message_v5(call: Call) -> dict[str, Any]:
    message = call.data["Payload"]["message"]
    payload = message["attachment"]["payload"]
    template_type = payload.get("template_type")
    if template_type is None:
        kind = "buttons"
    else:
        kind = template_type
        if template_type != "media" and "text" in message:
            raise _payload_error(f"a {template_type} card has no text; its content is in the attachment")
        if template_type.startswith("transaction_"):
            _check_transaction(payload)
    return _send(call, call.data["Payload"]["recipient"]["user_id"], message.get("text", ""), kind)


def _check_transaction(payload: dict[str, Any]) -> None:
    """The card rules the schema cannot say: block counts, the identifying row, where style may go."""
    counts: dict[str, int] = {}
    for element in payload["elements"]:
        counts[element["type"]] = counts.get(element["type"], 0) + 1
    for kind, limit in (("banner", 1), ("header", 1), ("text", 2), ("table", 1)):
        if counts.get(kind, 0) > limit:
            raise _payload_error(f"at most {limit} {kind} element{'s' if limit > 1 else ''} in a transaction card")
    for element in payload["elements"]:
        if element["type"] != "table":
            continue
        rows = element["content"]
        if not any(r["key"].startswith("Mã") or "Code" in r["key"] or r["key"] in NAME_KEYS for r in rows):
            raise _payload_error("the table needs a row whose key starts with 'Mã', contains 'Code', or is 'Tên khách hàng'/'Customer Name'")
        for row in rows:
            if "style" in row and row["key"] not in STATUS_KEYS:
                raise _payload_error(f"style is only allowed on the 'Trạng thái'/'Status' row, not on {row['key']!r}")


HANDLERS = {
    "send_follower_message_v4": send_follower_message_v4,
    "send_follower_message_v5": send_follower_message_v5,
}
