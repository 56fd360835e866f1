"""A stateful, offline stand-in for the eSMS.vn Zalo API."""

from mock_server.app import create_app
from mock_server.config import MockConfig

__all__ = ["MockConfig", "create_app"]
