"""The Jinja environment that renders sdkgen/templates, with the filters the templates use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def python_string(value: str) -> str:
    """A double-quoted Python string literal (JSON's escaping is valid Python)."""
    return json.dumps(value, ensure_ascii=False)


def python_literal(value: Any) -> str:
    """Python source for a plain value: str, int, bool, None and tuples/lists of them."""
    if isinstance(value, str):
        return python_string(value)
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(python_literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"no Python literal for {value!r}")


def docstring_text(value: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return value.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip()


def make_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # Python and TOML, not HTML: escaping would corrupt the output.
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pystr"] = python_string
    environment.filters["pyliteral"] = python_literal
    environment.filters["docstring"] = docstring_text
    # The TypeScript rendering (typescript.py, templates/typescript/).
    from .typescript import camel_case, ts_comment, ts_string

    environment.filters["tsstr"] = ts_string
    environment.filters["tscomment"] = ts_comment
    environment.filters["camel"] = camel_case
    return environment


def render(environment: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    text = environment.get_template(template).render(**context)
    # One trailing newline, whatever the template's last line looks like.
    return text.rstrip("\n") + "\n"
