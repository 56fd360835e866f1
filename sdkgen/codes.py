"""Group the spec's one table of eSMS result codes (`x-esms-result-codes`, read by esms_spec) into
the SDK's exception families."""

from __future__ import annotations

from dataclasses import dataclass

from esms_spec import SUCCESS_FAMILY, ResultCode

from .operations import pascal_case
from .spec import SpecDocument, SpecError


@dataclass(frozen=True)
class Family:
    """One exception class of the SDK: a `family` value of the table and its codes."""

    name: str
    codes: tuple[ResultCode, ...]

    @property
    def class_name(self) -> str:
        return f"{pascal_case(self.name)}Error"


@dataclass(frozen=True)
class CodeTable:
    success_code: str
    codes: tuple[ResultCode, ...]
    families: tuple[Family, ...]  # in order of first appearance in the table, success excluded


def read_code_table(spec: SpecDocument) -> CodeTable:
    codes = spec.result_codes
    for code in codes:
        if not code.family.isidentifier():
            raise SpecError(f"result-code family {code.family!r} is not an identifier")
    successes = [c.code for c in codes if c.family == SUCCESS_FAMILY]
    if len(successes) != 1:
        raise SpecError(f"x-esms-result-codes must have exactly one {SUCCESS_FAMILY!r} code")
    order: list[str] = []
    for c in codes:
        if c.family != SUCCESS_FAMILY and c.family not in order:
            order.append(c.family)
    families = tuple(Family(name, tuple(c for c in codes if c.family == name)) for name in order)
    return CodeTable(success_code=successes[0], codes=tuple(codes), families=families)
