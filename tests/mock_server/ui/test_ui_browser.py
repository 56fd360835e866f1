"""The inbox in a real browser: headless Chromium (Debian's package, `make install` adds it) driven
by Playwright, against the served mock (the contract kit's `esms_mock`, a real `esms-mock serve`).
Only loopback requests leave the page: anything else is aborted and recorded, so the tests also
show the pages work offline. Screenshots of each rendered kind go to test-artifacts/ui/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from esms_mock_support import FOLLOWER, OAID, PHONE, hash_phone, transaction_payload
from mock_server.testing import CallbackSink, EsmsMock

playwright_api = pytest.importorskip("playwright.sync_api", reason="make install installs playwright")

CHROMIUM = os.environ.get("ESMS_UI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "ui"
WAIT_MS = 20_000  # a busy CI machine parses the 150 kB spec in Swagger UI slowly
SEND = {
    "send_zns_v6": "/MainService.svc/json/SendZaloMessage_V6/",
    "send_zns_by_uid": "/MainService.svc/json/SendZaloMessage_V6/zalo_uid/",
    "send_zns_by_hashed_phone": "/MainService.svc/json/SendZaloMessage_V6/hash_phone/",
    "send_zns_v4": "/MainService.svc/json/SendZaloMessage_V4_post_json/",
    "send_multichannel_message": "/MainService.svc/json/MultiChannelMessage/",
    "send_zns_v5": "/MainService.svc/json/SendZaloMessage_V5_post/",
    "send_zns_bulk": "/MainService.svc/json/Send_zns_bulk_v4_post_json/",
    "send_auto_generated_otp": "/MainService.svc/json/SendMessageAutoGenCode_V5",
    "send_full_content_json": "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
    "send_follower_message_v4": "/MainService.svc/json/SendZaloFollowerMessage_V4_post_json/",
    "send_follower_message_v5": "/MainService.svc/json/SendZaloFollowerMessage_V5_post_json/",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Page:
    """A browser tab on the mock that lets only loopback requests out and records the others.

    The sync API runs the route handler only while the test is inside a Playwright call: a
    request the page makes while the test blocks elsewhere (a sink's wait) is held until then."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 1000})
        self.tab = self.context.new_page()
        self.tab.set_default_timeout(WAIT_MS)
        self.outside: list[str] = []
        self.tab.route("**/*", self._only_loopback)

    def _only_loopback(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: Any, esms_mock: EsmsMock) -> Iterator[Page]:
    opened = Page(browser, esms_mock.base_url)
    yield opened
    opened.context.close()


def send(mock: EsmsMock, op_id: str, **fields: Any) -> str:
    body = {"ApiKey": mock.api_key, "SecretKey": mock.secret_key, **fields}
    answer = httpx.post(mock.base_url + SEND[op_id], json=body, timeout=10).json()
    assert answer.get("CodeResult") == "100", answer
    return str(answer["SMSID"] if "SMSID" in answer else answer["detail"][0]["SMSID"])


def follower_v5(message: dict[str, Any]) -> dict[str, Any]:
    return {"OAID": OAID, "Payload": {"recipient": {"user_id": FOLLOWER}, "message": message}}


def text_of(page: Page, selector: str) -> str:
    return str(page.tab.locator(selector).first.inner_text())


# ---------------------------------------------------------------------------- the list
def test_a_sent_message_appears_in_the_open_list_without_a_reload(page: Page, esms_mock: EsmsMock) -> None:
    page.tab.goto("/_mock/ui/")
    page.tab.evaluate("window.openedOnce = true")
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "482915"})

    row = page.tab.locator(f'tr[data-smsid="{smsid}"]')
    row.wait_for()
    assert "OTP" in row.inner_text() and PHONE in row.inner_text()
    assert page.tab.evaluate("window.openedOnce") is True, "the page was reloaded"
    page.screenshot("list")


