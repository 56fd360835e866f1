"""A stateful, offline stand-in for the eSMS.vn Zalo API."""

from __future__ import annotations

from typing import Any

__all__ = ["MockConfig", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: the pytest plugin lives in this package and must not import the whole app into
    # every test session of every consumer.
    if name == "create_app":
        from mock_server.app import create_app

        return create_app
    if name == "MockConfig":
        from mock_server.config import MockConfig

        return MockConfig
    raise AttributeError(name)
