"""Bounds on a fixtures document (YAML or JSON), checked before it is built or used.

A fixtures document is a few accounts, OAs and templates: tens of levels and thousands of values
at most. A hostile one (10,000 levels of nesting, or YAML aliases that expand into billions of
values) would otherwise exhaust the recursion limit or the memory of the code that reads it
(PyYAML's constructor, the schema validator, the masking of secrets): it is refused as bad input
with a message instead. Both checks are iterative, so they cannot themselves overflow.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 64  # levels of mappings and lists
MAX_VALUES = 200_000  # scalars, mappings and lists, counting every use of a YAML alias


class DocumentTooComplex(ValueError):
    """The document nests deeper, or holds more values, than any fixtures document needs."""


def check_yaml_nesting(text: str | bytes) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH, reading its events (before any object is built).

    Any other syntax error is left to the loader, which reports it with its line and column."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DocumentTooComplex(_too_deep())
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own limit (1000 levels), met while scanning ahead
            raise DocumentTooComplex(_too_deep()) from None
        return


def check_tree(document: Any) -> None:
    """Refuse a parsed document nested deeper than MAX_DEPTH or holding more than MAX_VALUES values."""
    stack: list[tuple[Any, int]] = [(document, 0)]
    values = 0
    while stack:
        node, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise DocumentTooComplex(f"the document holds more than {MAX_VALUES:,} values (counting every use "
                                     f"of a YAML alias); fixtures need far fewer")
        if isinstance(node, (dict, list)):
            if depth >= MAX_DEPTH:
                raise DocumentTooComplex(_too_deep())
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def _too_deep() -> str:
    return f"the document is nested more than {MAX_DEPTH} levels deep; fixtures need a handful"
