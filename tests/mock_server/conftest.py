"""Fixtures of the mock server's tests; they live in esms_mock_support, which tests import by that
unique name (a bare `from conftest import` would pick up another folder's conftest)."""

from esms_mock_support import *  # noqa: F403 - the fixtures and helpers
from esms_mock_support import _parse_the_spec_once  # noqa: F401 - an autouse fixture
