"""What a journal entry looks like on the recipient's phone: the view the inbox's templates draw.

Pure functions of a journal entry (`mock_server.control.journal.message_json`, SecretKey already
masked) and the fixtures; no Flask here, so they are tested without a server. Every value a client
sent stays text: Jinja escapes it in the templates, and the one piece of HTML we build (a ZNS
template's `content` with the values in place) escapes each value and then goes through nh3
(ammonia), which keeps formatting tags and drops scripts, handlers and anything else active.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import nh3
from markupsafe import Markup, escape

from mock_server.store.fixtures import Fixtures, Oa, Template

# What each kind of follower button does, as the Zalo app shows it (Zalo OA API: button types).
BUTTON_ACTIONS = {
    "oa.open.url": "opens the link",
    "oa.query.show": "sends this text to the OA, shown in the chat",
    "oa.query.hide": "sends this text to the OA, not shown in the chat",
    "oa.open.sms": "opens an SMS to the number, with the text",
    "oa.open.phone": "calls the number",
}
# Zalo's own error numbers (in a callback's error_info), with what they mean: the vendor docs
# name these (../shared/esms-zalo-api.md); a fixture may give its own message.
ZALO_ERRORS = {
    -114: "The user is inactive, rejected the message, or their Zalo app is outdated",
    -124: "The OA's access token is invalid",
    -144: "The OA has used up its daily ZNS quota",
}
TABLE_STYLES = ("red", "yellow", "blue", "green", "grey")
ZNS_OPERATIONS = frozenset({"send_zns_v5", "send_zns_v6", "send_zns_by_uid", "send_zns_by_hashed_phone", "send_zns_v4",
                            "send_zns_bulk"})
OPERATION_LABELS = {
    "send_zns_v5": "ZNS",
    "send_zns_v6": "ZNS",
    "send_zns_by_uid": "ZNS by user id",
    "send_zns_by_hashed_phone": "ZNS by hashed phone",
    "send_zns_v4": "ZNS",
    "send_zns_bulk": "ZNS (bulk item)",
    "send_multichannel_message": "ZNS, SMS fallback",
    "send_auto_generated_otp": "OTP",
    "send_full_content_form": "ZNS full content",
    "send_full_content_json": "ZNS full content",
    "send_follower_message_v4": "Follower message",
    "send_follower_message_v5": "Follower message",
}


@dataclass
class Button:
    title: str
    kind: str
    action: str  # what a tap does, in words
    target: str  # the URL, number or text it uses


@dataclass
class TableRow:
    key: str
    value: str
    style: str | None


@dataclass
class Bubble:
    """One thing the phone shows: `kind` picks the template macro that draws it."""

    kind: str  # zns | text | media | buttons | transaction | request_user_info | sms | full_content
    text: str = ""
    title: str = ""
    subtitle: str = ""
    image_url: str | None = None
    oa_name: str = ""
    template_name: str = ""
    template_id: str = ""
    params: list[tuple[str, str]] = field(default_factory=list)
    body_html: Markup | None = None
    buttons: list[Button] = field(default_factory=list)
    header: str = ""
    texts: list[str] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    transaction_kind: str = ""
    sender: str = ""
    note: str = ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fill_template(content: str, values: dict[str, str]) -> Markup:
    """A template's `content` HTML with each `{{param}}` replaced by its value, escaped; sanitised."""
    html = content
    for name, value in values.items():
        html = html.replace("{{%s}}" % name, str(escape(value)))
    return Markup(nh3.clean(html))  # noqa: S704 - nh3 removed everything active


def _template_of(oa: Oa | None, template_id: Any) -> Template | None:
    if oa is None or not isinstance(template_id, str):
        return None
    return oa.templates.get(template_id)


def find_oa(fixtures: Fixtures, oaid: Any) -> Oa | None:
    if not isinstance(oaid, str):
        return None
    for account in fixtures.accounts:
        if oaid in account.oas:
            return account.oas[oaid]
    return None


