"""The hand-written OpenAPI documents: the project's source of truth, and package data.

This folder is installed as `esms_spec.documents` (pyproject.toml maps that package onto it), so
the specs travel inside the package without a second copy; read them through `esms_spec`.
"""
