"""mock_server.ui.rendering: what the phone shows for each journal entry, without a server."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from mock_server.store import fixtures as fixture_io
from mock_server.store.fixtures import Fixtures
from mock_server.ui import rendering

OAID = "4097311281936189049"


def demo() -> Fixtures:
    return fixture_io.parse(fixture_io.read_document(fixture_io.DEMO_FIXTURES_PATH))


def entry(operation: str, request: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"operation": operation, "oaid": OAID, "template_id": None, "content": "", "extra": {}, "type_id": 25,
            "request": request, **fields}


def test_a_template_value_is_escaped_and_the_template_html_keeps_its_formatting() -> None:
    html = rendering.fill_template("<p>Code <b>{{otp}}</b></p>", {"otp": "<script>alert(1)</script>"})

    assert html == "<p>Code <b>&lt;script&gt;alert(1)&lt;/script&gt;</b></p>"


def test_active_html_of_a_fixture_template_is_dropped() -> None:
    html = rendering.fill_template('<p onclick="x()">Hi {{name}}<script>bad()</script><img src=x onerror=y()></p>',
                                   {"name": "An"})

    assert "script" not in html and "onclick" not in html and "onerror" not in html and "Hi An" in html


def test_zns_values_are_read_from_each_form_a_request_may_use() -> None:
    template = demo().accounts[0].oas[OAID].templates["205645"]

    assert rendering.zns_values({"TempData": [{"key": "otp", "value": "1"}]}, None) == {"otp": "1"}
    assert rendering.zns_values({"TempData": {"otp": "1"}}, None) == {"otp": "1"}
    assert rendering.zns_values({"Params": ["Lan", "ORD-1"]}, template) == {"customer_name": "Lan", "order_code": "ORD-1"}
    assert rendering.zns_values({"Data": [{"Params": ["Lan"]}]}, template) == {"customer_name": "Lan"}


def test_a_zns_card_has_the_oa_name_the_template_name_and_the_vietnamese_values() -> None:
    [card] = rendering.bubbles(entry("send_zns_v6", {"TempData": {"otp": "Mã 123 đã gửi"}}, template_id="205644"), demo())

    assert (card.kind, card.oa_name, card.template_name) == ("zns", "Demo OA", "OTP")
    assert card.params == [("otp", "Mã 123 đã gửi")]
    assert "Mã 123 đã gửi" in str(card.body_html)


def test_a_multichannel_message_shows_the_zns_leg_and_the_sms_leg() -> None:
    request = {"Data": [{"TempID": "205644", "Params": ["654321"]}, {"Content": "654321 is your code", "Brandname": "DEMO"}]}
    zns, sms = rendering.bubbles(entry("send_multichannel_message", request, template_id="205644",
                                       extra={"fallback": "sms"}), demo())

    assert zns.params == [("otp", "654321")]
    assert (sms.kind, sms.sender, sms.text) == ("sms", "DEMO", "654321 is your code")
    assert "ZNS leg failed" in sms.note


def test_follower_buttons_say_what_each_does() -> None:
    payload = {"recipient": {"user_id": "1"}, "message": {"text": "Help?", "attachment": {"type": "template", "payload": {
        "buttons": [{"title": "Web", "type": "oa.open.url", "payload": {"url": "https://x.example"}},
                    {"title": "Call", "type": "oa.open.phone", "payload": {"phone_code": "84900000000"}}]}}}}
    [bubble] = rendering.bubbles(entry("send_follower_message_v5", {"Payload": payload}), demo())

    assert bubble.kind == "buttons" and bubble.text == "Help?"
    assert [(b.title, b.action, b.target) for b in bubble.buttons] == [
        ("Web", "opens the link", "https://x.example"), ("Call", "calls the number", "84900000000")]


def test_a_transaction_card_keeps_its_rows_and_their_styles() -> None:
    payload = {"recipient": {"user_id": "1"}, "message": {"attachment": {"type": "template", "payload": {
        "template_type": "transaction_order", "elements": [
            {"type": "banner", "image_url": "https://x.example/b.png"}, {"type": "header", "content": "Đơn hàng"},
            {"type": "table", "content": [{"key": "Mã đơn", "value": "A1"},
                                          {"key": "Trạng thái", "value": "Đang giao", "style": "yellow"}]}]}}}}
    [card] = rendering.bubbles(entry("send_follower_message_v5", {"Payload": payload}), demo())

    assert (card.kind, card.transaction_kind, card.header, card.image_url) == (
        "transaction", "transaction_order", "Đơn hàng", "https://x.example/b.png")
    assert [(r.key, r.value, r.style) for r in card.rows] == [("Mã đơn", "A1", None), ("Trạng thái", "Đang giao", "yellow")]


def test_a_v4_media_message_is_a_photo_with_its_caption() -> None:
    [bubble] = rendering.bubbles(entry("send_follower_message_v4", {"Template_type": "media", "Url": "https://x.example/p.jpg",
                                                                     "Content": "Catalogue"}), demo())

    assert (bubble.kind, bubble.image_url, bubble.text) == ("media", "https://x.example/p.jpg", "Catalogue")


def test_a_zalo_error_outcome_says_what_the_error_means() -> None:
    assert rendering.zalo_error_meaning({"zalo_error": -124}) == (-124, "The OA's access token is invalid")
    assert "Zalo error -114" in rendering.outcome_label({"zalo_error": -114})
    assert rendering.zalo_error_meaning("delivered") is None


def test_the_curl_command_sends_the_same_json_with_the_secret_from_the_environment() -> None:
    command = rendering.curl_command("http://127.0.0.1:8080/", "/MainService.svc/json/SendZaloMessage_V6/",
                                     {"ApiKey": "K", "SecretKey": "********", "Content": "it's đúng"}, form=False)
    # The same words, printed one per line by the shell instead of sent by curl.
    printed = subprocess.run(["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")], capture_output=True,
                             text=True, check=True, env={"ESMS_SECRET_KEY": "s3cret"}).stdout.splitlines()

    assert printed[:3] == ["-sS", "-X", "POST"]
    assert json.loads(printed[-1]) == {"ApiKey": "K", "Content": "it's đúng", "SecretKey": "s3cret"}
    assert "********" not in command


def test_the_curl_command_of_a_form_operation_sends_each_field_urlencoded() -> None:
    command = rendering.curl_command("http://h", "/p", {"ApiKey": "K", "Content": "a&b"}, form=True)
    printed = subprocess.run(["bash", "-c", "printf '%s\\n' " + command.removeprefix("curl ")], capture_output=True,
                             text=True, check=True, env={"ESMS_SECRET_KEY": "s3cret"}).stdout.splitlines()

    assert "Content=a&b" in printed
    assert "SecretKey=s3cret" in printed
