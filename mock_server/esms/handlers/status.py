"""Status and reporting. Every answer is derived from the stored outcome and the mock clock, so
these operations and the callbacks tell the same story."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mock_server.esms.callbacks import TYPE_FOLLOWER, TYPE_JOURNEY, zalo_result
from mock_server.store.clock import DAY_SECONDS, dotnet_date, parse_vietnam_datetime
from mock_server.esms.delivery import FINISHED, HANDED_TO_CARRIER, REJECTED, WAITING, Progress, progress
from mock_server.store.fixtures import Outcome
from mock_server.esms.handlers.common import Call
from mock_server.esms.results import EsmsError

STATUS_WINDOW = 7 * DAY_SECONDS
MAX_CALLBACK_IDS = 200
MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**62


def _outcome(row: sqlite3.Row) -> Outcome:
    return Outcome.parse(json.loads(row["outcome_json"]))


def _progress(message: sqlite3.Row, recipient: sqlite3.Row, now: float) -> Progress:
    return progress(_outcome(recipient), message["send_at"], message["final_at"], now)


def _counters(message: sqlite3.Row, recipients: list[sqlite3.Row], now: float) -> dict[str, Any]:
    states = [_progress(message, r, now) for r in recipients]
    if not all(s.final for s in states):
        status = HANDED_TO_CARRIER if any(s.send_status == HANDED_TO_CARRIER for s in states) else WAITING
    else:
        status = REJECTED if all(s.send_status == REJECTED for s in states) else FINISHED
    return {
        "SendFailed": sum(1 for s in states if s.final and not s.success),
        "SendStatus": status,
        "SendSuccess": sum(1 for s in states if s.success),
        "TotalPrice": float(sum(r["price"] for r in recipients)),
        "TotalReceiver": len(recipients),
        "TotalSent": sum(1 for s in states if s.sent),
    }


def _own_message(call: Call, smsid: str) -> sqlite3.Row:
    """The account's message of the last 7 days; sandbox messages are not stored by eSMS (105)."""
    message = call.store.message(smsid, call.account.api_key)
    if message is None or message["sandbox"] or call.now - message["accepted_at"] > STATUS_WINDOW:
        raise EsmsError("105", f"Message {smsid} not found")
    return message


def get_send_status(call: Call) -> dict[str, Any]:
    smsid = call.data["RefId"]
    message = _own_message(call, smsid)
    return {"SMSID": smsid, **_counters(message, call.store.recipients(smsid), call.now)}


def get_receiver_status(call: Call) -> dict[str, Any]:
    smsid = call.data["RefId"]
    message = _own_message(call, smsid)
    receivers = []
    for row in call.store.recipients(smsid):
        state = _progress(message, row, call.now)
        receivers.append({"IsSent": state.sent, "NetworkName": row["network"], "Phone": row["recipient"],
                          "Retry": 0, "SentResult": state.success})
    return {"ReceiverList": receivers}


def _number(value: Any, code: str, name: str, *, low: int = 0, high: int | None = None) -> int:
    number = int(value)
    if number < low or (high is not None and number > high):
        limit = f" and at most {high}" if high is not None else ""
        raise EsmsError(code, f"{name} must be at least {low}{limit}")
    return number


def get_sent_data(call: Call) -> dict[str, Any]:
    data = call.data
    try:
        start, end = parse_vietnam_datetime(data["From"]), parse_vietnam_datetime(data["To"])
    except ValueError:
        raise EsmsError("110", "Request data incorrect: From and To must be yyyy-MM-dd HH:mm:ss dates") from None
    page = _number(data["Page"], "110", "Page", low=1)
    size = _number(data["PageSize"], "110", "PageSize", low=1, high=MAX_PAGE_SIZE)
    offset = min((page - 1) * size, MAX_OFFSET)  # a page far past the end is empty, not an SQLite overflow
    total, messages = call.store.messages_between(call.account.api_key, [int(data["SmsType"])], start, end,
                                                  offset, size)
    recipients = call.store.recipients_of([m["smsid"] for m in messages])
    items = []
    for message in messages:
        for row in recipients[message["smsid"]]:
            state = _progress(message, row, call.now)
            items.append({
                "Campaign": message["campaign"] or "",
                "Content": message["content"],
                "Phone": row["recipient"],
                "ReferenceId": message["smsid"],
                "SellPrice": float(row["price"]),
                "SendResult": (1 if state.success else 0) if state.final else 2,
                "SendStatus": state.send_status,
                "SentTime": dotnet_date(message["send_at"]),
                "SmsId": 30_000_000 + int(message["seq"]),
                "SmsType": int(message["type_id"]),
            })
    return {"CountTotal": total, "SentData": items}


