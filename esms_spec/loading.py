"""Where the packaged specs are, and how a YAML document is parsed (once per content)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

from esms_spec.errors import SpecError

ESMS_SPEC = "esms-zalo.openapi.yaml"  # the eSMS Zalo API
CONTROL_SPEC = "mock-control.openapi.yaml"  # the mock's control plane under /_mock
SPECS = (ESMS_SPEC, CONTROL_SPEC)

# The package that holds the documents: spec/ in the repository, esms_spec/documents/ once installed.
DOCUMENTS_PACKAGE = "esms_spec.documents"


def spec_path(name: str = ESMS_SPEC) -> Path:
    """The file of a packaged spec.

    A real file, not only a resource: schemathesis, Prism and the server's worker processes open it
    by name. pip unpacks wheels, so an installed package is always on disk.
    """
    if name not in SPECS:
        raise SpecError(f"no packaged spec named {name!r}; there are {', '.join(SPECS)}")
    resource = resources.files(DOCUMENTS_PACKAGE) / name
    if not isinstance(resource, Path):
        raise SpecError(f"{DOCUMENTS_PACKAGE} is not on the file system ({resource!r}); install the package unzipped")
    return resource


def load_spec(name: str = ESMS_SPEC) -> Any:
    """A packaged spec, parsed (a fresh object per call: callers may change what they get)."""
    return load_yaml(spec_path(name))


def load_yaml(path: Path | str) -> Any:
    """Parse a YAML file, through a JSON cache keyed by the file's content (start-up time counts:
    parsing the spec's YAML takes ~0.1 s even with libyaml, reading the cached JSON ~1 ms)."""
    raw = Path(path).read_bytes()
    cache = Path(tempfile.gettempdir()) / "esms-mock-cache" / (hashlib.sha256(raw).hexdigest() + ".json")
    try:
        return orjson.loads(cache.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(raw.decode("utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    try:
        cached = orjson.dumps(document)
        # Only a lossless round trip is cached (a YAML date would come back as a string), so a
        # document reads the same whether or not the cache exists.
        if orjson.loads(cached) == document:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(cached)
            os.replace(partial, cache)  # atomic: concurrent starts never read half a file
    except (OSError, TypeError):  # no writable temp dir, or YAML that JSON cannot hold: no cache
        pass
    return document
