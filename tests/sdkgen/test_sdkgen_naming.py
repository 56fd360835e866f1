"""The SDK's names follow sdkgen/vocabulary.yaml, and the checks that hold it can fail."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from esms_zalo import AsyncClient, Client
from sdkgen.generate import generate
from sdkgen.introspect import FieldInfo, describe_models
from sdkgen.naming import (
    VOCABULARY_PATH,
    Parameter,
    Vocabulary,
    VocabularyError,
    check_names,
    english_words,
    make_parameter,
)
from sdkgen.operations import CREDENTIAL_FIELDS, derive_operations
from sdkgen.spec import SpecDocument

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "esms-zalo.openapi.yaml"
GENERATED = ROOT / "generated"
IS_WORD = english_words()


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.load()


@pytest.fixture(scope="module")
def spec() -> SpecDocument:
    return SpecDocument.load(SPEC)


@pytest.fixture(scope="module")
def generated_fields() -> dict[str, list[FieldInfo]]:
    """Every model of generated/ as sdkgen sees it (imported in a child process)."""
    return describe_models(GENERATED)


@pytest.fixture(scope="module")
def parameters(
    vocabulary: Vocabulary, spec: SpecDocument, generated_fields: dict[str, list[FieldInfo]]
) -> dict[str, list[Parameter]]:
    return {
        op.operation_id: [
            make_parameter(vocabulary, op.request_model, f)
            for f in generated_fields[op.request_model]
            if f.alias not in CREDENTIAL_FIELDS
        ]
        for op in derive_operations(spec)
    }


def field(name: str, alias: str, model: str, annotation: str = "str", pattern: str | None = None) -> FieldInfo:
    return FieldInfo(
        name=name, alias=alias, required=True, annotation=annotation, model_names=(), typing_names=(),
        scalar="str", declared_in=model, pattern=pattern,
    )  # fmt: skip


def parameter(f: FieldInfo, annotation: str | None = None) -> Parameter:
    return Parameter(
        name=f.name, wire_name=f.alias, required=True, annotation=annotation or f.annotation, kind=None,
        wire_format=None, wire_is_text=False, about="x", field=f,
    )  # fmt: skip


def vocabulary_of(names: dict[str, Any], concept_schemas: list[str] | None = None) -> Vocabulary:
    return Vocabulary.from_document(
        {"terms": {"oa": "Official Account", "id": "identifier", "sms": "message"},
         "concept_schemas": concept_schemas or [], "names": names}
    )  # fmt: skip


# ---------------------------------------------------------------------- the SDK as generated
def test_the_generated_sdk_breaks_no_rule_of_the_vocabulary(
    vocabulary: Vocabulary,
    spec: SpecDocument,
    generated_fields: dict[str, list[FieldInfo]],
    parameters: dict[str, list[Parameter]],
) -> None:
    assert check_names(vocabulary, generated_fields, parameters, spec, IS_WORD) == []


def test_every_methods_parameters_are_the_vocabularys_names_in_both_clients(
    parameters: dict[str, list[Parameter]],
) -> None:
    for client_class in (Client, AsyncClient):
        for operation_id, expected in parameters.items():
            signature = inspect.signature(getattr(client_class, operation_id)).parameters
            names = [n for n in signature if n not in ("self", "timeout", "extra_body")]
            assert sorted(names) == sorted(p.name for p in expected), (client_class.__name__, operation_id)
            for p in expected:
                # `from __future__ import annotations` keeps the source text, re-quoted by Python.
                assert signature[p.name].annotation == p.signature_annotation.replace('"', "'"), (operation_id, p.name)


@pytest.mark.parametrize(
    ("operation_id", "wire", "python"),
    [
        ("send_zns_v6", "OAID", "oa_id"),
        ("list_templates", "OAId", "oa_id"),
        ("send_zns_v6", "TempID", "template_id"),
        ("get_template_info", "TemplateId", "template_id"),
        ("get_ratings", "TemplateID", "template_id"),
        ("send_zns_v6", "TempData", "template_data"),
        ("send_zns_v4", "Params", "template_data"),
        ("send_zns_v6", "campaignid", "campaign_id"),
        ("send_full_content_form", "Smstype", "sms_type"),
        ("send_full_content_json", "SmsType", "sms_type"),
        ("get_send_status", "RefId", "sms_id"),
        ("get_receiver_status", "RefId", "sms_id"),
        ("query_zns_status", "SmsId", "sms_id"),
        ("get_callback_data", "ListRefid", "sms_ids"),
        ("register_oa_package", "Dateactive", "date_active"),
        ("register_oa_package", "Duaration", "duration_months"),
    ],
)
def test_the_vendors_spellings_get_one_python_name_each(
    parameters: dict[str, list[Parameter]], operation_id: str, wire: str, python: str
) -> None:
    (found,) = [p for p in parameters[operation_id] if p.wire_name == wire]
    assert found.name == python


def test_the_typo_is_named_in_english_and_the_docstring_says_what_esms_calls_it() -> None:
    doc = inspect.getdoc(Client.register_oa_package) or ""
    assert "duration_months" in doc and "`Duaration`" in doc
    assert "duaration" not in inspect.signature(Client.register_oa_package).parameters


def test_no_parameter_keeps_a_wire_mirroring_name(parameters: dict[str, list[Parameter]]) -> None:
    old = {"oaid", "temp_id", "temp_data", "campaignid", "smstype", "ref_id", "list_refid", "dateactive",
           "duaration", "send_date", "from_", "to", "params", "zalo_uid", "time_alive", "type_id", "cta1"}  # fmt: skip
    used = {p.name for ps in parameters.values() for p in ps}
    assert not old & used


def test_the_sms_id_of_an_answer_is_sms_id_everywhere(generated_fields: dict[str, list[FieldInfo]]) -> None:
    names = {f.name for fields in generated_fields.values() for f in fields if f.alias in ("SMSID", "ReferenceId")}
    assert names == {"sms_id"}
    (portal,) = [f for f in generated_fields["SentDataItem"] if f.alias == "SmsId"]
    assert portal.name == "portal_id"  # the same spelling, another thing: scoped in the vocabulary


# ---------------------------------------------------------------------- the checks can fail
def test_one_spec_concept_with_two_python_names_is_reported() -> None:
    spec = SpecDocument({"paths": {}, "components": {"schemas": {
        "OaId": {"type": "string"},
        "A": {"properties": {"OAID": {"$ref": "#/components/schemas/OaId"}}},
        "B": {"properties": {"OAId": {"$ref": "#/components/schemas/OaId"}}},
    }}})  # fmt: skip
    vocabulary = vocabulary_of({"oa_id": {"about": "x", "wire": ["OAId"]}}, concept_schemas=["OaId"])
    models = {"A": [field("oa_identifier", "OAID", "A")], "B": [field("oa_id", "OAId", "B")]}

    problems = check_names(vocabulary, models, {}, spec, IS_WORD)

    assert any("the spec's OaId has several Python names" in p for p in problems), problems


def test_one_wire_spelling_with_two_python_names_is_reported() -> None:
    models = {"A": [field("sms_type", "SmsType", "A")], "B": [field("message_type", "SmsType", "B")]}

    problems = check_names(vocabulary_of({}), models, {}, None, IS_WORD)

    assert "wire name 'SmsType' has several Python names: ['message_type', 'sms_type']" in problems


def test_a_field_the_generator_did_not_rename_is_reported() -> None:
    vocabulary = vocabulary_of({"oa_id": {"about": "x", "wire": ["OAID"]}})
    models = {"A": [field("oaid", "OAID", "A")]}

    problems = check_names(vocabulary, models, {}, None, IS_WORD)

    assert any("the vocabulary names it 'oa_id'" in p for p in problems), problems


def test_a_parameter_outside_the_vocabulary_is_reported() -> None:
    outside = field("color", "Color", "A")

    problems = check_names(vocabulary_of({}), {"A": [outside]}, {"send": [parameter(outside)]}, None, IS_WORD)

    assert "send(color=...) (wire 'Color'): not in the vocabulary" in problems


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("tempID", "is not snake_case"),
        ("_sms", "is not snake_case"),
        ("duaration", "neither English nor terms"),
        ("oaid", "neither English nor terms"),
        ("campaignid", "neither English nor terms"),
        ("sms_type_cta1", "neither English nor terms"),
    ],
)
def test_a_name_that_is_not_snake_case_english_is_reported(name: str, complaint: str) -> None:
    vocabulary = vocabulary_of({name: {"about": "x", "wire": ["Wire"]}}) if name.isidentifier() else vocabulary_of({})
    bad = field(name, "Wire", "A")

    problems = check_names(vocabulary, {"A": [bad]}, {"send": [parameter(bad)]}, None, IS_WORD)

    assert any(complaint in p and p.startswith("send(") for p in problems), problems
    assert any(complaint in p and p.startswith("A.") for p in problems), problems


def test_a_vocabulary_name_given_by_snake_case_to_another_spelling_is_reported() -> None:
    # SentDataItem.SmsId is the portal's id, not the SMSID: without its own entry it would be `sms_id`.
    vocabulary = vocabulary_of({"sms_id": {"about": "x", "wire": ["SMSID"]}})
    models = {"SendResponse": [field("sms_id", "SMSID", "SendResponse")],
              "SentDataItem": [field("sms_id", "SmsId", "SentDataItem")]}  # fmt: skip

    problems = check_names(vocabulary, models, {}, None, IS_WORD)

    assert any(p.startswith("SentDataItem.sms_id") and "scoped `SentDataItem.SmsId` entry" in p for p in problems)


def test_a_vocabulary_spelling_that_matches_no_field_is_reported() -> None:
    # ZnsBulkRequest inherits TempID from ZnsCommon: a scope on the subclass would never apply.
    vocabulary = vocabulary_of({"template_id": {"about": "x", "wire": ["ZnsBulkRequest.TempID"]}})
    models = {"ZnsCommon": [field("temp_id", "TempID", "ZnsCommon")]}

    problems = check_names(vocabulary, models, {}, None, IS_WORD)

    assert "the vocabulary's 'ZnsBulkRequest.TempID' (template_id) is no field of the generated models" in problems


def test_a_parameter_typed_as_a_number_and_its_string_is_reported() -> None:
    vocabulary = vocabulary_of({"page": {"about": "x", "wire": ["Page"]}})
    page = field("page", "Page", "A", annotation="int | str")

    problems = check_names(vocabulary, {"A": [page]}, {"read": [parameter(page)]}, None, IS_WORD)

    assert "read(page=...) (wire 'Page'): typed int | str, a number and its string form" in problems


def test_a_parameter_named_like_a_per_call_option_is_reported() -> None:
    vocabulary = vocabulary_of({"timeout": {"about": "x", "wire": ["Timeout"]}})
    timeout = field("timeout", "Timeout", "A")

    problems = check_names(vocabulary, {"A": [timeout]}, {"read": [parameter(timeout)]}, None, IS_WORD)

    assert any("is a per-call option of every method" in p for p in problems)


def test_the_real_vocabulary_on_a_model_with_a_stray_name_reports_it(
    vocabulary: Vocabulary, spec: SpecDocument, generated_fields: dict[str, list[FieldInfo]]
) -> None:
    broken = {
        model: [replace(f, name="oaid") if (model, f.alias) == ("ZnsCommon", "OAID") else f for f in fields]
        for model, fields in generated_fields.items()
    }

    problems = check_names(vocabulary, broken, {}, spec, IS_WORD)

    assert any(p.startswith("ZnsCommon.oaid (wire 'OAID'): the vocabulary names it 'oa_id'") for p in problems)
    assert any("the spec's OaId has several Python names" in p for p in problems)


# ---------------------------------------------------------------------- parameter types
def test_a_flag_needs_a_0_and_1_field() -> None:
    vocabulary = vocabulary_of({"sandbox": {"about": "x", "wire": ["Sandbox"], "type": "flag"}})

    assert make_parameter(vocabulary, "A", field("sandbox", "Sandbox", "A", 'Literal["0", "1"] | None')).annotation == "bool"
    with pytest.raises(VocabularyError, match="a flag needs"):
        make_parameter(vocabulary, "A", field("sandbox", "Sandbox", "A", 'Literal["24", "25"]'))


def test_a_date_format_the_specs_pattern_refuses_stops_generation() -> None:
    vocabulary = vocabulary_of(
        {"from_date": {"about": "x", "wire": ["FromDate"], "type": "date", "format": "%Y-%m-%d"}}
    )
    dd_mm_yyyy = field("from_date", "FromDate", "A", pattern="^[0-9]{2}/[0-9]{2}/[0-9]{4}$")

    with pytest.raises(VocabularyError, match="which the spec's pattern"):
        make_parameter(vocabulary, "A", dd_mm_yyyy)


def test_a_parameter_without_a_vocabulary_name_keeps_its_model_type_for_the_check_to_report() -> None:
    color = make_parameter(vocabulary_of({}), "A", field("color", "Color", "A", 'Literal[1, 2] | Literal["1", "2"]'))

    assert (color.name, color.kind, color.annotation) == ("color", None, "Literal[1, 2]")


@pytest.mark.parametrize(
    ("names", "complaint"),
    [
        ({"a_id": {"about": "x", "wire": ["X"]}, "b_id": {"about": "x", "wire": ["X"]}}, "given to both"),
        ({"day": {"about": "x", "wire": ["Day"], "format": "%Y"}}, "a `format` goes with"),
        ({"day": {"about": "x", "wire": ["Day"], "type": "moment"}}, "not one of"),
        ({"day": {"wire": ["Day"]}}, "needs `about`"),
    ],
)
def test_a_malformed_vocabulary_is_refused(names: dict[str, Any], complaint: str) -> None:
    with pytest.raises(VocabularyError, match=complaint):
        vocabulary_of(names)


def test_generation_stops_when_the_vocabulary_misses_a_spelling(tmp_path: Path) -> None:
    document = yaml.safe_load(VOCABULARY_PATH.read_text(encoding="utf-8"))
    document["names"]["oa_id"]["wire"].remove("OAID")
    bad = tmp_path / "vocabulary.yaml"
    bad.write_text(yaml.safe_dump(document), encoding="utf-8")

    with pytest.raises(VocabularyError) as raised:
        generate(SPEC, vocabulary_path=bad)

    message = str(raised.value)
    assert "send_zns_v6(oaid=...) (wire 'OAID'): not in the vocabulary" in message
    assert "the spec's OaId has several Python names" in message
    assert "'oaid' has words that are neither English nor terms of the vocabulary" in message