def _error_info(message: sqlite3.Row, recipient: sqlite3.Row) -> str:
    error, text = zalo_result(_outcome(recipient))
    if message["type_id"] in (TYPE_FOLLOWER, TYPE_JOURNEY):
        return json.dumps({"data": {"message_id": recipient["zalo_msg_id"], "user_id": recipient["recipient"]},
                           "error": error, "message": text}, separators=(",", ":"))
    return json.dumps({"error": error, "message": text}, separators=(",", ":"), ensure_ascii=False)


def get_callback_data(call: Call) -> dict[str, Any]:
    oaid = call.data["OAId"]
    found = []
    for smsid in call.data["ListRefid"][:MAX_CALLBACK_IDS]:
        message = call.store.message(smsid, call.account.api_key)
        if message is None or message["sandbox"] or not message["callback_url"] or message["oaid"] != oaid:
            continue
        for row in call.store.recipients(smsid):
            state = _progress(message, row, call.now)
            if not state.final:
                continue  # no callback data until eSMS has learnt the outcome
            found.append({
                "SMSID": smsid,
                "SendFailed": 0 if state.success else 1,
                "SendSuccess": 1 if state.success else 0,
                "SendStatus": state.send_status,
                "TotalPrice": float(row["price"]),
                "TotalReceiver": 1,
                "TotalSent": 1 if state.sent else 0,
                "RequestId": message["request_id"],
                "TypeId": int(message["type_id"]),
                "Telcoid": int(row["telcoid"]),
                "PhoneNumber": row["recipient"],
                "CallbackUrl": message["callback_url"],
                "Partnerids": row["zalo_msg_id"] if state.success else "",
                "ErrorInfo": _error_info(message, row),
                "OAId": oaid,
                "ZnsTempId": message["template_id"] or "",
            })
    return {"Data_callback": found}


def get_zalo_message_status(call: Call) -> dict[str, Any]:
    found = call.store.message_by_zalo_id(call.data["MessageId"])
    if found is None or found[0]["api_key"] != call.account.api_key or found[0]["oaid"] != call.data["OAID"]:
        return {"ErrorMessage": "success. ", "Data": {"delivery_time": None, "message": "Message not found", "status": -1}}
    message, row = found
    state = _progress(message, row, call.now)
    if state.success:
        data = {"delivery_time": str(int(message["final_at"] * 1000)), "message": "Delivered to the handset", "status": 1}
    elif state.final:
        data = {"delivery_time": None, "message": zalo_result(_outcome(row))[1], "status": -1}
    else:
        data = {"delivery_time": None, "message": "Accepted by Zalo, not yet on the handset", "status": 0}
    return {"ErrorMessage": "success. ", "Data": data}


def query_zns_status(call: Call) -> dict[str, Any]:
    smsid = call.data["SmsId"]
    message = call.store.message(smsid, call.account.api_key)
    if message is None or message["sandbox"] or message["type_id"] in (TYPE_FOLLOWER,):
        raise EsmsError("854", f"No data found for {smsid}")
    recipients = call.store.recipients(smsid)
    counters = _counters(message, recipients, call.now)
    state = _progress(message, recipients[0], call.now)
    error, _ = zalo_result(_outcome(recipients[0]))
    info = None if not state.final else ("0" if state.success else str(error))
    return {"Data": {"ErrorInfo": info, "FinalStatus": "1" if state.final else "0", "SMSID": smsid, **counters,
                     "ZaloMsgId": recipients[0]["zalo_msg_id"]}}


HANDLERS = {
    "get_send_status": get_send_status,
    "get_receiver_status": get_receiver_status,
    "get_sent_data": get_sent_data,
    "get_callback_data": get_callback_data,
    "get_zalo_message_status": get_zalo_message_status,
    "query_zns_status": query_zns_status,
}
