"""pytest plugin: contract tests against a real eSMS Zalo mock, for your own CI.

Installed with the mock (``pip install esms-zalo-mock``) through the ``pytest11`` entry point
``esms_mock``; nothing to import. This module holds only the hooks and fixtures; what they hand
out (``EsmsMock``, ``CallbackSink``, the ``ServedMock`` supervisor) lives in ``mock_server.testing``
and works without pytest. Fixtures:

``esms_mock``
    A handle on a real ``esms-mock serve`` process on a free loopback port, with a temporary
    database, reset before every test and serving the fixtures ``esms_mock_fixtures`` returns:
    ``base_url``, ``api_key``/``secret_key``/``oaid`` (first account and OA), ``client()``,
    ``messages()``, ``message()``, ``wait_for_message()``, ``callbacks()``,
    ``wait_for_callback()``, ``add_scenario()``, ``remove_scenarios()``, ``advance_clock()``,
    ``reset()``, ``load_fixtures()``; the request journal: ``requests()`` (every request, refused
    and unmatched ones too), ``assert_no_refused()``, ``verify()``, ``count_requests()``; and
    ``scope``/``scope_headers``, this test's ``X-Esms-Mock-Scope`` (the SDK clients of ``client()``
    send it; ``add_scenario(..., scope=esms_mock.scope)`` forces answers for this test only).
    Everything goes through the control plane over HTTP (``/_mock/``,
    spec/mock-control.openapi.yaml), as your own test code would.
``esms_mock_fixtures``
    Override it (conftest, module or class; any scope) to return a Fixtures document as a dict,
    or the path of a YAML/JSON file (relative paths from the rootdir). Default: the demo data.
``esms_mock_server``
    The process behind ``esms_mock``, without the reset between tests. One per session by
    default (start-up takes about a second); ini option ``esms_mock_scope`` changes that.
``esms_callback_sink``
    A local HTTP receiver to use as ``CallbackUrl``: records every request, ``wait_for()``
    callbacks, fails the next N on demand (``fail_next``), forwards to your app (``forward_to``).

ini options (pytest.ini / pyproject ``[tool.pytest.ini_options]``), all optional:
``esms_mock_scope`` (session), ``esms_mock_delivery_delay`` (0.2 seconds from acceptance to the
final delivery state), ``esms_mock_callback_attempts`` (5), ``esms_mock_start_timeout`` (30
seconds), ``esms_mock_fixtures`` (the session's fixtures file; default the demo data).

A failing test that used the mock gets extra report sections: the journal (messages and
callbacks), the server's log lines written during the test and what the callback sink got.
The server is stopped at teardown whatever happens (and, on Linux, when pytest itself is
killed); a server that hangs at start is replaced (up to three attempts).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.testing.callback_sink import CallbackSink
from mock_server.testing.esms_mock import EsmsMock, read_fixtures
from mock_server.testing.supervisor import DEMO_FIXTURES_PATH

_HEADER_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/\[\]=-]")
MAX_SCOPE_CHARS = 200
SCOPES = ("session", "package", "module", "class", "function")
_INI = {
    "esms_mock_scope": ("scope of the esms-mock server process: session (default), package, module, class or "
                        "function; esms_mock resets it before every test whatever the scope", "session"),
    "esms_mock_delivery_delay": ("seconds from acceptance to a message's final delivery state (and its callback); "
                                 "default 0.2", "0.2"),
    "esms_mock_callback_attempts": ("attempts per delivery callback before the mock gives up; default 5", "5"),
    "esms_mock_start_timeout": ("seconds to wait for the esms-mock server to answer /_mock/health; default 30", "30"),
    "esms_mock_fixtures": ("YAML or JSON fixtures the esms-mock server starts with (relative to the rootdir); "
                           "default the demo data. Tests get esms_mock_fixtures loaded on top", ""),
}


# ============================================================================ pytest hooks
def pytest_addoption(parser: pytest.Parser) -> None:
    for name, (help_text, default) in _INI.items():
        parser.addini(name, help_text, default=default)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse bad ini values at once, with a usage error rather than an error in every test."""
    scope = _scope_value(config)
    if scope not in SCOPES:
        raise pytest.UsageError(f"esms_mock_scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    for name in ("esms_mock_delivery_delay", "esms_mock_callback_attempts", "esms_mock_start_timeout"):
        _float_ini(config, name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {})
        mock = funcargs.get("esms_mock") or funcargs.get("esms_mock_server")
        if isinstance(mock, EsmsMock):
            with contextlib.suppress(Exception):
                report.sections.append(("esms-mock journal", mock.describe_journal()))
        if isinstance(funcargs.get("esms_mock"), EsmsMock):  # esms_mock marks where this test's log starts
            with contextlib.suppress(Exception):
                log = funcargs["esms_mock"].log_since_mark()
                if log.strip():
                    report.sections.append(("esms-mock server log (this test)", log.rstrip()))
        sink = funcargs.get("esms_callback_sink")
        if isinstance(sink, CallbackSink):
            report.sections.append(("esms callback sink", sink.describe()))
    return report


# ============================================================================ fixtures
def _scope_value(config: pytest.Config) -> str:
    return str(config.getini("esms_mock_scope") or "session").strip()


def _server_scope(fixture_name: str, config: pytest.Config) -> str:
    scope = _scope_value(config)
    return scope if scope in SCOPES else "session"  # pytest_configure has refused it already


@pytest.fixture
def esms_mock_fixtures(pytestconfig: pytest.Config) -> Any:
    """The Fixtures document `esms_mock` serves: a dict, or the path of a YAML/JSON file.

    Override it in your conftest.py, a test module or a class, at any scope. Default: the file
    of the ini option `esms_mock_fixtures`, else the mock's demo data (account
    DEMO_API_KEY/DEMO_SECRET_KEY, OA 4097311281936189049, OTP template 205644 with `otp`).
    """
    return _configured_fixtures(pytestconfig)


def _configured_fixtures(config: pytest.Config) -> Any:
    return str(config.getini("esms_mock_fixtures") or "").strip() or DEMO_FIXTURES_PATH


@pytest.fixture(scope=_server_scope)
def esms_mock_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsmsMock]:
    """The esms-mock server process (no reset between tests; prefer `esms_mock`)."""
    config = request.config
    # At function scope the server starts with the test's own fixtures; at a wider scope with the
    # configured ones, and esms_mock loads each test's on top when they differ.
    source = request.getfixturevalue("esms_mock_fixtures") if request.scope == "function" else _configured_fixtures(config)
    document = read_fixtures(source, config.rootpath)
    server = EsmsMock.start(
        document,
        workdir=tmp_path_factory.mktemp("esms-mock"),
        delivery_delay=_float_ini(config, "esms_mock_delivery_delay"),
        callback_attempts=int(_float_ini(config, "esms_mock_callback_attempts")),
        start_timeout=_float_ini(config, "esms_mock_start_timeout"),
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def esms_mock(esms_mock_server: EsmsMock, esms_mock_fixtures: Any, request: pytest.FixtureRequest) -> Iterator[EsmsMock]:
    """The mock, reset, serving `esms_mock_fixtures`: no messages, callbacks or scenarios, clock at real time."""
    esms_mock_server.use_fixtures(read_fixtures(esms_mock_fixtures, request.config.rootpath))
    esms_mock_server.reset()
    esms_mock_server.begin_test(scope_of_test(request))
    esms_mock_server.mark_log()
    try:
        yield esms_mock_server
    finally:
        esms_mock_server.close_clients()


def scope_of_test(request: pytest.FixtureRequest) -> str:
    """The test's X-Esms-Mock-Scope: the xdist worker and the test id, in header-safe characters."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{worker}:{_HEADER_UNSAFE.sub('_', request.node.nodeid)}"[:MAX_SCOPE_CHARS]


@pytest.fixture
def esms_callback_sink() -> Iterator[CallbackSink]:
    """A local HTTP receiver for delivery callbacks; use `esms_callback_sink.url` as CallbackUrl."""
    sink = CallbackSink()
    try:
        yield sink
    finally:
        sink.stop()


def _float_ini(config: pytest.Config, name: str) -> float:
    raw = str(config.getini(name) or _INI[name][1]).strip()
    try:
        return float(raw)
    except ValueError:
        raise pytest.UsageError(f"{name} must be a number, not {raw!r}") from None