def test_search_by_phone_in_another_form_finds_the_message_and_the_url_keeps_the_filter(
        page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "111111"})
    other = send(esms_mock, "send_zns_v6", OAID=OAID, Phone="0900000001", TempID="205644", TempData={"otp": "222222"})
    page.tab.goto("/_mock/ui/")
    page.tab.locator(f'tr[data-smsid="{other}"]').wait_for()

    page.tab.fill('input[name="recipient"]', "+84" + PHONE[1:])
    page.tab.click('button[type="submit"]')
    page.tab.wait_for_url(re.compile(r"recipient=%2B84901888484"))

    page.tab.locator(f'tr[data-smsid="{smsid}"]').wait_for()
    assert page.tab.locator(f'tr[data-smsid="{other}"]').count() == 0
    assert "status=" not in page.tab.url, "empty filters stay out of the URL"
    page.tab.goto(page.tab.url)  # the shared link shows the same
    assert page.tab.locator(f'tr[data-smsid="{smsid}"]').count() == 1


def test_a_refused_request_appears_in_the_open_list_with_its_code_and_reason(page: Page, esms_mock: EsmsMock) -> None:
    page.tab.goto("/_mock/ui/")
    httpx.post(esms_mock.base_url + SEND["send_zns_v6"], timeout=10,
               json={"ApiKey": esms_mock.api_key, "SecretKey": "wrong", "OAID": OAID, "Phone": PHONE, "TempID": "205644",
                     "TempData": {"otp": "1"}})

    refused = page.tab.locator("tr.refused").first
    refused.wait_for()  # without a reload: the list polls
    journal = httpx.get(esms_mock.base_url + "/_mock/requests", params={"outcome": "refused"}, timeout=10).json()
    assert "101" in refused.inner_text() and journal["requests"][0]["reason"] in refused.inner_text()
    page.screenshot("refused")


# ---------------------------------------------------------------------------- each kind, rendered
def open_message(page: Page, smsid: str) -> None:
    page.tab.goto(f"/_mock/ui/messages/{smsid}")
    page.tab.locator(".screen").wait_for()


@pytest.mark.parametrize(("op_id", "fields"), [
    ("send_zns_v6", {"Phone": PHONE, "TempData": {"customer_name": "Nguyễn Thị Lan", "order_code": "ĐH-001",
                                                  "payment_amount": "250000"}}),
    ("send_zns_by_uid", {"ZaloUid": FOLLOWER, "TempData": {"customer_name": "Nguyễn Thị Lan", "order_code": "ĐH-001",
                                                           "payment_amount": "250000"}}),
    ("send_zns_by_hashed_phone", {"HashPhone": hash_phone(PHONE), "TempData": {
        "customer_name": "Nguyễn Thị Lan", "order_code": "ĐH-001", "payment_amount": "250000"}}),
    ("send_zns_v4", {"Phone": PHONE, "Params": ["Nguyễn Thị Lan", "ĐH-001", "250000"]}),
])
def test_a_zns_card_shows_the_oa_the_template_and_the_filled_parameters(
        page: Page, esms_mock: EsmsMock, op_id: str, fields: dict[str, Any]) -> None:
    smsid = send(esms_mock, op_id, OAID=OAID, TempID="205645", **fields)
    open_message(page, smsid)

    card = text_of(page, ".zns.card")
    assert "Demo OA" in card and "Order confirmation" in card
    assert "Nguyễn Thị Lan" in text_of(page, ".zns-body") and "ĐH-001" in text_of(page, ".zns-body")
    assert [row.inner_text().split("\t") for row in page.tab.locator("table.params tr").all()] == [
        ["customer_name", "Nguyễn Thị Lan"], ["order_code", "ĐH-001"], ["payment_amount", "250000"]]
    page.screenshot(f"zns-{op_id}")


