"""Fixtures of the spec tests (tests/spec). The machinery lives in esms_spec_support.py and
esms_spec_checks.py beside this file; the vendor facts in esms_reference_tables.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helper modules sit beside this file; make them importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from esms_spec_support import node_tools_skip_reason, the_spec  # noqa: E402


@pytest.fixture(scope="session")
def spec():
    """spec/esms-zalo.openapi.yaml, parsed once. Read-only: a test that breaks the spec on
    purpose takes its own copy with `the_spec()`."""
    return the_spec()


@pytest.fixture
def node_tools():
    """Guards a test that runs the Node tools of package.json: skipped only on request."""
    reason = node_tools_skip_reason()
    if reason:
        pytest.skip(reason)
