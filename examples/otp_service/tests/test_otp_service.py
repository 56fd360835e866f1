"""The OTP service against the eSMS mock: what we send, what eSMS answers, what its callbacks tell us.

`esms_mock` is reset before every test; `esms_callback_sink` is our CallbackUrl and hands each
delivery report to the app's callback endpoint (see conftest.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

PHONE = "0901888484"
INACTIVE_ZALO_USER = "0900000114"  # the mock's magic recipient: accepted, then Zalo error -114
BLOCKED_PHONE = "0900000099"  # another: refused at once with 99 (block list)


def test_otp_is_sent_delivered_and_recorded(otp_app, esms_mock, esms_callback_sink):
    answer = otp_app.web.post("/otp", json={"phone": PHONE})

    assert answer.status_code == 202, answer.get_json()
    sms_id = answer.get_json()["sms_id"]
    # What eSMS received: our OA, our template and the code we keep for verification.
    sent = esms_mock.message(sms_id)
    assert sent["operation"] == "send_zns_v6"
    assert sent["request"]["OAID"] == esms_mock.oaid
    assert sent["request"]["TempID"] == "300001"
    assert sent["request"]["CallbackUrl"] == esms_callback_sink.url
    assert otp_app.service.verify_otp(PHONE, sent["request"]["TempData"]["otp"])
    # eSMS reports the delivery to our CallbackUrl; the app records it.
    (report,) = esms_callback_sink.wait_for(smsid=sms_id, parse=True)
    assert report.send_status == 5 and report.send_success == 1
    assert esms_mock.wait_for_callback(sms_id, state="delivered")["attempt_count"] == 1
    assert otp_app.web.get(f"/otp/{sms_id}").get_json()["status"] == "delivered"
    # Every request we made was one eSMS accepts, and we sent the OTP exactly once.
    esms_mock.assert_no_refused()
    esms_mock.verify(1, operation="send_zns_v6", recipient=PHONE)


def test_a_template_error_is_reported_and_nothing_is_sent(otp_app, esms_mock):
    esms_mock.add_scenario("send_zns_v6", code="789", times=1, scope=esms_mock.scope)

    answer = otp_app.web.post("/otp", json={"phone": PHONE})

    assert answer.status_code == 422
    assert answer.get_json()["error"] == "template_error"
    assert answer.get_json()["code"] == "789"
    assert esms_mock.messages() == []  # a refused request is no message...
    [refused] = esms_mock.requests(outcome="refused")  # ...but the request journal has it
    assert refused["code"] == "789" and refused["forced"].startswith("scenario")
    assert otp_app.web.post("/otp", json={"phone": PHONE}).status_code == 202  # times=1: the next one goes through


def test_a_blocked_recipient_is_reported_with_the_reason_esms_gave(otp_app, esms_mock):
    answer = otp_app.web.post("/otp", json={"phone": BLOCKED_PHONE})

    assert answer.status_code == 422
    assert answer.get_json()["code"] == "99"
    # What the mock refused, and why: the first question when an integration fails.
    [refused] = esms_mock.verify(1, outcome="refused", recipient=BLOCKED_PHONE)
    assert refused["code"] == "99" and refused["reason"] == answer.get_json()["message"]
    assert refused["body"]["SecretKey"] == "********"
    assert esms_mock.count_requests(outcome="accepted") == 0


def test_a_delivery_failure_is_recorded(otp_app, esms_mock, esms_callback_sink):
    answer = otp_app.web.post("/otp", json={"phone": INACTIVE_ZALO_USER})

    assert answer.status_code == 202  # eSMS accepts it: the failure comes later, in the callback
    sms_id = answer.get_json()["sms_id"]
    esms_callback_sink.wait_for(smsid=sms_id)
    status = otp_app.web.get(f"/otp/{sms_id}").get_json()
    assert status["status"] == "failed"
    assert status["error_code"] == -114
    assert "inactive" in status["error"]


def test_a_scheduled_reminder_goes_out_when_its_time_comes(otp_app, esms_mock, esms_callback_sink):
    now = datetime.fromtimestamp(esms_mock.clock()["now"], timezone.utc)
    delivery = otp_app.service.schedule_reminder(PHONE, now + timedelta(hours=2), name="Lan")

    message = esms_mock.message(delivery.sms_id)
    assert message["operation"] == "send_zns_v5"
    assert message["status"]["final"] is False
    assert esms_mock.callbacks(smsid=delivery.sms_id, state="pending")  # due in two hours
    assert otp_app.service.delivery(delivery.sms_id).status == "scheduled"

    esms_mock.advance_clock(2 * 3600 + 1)

    esms_callback_sink.wait_for(smsid=delivery.sms_id)
    assert otp_app.service.delivery(delivery.sms_id).status == "delivered"
    assert esms_mock.message(delivery.sms_id)["status"]["final"] is True


def test_a_callback_our_endpoint_fails_is_sent_again(otp_app, esms_mock, esms_callback_sink):
    esms_callback_sink.fail_next(1, status=503)  # our endpoint is down for the first attempt

    sms_id = otp_app.web.post("/otp", json={"phone": PHONE}).get_json()["sms_id"]

    first, second = esms_callback_sink.wait_for(2, smsid=sms_id)
    assert (first.status, second.status) == (503, 200)
    assert esms_mock.wait_for_callback(sms_id)["attempt_count"] == 2
    assert otp_app.service.delivery(sms_id).status == "delivered"
