"""A tiny OTP service: one-time codes sent as Zalo ZNS through eSMS, delivery reports recorded."""

from otp_service.app import Delivery, OtpError, OtpService, Settings, create_app

__all__ = ["Delivery", "OtpError", "OtpService", "Settings", "create_app"]
