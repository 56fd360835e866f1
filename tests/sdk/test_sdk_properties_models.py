"""Every request and response model of the SDK round-trips through JSON by alias unchanged.

For each operation's request model (the body or query-parameter model the client validates
and sends) and response model, and for the callback's models, generated instances satisfy:

    Model.model_validate_json(instance.model_dump_json(by_alias=True)) == instance

and the same for the form the client puts on the wire (exclude_unset). Response models are
generated as eSMS sends them (unknown fields, numbers as digit strings, codes as numbers) and
must first hold exactly the canonical values; request models as the spec writes them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, note
from pydantic import BaseModel
from sdk_strategies import AS_ESMS_SENDS, CANONICAL, PROPERTIES, is_request_model, model_schemas, wire_pairs

MODELS = model_schemas()


@pytest.mark.parametrize(("name", "model", "schema"), MODELS, ids=[name for name, _, _ in MODELS])
def test_every_model_survives_json_by_alias_and_back_unchanged(
    name: str, model: type[BaseModel], schema: dict[str, Any]
) -> None:
    style = CANONICAL if is_request_model(model) else AS_ESMS_SENDS

    @PROPERTIES
    @given(pair=wire_pairs(schema, style))
    def check(pair: tuple[Any, Any]) -> None:
        wire, canonical = pair
        note(f"{name}: {wire!r}")
        instance = model.model_validate(wire)
        assert instance.model_dump(by_alias=True, exclude_unset=True) == canonical

        text = instance.model_dump_json(by_alias=True)
        again = model.model_validate_json(text)
        assert again == instance
        assert again.model_dump_json(by_alias=True) == text

        sent = instance.model_dump_json(by_alias=True, exclude_unset=True)  # what the client sends
        assert model.model_validate_json(sent) == instance

    check()
