"""mock_server.ui.routes: the inbox's pages as HTML, through Flask's test client (the browser
tests in test_ui_browser.py check what a person sees)."""

from __future__ import annotations


import pytest
from flask import Flask
from flask.testing import FlaskClient

from esms_mock_support import PHONE, SECRET_KEY, SEND_OPERATIONS, Esms, valid_request


def html(client: FlaskClient, path: str, **query: str) -> str:
    response = client.get(path, query_string=query, headers={"Accept": "text/html"})
    assert response.status_code == 200, (path, response.status_code)
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def test_a_browser_asking_for_the_root_is_sent_to_the_inbox_and_a_program_gets_json(client: FlaskClient) -> None:
    browser = client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    program = client.get("/", headers={"Accept": "*/*"})

    assert (browser.status_code, browser.headers["Location"]) == (302, "/_mock/ui/")
    assert browser.headers["Vary"] == "Accept" and program.headers["Vary"] == "Accept"
    assert program.status_code == 200 and program.get_json()["inbox"] == "/_mock/ui/"


@pytest.mark.parametrize("op_id", SEND_OPERATIONS)
def test_every_send_operation_is_listed_and_has_a_message_page(esms: Esms, client: FlaskClient, op_id: str) -> None:
    smsid = esms.send(op_id, CallbackUrl="http://127.0.0.1:9/cb") if op_id != "send_multichannel_message" else esms.send(op_id)

    assert smsid in html(client, "/_mock/ui/")
    page = html(client, f"/_mock/ui/messages/{smsid}")
    assert 'class="phone"' in page and smsid in page
    assert SECRET_KEY not in page and "DEMO_SECRET" not in page


def test_search_by_phone_in_another_form_finds_the_message(esms: Esms, client: FlaskClient) -> None:
    smsid = esms.send("send_zns_v6")
    other = esms.send("send_zns_v6", Phone="0900000001")

    found = html(client, "/_mock/ui/rows", recipient="+84" + PHONE[1:])
    assert smsid in found and other not in found
    assert smsid in html(client, "/_mock/ui/rows", recipient="84" + PHONE[1:])


@pytest.mark.parametrize(("query", "shown"), [
    ({"template": "205644"}, True), ({"template": "205645"}, False),
    ({"status": "2"}, True), ({"status": "5"}, False),
    ({"code": "100"}, True), ({"code": "-114"}, False),
    ({"since": "2000-01-01T00:00"}, True), ({"until": "2000-01-01T00:00"}, False),
    ({"oa": "4097311281936189049"}, True), ({"oa": "4097311281936189050"}, False),
    ({"status": "refused"}, False),
])
def test_filters_keep_or_hide_a_message(esms: Esms, client: FlaskClient, query: dict[str, str], shown: bool) -> None:
    smsid = esms.send("send_zns_v6", SendDate="2099-01-01 00:00:00")  # waiting (2) for a long time

    assert (smsid in html(client, "/_mock/ui/rows", **query)) is shown


def test_the_filters_stay_in_the_url_the_page_polls(client: FlaskClient) -> None:
    page = html(client, "/_mock/ui/", recipient="0901888484", status="5")

    assert 'data-rows-url="/_mock/ui/rows?recipient=0901888484&amp;status=5"' in page
    assert 'value="0901888484"' in page


def test_a_value_sent_with_html_is_shown_as_text(esms: Esms, client: FlaskClient) -> None:
    smsid = esms.send("send_follower_message_v4", Content="<img src=x onerror=alert(1)>")

    page = html(client, f"/_mock/ui/messages/{smsid}")
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_no_page_shows_a_secret_key(esms: Esms, client: FlaskClient) -> None:
    smsid = esms.send("send_zns_v6", RequestId="req-secret-check")
    # The specs (/_mock/openapi/) are left out: their examples use the demo credentials, which are
    # public (README, banner), not a secret of the fixtures in use.
    for path in ("/_mock/ui/", "/_mock/ui/rows", f"/_mock/ui/messages/{smsid}", "/_mock/ui/controls", "/_mock/ui/docs"):
        assert SECRET_KEY not in client.get(path).get_data(as_text=True), path


def test_the_controls_page_shows_the_clock_the_scenarios_and_the_masked_fixtures(client: FlaskClient) -> None:
    client.post("/_mock/scenarios", json={"operation": "send_zns_v6", "code": "789"})

    page = html(client, "/_mock/ui/controls")
    assert 'id="clock-now"' in page and "send_zns_v6" in page and 'class="remove-scenario"' in page
    assert "DEMO_API_KEY" in page and "********" in page


def test_a_refused_request_is_listed_from_the_request_journal_with_its_code_and_reason(
        esms: Esms, client: FlaskClient) -> None:
    esms.call("send_zns_v6", valid_request("send_zns_v6", SecretKey="wrong-secret", RequestId="req-refused"))

    rows = html(client, "/_mock/ui/rows", recipient=PHONE)
    assert 'class="row request refused"' in rows and "code 101" in rows and "req-refused" in rows
    assert "&#34;SecretKey&#34;: &#34;********&#34;" in rows and "wrong-secret" not in rows


def test_a_request_to_no_operation_is_listed_as_unmatched_with_the_closest_path(
        esms: Esms, client: FlaskClient) -> None:
    client.post("/MainService.svc/json/SendZaloMessage_V7_post/", json={"ApiKey": "x"})

    rows = html(client, "/_mock/ui/rows")
    assert "unmatched" in rows and "SendZaloMessage_V" in rows


def test_an_unknown_message_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/_mock/ui/messages/<nothing>")

    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "no message &lt;nothing&gt; in the journal" in response.get_data(as_text=True)


def test_a_poll_is_answered_304_until_the_list_changes(esms: Esms, client: FlaskClient, app: Flask) -> None:
    app.extensions["esms_mock"].store.set_clock_offset(0.0)
    first = client.get("/_mock/ui/rows")
    version = first.headers["X-Inbox-Version"]

    assert client.get("/_mock/ui/rows", headers={"X-Inbox-Version": version}).status_code == 304
    smsid = esms.send("send_zns_v6")
    changed = client.get("/_mock/ui/rows", headers={"X-Inbox-Version": version})
    assert changed.status_code == 200 and smsid in changed.get_data(as_text=True)
