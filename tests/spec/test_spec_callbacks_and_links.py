"""Requirement 5: callbacks for every CallbackUrl, and links from every SMSID to the status
operations that take it."""

from esms_spec_support import assert_no_problems
from esms_spec_checks import callback_url_problems, link_problems, send_link_problems, send_operations



def test_every_operation_that_takes_a_callback_url_declares_a_callback_for_it(spec):
    problems = callback_url_problems(spec)
    assert_no_problems(problems)


def test_every_send_operation_links_its_smsid_to_get_send_status(spec):
    assert len(send_operations(spec)) == 12, [op.operation_id for op in send_operations(spec)]
    problems = send_link_problems(spec)
    assert_no_problems(problems)


def test_every_link_targets_an_existing_operation_with_its_parameters_and_valid_expressions(spec):
    problems = link_problems(spec)
    assert_no_problems(problems)
