"""Describe the fields of freshly generated models, by importing them in a child process.

The typed keyword arguments of each client method are taken from the generated request model
itself (field names, required-ness, types), so they can never drift from the models. Importing
happens in a child process with the staging folder first on sys.path: the parent may already
have an installed `esms_zalo` (the editable install of generated/), which must not be the one
described.

Run as `python -m sdkgen.introspect STAGE_DIR`, with a JSON list of model names on stdin; prints
a JSON object {model name: {"fields": [...]}}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SDKGEN_PARENT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FieldInfo:
    """One model field as a method signature needs it."""

    name: str
    alias: str
    required: bool
    annotation: str  # Python source, e.g. "list[TempDataItem]"
    model_names: tuple[str, ...]  # generated classes the annotation mentions
    typing_names: tuple[str, ...]  # names to import from typing (Literal, Any)
    scalar: str  # "int", "float", "bool", "str" or "other": how to read it from a query string
    declared_in: str  # the model class that declares the field (itself or a base class)
    pattern: str | None  # the regular expression a text value must match, if any


class IntrospectionError(Exception):
    """The generated models could not be imported or described."""


def describe_models(stage: Path, names: Iterable[str] | None = None) -> dict[str, list[FieldInfo]]:
    """Import `esms_zalo.models` from `stage` in a child process and describe `names`
    (every model of the module when None)."""
    wanted = ["*"] if names is None else sorted(set(names))
    result = subprocess.run(
        [sys.executable, "-m", "sdkgen.introspect", str(stage)],
        input=json.dumps(wanted),
        capture_output=True,
        text=True,
        check=False,
        cwd=stage,
        env=_child_env(),
    )
    if result.returncode != 0:
        raise IntrospectionError(result.stderr.strip())
    raw = json.loads(result.stdout)
    return {
        name: [
            FieldInfo(**{**f, "model_names": tuple(f["model_names"]), "typing_names": tuple(f["typing_names"])})
            for f in raw[name]
        ]
        for name in sorted(raw)
    }


def _child_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(SDKGEN_PARENT)
    # Bytecode next to the staged sources would only be litter in a folder about to be deleted.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# ---------------------------------------------------------------------- child side
class _Renderer:
    """Turn a runtime annotation back into source text, collecting the names it needs.

    Constraints (`Annotated[..., Field(...)]`) are dropped and type aliases are expanded: a
    signature should say `list[str]`, the model validates the length and pattern anyway.
    """

    def __init__(self) -> None:
        self.model_names: set[str] = set()
        self.typing_names: set[str] = set()

    def render(self, tp: Any) -> str:
        from pydantic import BaseModel

        if tp is type(None) or tp is None:
            return "None"
        if tp is Any:
            self.typing_names.add("Any")
            return "Any"
        if _is_type_alias(tp):
            return self.render(tp.__value__)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self.render(args[0])
        if origin is typing.Literal:
            self.typing_names.add("Literal")
            return "Literal[" + ", ".join(_literal(value) for value in args) + "]"
        if origin is typing.Union or origin is types.UnionType:
            parts: list[str] = []
            for arg in args:
                text = self.render(arg)
                if text not in parts:
                    parts.append(text)
            # None last reads best and keeps the text stable.
            parts.sort(key=lambda part: part == "None")
            return " | ".join(parts)
        if origin in (list, dict, tuple, set, frozenset):
            return f"{origin.__name__}[" + ", ".join(self.render(arg) for arg in args) + "]"
        if isinstance(tp, type):
            if issubclass(tp, BaseModel):
                self.model_names.add(tp.__name__)
                return tp.__name__
            if tp in (str, int, float, bool, bytes):
                return tp.__name__
        raise IntrospectionError(f"cannot render annotation {tp!r}")


def _is_type_alias(tp: Any) -> bool:
    return type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__")


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    raise IntrospectionError(f"cannot render Literal value {value!r}")


def _scalar(tp: Any) -> str:
    """How a query-string value for this field is to be read: the single non-None type."""
    while _is_type_alias(tp) or typing.get_origin(tp) is typing.Annotated:
        tp = tp.__value__ if _is_type_alias(tp) else typing.get_args(tp)[0]
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        rest = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(rest) != 1:
            return "other"
        return _scalar(rest[0])
    if origin is typing.Literal:
        values = typing.get_args(tp)
        if all(isinstance(v, bool) for v in values):
            return "bool"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "int"
        if all(isinstance(v, str) for v in values):
            return "str"
        return "other"
    names: dict[Any, str] = {bool: "bool", int: "int", float: "float", str: "str"}
    return names.get(tp, "other")


def _describe(model: Any) -> list[dict[str, Any]]:
    import inspect

    fields = []
    for name, info in model.model_fields.items():
        declared_in = next(k for k in model.__mro__ if name in inspect.get_annotations(k))
        patterns = [getattr(m, "pattern", None) for m in info.metadata]
        renderer = _Renderer()
        fields.append(
            {
                "name": name,
                "alias": info.alias or name,
                "required": info.is_required(),
                "annotation": renderer.render(info.annotation),
                "model_names": sorted(renderer.model_names),
                "typing_names": sorted(renderer.typing_names),
                "scalar": _scalar(info.annotation),
                "declared_in": declared_in.__name__,
                "pattern": next((p for p in patterns if isinstance(p, str)), None),
            }
        )
    return fields


def _main(stage: str) -> None:
    import importlib
    import inspect

    sys.path.insert(0, stage)
    module = importlib.import_module("esms_zalo.models")
    if not Path(module.__file__ or "").resolve().is_relative_to(Path(stage).resolve()):
        raise IntrospectionError(f"imported {module.__file__}, not the staged models")
    from pydantic import BaseModel

    # Models that point at models defined after them keep forward references until rebuilt.
    defined = []
    for name, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, BaseModel) and obj.__module__ == module.__name__:
            obj.model_rebuild()
            defined.append(name)
    wanted = json.loads(sys.stdin.read())
    if wanted == ["*"]:
        wanted = defined
    missing = [name for name in wanted if not hasattr(module, name)]
    if missing:
        raise IntrospectionError(f"generated models lack {missing}")
    json.dump({name: _describe(getattr(module, name)) for name in wanted}, sys.stdout)


if __name__ == "__main__":
    _main(sys.argv[1])