def test_a_journey_and_a_multichannel_message_show_their_zns_and_sms_legs(page: Page, esms_mock: EsmsMock) -> None:
    journey = send(esms_mock, "send_zns_v4", OAID=OAID, Phone=PHONE, TempID="654321", IsJourney=True,
                   OrderId="journey-1", Params=["Lan", "ORD-9", "Đang giao"])
    open_message(page, journey)
    assert "Delivery journey" in text_of(page, ".zns.card") and "Đang giao" in text_of(page, "table.params")
    assert "ZNS journey" in text_of(page, ".details h2")

    multichannel = send(esms_mock, "send_multichannel_message", Phone="0900000114", Channels=["zalo", "sms"], Data=[
        {"TempID": "205644", "Params": ["654321"], "OAID": OAID},
        {"Content": "654321 là mã xác thực của bạn", "IsUnicode": "1", "SmsType": "2", "Brandname": "DEMO"}])
    open_message(page, multichannel)
    assert "654321" in text_of(page, "table.params")
    assert "654321 là mã xác thực của bạn" in text_of(page, ".bubble.sms")
    assert "SMS from DEMO" in text_of(page, ".sms-frame")
    page.screenshot("multichannel")


@pytest.mark.parametrize(("op_id", "fields", "selector", "shown"), [
    ("send_zns_v5", {"OAID": OAID, "Phone": PHONE, "TempID": "205644", "TempData": [{"key": "otp", "value": "918273"}]},
     "table.params", "918273"),
    ("send_zns_bulk", {"OAID": OAID, "TempID": "205644", "Data": [{"Phone": PHONE, "Params": ["564738"]}]},
     "table.params", "564738"),
    ("send_full_content_json", {"SmsType": "25", "OAID": OAID, "Phone": PHONE, "Content": "Đơn hàng ĐH-001 đã xác nhận"},
     ".zns.card", "Đơn hàng ĐH-001 đã xác nhận"),
    ("send_auto_generated_otp", {"Phone": PHONE, "TimeAlive": "5", "MultiChannelTempId": "12345", "TypeId": "2"},
     ".zns.card", "is your verification code"),
    ("send_follower_message_v4", {"OAID": OAID, "User_id": FOLLOWER, "Content": "Danh mục mới", "Template_type": "media",
                                  "Url": "https://cdn.example/catalogue.png"}, ".bubble.media", "Danh mục mới"),
])
def test_the_other_send_operations_render_what_they_sent(
        page: Page, esms_mock: EsmsMock, op_id: str, fields: dict[str, Any], selector: str, shown: str) -> None:
    smsid = send(esms_mock, op_id, **fields)
    open_message(page, smsid)

    assert shown in text_of(page, selector)
    page.screenshot(f"other-{op_id}")


