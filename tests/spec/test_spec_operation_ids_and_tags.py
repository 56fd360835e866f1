"""Requirement 6: operationIds a Python SDK can use as method names, and one tag each."""

from esms_spec_support import assert_no_problems
from esms_spec_checks import operation_id_problems, tag_problems


def test_operation_ids_are_unique_snake_case_python_identifiers_and_not_keywords(spec):
    problems = operation_id_problems(spec)
    assert_no_problems(problems)


def test_every_operation_has_exactly_one_of_the_tags_sending_status_account(spec):
    problems = tag_problems(spec)
    assert_no_problems(problems)
