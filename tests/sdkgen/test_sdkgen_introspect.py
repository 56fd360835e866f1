"""Turning generated model annotations back into the source of method signatures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypeAliasType

from sdkgen.introspect import IntrospectionError, _Renderer, _scalar

Param = TypeAliasType("Param", Annotated[str, Field(max_length=10)])
Digits = TypeAliasType("Digits", Annotated[str, Field(pattern="^[0-9]+$")])


class Leg(BaseModel):
    a: int


class OtherLeg(BaseModel):
    b: int


@pytest.mark.parametrize(
    ("annotation", "source"),
    [
        (str, "str"),
        (str | None, "str | None"),
        (None | int, "int | None"),
        (Annotated[str, Field(max_length=3)], "str"),
        (list[Param], "list[str]"),
        (Annotated[int, Field(ge=0)] | Digits, "int | str"),
        (Literal["0", "1"] | None, 'Literal["0", "1"] | None'),
        (Literal[0, 1, 2], "Literal[0, 1, 2]"),
        (list[Annotated[Leg | OtherLeg, Field(discriminator=None)]], "list[Leg | OtherLeg]"),
        (dict[str, Param], "dict[str, str]"),
    ],
)
def test_annotations_render_as_plain_source_without_constraints_or_aliases(annotation: Any, source: str) -> None:
    assert _Renderer().render(annotation) == source


def test_rendering_collects_the_models_and_typing_names_to_import() -> None:
    renderer = _Renderer()

    renderer.render(list[Leg | OtherLeg] | Literal["x"] | None)

    assert renderer.model_names == {"Leg", "OtherLeg"}
    assert renderer.typing_names == {"Literal"}


def test_an_annotation_it_cannot_write_is_refused() -> None:
    with pytest.raises(IntrospectionError):
        _Renderer().render(complex)


@pytest.mark.parametrize(
    ("annotation", "scalar"),
    [
        (int | None, "int"),
        (Literal[0, 1, 2, 4, 5, 7] | None, "int"),
        (float | None, "float"),
        (Annotated[str, Field(max_length=3)] | None, "str"),
        (Param, "str"),
        (bool, "bool"),
        (int | str, "other"),
        (list[int], "other"),
    ],
)
def test_query_string_reading_follows_the_single_non_none_type(annotation: Any, scalar: str) -> None:
    assert _scalar(annotation) == scalar
