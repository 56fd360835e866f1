"""The spec's one table of eSMS result codes (top-level `x-esms-result-codes`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esms_spec.errors import SpecError

SUCCESS_FAMILY = "success"


@dataclass(frozen=True)
class ResultCode:
    """One row of the table: the code as eSMS writes it ("100"), its family (the SDK's exception
    class), the vendor's message and what it means."""

    code: str
    family: str
    message: str
    meaning: str


def result_codes(document: Mapping[str, Any]) -> dict[str, ResultCode]:
    """The table, keyed by code, in the spec's order."""
    table = document.get("x-esms-result-codes")
    if not isinstance(table, list) or not table:
        raise SpecError("the spec has no top-level x-esms-result-codes table")
    codes: dict[str, ResultCode] = {}
    for row in table:
        try:
            code = ResultCode(
                code=str(row["code"]),
                family=str(row["family"]),
                message=str(row.get("message", "")),
                meaning=str(row.get("meaning", "")),
            )
        except (KeyError, TypeError, AttributeError):
            raise SpecError(f"x-esms-result-codes row {row!r} lacks a code or a family") from None
        if code.code in codes:
            raise SpecError(f"x-esms-result-codes lists the code {code.code} twice")
        codes[code.code] = code
    return codes
