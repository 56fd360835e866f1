"""The OTP service: the application under test of this example.

* `OtpService.send_otp(phone)` sends a six-digit code with the ZNS template of the settings
  (`send_zns_v6`) and remembers it; `verify_otp(phone, code)` checks it.
* `OtpService.schedule_reminder(phone, at, name)` sends an appointment reminder for later
  (`send_zns_v5` with `SendDate`).
* `OtpService.record_callback(query)` reads eSMS's delivery report (the GET to our CallbackUrl)
  and records the delivery status per SMSID.
* `create_app(service)`: the HTTP face, with Flask: `POST /otp`, `GET /otp/<sms_id>` and the
  callback endpoint `GET /esms/callback`.

Nothing here knows about the mock: the base URL, keys and CallbackUrl come from `Settings`
(`Settings.from_env()` in production).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from esms_zalo import CallbackParseError, Client, EsmsApiError, EsmsError, TemplateError, parse_delivery_callback
from flask import Flask, jsonify, request

VIETNAM = timezone(timedelta(hours=7))  # the appointment time is written in Vietnam time


@dataclass(frozen=True)
class Settings:
    api_key: str
    secret_key: str
    oa_id: str
    otp_template_id: str
    reminder_template_id: str | None = None
    callback_url: str | None = None
    base_url: str = "https://rest.esms.vn"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            api_key=os.environ["ESMS_API_KEY"],
            secret_key=os.environ["ESMS_SECRET_KEY"],
            oa_id=os.environ["ESMS_OA_ID"],
            otp_template_id=os.environ["ESMS_OTP_TEMPLATE_ID"],
            reminder_template_id=os.environ.get("ESMS_REMINDER_TEMPLATE_ID"),
            callback_url=os.environ.get("ESMS_CALLBACK_URL"),
            base_url=os.environ.get("ESMS_BASE_URL", "https://rest.esms.vn"),
        )


@dataclass(frozen=True)
class Delivery:
    """What we know about one message. `status`: scheduled, sent, delivered, failed or rejected."""

    sms_id: str
    phone: str
    status: str
    error_code: int | None = None
    error: str | None = None


class OtpError(Exception):
    """The OTP could not be sent. `reason`: template (the template or its data), refused, unavailable."""

    def __init__(self, reason: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code
        self.message = message


class OtpService:
    def __init__(self, settings: Settings, *, client: Client | None = None,
                 new_code: Callable[[], str] = lambda: f"{secrets.randbelow(1_000_000):06d}") -> None:
        self.settings = settings
        self._client = client or Client(settings.api_key, settings.secret_key, base_url=settings.base_url)
        self._new_code = new_code
        self._codes: dict[str, str] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ sending
    def send_otp(self, phone: str) -> Delivery:
        code = self._new_code()
        try:
            sent = self._client.send_zns_v6(
                oa_id=self.settings.oa_id, phone=phone, template_id=self.settings.otp_template_id,
                template_data={"otp": code}, callback_url=self.settings.callback_url,
            )
        except TemplateError as error:  # 789 and friends: our template or its data is wrong
            raise OtpError("template", error.message, error.code) from error
        except EsmsApiError as error:
            raise OtpError("refused", error.message, error.code) from error
        except EsmsError as error:  # no usable answer (connection, timeout, 5xx after retries)
            raise OtpError("unavailable", str(error)) from error
        with self._lock:
            self._codes[phone] = code
        return self._remember(Delivery(str(sent.sms_id), phone, "sent"))

    def verify_otp(self, phone: str, code: str) -> bool:
        with self._lock:
            return self._codes.get(phone) == code

    def schedule_reminder(self, phone: str, at: datetime, name: str) -> Delivery:
        if self.settings.reminder_template_id is None:
            raise OtpError("template", "no reminder template configured")
        when = at.astimezone(VIETNAM)
        try:
            sent = self._client.send_zns_v5(
                oa_id=self.settings.oa_id, phone=phone, template_id=self.settings.reminder_template_id,
                template_data=[{"key": "customer_name", "value": name},
                               {"key": "appointment_time", "value": when.strftime("%H:%M %d/%m/%Y")}],
                send_at=at, callback_url=self.settings.callback_url,  # the SDK writes it in Vietnam time
            )
        except TemplateError as error:
            raise OtpError("template", error.message, error.code) from error
        except EsmsApiError as error:
            raise OtpError("refused", error.message, error.code) from error
        return self._remember(Delivery(str(sent.sms_id), phone, "scheduled"))

    # ------------------------------------------------------------------ delivery reports
    def record_callback(self, query: str | Mapping[str, Any]) -> Delivery:
        """Record eSMS's delivery report; raises CallbackParseError for a request that is not one."""
        report = parse_delivery_callback(query)
        info = report.decoded_error_info
        if report.send_status == 4:
            status = "rejected"
        elif report.send_status == 5 and (report.send_success or 0) > 0:
            status = "delivered"
        elif report.send_status == 5:
            status = "failed"
        else:
            status = "sent"
        with self._lock:
            known = self._deliveries.get(report.sms_id) or Delivery(report.sms_id, report.recipient or "", "sent")
            delivery = replace(known, status=status,
                               error_code=info.error if info and info.error else None,
                               error=info.message if info and info.error else None)
            self._deliveries[report.sms_id] = delivery
        return delivery

    def delivery(self, sms_id: str) -> Delivery | None:
        with self._lock:
            return self._deliveries.get(sms_id)

    def _remember(self, delivery: Delivery) -> Delivery:
        with self._lock:
            # A callback may have been recorded already: keep what it said.
            self._deliveries.setdefault(delivery.sms_id, delivery)
            return self._deliveries[delivery.sms_id]


def create_app(service: OtpService) -> Flask:
    app = Flask("otp_service")

    @app.post("/otp")
    def send_otp() -> Any:
        phone = str((request.get_json(silent=True) or {}).get("phone", "")).strip()
        if not phone:
            return jsonify(error="phone_required"), 400
        try:
            delivery = service.send_otp(phone)
        except OtpError as error:
            status = {"template": 422, "refused": 422}.get(error.reason, 503)
            return jsonify(error=f"{error.reason}_error", code=error.code, message=error.message), status
        return jsonify(sms_id=delivery.sms_id, status=delivery.status), 202

    @app.get("/otp/<sms_id>")
    def otp_status(sms_id: str) -> Any:
        delivery = service.delivery(sms_id)
        if delivery is None:
            return jsonify(error="unknown_sms_id"), 404
        return jsonify(sms_id=delivery.sms_id, phone=delivery.phone, status=delivery.status,
                       error_code=delivery.error_code, error=delivery.error)

    @app.get("/esms/callback")
    def esms_callback() -> Any:
        # The raw query string: error_info's encodings survive only undecoded.
        try:
            service.record_callback(request.query_string.decode("utf-8"))
        except CallbackParseError as error:
            return jsonify(error="not_a_delivery_report", message=str(error)), 400
        return "OK", 200

    return app
