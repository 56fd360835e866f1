"""esms_spec: the packaged specs and the one reader the mock, sdkgen and the tests share."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import esms_spec
from esms_spec import ResultCode, SpecError

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------- the documents
def test_each_packaged_spec_is_the_file_in_spec() -> None:
    # In a checkout (editable install) the package data is spec/ itself: one copy, nothing to sync.
    # tests/packaging checks the same of a built wheel.
    for name in esms_spec.SPECS:
        assert esms_spec.spec_path(name).resolve() == (ROOT / "spec" / name).resolve()


def test_an_unknown_spec_name_is_refused() -> None:
    with pytest.raises(SpecError, match="no packaged spec named 'other.yaml'"):
        esms_spec.spec_path("other.yaml")


def test_load_spec_returns_a_fresh_document_each_time() -> None:
    first = esms_spec.load_spec()
    first["info"]["title"] = "changed"

    assert esms_spec.load_spec()["info"]["title"] != "changed"


def test_the_reader_imports_neither_the_mock_nor_the_generator() -> None:
    # The arrows point one way: the mock and sdkgen import esms_spec, never the reverse.
    imported: set[str] = set()
    for path in (ROOT / "esms_spec").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])

    assert imported >= {"esms_spec", "yaml"}
    assert not imported & {"mock_server", "sdkgen", "esms_zalo"}


# ---------------------------------------------------------------------------- the YAML cache
def test_a_document_reads_the_same_with_and_without_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "doc.yaml"
    source.write_text("a: [1, 2.5, true, null]\nb: {c: text}\n", encoding="utf-8")

    assert esms_spec.load_yaml(source) == esms_spec.load_yaml(source) == {"a": [1, 2.5, True, None], "b": {"c": "text"}}


def test_yaml_that_json_cannot_hold_is_never_served_from_the_cache(tmp_path: Path) -> None:
    # A date would come back from a JSON cache as a string: such a document is parsed every time.
    source = tmp_path / "dated.yaml"
    source.write_text("day: 2026-12-01\n200: ok\n", encoding="utf-8")

    first, second = esms_spec.load_yaml(source), esms_spec.load_yaml(source)

    assert first == second
    assert type(first["day"]).__name__ == "date"
    assert 200 in second


# ---------------------------------------------------------------------------- references
DOCUMENT = {
    "components": {
        "schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"type": "string"},
            "Loop": {"$ref": "#/components/schemas/Loop2"},
            "Loop2": {"$ref": "#/components/schemas/Loop"},
            "a/b~c": {"type": "integer"},
        }
    },
    "list": [{"x": 1}],
}


def test_resolve_follows_chained_references() -> None:
    assert esms_spec.resolve(DOCUMENT, {"$ref": "#/components/schemas/A"}) == {"type": "string"}


def test_deref_returns_the_pointer_of_the_node_it_reached() -> None:
    assert esms_spec.deref(DOCUMENT, {"$ref": "#/components/schemas/A"}, "/here") == (
        {"type": "string"},
        "/components/schemas/B",
    )


def test_a_node_without_a_reference_is_returned_as_it_is() -> None:
    node = {"type": "object"}

    assert esms_spec.deref(DOCUMENT, node, "/p") == (node, "/p")


def test_pointers_escape_and_unescape_per_rfc_6901() -> None:
    ptr = esms_spec.pointer("components", "schemas", "a/b~c")

    assert ptr == "/components/schemas/a~1b~0c"
    assert esms_spec.at(DOCUMENT, ptr) == {"type": "integer"}
    assert esms_spec.at(DOCUMENT, "/list/0/x") == 1


def test_a_circular_reference_is_an_error() -> None:
    with pytest.raises(SpecError, match="circular reference"):
        esms_spec.resolve(DOCUMENT, {"$ref": "#/components/schemas/Loop"})


def test_a_reference_to_another_file_is_an_error() -> None:
    with pytest.raises(SpecError, match="only local references"):
        esms_spec.resolve(DOCUMENT, {"$ref": "other.yaml#/components/schemas/B"})


def test_a_reference_to_nothing_raises_key_error() -> None:
    with pytest.raises(KeyError):
        esms_spec.resolve(DOCUMENT, {"$ref": "#/components/schemas/Missing"})


# ---------------------------------------------------------------------------- the result-code table
def test_the_result_code_table_is_read_in_order_and_keyed_by_code() -> None:
    document = esms_spec.load_spec()

    table = esms_spec.result_codes(document)

    assert list(table) == [str(row["code"]) for row in document["x-esms-result-codes"]]
    assert all(key == code.code for key, code in table.items())
    assert table["100"].family == esms_spec.SUCCESS_FAMILY


def test_codes_written_as_numbers_are_read_as_strings() -> None:
    table = esms_spec.result_codes({"x-esms-result-codes": [{"code": 100, "family": "success"}]})

    assert table == {"100": ResultCode("100", "success", "", "")}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (None, "no top-level x-esms-result-codes"),
        ([], "no top-level x-esms-result-codes"),
        ([{"code": "100"}], "lacks a code or a family"),
        (["100"], "lacks a code or a family"),
        ([{"code": "100", "family": "success"}, {"code": "100", "family": "auth"}], "lists the code 100 twice"),
    ],
)
def test_a_malformed_result_code_table_is_a_spec_error(table: object, message: str) -> None:
    document = {} if table is None else {"x-esms-result-codes": table}

    with pytest.raises(SpecError, match=message):
        esms_spec.result_codes(document)