def zns_values(request: dict[str, Any], template: Template | None) -> dict[str, str]:
    """The values a ZNS request gave its template's parameters, by name, in whichever form it used
    (TempData list or object, positional Params, a bulk item's Params, the multichannel ZNS leg)."""
    temp_data = request.get("TempData")
    if isinstance(temp_data, list):
        return {_text(p.get("key")): _text(p.get("value")) for p in temp_data if isinstance(p, dict)}
    if isinstance(temp_data, dict):
        return {_text(k): _text(v) for k, v in temp_data.items()}
    params = request.get("Params")
    if params is None and isinstance(request.get("Data"), list) and request["Data"]:
        first = request["Data"][0]
        params = first.get("Params") if isinstance(first, dict) else None
    if isinstance(params, list):
        names = [p.name for p in template.params] if template is not None else []
        return {(names[i] if i < len(names) else f"param {i + 1}"): _text(v) for i, v in enumerate(params)}
    return {}


def _zns_bubble(entry: dict[str, Any], request: dict[str, Any], oa: Oa | None) -> Bubble:
    template = _template_of(oa, entry.get("template_id"))
    values = zns_values(request, template)
    body = fill_template(template.content, values) if template is not None else None
    return Bubble(kind="zns", oa_name=oa.name if oa else _text(entry.get("oaid")),
                  template_name=template.name if template else "(template not in the fixtures)",
                  template_id=_text(entry.get("template_id")), params=list(values.items()), body_html=body)


def _buttons(raw: Any) -> list[Button]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        kind = _text(item.get("type"))
        payload = item.get("payload")
        if isinstance(payload, dict):
            target = " · ".join(_text(payload.get(k)) for k in ("url", "phone_code", "content") if payload.get(k))
        else:
            target = _text(payload)
        found.append(Button(title=_text(item.get("title")), kind=kind,
                            action=BUTTON_ACTIONS.get(kind, "an action the mock does not know"), target=target))
    return found


def _follower_v5(request: dict[str, Any]) -> list[Bubble]:
    payload_root = request.get("Payload") if isinstance(request.get("Payload"), dict) else {}
    message = payload_root.get("message") if isinstance(payload_root.get("message"), dict) else {}
    attachment = message.get("attachment") if isinstance(message.get("attachment"), dict) else {}
    payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
    elements = [e for e in payload.get("elements", []) if isinstance(e, dict)] if isinstance(payload.get("elements"), list) else []
    template_type = _text(payload.get("template_type"))
    text = _text(message.get("text"))
    if template_type == "media":
        url = next((_text(e.get("url")) for e in elements if e.get("url")), None)
        return [Bubble(kind="media", text=text, image_url=url)]
    if template_type.startswith("transaction_"):
        bubble = Bubble(kind="transaction", transaction_kind=template_type, buttons=_buttons(payload.get("buttons")))
        for element in elements:
            kind = element.get("type")
            if kind == "banner":
                bubble.image_url = _text(element.get("image_url")) or None
            elif kind == "header":
                bubble.header = _text(element.get("content"))
            elif kind == "text":
                bubble.texts.append(_text(element.get("content")))
            elif kind == "table" and isinstance(element.get("content"), list):
                for row in element["content"]:
                    if isinstance(row, dict):
                        style = _text(row.get("style")) or None
                        bubble.rows.append(TableRow(_text(row.get("key")), _text(row.get("value")),
                                                    style if style in TABLE_STYLES else None))
        return [bubble]
    if template_type == "request_user_info":
        first = elements[0] if elements else {}
        return [Bubble(kind="request_user_info", title=_text(first.get("title")), subtitle=_text(first.get("subtitle")),
                       image_url=_text(first.get("image_url")) or None)]
    return [Bubble(kind="buttons", text=text, buttons=_buttons(payload.get("buttons")))]


def _sms_leg(request: dict[str, Any], entry: dict[str, Any]) -> Bubble:
    data = request.get("Data") if isinstance(request.get("Data"), list) else []
    leg = data[1] if len(data) > 1 and isinstance(data[1], dict) else {}
    used = (entry.get("extra") or {}).get("fallback") == "sms"
    note = "sent: the ZNS leg failed" if used else "not sent: the ZNS leg was delivered"
    return Bubble(kind="sms", sender=_text(leg.get("Brandname")), text=_text(leg.get("Content")) or _text(entry.get("content")),
                  note=note)


