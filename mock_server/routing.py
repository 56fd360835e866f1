"""Paths as eSMS matches them: case-insensitively, with or without a trailing slash, with doubled slashes.

Every path outside the control plane is normalised once, before Flask routes it, and the spec's
paths are registered in the same normal form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CONTROL_PREFIX = "/_mock"
_SLASHES = re.compile(r"/{2,}")


def normalise(path: str) -> str:
    return _SLASHES.sub("/", path).rstrip("/").lower() or "/"


class NormalisePaths:
    """WSGI middleware: rewrites PATH_INFO of eSMS requests to the normal form."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            environ["PATH_INFO"] = normalise(path)
        return self.app(environ, start_response)  # type: ignore[no-any-return]
