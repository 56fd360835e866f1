"""The one error of the spec reader."""

from __future__ import annotations


class SpecError(ValueError):
    """The spec does not have a shape its reader (or the generator built on it) knows."""
