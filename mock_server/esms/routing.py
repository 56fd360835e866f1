"""Paths as eSMS matches them: case-insensitively, with or without a trailing slash, with doubled slashes.

Every path outside the control plane is normalised once (mock_server.esms.api), and the spec's paths
are routed in the same normal form.
"""

from __future__ import annotations

import re

CONTROL_PREFIX = "/_mock"
_SLASHES = re.compile(r"/{2,}")


def normalise(path: str) -> str:
    return _SLASHES.sub("/", path).rstrip("/").lower() or "/"
