"""JSON pointers and local `$ref` resolution: every spec of this project is one self-contained file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from esms_spec.errors import SpecError


def pointer(*segments: str | int) -> str:
    """A JSON pointer built from raw segments (escaped per RFC 6901)."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def pointer_segments(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in ptr[1:].split("/")]


def at(document: Any, ptr: str) -> Any:
    """The node at a JSON pointer (KeyError or IndexError when there is none)."""
    node = document
    for segment in pointer_segments(ptr):
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def deref(document: Any, node: Any, ptr: str = "") -> tuple[Any, str]:
    """Follow local `$ref`s from `node` (found at `ptr`) to a node that is not a reference; return
    that node and its pointer."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SpecError(f"only local references are supported, not {ref!r}" + (f" (at {ptr})" if ptr else ""))
        if ref in seen:
            raise SpecError(f"circular reference {ref}")
        seen.add(ref)
        ptr = ref[1:]
        node = at(document, ptr)
    return node, ptr


def resolve(document: Any, node: Any) -> Any:
    """`node` with its local `$ref`s followed."""
    return deref(document, node)[0]
