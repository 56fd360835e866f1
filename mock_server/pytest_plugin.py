"""pytest plugin: contract tests against a real eSMS Zalo mock, for your own CI.

Installed with the mock (``pip install esms-zalo-mock``) through the ``pytest11`` entry point
``esms_mock``; nothing to import. Fixtures:

``esms_mock``
    A handle on a real ``esms-mock serve`` process on a free loopback port, with a temporary
    database, reset before every test and serving the fixtures ``esms_mock_fixtures`` returns:
    ``base_url``, ``api_key``/``secret_key``/``oaid`` (first account and OA), ``client()``,
    ``messages()``, ``message()``, ``wait_for_message()``, ``callbacks()``,
    ``wait_for_callback()``, ``add_scenario()``, ``remove_scenarios()``, ``advance_clock()``,
    ``reset()``, ``load_fixtures()``. Everything goes through the control plane over HTTP
    (``/_mock/``, spec/mock-control.openapi.yaml), as your own test code would.
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

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

if TYPE_CHECKING:  # httpx, PyYAML and the SDK are imported when first used
    from esms_zalo import Client, DeliveryReport

DEMO_FIXTURES_PATH = Path(__file__).with_name("demo_fixtures.yaml")
SCOPES = ("session", "package", "module", "class", "function")
CALLBACK_STATES = ("pending", "delivered", "failed")
DEFAULT_TIMEOUT = 5.0
POLL_INTERVAL = 0.05
LOG_TAIL_LINES = 40
READY_BANNER = "esms-mock ready on"  # what `esms-mock serve` prints once it listens
# A server that listens but has not answered for this long is stuck (seen: a worker forked while
# another thread of the parent held an import lock); it is stopped and another one started.
HUNG_AFTER = 10.0

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


class EsmsMockError(Exception):
    """The mock could not be started, or its control plane refused a request (the message says why).

    `status_code`: the control plane's HTTP status, when it answered.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class WaitTimeout(AssertionError):
    """A `wait_for...` gave up; the message lists what was there instead."""


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
    esms_mock_server.mark_log()
    try:
        yield esms_mock_server
    finally:
        esms_mock_server.close_clients()


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


