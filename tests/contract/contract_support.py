"""Helpers of the contract tests: the two specs loaded for schemathesis, and a strategy that steers
generated bodies to the demo fixtures. The served `esms-mock` itself is mock_server.testing.ServedMock."""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from hypothesis import strategies as st

import esms_spec

ESMS_SPEC = esms_spec.spec_path(esms_spec.ESMS_SPEC)
CONTROL_SPEC = esms_spec.spec_path(esms_spec.CONTROL_SPEC)

# How much the schemathesis run does: `make test` uses the defaults (a bounded run), `make fuzz` more.
MAX_EXAMPLES = int(os.environ.get("ESMS_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("ESMS_FUZZ_SEED", "20250116"))
STATEFUL_SCENARIOS = int(os.environ.get("ESMS_FUZZ_STATEFUL", "20"))

CASES: Counter[str] = Counter()  # schemathesis cases sent per operation in this session
_CASE_TIMES: list[float] = []  # when the first and the latest case were sent


def record_case(operation: str) -> None:
    now = time.monotonic()
    _CASE_TIMES[:] = [_CASE_TIMES[0] if _CASE_TIMES else now, now]
    CASES[operation] += 1


def fuzz_summary() -> str | None:
    """One line for the end of the run: cases, operations, time (None when nothing was fuzzed)."""
    if not CASES:
        return None
    seconds = _CASE_TIMES[1] - _CASE_TIMES[0]
    return (f"{sum(CASES.values())} cases to {len(CASES)} operations in {seconds:.0f} s "
            f"(ESMS_FUZZ_EXAMPLES={MAX_EXAMPLES}, seed {SEED}); "
            f"per operation: fewest {min(CASES.values())}, most {max(CASES.values())}")


# Values of the demo fixtures that let a generated request reach the behaviour (code 100).
DEMO_OAID, DEMO_PHONE, DEMO_TEMPLATE = "4097311281936189049", "0901888484", "205644"
DEMO_VALUES: dict[str, Any] = {"OAID": DEMO_OAID, "Phone": DEMO_PHONE, "TempID": DEMO_TEMPLATE,
                               "TemplateId": DEMO_TEMPLATE, "Brandname": "DEMO"}
DEMO_TEMPDATA: dict[str, Any] = {"send_zns_v5": [{"key": "otp", "value": "123456"}],
                                 "send_zns_v6": {"otp": "123456"}, "send_zns_by_uid": {"otp": "123456"},
                                 "send_zns_by_hashed_phone": {"otp": "123456"}}


def _first_example(operation: Any) -> dict[str, Any] | None:
    content = operation.definition.raw.get("requestBody", {}).get("content", {})
    for media in content.values():
        for example in (media.get("examples") or {}).values():
            if isinstance(example, dict) and isinstance(example.get("value"), dict):
                return dict(example["value"])
        if isinstance(media.get("example"), dict):
            return dict(media["example"])
    return None


def steer_to_demo(operation: Any, body: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A third of the bodies stay as generated; a third use the demo OA/phone/template in the generated
    body; a third are the operation's first spec example on the demo data (accepted: an SMSID)."""
    operation_id = operation.definition.raw.get("operationId")

    def demo(value: dict[str, Any]) -> dict[str, Any]:
        value = {**value, **{key: DEMO_VALUES[key] for key in value if key in DEMO_VALUES}}
        if "TempData" in value and operation_id in DEMO_TEMPDATA:
            value["TempData"] = DEMO_TEMPDATA[operation_id]
        if isinstance(value.get("Data"), list):
            value["Data"] = [{**item, **{k: DEMO_VALUES[k] for k in item if k in DEMO_VALUES}}
                             if isinstance(item, dict) else item for item in value["Data"]]
        return value

    choices = [body, demo(body)]
    example = _first_example(operation)
    if example is not None:
        example = demo({**example, "ApiKey": body.get("ApiKey"), "SecretKey": body.get("SecretKey")})
        for part in [example, *[item for item in example.get("Data") or [] if isinstance(item, dict)]]:
            part.pop("RequestId", None)  # a repeated RequestId is answered 124, without an SMSID
            part.pop("CallbackUrl", None)  # the example's receiver is not on this machine
        choices.append(example)
    return st.sampled_from(choices)
