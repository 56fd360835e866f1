"""Paths as eSMS matches them: case-insensitively, with or without a trailing slash, with doubled slashes.

Every path outside the control plane is normalised once (mock_server.esms.api), and the spec's paths
are routed in the same normal form.

`MainService.svc/xml/...`, the WCF service's XML endpoint, is not served: the vendor documents
the Zalo operations over JSON only (README, fidelity notes); a request there is answered 404 with
the `/json/` path to use instead (mock_server.app).
"""

from __future__ import annotations

import re

CONTROL_PREFIX = "/_mock"
_SLASHES = re.compile(r"/{2,}")


def normalise(path: str) -> str:
    return _SLASHES.sub("/", path).rstrip("/").lower() or "/"


_XML_PREFIX = "/mainservice.svc/xml/"
_JSON_PREFIX = "/mainservice.svc/json/"


def json_form(path: str) -> str | None:
    """The normalised `/MainService.svc/json/...` form of a `/MainService.svc/xml/...` path; None for any other path."""
    normal = normalise(path) + "/"
    if not normal.startswith(_XML_PREFIX):
        return None
    return normalise(_JSON_PREFIX + normal[len(_XML_PREFIX):])
