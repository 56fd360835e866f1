"""The mock clock's calendar: days are Vietnam days (UTC+7), which decide the daily ZNS quota."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st
from mock_server.store.clock import VIETNAM, vietnam_day

MIDNIGHT_IN_HANOI = 1735664400.0  # 2025-01-01 00:00:00 +07:00


def test_a_day_starts_at_midnight_vietnam_time_not_utc():
    assert vietnam_day(MIDNIGHT_IN_HANOI - 0.001) == "2024-12-31"
    assert vietnam_day(MIDNIGHT_IN_HANOI) == "2025-01-01"
    assert vietnam_day(MIDNIGHT_IN_HANOI + 86_400 - 0.001) == "2025-01-01"


@given(st.floats(min_value=-2e9, max_value=4e9, allow_nan=False))
def test_the_day_is_the_calendar_date_in_vietnam(at: float):
    assert vietnam_day(at) == datetime.fromtimestamp(at, VIETNAM).strftime("%Y-%m-%d")