# ============================================================================ fixtures documents
def read_fixtures(source: Any, root: Path | None = None) -> dict[str, Any]:
    """A Fixtures document from a dict, or from a YAML/JSON file (a relative path from `root`)."""
    import yaml

    if isinstance(source, Mapping):
        document: Any = dict(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EsmsMockError(f"cannot read the esms-mock fixtures {path}: {exc.strerror or exc}") from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise EsmsMockError(f"the esms-mock fixtures {path} are not valid YAML or JSON: {exc}") from None
    else:
        raise EsmsMockError("esms_mock_fixtures must return a Fixtures document (a dict) or the path of a YAML or "
                            f"JSON file, not {type(source).__name__}")
    if not isinstance(document, dict):
        raise EsmsMockError(f"a Fixtures document is a mapping with `accounts`, not {type(document).__name__}")
    # Through JSON, as the control plane reads YAML: unquoted YAML dates become strings.
    return json.loads(json.dumps(document, default=str))  # type: ignore[no-any-return]


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


# ============================================================================ the mock
class _PortTaken(EsmsMockError):
    """Another process took the free port first."""


class _StartHung(EsmsMockError):
    """The server said it was ready, then did not answer."""


# Run in a fresh interpreter before it becomes the server (exec keeps the pid): on Linux, ask
# for SIGTERM when the process that started it dies, so that a pytest killed with SIGKILL (a CI
# timeout) does not leave a server behind; the server runs in its own session, out of reach of
# signals sent to pytest's process group. (The signal follows the thread that started it:
# fixtures run in pytest's main thread.)
_EXEC_WITH_PARENT_DEATH_SIGNAL = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != parent:
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""


def _with_parent_death_signal(command: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-c", _EXEC_WITH_PARENT_DEATH_SIGNAL, str(os.getpid()), *command]


def _server_env() -> dict[str, str]:
    """The environment of the server: it imports the same mock_server as this plugin, installed or not."""
    import site
    import sysconfig

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    package_root = str(Path(__file__).resolve().parent.parent)
    installed = {str(Path(p).resolve()) for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                                                  sysconfig.get_paths()["platlib"])}
    if package_root not in installed:  # a source checkout: the server's cwd is elsewhere
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EsmsMock:
    """A running esms-mock server and its control plane (the `esms_mock` fixture).

    Attributes: `base_url`, `api_key`, `secret_key` and `oaid` (the first account of the
    fixtures and its first OA), `fixtures` (the document served), `port`, `pid`, `log_path`.
    """

    def __init__(self, base_url: str, process: subprocess.Popen[bytes], log_path: Path, db_path: Path,
                 document: dict[str, Any]) -> None:
        self.base_url = base_url
        self.process = process
        self.log_path = log_path
        self.db_path = db_path
        self._document = document
        import httpx

        self._http = httpx.Client(base_url=base_url, timeout=15.0, trust_env=False)
        self._clients: list[Client] = []
        self._log_mark = 0
        self._stopped = False
        self.start_attempt = 1  # which start attempt this server is (see `start`)
        self.start_seconds = 0.0

    # ------------------------------------------------------------------ process
    @classmethod
    def start(cls, document: dict[str, Any], *, workdir: Path, delivery_delay: float = 0.2,
              callback_attempts: int = 5, start_timeout: float = 30.0, attempts: int = 3) -> EsmsMock:
        """Serve `document` from a fresh database in `workdir`; wait until /_mock/health answers."""
        workdir.mkdir(parents=True, exist_ok=True)
        fixtures_path = workdir / "fixtures.json"
        fixtures_path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        for attempt in range(1, attempts + 1):
            db_path = workdir / f"db-{attempt}.sqlite3"
            log_path = workdir / f"esms-mock-{attempt}.log"
            port = free_port()
            command = [
                sys.executable, "-m", "mock_server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--db", str(db_path), "--fixtures", str(fixtures_path), "--workers", "1", "--threads", "4",
                "--delivery-delay", str(delivery_delay), "--callback-attempts", str(callback_attempts),
                "--log-level", "info",
            ]
            with open(log_path, "wb") as log:
                process = subprocess.Popen(_with_parent_death_signal(command), stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, cwd=workdir, env=_server_env(),
                                           start_new_session=True)
            server = cls(f"http://127.0.0.1:{port}", process, log_path, db_path, document)
            server.start_attempt = attempt
            atexit.register(server.stop)
            try:
                server._wait_until_healthy(start_timeout)
            except (_PortTaken, _StartHung):
                server.stop(grace=2.0)
                if attempt == attempts:
                    raise
                continue  # lost the race for the free port, or a server that hung at start: another one
            except BaseException:
                server.stop()
                raise
            return server
        raise AssertionError("unreachable")

    def _wait_until_healthy(self, timeout: float) -> None:
        import httpx

        start = time.monotonic()
        deadline = start + timeout
        listening_since: float | None = None  # when it said it was ready, or took a connection without answering
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                error = _PortTaken if "in use" in self.log() else EsmsMockError
                raise error(f"the esms-mock server exited with status {code} before it was ready:\n{self._log_tail()}")
            try:
                answer = self._http.get("/_mock/health", timeout=2.0)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if listening_since is None and (isinstance(exc, httpx.ReadTimeout) or READY_BANNER in self.log()):
                    listening_since = time.monotonic()
                if listening_since is not None and time.monotonic() - listening_since > HUNG_AFTER:
                    raise _StartHung(f"the esms-mock server on {self.base_url} is listening but did not answer "
                                     f"/_mock/health for {HUNG_AFTER:g} s ({last_error}):\n{self._log_tail()}") from None
            else:
                if answer.status_code == 200:
                    try:
                        database = answer.json().get("database")
                    except (ValueError, AttributeError):
                        database = None
                    if database is None or Path(str(database)).resolve() != self.db_path.resolve():
                        raise _PortTaken(f"another server answers on {self.base_url}; the port was taken")
                    self.start_seconds = time.monotonic() - start
                    return
                last_error = f"HTTP {answer.status_code}"
            time.sleep(POLL_INTERVAL)
        raise EsmsMockError(f"the esms-mock server on {self.base_url} did not answer /_mock/health within "
                            f"{timeout:g} s ({last_error}):\n{self._log_tail()}")

    @property
    def port(self) -> int:
        return int(urlsplit(self.base_url).port or 0)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL to its process group after `grace` seconds). Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        self.close_clients()
        self._http.close()
        process = self.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)  # gunicorn's master stops its worker gracefully
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)  # the session started for this server only
                process.wait(timeout=10)
        # A worker left behind by its master would still be in the server's own process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, 0)
            os.killpg(process.pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return not self._stopped and self.process.poll() is None

    # ------------------------------------------------------------------ logs
    def log(self) -> str:
        """Everything the server has logged."""
        return _read(self.log_path)

    def mark_log(self) -> None:
        with contextlib.suppress(OSError):
            self._log_mark = self.log_path.stat().st_size

    def log_since_mark(self) -> str:
        with open(self.log_path, "rb") as handle:
            handle.seek(self._log_mark)
            return handle.read().decode("utf-8", "replace")

    def _log_tail(self) -> str:
        lines = self.log().splitlines()[-LOG_TAIL_LINES:]
        return "\n".join(f"  | {line}" for line in lines) or "  | (the server wrote nothing)"

    # ------------------------------------------------------------------ control plane
    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        import httpx

        if self._stopped:
            raise EsmsMockError(f"the esms-mock server on {self.base_url} was stopped")
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            state = "" if self.process.poll() is None else f" (the server exited with status {self.process.poll()})"
            raise EsmsMockError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}{state}\n"
                                f"{self._log_tail()}") from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            if isinstance(body, dict):
                problems = body.get("problems") or []
                if problems:
                    text = f"{body.get('error', 'error')}:" + "".join(f"\n  - {problem}" for problem in problems)
                else:
                    text = f"{body.get('error', 'error')}: {body.get('message', '')}"
            else:
                text = answer.text[:500]
            raise EsmsMockError(f"{method} {path} answered {answer.status_code}: {text}", answer.status_code)
        return body

    def health(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self._control("GET", "/_mock/health")  # type: ignore[no-any-return]

    def reset(self) -> dict[str, Any]:
        """Forget messages, callbacks, RequestIds, quota use and scenarios; clock back to real time."""
        __tracebackhide__ = True
        return self._control("POST", "/_mock/reset")  # type: ignore[no-any-return]

    @property
    def fixtures(self) -> dict[str, Any]:
        """The Fixtures document served (with its secrets)."""
        return json.loads(json.dumps(self._document))  # type: ignore[no-any-return]

    def load_fixtures(self, document: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
        """Replace the fixtures (a dict or a YAML/JSON file). Journal, clock and scenarios are kept."""
        __tracebackhide__ = True
        loaded = read_fixtures(document)
        summary = self._control("PUT", "/_mock/fixtures", json=loaded)
        self._document = loaded
        return summary  # type: ignore[no-any-return]

    def use_fixtures(self, document: dict[str, Any]) -> None:
        """Load `document` unless it is what the server serves already."""
        __tracebackhide__ = True
        if _canonical(document) != _canonical(self._document):
            self.load_fixtures(document)

    # ------------------------------------------------------------------ credentials and the SDK
    def _first(self, key: str) -> dict[str, Any]:
        accounts = self._document.get("accounts") or []
        if not accounts:
            raise EsmsMockError(f"the fixtures have no account, so there is no {key}; add one to esms_mock_fixtures")
        return accounts[0]  # type: ignore[no-any-return]

    @property
    def api_key(self) -> str:
        return str(self._first("api_key")["api_key"])

    @property
    def secret_key(self) -> str:
        return str(self._first("secret_key")["secret_key"])

    @property
    def oaid(self) -> str | None:
        """The first OA of the first account, or None."""
        oas = self._first("oaid").get("oas") or []
        return str(oas[0]["oaid"]) if oas else None

    def client(self, **kwargs: Any) -> Client:
        """An `esms_zalo.Client` on this mock with the first account's keys (closed after the test)."""
        __tracebackhide__ = True
        from esms_zalo import Client

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("secret_key", self.secret_key)
        kwargs.setdefault("base_url", self.base_url)
        client = Client(**kwargs)
        self._clients.append(client)
        return client

    def close_clients(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()

    # ------------------------------------------------------------------ journal
    def messages(self, *, smsid: str | None = None, oaid: str | None = None, recipient: str | None = None,
                 request_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Accepted messages, newest first (GET /_mock/messages): request, recipients, status, callbacks."""
        __tracebackhide__ = True
        params = _params(smsid=smsid, oaid=oaid, recipient=recipient, request_id=request_id, limit=limit)
        return self._control("GET", "/_mock/messages", params=params)["messages"]  # type: ignore[no-any-return]

    def message(self, smsid: str) -> dict[str, Any]:
        """One message in detail, with each recipient's timeline and every callback attempt."""
        __tracebackhide__ = True
        try:
            return self._control("GET", f"/_mock/messages/{quote(smsid, safe='')}")  # type: ignore[no-any-return]
        except EsmsMockError as exc:
            if exc.status_code != 404:
                raise
            raise EsmsMockError(f"no message {smsid} in the journal; it holds:\n{self._journal_lines()}", 404) from None

    def callbacks(self, *, smsid: str | None = None, state: str | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
        """Delivery callbacks sent or to send, newest first, with every attempt (GET /_mock/callbacks)."""
        __tracebackhide__ = True
        params = _params(smsid=smsid, state=state, limit=limit)
        return self._control("GET", "/_mock/callbacks", params=params)["callbacks"]  # type: ignore[no-any-return]

    def wait_for_message(self, predicate: Callable[[dict[str, Any]], bool] | Mapping[str, Any] | None = None, *,
                         timeout: float = DEFAULT_TIMEOUT, **filters: Any) -> dict[str, Any]:
        """The newest message matching the filters (smsid, oaid, recipient, request_id) and `predicate`.

        `predicate` is a function of a journal entry, or a dict of filters. Raises WaitTimeout,
        listing the journal, when none matches within `timeout` seconds.
        """
        __tracebackhide__ = True
        if isinstance(predicate, Mapping):
            filters = {**predicate, **filters}
            predicate = None
        deadline = time.monotonic() + timeout
        while True:
            for found in self.messages(**filters):
                if predicate is None or predicate(found):
                    return found
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        wanted = ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "any message"
        if predicate is not None:
            wanted += f" satisfying {getattr(predicate, '__name__', 'the predicate')}"
        raise WaitTimeout(f"no message ({wanted}) in the esms-mock journal within {timeout:g} s; "
                          f"it holds:\n{self._journal_lines()}")

    def wait_for_callback(self, smsid: str | None = None, state: str | None = "delivered", *,
                          timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The newest callback (of `smsid`) in `state` (pending, delivered, failed; None: any).

        `delivered` means the mock's GET to the CallbackUrl was answered 2xx. Raises WaitTimeout,
        saying where each callback of the message stands and why, when none is within `timeout`.
        """
        __tracebackhide__ = True
        if state is not None and state not in CALLBACK_STATES:
            raise ValueError(f"state must be one of {', '.join(CALLBACK_STATES)} or None, not {state!r}")
        deadline = time.monotonic() + timeout
        while True:
            found = self.callbacks(smsid=smsid, state=state, limit=1)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL)
        what = f"callback of {smsid}" if smsid else "callback"
        raise WaitTimeout(f"no {what} {state or 'in any state'} within {timeout:g} s.\n{self._why_no_callback(smsid)}")

    def _why_no_callback(self, smsid: str | None) -> str:
        lines: list[str] = []
        callbacks = self.callbacks(smsid=smsid, limit=20)
        if smsid is not None:
            try:
                message = self._control("GET", f"/_mock/messages/{quote(smsid, safe='')}")
            except EsmsMockError:
                return f"There is no message {smsid} in the journal; it holds:\n{self._journal_lines()}"
            if not message.get("callback_url"):
                lines.append(f"The message {smsid} was sent without a CallbackUrl, so no callback is made.")
            outcomes = {r.get("outcome") if isinstance(r.get("outcome"), str) else json.dumps(r.get("outcome"))
                        for r in message.get("recipients", [])}
            if "never_answered" in outcomes:
                lines.append("Its recipient's outcome is never_answered: it stays pending and has no callback.")
            if not message.get("status", {}).get("final") and message.get("send_at", "") > message.get("now", ""):
                lines.append(f"It is scheduled for {message['send_at']} and the mock clock says {message['now']}: "
                             "advance_clock() to get there.")
        if callbacks:
            lines.append("Callbacks:")
            for cb in callbacks:
                lines.append(f"  - {cb['smsid']} -> {cb['url']}: {cb['state']}, {cb['attempt_count']} attempt(s), "
                             f"due {cb['due_at']}" + (f", last error: {cb['last_error']}" if cb.get("last_error") else ""))
        else:
            lines.append("The mock has no callback" + (f" for {smsid}." if smsid else " at all."))
        return "\n".join(lines)

    def _journal_lines(self, limit: int = 10) -> str:
        found = self.messages(limit=limit)
        if not found:
            return "  (no message: nothing was accepted since the last reset)"
        lines = []
        for m in found:
            recipients = ", ".join(f"{r['recipient']} {_outcome_text(r.get('outcome'))}" for r in m.get("recipients", []))
            cb = m.get("callbacks", {})
            lines.append(f"  - {m['smsid']} {m['operation']} to {recipients or '-'}: {m['status']['label']}; "
                         f"callbacks {cb.get('delivered', 0)} delivered, {cb.get('pending', 0)} pending, "
                         f"{cb.get('failed', 0)} failed; callback_url {m.get('callback_url') or '(none)'}")
        return "\n".join(lines)

    def describe_journal(self) -> str:
        """The journal in a few lines (for failure reports)."""
        text = f"{self.base_url}: messages (newest first)\n{self._journal_lines(20)}"
        scenarios = self.scenarios()
        if scenarios:
            text += "\nscenarios:\n" + "\n".join(
                f"  - #{s['id']} {s['operation']} match={s['match']} code={s['code']} http_status={s['http_status']} "
                f"hits={s['hits']} remaining={s['remaining']}" for s in scenarios)
        return text

    # ------------------------------------------------------------------ scenarios and clock
    def add_scenario(self, operation: str, *, match: Mapping[str, Any] | None = None, code: str | int | None = None,
                     message: str | None = None, http_status: int | None = None, latency_ms: int | None = None,
                     drop: bool | None = None, times: int | None = None) -> dict[str, Any]:
        """Force answers: the next `times` requests to `operation` ("*": all) whose fields equal `match`."""
        __tracebackhide__ = True
        body = {k: v for k, v in {"operation": operation, "match": dict(match) if match else None, "code": code,
                                   "message": message, "http_status": http_status, "latency_ms": latency_ms,
                                   "drop": drop, "times": times}.items() if v is not None}
        return self._control("POST", "/_mock/scenarios", json=body)  # type: ignore[no-any-return]

    def scenarios(self) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self._control("GET", "/_mock/scenarios")["scenarios"]  # type: ignore[no-any-return]

    def remove_scenario(self, scenario_id: int) -> int:
        __tracebackhide__ = True
        return int(self._control("DELETE", f"/_mock/scenarios/{int(scenario_id)}")["removed"])

    def remove_scenarios(self) -> int:
        """Remove every scenario; the number removed."""
        __tracebackhide__ = True
        return int(self._control("DELETE", "/_mock/scenarios")["removed"])

    def clock(self) -> dict[str, Any]:
        """{now, now_iso, offset_seconds} of the mock clock."""
        __tracebackhide__ = True
        return self._control("GET", "/_mock/clock")  # type: ignore[no-any-return]

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the mock clock forward: messages progress, due callbacks go out at once."""
        __tracebackhide__ = True
        return self._control("POST", "/_mock/clock/advance", json={"seconds": seconds})  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<EsmsMock {self.base_url} pid={self.pid} {'running' if self.running else 'stopped'}>"


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _outcome_text(outcome: Any) -> str:
    if outcome is None:
        return ""
    return f"({outcome if isinstance(outcome, str) else json.dumps(outcome)})"


def _first_values(raw_query: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        values.setdefault(name, value)
    return values


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# ============================================================================ the callback sink
@dataclass(frozen=True)
class ReceivedRequest:
    """One request the sink received."""

    method: str
    path: str
    query: dict[str, str]  # each parameter's (first) value, URL-decoded once
    raw_query: str
    at: float  # time.time() on arrival
    status: int  # what the sink answered
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def smsid(self) -> str | None:
        return self.query.get("SMSID")

    def parse(self) -> DeliveryReport:
        """The request as an `esms_zalo.DeliveryReport` (raises CallbackParseError if it is not one)."""
        from esms_zalo import parse_delivery_callback

        return parse_delivery_callback(self.raw_query)

    def summary(self) -> str:
        keys = ("SMSID", "SendStatus", "SendSuccess", "SendFailed", "phonenumber")
        shown = " ".join(f"{k}={self.query[k]}" for k in keys if k in self.query)
        clock = time.strftime("%H:%M:%S", time.localtime(self.at)) + f".{int(self.at * 1000) % 1000:03d}"
        return f"{clock} {self.method} {self.path} -> {self.status}  {shown or self.raw_query[:120]}"


class CallbackSink:
    """An HTTP server on 127.0.0.1 (a free port) that records every request (the `esms_callback_sink` fixture).

    `url` is the CallbackUrl to give the app under test. Requests are answered 200 "OK", or with
    the status of `fail_next(n, status)`, or by the function given to `forward_to`.
    """

    def __init__(self, path: str = "/esms-callback") -> None:
        self._received: list[ReceivedRequest] = []
        self._condition = threading.Condition()
        self._fail: list[int] = []
        self._handler: Callable[[ReceivedRequest], int | None] | None = None
        self._errors: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "esms-callback-sink/1"

            def do_GET(self) -> None:  # noqa: N802
                sink._handle(self)

            do_POST = do_PUT = do_HEAD = do_GET  # recorded too: eSMS only ever sends GET

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self.url = self.base_url + path
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="esms-callback-sink", daemon=True)
        self._thread.start()
        self._stopped = False

    # ------------------------------------------------------------------ serving
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        if length:
            request.rfile.read(min(length, 1_048_576))
        record = ReceivedRequest(
            method=request.command, path=parts.path, query=_first_values(parts.query),
            raw_query=parts.query, at=time.time(), status=200, headers=dict(request.headers.items()),
        )
        with self._condition:
            forced = self._fail.pop(0) if self._fail else None
            handler = self._handler
        status = forced
        if status is None and handler is not None:
            try:
                status = handler(record) or 200
            except Exception as exc:  # the forwarded-to app failed: the mock sees a 500 and retries
                status = 500
                with self._condition:
                    self._errors.append(f"{record.summary()}: {type(exc).__name__}: {exc}")
        status = status or 200
        record = ReceivedRequest(record.method, record.path, record.query, record.raw_query, record.at, status,
                                 record.headers)
        with self._condition:
            self._received.append(record)
            self._condition.notify_all()
        body = b"OK" if 200 <= status < 300 else b"sink told to fail"
        request.send_response(status)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ behaviour
    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` requests with `status` (to see the mock retry)."""
        with self._condition:
            self._fail.extend([int(status)] * int(count))

    def forward_to(self, handler: Callable[[ReceivedRequest], int | None] | None) -> None:
        """Call `handler(request)` for each request; it returns the status to answer (None: 200).

        With Flask: `sink.forward_to(lambda r: app.test_client().get(f"{r.path}?{r.raw_query}").status_code)`.
        An exception is answered 500 (and listed in the sink's failure report).
        """
        with self._condition:
            self._handler = handler

    # ------------------------------------------------------------------ what was received
    @property
    def received(self) -> list[ReceivedRequest]:
        with self._condition:
            return list(self._received)

    @property
    def errors(self) -> list[str]:
        """Exceptions raised by the `forward_to` handler."""
        with self._condition:
            return list(self._errors)

    def clear(self) -> None:
        with self._condition:
            self._received.clear()
            self._errors.clear()

    def requests(self, smsid: str | None = None) -> list[ReceivedRequest]:
        return [r for r in self.received if smsid is None or r.smsid == smsid]

    def wait_for(self, count: int = 1, smsid: str | None = None, timeout: float = DEFAULT_TIMEOUT, *,
                 parse: bool = False, ok_only: bool = False) -> list[Any]:
        """Wait until `count` requests (of `smsid`; answered 2xx if `ok_only`) arrived; they, oldest first.

        With `parse`, as `esms_zalo.DeliveryReport`s. Raises WaitTimeout listing what arrived.
        """
        __tracebackhide__ = True

        def matching() -> list[ReceivedRequest]:
            return [r for r in self._received if (smsid is None or r.smsid == smsid)
                    and (not ok_only or 200 <= r.status < 300)]

        deadline = time.monotonic() + timeout
        with self._condition:
            while len(matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = len(matching())
                    what = f"request(s) for SMSID {smsid}" if smsid else "request(s)"
                    raise WaitTimeout(
                        f"the callback sink {self.url} got {got} of {count} expected {what} within {timeout:g} s.\n"
                        f"{self._describe_locked()}\nIs the message sent with CallbackUrl={self.url}? "
                        "esms_mock.callbacks() shows what the mock tried.")
                self._condition.wait(left)
            found = matching()[:count] if count else matching()
        return [r.parse() for r in found] if parse else found

    def _describe_locked(self) -> str:
        if not self._received:
            text = "Received: nothing."
        else:
            text = "Received:\n" + "\n".join(f"  - {r.summary()}" for r in self._received[-30:])
        if self._errors:
            text += "\nforward_to handler errors:\n" + "\n".join(f"  - {e}" for e in self._errors[-10:])
        return text

    def describe(self) -> str:
        with self._condition:
            return f"{self.url}\n{self._describe_locked()}"

    def __repr__(self) -> str:
        return f"<CallbackSink {self.url} received={len(self.received)}>"
