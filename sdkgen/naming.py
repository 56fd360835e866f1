"""The SDK's names: the vocabulary (sdkgen/vocabulary.yaml) and the checks that hold it.

The vocabulary maps each wire spelling (or `Model.Wire`, for a spelling that means something
else in one model) to the one Python name of its concept. It is given to
datamodel-code-generator as its `--aliases` mapping, so the models carry the Python names with
the wire spelling as pydantic alias, and it gives each client parameter its Python type
(`types`: flag, integer, date, datetime) and wire format. `check_names` then reads the generated
models back and reports every name that breaks the rules; sdkgen refuses to generate while it
reports anything.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .introspect import FieldInfo
from .spec import SpecDocument, SpecError

VOCABULARY_PATH = Path(__file__).resolve().parent / "vocabulary.yaml"
KINDS = ("flag", "integer", "date", "datetime")
DATE_KINDS = ("date", "datetime")
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# Names every method takes besides its parameters (the per-call options), and `self`.
RESERVED_PARAMETERS = frozenset({"self", "timeout", "extra_body"})
# A date and time whose every part differs, to try a `format` against the spec's pattern.
_SAMPLE_MOMENT = datetime(2025, 11, 23, 19, 45, 56)


class VocabularyError(SpecError):
    """The vocabulary file is malformed, or the generated names break its rules."""


@dataclass(frozen=True)
class Name:
    """One concept: its Python name and the wire spellings that mean it."""

    python: str
    about: str
    wire: tuple[str, ...]  # "OAID", or "ZnsBulkRequest.Data" for a spelling scoped to one model
    kind: str | None  # a key of KINDS, or None: the parameter keeps the model field's type
    wire_format: str | None  # strftime format, for date and datetime


@dataclass(frozen=True)
class Vocabulary:
    names: tuple[Name, ...]
    terms: Mapping[str, str]  # words that are no English words, with what they mean
    concept_schemas: tuple[str, ...]  # spec schemas that are one concept each

    @classmethod
    def load(cls, path: Path = VOCABULARY_PATH) -> Vocabulary:
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        return cls.from_document(document, label=path.name)

    @classmethod
    def from_document(cls, document: Any, label: str = "the vocabulary") -> Vocabulary:
        if not isinstance(document, Mapping) or not isinstance(document.get("names"), Mapping):
            raise VocabularyError(f"{label}: expected a mapping with `names`")
        names = []
        for python, entry in document["names"].items():
            if not isinstance(entry, Mapping) or not entry.get("wire") or not entry.get("about"):
                raise VocabularyError(f"{label}: {python!r} needs `about` and a list of `wire` spellings")
            kind = entry.get("type")
            if kind is not None and kind not in KINDS:
                raise VocabularyError(f"{label}: {python!r} has type {kind!r}, not one of {KINDS}")
            wire_format = entry.get("format")
            if (kind in DATE_KINDS) != (wire_format is not None):
                raise VocabularyError(f"{label}: {python!r}: a `format` goes with type date or datetime, and only there")
            names.append(
                Name(
                    python=str(python),
                    about=str(entry["about"]),
                    wire=tuple(str(w) for w in entry["wire"]),
                    kind=kind,
                    wire_format=wire_format,
                )
            )
        vocabulary = cls(
            names=tuple(names),
            terms={str(k): str(v) for k, v in (document.get("terms") or {}).items()},
            concept_schemas=tuple(str(s) for s in document.get("concept_schemas") or ()),
        )
        seen: dict[str, str] = {}
        for name in vocabulary.names:
            for wire in name.wire:
                if wire in seen:
                    raise VocabularyError(f"{label}: wire name {wire!r} is given to both {seen[wire]!r} and {name.python!r}")
                seen[wire] = name.python
        return vocabulary

    def aliases(self) -> dict[str, str]:
        """datamodel-code-generator's `--aliases` mapping: wire (or Model.wire) -> Python name."""
        return {wire: name.python for name in self.names for wire in name.wire}

    def lookup(self, model: str, wire: str) -> Name | None:
        """The entry of a field that `model` declares under the wire name `wire`, if any.

        A scoped spelling (`Model.Wire`) wins over a plain one, as in datamodel-code-generator.
        """
        return self._by_wire.get(f"{model}.{wire}") or self._by_wire.get(wire)

    def has_spelling(self, wire: str) -> bool:
        return wire in self._by_wire

    def named(self, python: str) -> Name | None:
        return self._by_python.get(python)

    @cached_property
    def _by_wire(self) -> dict[str, Name]:
        return {wire: name for name in self.names for wire in name.wire}

    @cached_property
    def _by_python(self) -> dict[str, Name]:
        return {name.python: name for name in self.names}


