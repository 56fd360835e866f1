"""Prints how much the schemathesis run covered (cases per operation, time), after the results."""

from __future__ import annotations

import pytest
from contract_support import fuzz_summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    line = fuzz_summary()
    if line is not None:
        terminalreporter.write_sep("-", "schemathesis")
        terminalreporter.write_line(line)