def test_a_follower_text_is_a_chat_bubble(page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_follower_message_v4", OAID=OAID, User_id=FOLLOWER, Content="Cảm ơn bạn đã quan tâm!")
    open_message(page, smsid)

    assert text_of(page, ".bubble.text") == "Cảm ơn bạn đã quan tâm!"


def test_a_photo_is_an_image_of_the_sent_url_with_a_placeholder_offline(page: Page, esms_mock: EsmsMock) -> None:
    url = "https://cdn.example/photo.jpg"
    smsid = send(esms_mock, "send_follower_message_v5", **follower_v5({"text": "Ảnh sản phẩm", "attachment": {
        "type": "template", "payload": {"template_type": "media", "elements": [{"media_type": "image", "url": url}]}}}))
    open_message(page, smsid)

    assert page.tab.locator("figure.photo img").get_attribute("src") == url
    page.tab.locator("figure.photo .placeholder").wait_for(state="visible")
    assert "cannot be loaded offline" in text_of(page, "figure.photo .placeholder")
    assert "Ảnh sản phẩm" in text_of(page, ".bubble.media")
    page.screenshot("follower-media")


def test_each_button_shows_its_title_and_what_it_does(page: Page, esms_mock: EsmsMock) -> None:
    buttons = [{"title": "Website", "type": "oa.open.url", "payload": {"url": "https://shop.example"}},
               {"title": "Xem menu", "type": "oa.query.show", "payload": "#menu_show"},
               {"title": "Nhắn tin", "type": "oa.open.sms", "payload": {"content": "Xin chào", "phone_code": "84900000000"}},
               {"title": "Gọi ngay", "type": "oa.open.phone", "payload": {"phone_code": "84900000000"}}]
    smsid = send(esms_mock, "send_follower_message_v5", **follower_v5({"text": "Bạn cần giúp gì?", "attachment": {
        "type": "template", "payload": {"buttons": buttons}}}))
    open_message(page, smsid)

    shown = [b.inner_text() for b in page.tab.locator("li.button").all()]
    assert [s.split("\n")[0] for s in shown] == ["Website", "Xem menu", "Nhắn tin", "Gọi ngay"]
    assert "opens the link: https://shop.example" in shown[0] and "calls the number: 84900000000" in shown[3]
    assert "opens an SMS to the number, with the text: 84900000000 · Xin chào" in shown[2]
    page.screenshot("follower-buttons")


def test_a_transaction_card_shows_its_table_rows_with_their_styles(page: Page, esms_mock: EsmsMock) -> None:
    payload = transaction_payload([
        {"type": "banner", "image_url": "https://cdn.example/banner.png"},
        {"type": "header", "content": "Cập nhật đơn hàng", "align": "left"},
        {"type": "text", "content": "Chi tiết đơn hàng của bạn:", "align": "left"},
        {"type": "table", "content": [{"key": "Mã đơn hàng", "value": "ĐH-001"},
                                      {"key": "Trạng thái", "value": "Đang giao", "style": "yellow"},
                                      {"key": "Tổng tiền", "value": "250.000 ₫"}]}])
    payload["message"]["attachment"]["payload"]["buttons"] = [
        {"title": "Theo dõi", "image_icon": "", "type": "oa.open.url", "payload": {"url": "https://shop.example/t"}}]
    smsid = send(esms_mock, "send_follower_message_v5", OAID=OAID, Payload=payload)
    open_message(page, smsid)

    rows = [r.inner_text().split("\t") for r in page.tab.locator("table.transaction-table tr").all()]
    assert rows == [["Mã đơn hàng", "ĐH-001"], ["Trạng thái", "Đang giao"], ["Tổng tiền", "250.000 ₫"]]
    assert page.tab.locator("table.transaction-table td.style-yellow").inner_text() == "Đang giao"
    assert "Cập nhật đơn hàng" in text_of(page, ".transaction .header")
    assert "transaction_order" in text_of(page, ".transaction")
    assert "Theo dõi" in text_of(page, ".transaction li.button")
    page.screenshot("follower-transaction")


def test_a_request_user_info_card_shows_its_title_and_subtitle(page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_follower_message_v5", **follower_v5({"attachment": {"type": "template", "payload": {
        "template_type": "request_user_info", "elements": [
            {"title": "Chia sẻ thông tin", "subtitle": "Để phục vụ bạn tốt hơn", "image_url": "https://cdn.example/c.png"}]}}}))
    open_message(page, smsid)

    assert text_of(page, ".request-user-info .title") == "Chia sẻ thông tin"
    assert text_of(page, ".request-user-info .subtitle") == "Để phục vụ bạn tốt hơn"
    page.screenshot("follower-request-user-info")


# ---------------------------------------------------------------------------- the delivery story
def test_the_timeline_reaches_the_final_state_and_a_replayed_callback_reaches_the_receiver(
        page: Page, esms_mock: EsmsMock, esms_callback_sink: CallbackSink) -> None:
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "777777"},
                 CallbackUrl=esms_callback_sink.url)
    open_message(page, smsid)

    page.tab.locator('ol.timeline li.reached[data-status="5"]').wait_for()
    page.tab.locator('.callback[data-state="delivered"] tr.attempt').wait_for()
    assert "SendSuccess" in text_of(page, ".recipient-story .outcome")
    esms_callback_sink.wait_for(1, smsid=smsid)

    # The replay's answer is awaited through Playwright (see Page): on a busy CI the POST was still
    # held by the route handler when the sink's wait began, and never left before it timed out.
    with page.tab.expect_response(lambda r: r.url.endswith("/callback/replay")) as replay:
        page.tab.click("#replay")
    assert replay.value.status == 202
    page.tab.locator("#replay-result", has_text="queued again").wait_for()
    esms_callback_sink.wait_for(2, smsid=smsid)
    page.tab.locator("table.attempts tr.attempt").nth(1).wait_for()
    assert page.tab.locator("table.attempts tr.attempt").nth(1).inner_text().split("\t")[:1] == ["2"]
    page.screenshot("delivery-story")


