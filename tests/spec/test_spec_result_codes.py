"""Requirement 4: answers and result codes. Each operation shows named examples of success
and of an authorization failure; every code an example, an operation or a field names is in
the one top-level code table; the table is unique, well-formed and covers the reference."""

from esms_spec_support import assert_no_problems
from esms_spec_checks import (
    code_table_problems,
    operation_code_problems,
    phone_error_code_problems,
    twin_operation_problems,
    reference_code_assignment_problems,
    success_and_authorization_example_problems,
    unknown_code_problems,
)



def test_every_operation_documents_named_examples_of_code_100_and_code_101(spec):
    problems = success_and_authorization_example_problems(spec)
    assert_no_problems(problems)


def test_result_code_table_has_unique_well_formed_codes_from_the_allowed_families(spec):
    problems = code_table_problems(spec)
    assert_no_problems(problems)


def test_every_code_an_operation_or_field_names_is_in_the_top_level_table(spec):
    problems = unknown_code_problems(spec)
    assert_no_problems(problems)


def test_every_code_an_operation_can_answer_is_in_its_own_result_codes(spec):
    problems = operation_code_problems(spec)
    assert_no_problems(problems)


def test_every_code_the_reference_attaches_to_an_endpoint_is_in_its_result_codes(spec):
    problems = reference_code_assignment_problems(spec)
    assert_no_problems(problems)


def test_every_phone_number_field_answers_a_missing_or_bad_number_with_108(spec):
    assert_no_problems(phone_error_code_problems(spec))


def test_form_and_json_full_content_sends_answer_field_failures_with_the_same_codes(spec):
    assert_no_problems(twin_operation_problems(spec))
