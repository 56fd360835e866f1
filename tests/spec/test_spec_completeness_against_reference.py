"""Requirement 3: the spec covers the vendor reference (shared/esms-zalo-api.md): its 31
endpoints and the callback, every documented request field, the enumerations and the limits.

The reference's facts are written out in esms_reference_tables.py; when the reference itself
is at hand (../shared beside the repository, or $ESMS_REFERENCE), the endpoint table is also
checked against its §1 index, so a typo in the table cannot hide a gap."""

import os
import re
from pathlib import Path

import pytest

import esms_reference_tables as ref
from esms_spec_support import assert_no_problems
from esms_spec_checks import (
    delivery_callback_problems,
    endpoint_problems,
    enum_problems_for_field,
    follower_enum_problems,
    limit_problems,
    request_field_problems,
    request_id_and_text_limit_problems,
    result_code_field_problems,
    status_host_problems,
)
from esms_spec_support import REPO_ROOT



def _reference_path() -> Path | None:
    candidates = [os.environ.get("ESMS_REFERENCE"), REPO_ROOT.parent / "shared" / "esms-zalo-api.md"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def test_spec_has_exactly_the_31_endpoints_of_the_reference_index_with_their_operation_ids(spec):
    assert len(ref.ENDPOINTS) == 31
    problems = endpoint_problems(spec)
    assert_no_problems(problems)


def test_endpoint_table_of_these_tests_matches_the_reference_index():
    path = _reference_path()
    if path is None:
        pytest.skip("the vendor reference (../shared/esms-zalo-api.md or $ESMS_REFERENCE) is not here")
    text = path.read_text(encoding="utf-8")
    index = text.split("## 1. Endpoint index", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in index.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].isdigit():
            continue
        number, method, path_cell = cells[0], cells[2], cells[3]
        literal = re.search(r"`([^`]+)`", path_cell).group(1)
        if "full path" in path_cell:  # row 17: another host, no MainService.svc
            found[number] = (method, re.search(r"full path `([^`]+)`", path_cell).group(1))
        else:
            found[number] = (method, ref.PREFIX + literal)
    ours = {e.number: (e.method, e.path) for e in ref.ENDPOINTS}
    assert found == ours


def test_get_callback_has_a_per_path_server_for_the_status_sms_host(spec):
    problems = status_host_problems(spec)
    assert_no_problems(problems)


@pytest.mark.parametrize(
    "row", ref.REQUEST_FIELDS, ids=[f"{r.operation_id}{'.' + r.schema if r.schema else ''}" for r in ref.REQUEST_FIELDS]
)
def test_every_request_field_the_reference_documents_is_in_the_spec(spec, row):
    problems = request_field_problems(spec, row)
    assert_no_problems(problems)


def test_the_delivery_callback_carries_every_query_parameter_of_the_reference(spec):
    problems = delivery_callback_problems(spec)
    assert_no_problems(problems)


def test_every_answer_uses_the_result_code_field_and_type_the_reference_assigns(spec):
    problems = result_code_field_problems(spec)
    assert_no_problems(problems)


def test_follower_messages_offer_every_template_type_media_type_button_type_and_element_type(spec):
    problems = follower_enum_problems(spec)
    assert_no_problems(problems)


def test_sandbox_is_exactly_0_or_1_wherever_a_request_takes_it(spec):
    problems = enum_problems_for_field(spec, "Sandbox", ref.SANDBOX_VALUES, ref.SANDBOX_OPERATIONS)
    assert_no_problems(problems)


def test_sending_mode_is_exactly_1_or_3_wherever_a_request_takes_it(spec):
    problems = enum_problems_for_field(spec, "SendingMode", ref.SENDING_MODE_VALUES, ref.SENDING_MODE_OPERATIONS)
    assert_no_problems(problems)


def test_request_id_is_at_most_50_characters_and_follower_text_at_most_2000_everywhere(spec):
    problems = request_id_and_text_limit_problems(spec)
    assert_no_problems(problems)


@pytest.mark.parametrize("limit", ref.LIMITS, ids=[f"{l.schema or l.operation_id}.{l.field}" for l in ref.LIMITS])
def test_every_size_limit_of_the_reference_is_a_schema_keyword(spec, limit):
    problems = limit_problems(spec, limit)
    assert_no_problems(problems)