# ---------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Parameter:
    """One keyword argument of a client method, as every renderer (Python, TypeScript) needs it.

    `name` is the Python name (TypeScript uses its camelCase); `kind` says how a value of the
    language's natural type becomes the wire form (`wire_format` for dates, `wire_is_text` for
    an integer the wire wants as digits).
    """

    name: str
    wire_name: str
    required: bool
    annotation: str  # the Python type of the signature
    kind: str | None
    wire_format: str | None
    wire_is_text: bool
    about: str
    field: FieldInfo  # the request model's field it fills

    @property
    def signature_annotation(self) -> str:
        if self.required or self.annotation == "None" or self.annotation.endswith("| None"):
            return self.annotation
        return f"{self.annotation} | None"


def make_parameter(vocabulary: Vocabulary, model: str, field: FieldInfo) -> Parameter:
    """The parameter of a request-model field, typed as the vocabulary says.

    A field outside the vocabulary keeps its model type here; `check_names` reports it, with
    every other problem, so one run lists all that is to fix.
    """
    entry = vocabulary.lookup(field.declared_in, field.alias)
    if entry is None:
        entry = Name(python=field.name, about="", wire=(), kind=None, wire_format=None)
    where = f"{model}.{field.name} (wire {field.alias!r}, type {entry.kind})"
    parts = _union_parts(field.annotation)
    wire_is_text = False
    if entry.kind == "flag":
        values = _literal_values(parts)
        if values is None or not {'"0"', '"1"'} <= values <= {'""', '"0"', '"1"'}:
            raise VocabularyError(f"{where}: a flag needs the wire values \"0\" and \"1\", the model has {field.annotation}")
        annotation = "bool"
    elif entry.kind == "integer":
        if not set(parts) <= {"int", "str"}:
            raise VocabularyError(f"{where}: an integer needs an int or digit-string field, the model has {field.annotation}")
        wire_is_text = "int" not in parts
        annotation = "int"
    elif entry.kind in DATE_KINDS:
        assert entry.wire_format is not None
        if parts != ["str"]:
            raise VocabularyError(f"{where}: a {entry.kind} needs a string field, the model has {field.annotation}")
        sample = _SAMPLE_MOMENT.strftime(entry.wire_format)
        if field.pattern is not None and not re.search(field.pattern, sample):
            raise VocabularyError(f"{where}: format {entry.wire_format!r} writes {sample!r}, which the spec's pattern {field.pattern!r} refuses")
        annotation = entry.kind
    else:
        annotation = _without_string_twins(field.annotation)
    return Parameter(
        name=field.name,
        wire_name=field.alias,
        required=field.required,
        annotation=annotation,
        kind=entry.kind,
        wire_format=entry.wire_format,
        wire_is_text=wire_is_text,
        about=entry.about,
        field=field,
    )


def _union_parts(annotation: str) -> list[str]:
    """The top-level members of a `A | B | None` annotation, None left out."""
    parts, depth, current = [], 0, ""
    for char in annotation:
        depth += char in "[("
        depth -= char in "])"
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p != "None"]


def _literal_values(parts: list[str]) -> set[str] | None:
    if len(parts) != 1 or not parts[0].startswith("Literal["):
        return None
    return {v.strip() for v in parts[0][len("Literal[") : -1].split(",")}


def _without_string_twins(annotation: str) -> str:
    """Drop a Literal of digit strings that repeats a Literal of the same numbers.

    `Literal[1, 2, 3] | Literal["1", "2", "3"]` (the spec's number-or-digit-string enum)
    becomes `Literal[1, 2, 3]`: the caller writes numbers, the wire takes either.
    """
    parts = [p.strip() for p in annotation.split(" | ")]
    numbers = {p for p in parts if p.startswith("Literal[") and '"' not in p}
    kept = [p for p in parts if p.replace('"', "") not in numbers or '"' not in p]
    return " | ".join(kept)


# ---------------------------------------------------------------------- checks
IsWord = Callable[[str], bool]


def english_words() -> IsWord:
    """An English dictionary (pyspellchecker's word list), as a membership test."""
    from spellchecker import SpellChecker

    checker = SpellChecker()
    return lambda word: word in checker


