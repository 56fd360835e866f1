"""The mock's clock: real time plus an offset that tests move forward through the control plane.

The offset lives in the store so that every worker process sees the same time; Vietnam time
(UTC+7, no daylight saving) decides calendar days for quotas and parses `SendDate`.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")
DAY_SECONDS = 86_400.0


def vietnam_day(at: float) -> str:
    """The calendar day in Vietnam (`2025-01-15`) of an epoch time."""
    return _day_name(int((at + 7 * 3600) // DAY_SECONDS))  # UTC+7 all year: days are whole 86,400 s


@functools.lru_cache(maxsize=64)
def _day_name(day_number: int) -> str:
    # Every accepted ZNS message needs its day; formatting a datetime each time showed in profiles.
    return datetime.fromtimestamp(day_number * DAY_SECONDS, timezone.utc).strftime("%Y-%m-%d")


def parse_vietnam_datetime(text: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> float:
    """Epoch seconds of a Vietnam-time `yyyy-MM-dd HH:mm:ss` (raises ValueError when invalid)."""
    return datetime.strptime(text, fmt).replace(tzinfo=VIETNAM).timestamp()


def format_vietnam(at: float, fmt: str = "%d/%m/%Y %H:%M:%S") -> str:
    return datetime.fromtimestamp(at, VIETNAM).strftime(fmt)


def dotnet_date(at: float) -> str:
    """The .NET JSON date form eSMS uses in reports: `/Date(1735693200000+0700)/`."""
    return f"/Date({int(at * 1000)}+0700)/"
