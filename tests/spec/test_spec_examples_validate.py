"""Requirement 2: every example of the spec validates against its own schema, with OAS 3.0
semantics (nullable, discriminator), `$ref`s resolved through a referencing Registry.

Covered: request bodies, responses, parameters and headers of every operation and callback
(component examples followed through their `$ref`), the reusable components themselves, and
the `example` and `default` keywords inside component schemas. One test per example, so a
failure names the operation (or component) and the example."""

import pytest

from esms_spec_checks import unused_component_example_problems
from esms_spec_support import assert_no_problems, example_cases, the_spec, validation_errors

CASES = example_cases(the_spec())


def test_the_spec_has_examples_for_every_operation():
    assert len(CASES) > 100, f"only {len(CASES)} examples found: the example walker is broken"


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_example_validates_against_its_own_schema(spec, case):
    errors = validation_errors(spec, case.schema_ptr, case.value)
    assert_no_problems(errors, f"{case.label} does not match its schema {case.schema_ptr}")


def test_every_component_example_is_used_so_that_a_schema_checks_it(spec):
    assert_no_problems(unused_component_example_problems(spec))