def bubbles(entry: dict[str, Any], fixtures: Fixtures) -> list[Bubble]:
    """The message as the phone shows it: one or two bubbles (a multichannel message has both legs)."""
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    operation = entry.get("operation")
    oa = find_oa(fixtures, entry.get("oaid"))
    if operation in ZNS_OPERATIONS:
        return [_zns_bubble(entry, request, oa)]
    if operation == "send_multichannel_message":
        leg = request["Data"][0] if isinstance(request.get("Data"), list) and request["Data"] and isinstance(request["Data"][0], dict) else {}
        return [_zns_bubble(entry, leg, oa), _sms_leg(request, entry)]
    if operation == "send_auto_generated_otp":
        return [Bubble(kind="full_content", oa_name=oa.name if oa else _text(entry.get("oaid")),
                       text=_text(entry.get("content")), note="the code eSMS generated")]
    if operation in ("send_full_content_form", "send_full_content_json"):
        return [Bubble(kind="full_content", oa_name=oa.name if oa else _text(entry.get("oaid")),
                       text=_text(entry.get("content")))]
    if operation == "send_follower_message_v4":
        if request.get("Template_type") == "media":
            return [Bubble(kind="media", text=_text(request.get("Content")), image_url=_text(request.get("Url")) or None)]
        return [Bubble(kind="text", text=_text(request.get("Content")))]
    if operation == "send_follower_message_v5":
        return _follower_v5(request)
    return [Bubble(kind="text", text=_text(entry.get("content")))]


def kind_label(entry: dict[str, Any]) -> str:
    """What the list calls the message: its operation's kind and, for follower messages, the form."""
    operation = _text(entry.get("operation"))
    label = OPERATION_LABELS.get(operation, operation)
    form = (entry.get("extra") or {}).get("form")
    if operation.startswith("send_follower_message") and form:
        label += f" ({_text(form).replace('_', ' ')})"
    if entry.get("type_id") == 27:
        label = "ZNS journey"
    return label


def zalo_error_meaning(outcome: Any) -> tuple[int, str] | None:
    """The Zalo error number of a recipient's outcome and what it means, if it has one."""
    if isinstance(outcome, dict) and "zalo_error" in outcome:
        number = int(outcome["zalo_error"])
        return number, _text(outcome.get("message")) or ZALO_ERRORS.get(number, "an error Zalo reported")
    return None


def outcome_label(outcome: Any) -> str:
    """A recipient's fixture outcome in words (the journal's `outcome` field)."""
    if outcome == "delivered":
        return "delivered (SendSuccess)"
    if outcome == "rejected":
        return "rejected by eSMS (SendFailed)"
    if outcome == "never_answered":
        return "never answered (stays at the carrier)"
    if isinstance(outcome, dict) and "zalo_error" in outcome:
        number, meaning = zalo_error_meaning(outcome) or (0, "")
        return f"Zalo error {number}: {meaning} (SendFailed)"
    if isinstance(outcome, dict) and "result_code" in outcome:
        return f"eSMS result {_text(outcome['result_code'])} (SendFailed)"
    return _text(outcome)


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


SECRET_PLACEHOLDER = "********"


def curl_command(base_url: str, path: str, request: dict[str, Any], *, form: bool) -> str:
    """A curl command that sends the request again; the SecretKey comes from $ESMS_SECRET_KEY,
    never from the journal (which does not have it)."""
    url = base_url.rstrip("/") + path
    body = {k: v for k, v in request.items() if k.lower() not in ("secretkey", "secret_key")}
    if form:
        parts = [f"curl -sS -X POST {shlex.quote(url)}"]
        for key, value in body.items():
            parts.append(f"--data-urlencode {shlex.quote(f'{key}={_text(value)}')}")
        parts.append('--data-urlencode "SecretKey=$ESMS_SECRET_KEY"')
        return " \\\n  ".join(parts)
    marker = "__ESMS_SECRET_KEY__"
    text = json.dumps({**body, "SecretKey": marker}, ensure_ascii=False)
    quoted = shlex.quote(text).replace(json.dumps(marker), "\"'\"$ESMS_SECRET_KEY\"'\"")
    return " \\\n  ".join([f"curl -sS -X POST {shlex.quote(url)}", "-H 'Content-Type: application/json'", f"-d {quoted}"])
