"""Contract tests of the OTP service against the eSMS Zalo mock.

The `esms_mock` and `esms_callback_sink` fixtures come from the mock's pytest plugin
(installed with the mock; see ../README.md). Here: which fixtures the mock serves, and the app
wired to it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient

# In a real project the app is installed (`pip install -e .`); this example is not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from otp_service import OtpService, Settings, create_app  # noqa: E402

OTP_TEMPLATE = "300001"
REMINDER_TEMPLATE = "300002"


@pytest.fixture(scope="session")
def esms_mock_fixtures() -> Path:
    """Our eSMS account, OA and templates, as the mock should know them."""
    return Path(__file__).with_name("esms_fixtures.yaml")


@dataclass
class OtpApp:
    service: OtpService
    web: FlaskClient


@pytest.fixture
def otp_app(esms_mock, esms_callback_sink) -> Iterator[OtpApp]:
    """The service, configured like production but pointed at the mock and the callback sink."""
    settings = Settings(
        base_url=esms_mock.base_url,
        api_key=esms_mock.api_key,
        secret_key=esms_mock.secret_key,
        oa_id=esms_mock.oaid,
        otp_template_id=OTP_TEMPLATE,
        reminder_template_id=REMINDER_TEMPLATE,
        callback_url=esms_callback_sink.url,
    )
    # The SDK client the mock hands out sends this test's X-Esms-Mock-Scope header: scenarios added
    # with scope=esms_mock.scope apply to this test alone, even with workers sharing one mock.
    service = OtpService(settings, client=esms_mock.client())
    app = create_app(service)
    # Each callback the mock sends reaches the app's real endpoint, and the mock sees its answer.
    esms_callback_sink.forward_to(
        lambda received: app.test_client().get("/esms/callback", query_string=received.raw_query).status_code
    )
    yield OtpApp(service, app.test_client())
    service.close()
