"""Requirement 1: the spec is a valid, self-contained OpenAPI 3.0 document."""

from esms_spec_support import assert_no_problems
from esms_spec_checks import (
    discriminator_problems,
    duplicate_key_problems,
    nullable_problems,
    openapi_validity_problems,
    python_pattern_problems,
    ref_problems,
)
from esms_spec_support import SPEC_PATH



def test_spec_validates_with_openapi_spec_validator_as_openapi_3_0(spec):
    problems = openapi_validity_problems(spec)
    assert_no_problems(problems)


def test_spec_file_is_utf8_without_a_byte_order_mark():
    raw = SPEC_PATH.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "the spec starts with a UTF-8 byte order mark"
    raw.decode("utf-8")


def test_spec_yaml_has_no_duplicate_keys():
    problems = duplicate_key_problems(SPEC_PATH.read_text(encoding="utf-8"))
    assert_no_problems(problems)


def test_every_ref_is_local_and_resolves(spec):
    problems = ref_problems(spec)
    assert_no_problems(problems)


def test_nullable_always_stands_next_to_a_type(spec):
    problems = nullable_problems(spec)
    assert_no_problems(problems)


def test_every_discriminator_maps_each_variant_to_the_one_value_it_accepts(spec):
    problems = discriminator_problems(spec)
    assert_no_problems(problems)


def test_every_pattern_is_a_valid_python_regex(spec):
    problems = python_pattern_problems(spec)
    assert_no_problems(problems)