def check_names(
    vocabulary: Vocabulary,
    models: Mapping[str, Iterable[FieldInfo]],
    parameters: Mapping[str, Iterable[Parameter]],
    spec: SpecDocument | None,
    is_word: IsWord,
) -> list[str]:
    """Every way the generated names break the vocabulary's rules, one line each ([] if none).

    - a field the vocabulary names has another name (the generator did not apply it);
    - a name that is not snake_case English (words of the dictionary or the vocabulary's terms);
    - one wire spelling, or one spec concept (a property referring to a `concept_schemas`
      schema), with two Python names;
    - a vocabulary name given by snake_case to a spelling the vocabulary does not give it;
    - a vocabulary spelling that is no field of the models (a typo, or a scope that misses);
    - a parameter outside the vocabulary, named like a per-call option, or typed with both a
      number and its string form.
    """
    problems: list[str] = []
    by_wire: dict[str, set[str]] = defaultdict(set)
    spelled: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for model, fields in sorted(models.items()):
        for field in fields:
            if field.declared_in != model:
                continue  # judged once, in the model that declares it
            where = f"{model}.{field.name} (wire {field.alias!r})"
            entry = vocabulary.lookup(model, field.alias)
            if entry is not None and entry.python != field.name:
                problems.append(f"{where}: the vocabulary names it {entry.python!r}")
            problems.extend(f"{where}: {p}" for p in _name_problems(field.name, vocabulary, is_word))
            owner = vocabulary.named(field.name)
            # (A wire name spelt like the Python name is the same word, not a clash.)
            if owner is not None and entry is not owner and field.alias != field.name:
                problems.append(
                    f"{where}: {field.name!r} is the vocabulary's name for {', '.join(owner.wire)};"
                    f" give this field a name of its own (a scoped `{model}.{field.alias}` entry)"
                )
            if not vocabulary.has_spelling(f"{model}.{field.alias}"):
                by_wire[field.alias].add(field.name)
            spelled[field.name].add((model, field.alias))
    declared = {(model, f.alias) for model, fields in models.items() for f in fields if f.declared_in == model}
    for name in vocabulary.names:
        for wire in name.wire:
            model, _, plain = wire.rpartition(".")
            if not any((m, a) == (model, plain) if model else a == plain for m, a in declared):
                problems.append(f"the vocabulary's {wire!r} ({name.python}) is no field of the generated models")
    for wire, python_names in sorted(by_wire.items()):
        if len(python_names) > 1:
            problems.append(f"wire name {wire!r} has several Python names: {sorted(python_names)}")
    if spec is not None:
        problems.extend(_concept_problems(vocabulary, models, spec))
    for method, method_parameters in sorted(parameters.items()):
        for parameter in method_parameters:
            where = f"{method}({parameter.name}=...) (wire {parameter.wire_name!r})"
            if vocabulary.lookup(parameter.field.declared_in, parameter.wire_name) is None:
                problems.append(f"{where}: not in the vocabulary")
            if parameter.name in RESERVED_PARAMETERS:
                problems.append(f"{where}: {parameter.name!r} is a per-call option of every method")
            if _number_and_string(parameter.annotation):
                problems.append(f"{where}: typed {parameter.annotation}, a number and its string form")
            problems.extend(f"{where}: {p}" for p in _name_problems(parameter.name, vocabulary, is_word))
    return sorted(set(problems), key=problems.index)


def _name_problems(name: str, vocabulary: Vocabulary, is_word: IsWord) -> list[str]:
    if not SNAKE_CASE.fullmatch(name):
        return [f"{name!r} is not snake_case"]
    unknown = [w for w in name.split("_") if not w.isdigit() and w not in vocabulary.terms and not is_word(w)]
    if unknown:
        return [f"{name!r} has words that are neither English nor terms of the vocabulary: {unknown}"]
    return []


def _number_and_string(annotation: str) -> bool:
    parts = _union_parts(annotation)
    numbers = any(p in ("int", "float") or (p.startswith("Literal[") and '"' not in p) for p in parts)
    strings = any(p == "str" or (p.startswith("Literal[") and '"' in p) for p in parts)
    return numbers and strings


def _concept_problems(vocabulary: Vocabulary, models: Mapping[str, Iterable[FieldInfo]], spec: SpecDocument) -> list[str]:
    """Properties that refer to one concept schema of the spec must share one Python name."""
    named = {(model, f.alias): f.name for model, fields in models.items() for f in fields if f.declared_in == model}
    found: dict[str, dict[str, list[str]]] = {}
    for concept in vocabulary.concept_schemas:
        spec.schema(concept)  # a SpecError if the vocabulary names a schema the spec lacks
        found[concept] = defaultdict(list)
    schemas = spec.document.get("components", {}).get("schemas", {})
    for owner, schema in schemas.items():
        parts = [schema, *[p for p in schema.get("allOf") or [] if "$ref" not in p]]
        for part in parts:
            for wire, prop in (part.get("properties") or {}).items():
                for concept in vocabulary.concept_schemas:
                    if spec.refers_to(prop, concept) and (owner, wire) in named:
                        found[concept][named[(owner, wire)]].append(f"{owner}.{wire}")
    problems = []
    for concept, by_name in found.items():
        if len(by_name) > 1:
            listing = "; ".join(f"{name}: {', '.join(sorted(where))}" for name, where in sorted(by_name.items()))
            problems.append(f"the spec's {concept} has several Python names ({listing})")
    return problems