def test_a_zalo_error_is_shown_with_its_meaning(page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone="0900000114", TempID="205644", TempData={"otp": "1"})
    open_message(page, smsid)

    page.tab.locator('ol.timeline li.reached[data-status="5"]').wait_for()
    assert "SendFailed" in text_of(page, ".recipient-story .outcome")
    assert "-114" in text_of(page, ".zalo-error") and "inactive" in text_of(page, ".zalo-error")


def test_the_request_as_sent_masks_the_secret_key_and_offers_a_curl_command(page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "123456"})
    open_message(page, smsid)

    request = text_of(page, "#request-json")
    assert '"TempData": {\n    "otp": "123456"\n  }' in request and esms_mock.secret_key not in request
    assert "$ESMS_SECRET_KEY" in text_of(page, "#curl")


# ---------------------------------------------------------------------------- controls, docs, secrets
def test_reset_asks_for_confirmation_first(page: Page, esms_mock: EsmsMock) -> None:
    send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "1"})
    page.tab.goto("/_mock/ui/controls")
    asked: list[str] = []

    page.tab.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.tab.click("#reset")
    assert asked and "Reset the mock?" in asked[0]
    assert esms_mock.messages(), "dismissed: nothing was reset"

    page.tab.once("dialog", lambda dialog: dialog.accept())
    with page.tab.expect_navigation():
        page.tab.click("#reset")
    assert esms_mock.messages() == []


def test_the_clock_advances_and_a_scenario_is_removed_from_the_controls(page: Page, esms_mock: EsmsMock) -> None:
    httpx.post(esms_mock.base_url + "/_mock/scenarios", json={"operation": "send_zns_v6", "code": "789"}, timeout=10)
    page.tab.goto("/_mock/ui/controls")
    assert "Demo OA" in text_of(page, "#fixtures") and esms_mock.secret_key not in text_of(page, "#fixtures")

    page.tab.fill('#advance input[name="seconds"]', "3600")
    with page.tab.expect_navigation():
        page.tab.click('#advance button[type="submit"]')
    assert float(text_of(page, "#clock-offset")) >= 3600
    with page.tab.expect_navigation():
        page.tab.click("button.remove-scenario")
    assert page.tab.locator("tr.scenario").count() == 0
    page.screenshot("controls")


def test_the_api_docs_show_both_specs_with_nothing_from_the_internet(page: Page) -> None:
    page.tab.goto("/_mock/ui/docs")

    page.tab.locator(".swagger-ui .info .title").wait_for()
    assert "eSMS" in text_of(page, ".swagger-ui .info .title")
    page.tab.locator(".swagger-ui .opblock").first.wait_for()
    assert page.tab.locator(".topbar select option").all_inner_texts() == ["esms-zalo", "mock-control"]
    assert page.outside == [], "the docs page asked the internet for something"
    page.screenshot("docs")


def test_no_page_shows_the_secret_key(page: Page, esms_mock: EsmsMock) -> None:
    smsid = send(esms_mock, "send_zns_v6", OAID=OAID, Phone=PHONE, TempID="205644", TempData={"otp": "1"},
                 RequestId="req-ui-secret")
    for path in ("/_mock/ui/", f"/_mock/ui/messages/{smsid}", "/_mock/ui/controls", "/_mock/ui/docs"):
        page.tab.goto(path)
        page.tab.wait_for_load_state("networkidle")
        assert esms_mock.secret_key not in page.tab.content(), path
