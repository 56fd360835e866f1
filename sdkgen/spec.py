"""The generator's questions to the OpenAPI document: which properties an object has, which are
required, what a property refers to (`allOf` objects flattened).

Loading, `$ref` resolution and the result-code table are esms_spec's, shared with the mock and the
tests; this module answers the generator's few structural questions and nothing more: it is not a
general OpenAPI library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import esms_spec
from esms_spec import ResultCode, SpecError

__all__ = ["ObjectShape", "ResultCode", "Schema", "SpecDocument", "SpecError"]

Schema = Mapping[str, Any]

SCHEMA_REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class ObjectShape:
    """An object schema with its `allOf` parts merged: properties in document order."""

    properties: dict[str, Schema]
    required: frozenset[str]


class SpecDocument:
    """The parsed spec plus the few look-ups the generator needs."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    @classmethod
    def load(cls, path: Path) -> SpecDocument:
        document = esms_spec.load_yaml(path)
        if not isinstance(document, Mapping) or "paths" not in document:
            raise SpecError(f"{path} is not an OpenAPI document")
        return cls(document)

    # ------------------------------------------------------------------ plain look-ups
    @property
    def version(self) -> str:
        return str(self.document["info"]["version"])

    @property
    def title(self) -> str:
        return str(self.document["info"]["title"])

    @property
    def license_name(self) -> str:
        return str(self.document["info"].get("license", {}).get("name", ""))

    @property
    def default_server(self) -> str:
        servers = self.document.get("servers") or []
        if not servers:
            raise SpecError("the spec lists no servers")
        return str(servers[0]["url"])

    @property
    def result_codes(self) -> tuple[ResultCode, ...]:
        """The top-level `x-esms-result-codes` table, in the spec's order."""
        return tuple(esms_spec.result_codes(self.document).values())

    def schema(self, name: str) -> Schema:
        try:
            schema: Schema = self.document["components"]["schemas"][name]
        except KeyError:
            raise SpecError(f"no schema named {name!r} in components/schemas") from None
        return schema

    def operations(self) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]]:
        """Yield (path, method, path item, operation) in document order."""
        for path, item in self.document["paths"].items():
            for method in ("get", "post", "put", "patch", "delete"):
                if method in item:
                    yield path, method, item, item[method]

    # ------------------------------------------------------------------ references
    def resolve(self, node: Any) -> Any:
        """Follow `$ref`s (local ones only: the spec is one self-contained file)."""
        return esms_spec.resolve(self.document, node)

    @staticmethod
    def ref_name(node: Any) -> str | None:
        """The component name a `{$ref: #/components/schemas/X}` points to, else None."""
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):
                return ref[len(SCHEMA_REF_PREFIX) :]
        return None

    def refers_to(self, node: Any, schema_name: str) -> bool:
        """Whether a property schema is (or is an `allOf` wrapper of) a reference to a component.

        The spec wraps references in a one-element `allOf` when it adds keywords beside them
        (`x-esms-error-codes`), so both spellings count.
        """
        if self.ref_name(node) == schema_name:
            return True
        if isinstance(node, Mapping):
            parts = node.get("allOf") or []
            return any(self.ref_name(part) == schema_name for part in parts)
        return False

    def object_shape(self, node: Any) -> ObjectShape:
        """Merge an object schema with its `allOf` parts, keeping the properties' order."""
        properties: dict[str, Schema] = {}
        required: set[str] = set()
        self._collect(self.resolve(node), properties, required)
        return ObjectShape(properties=properties, required=frozenset(required))

    def _collect(self, schema: Schema, properties: dict[str, Schema], required: set[str]) -> None:
        for part in schema.get("allOf") or []:
            self._collect(self.resolve(part), properties, required)
        for name, prop in (schema.get("properties") or {}).items():
            properties[name] = prop
        required.update(schema.get("required") or [])

    def branches(self, node: Any) -> list[Schema]:
        """The alternatives of a schema: its `oneOf`/`anyOf` branches, or itself."""
        schema = self.resolve(node)
        alternatives = schema.get("oneOf") or schema.get("anyOf")
        if alternatives:
            return [self.resolve(branch) for branch in alternatives]
        return [schema]

    def is_type(self, node: Any, type_name: str) -> bool:
        schema = self.resolve(node)
        if schema.get("type") == type_name:
            return True
        return any(self.resolve(part).get("type") == type_name for part in schema.get("allOf") or [])
