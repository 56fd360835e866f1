"""Bounds on fixtures documents (mock_server.store.document_limits): too deep or too big is bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from mock_server.store.document_limits import MAX_DEPTH, DocumentTooComplex, check_tree, check_yaml_nesting
from mock_server.store.fixtures import FixtureError, read_document

DEEP = 10_000
DEEP_YAML_FLOW = "accounts: " + "[" * DEEP + "]" * DEEP
DEEP_YAML_BLOCK = "".join("  " * level + "- \n" for level in range(500))
DEEP_JSON = '{"accounts": ' + "[" * 900 + "]" * 900 + "}"  # within orjson's own limit of 1024
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))


def test_a_document_as_deep_as_the_limit_passes_and_one_level_more_does_not():
    node: object = "leaf"
    for _ in range(MAX_DEPTH):
        node = [node]
    check_tree(node)
    with pytest.raises(DocumentTooComplex, match=f"nested more than {MAX_DEPTH} levels"):
        check_tree([node])


@pytest.mark.parametrize("text", [DEEP_YAML_FLOW, DEEP_YAML_BLOCK], ids=["flow", "block"])
def test_deep_yaml_is_refused_before_it_is_built(text: str):
    with pytest.raises(DocumentTooComplex):
        check_yaml_nesting(text)


def test_yaml_aliases_that_expand_to_billions_of_values_are_refused():
    import yaml

    with pytest.raises(DocumentTooComplex, match="more than 200,000 values"):
        check_tree(yaml.safe_load(BILLION_LAUGHS))


@pytest.mark.parametrize(("name", "text"), [("deep.yaml", DEEP_YAML_FLOW), ("deep.json", DEEP_JSON),
                                            ("laughs.yaml", BILLION_LAUGHS)])
def test_a_fixtures_file_too_deep_or_too_big_is_a_fixture_error(tmp_path: Path, name: str, text: str):
    (tmp_path / name).write_text(text)
    with pytest.raises(FixtureError, match="nested more than|more than 200,000 values"):
        read_document(tmp_path / name)


@pytest.mark.parametrize(("body", "content_type"), [
    (DEEP_YAML_FLOW, "application/yaml"), (DEEP_YAML_BLOCK, "application/yaml"), (BILLION_LAUGHS, "application/yaml"),
    (DEEP_JSON, "application/json"), ('{"accounts": ' + "[" * DEEP + "]" * DEEP + "}", "application/json"),
], ids=["yaml-flow-10000", "yaml-block-500", "yaml-aliases", "json-900", "json-10000"])
def test_put_fixtures_too_deep_or_too_big_is_an_ordinary_400_and_keeps_the_fixtures(client: FlaskClient, body: str,
                                                                                  content_type: str):
    before = client.get("/_mock/fixtures").get_json()
    response = client.put("/_mock/fixtures", data=body, content_type=content_type)
    assert response.status_code == 400 and response.mimetype == "application/json"
    answer = response.get_json()
    assert answer["error"] == "Malformed fixtures" and answer["message"]
    assert client.get("/_mock/fixtures").get_json() == before
