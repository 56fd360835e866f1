"""The process supervisor of a served mock: `esms-mock serve` in a process of its own.

`ServedMock` starts the server on a free loopback port, waits until it answers
`/_mock/health` and is really ours (the health answer names our database: another process may
have taken the free port first), stops it (and every worker it forked), kills it like a crash
would, and restarts it on the same database without `--fixtures`, so that it serves what it
stored. The pytest plugin, the project's own tests and any other runner use this one launcher.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from mock_server.store import is_database_url
from mock_server.testing.errors import EsmsMockError

# The demo data `esms-mock serve` falls back to (mock_server/store/fixtures.py names the same
# file; not imported from there, because that module loads the schema machinery at import).
DEMO_FIXTURES_PATH = Path(__file__).resolve().parents[1] / "demo_fixtures.yaml"
READY_BANNER = "esms-mock ready on"  # what `esms-mock serve` prints once it listens
POLL_INTERVAL = 0.05
LOG_TAIL_LINES = 40
# A server that listens but has not answered for this long is stuck (seen: a worker forked while
# another thread of the parent held an import lock); it is stopped and another one started.
HUNG_AFTER = 10.0


class _PortTaken(EsmsMockError):
    """Another process took the free port first."""


class _StartHung(EsmsMockError):
    """The server said it was ready, then did not answer."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (it may be taken before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Run in a fresh interpreter before it becomes the server (exec keeps the pid): on Linux, ask
# for SIGTERM when the process that started it dies, so that a test run killed with SIGKILL (a
# CI timeout) does not leave a server behind; the server runs in its own session, out of reach
# of signals sent to the runner's process group. (The signal follows the thread that started it:
# pytest fixtures run in its main thread.)
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
    """The environment of the server: it imports the same mock_server as this process, installed or not."""
    import site
    import sysconfig

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    package_root = str(Path(__file__).resolve().parents[2])
    installed = {str(Path(p).resolve()) for p in (*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                                                  sysconfig.get_paths()["platlib"])}
    if package_root not in installed:  # a source checkout: the server's cwd is elsewhere
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return env


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


class ServedMock:
    """`esms-mock serve` on a free loopback port, in its own session; `stop()` always ends it.

    `db`: the SQLite file (kept across `restart()`), or a PostgreSQL URL that several servers
    share (its log then goes to the temporary folder unless `log_path` is given). `fixtures`: loaded at the first start
    (`--fixtures`); None passes none, so the server serves the fixtures stored in `db`, or the
    demo data if `db` is new. The server's output goes to `log_path` (default: next to `db`),
    appended across restarts. `read_timeout`: seconds before a caller whose headers or body stall
    is answered 408 and disconnected (`--read-timeout`); `max_connections`: requests in progress at
    once per worker (`--max-connections`). None keeps the server's default.
    """

    def __init__(self, db: Path | str, *, fixtures: Path | str | None = DEMO_FIXTURES_PATH, workers: int = 1,
                 threads: int = 4, delivery_delay: float = 0.2, callback_attempts: int = 5, log_level: str = "info",
                 log_path: Path | str | None = None, start_timeout: float = 30.0, attempts: int = 3,
                 read_timeout: float | None = None, max_connections: int | None = None) -> None:
        # A SQLite file, or a PostgreSQL URL that several servers may share (mock_server.store.postgresql).
        self.db: Path | str = str(db) if is_database_url(str(db)) else Path(db).resolve()
        workdir = Path(tempfile.gettempdir()) if isinstance(self.db, str) else self.db.parent
        self.fixtures = Path(fixtures) if fixtures is not None else None
        self.workers, self.threads = workers, threads
        self.delivery_delay, self.callback_attempts = delivery_delay, callback_attempts
        self.log_level = log_level
        self.read_timeout = read_timeout  # None: the server's default (--read-timeout)
        self.max_connections = max_connections  # None: the server's default (--max-connections)
        self.log_path = (Path(log_path) if log_path is not None else self.db.with_suffix(".log")
                         if isinstance(self.db, Path) else workdir / f"esms-mock-{uuid.uuid4().hex[:8]}.log")
        self.workdir = workdir
        self.start_timeout, self.attempts = start_timeout, attempts
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.start_attempt = 0  # which attempt of the latest start got a server (see `start`)
        self.start_seconds = 0.0  # how long that attempt took to answer /_mock/health
        self._run_log_offset = 0  # where the current process's output starts in log_path

    # ------------------------------------------------------------------ what it is
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise EsmsMockError("the esms-mock server was never started")
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Everything the server has written, over every start."""
        return _read(self.log_path)

    def log_tail(self) -> str:
        """The last lines of the log, indented, for error messages."""
        lines = self.log().splitlines()[-LOG_TAIL_LINES:]
        return "\n".join(f"  | {line}" for line in lines) or "  | (the server wrote nothing)"

    def __repr__(self) -> str:
        state = f"pid={self.process.pid} {'running' if self.running else 'stopped'}" if self.process else "not started"
        return f"<ServedMock {self.base_url} {state} db={self.db}>"

    # ------------------------------------------------------------------ start, stop, restart
    def start(self) -> ServedMock:
        """Start the server and wait until it answers; up to `attempts` tries when the port was
        taken first or the server hung at start. Raises EsmsMockError, with the log, otherwise."""
        return self._start(fixtures=self.fixtures, port=None)

    def restart(self) -> ServedMock:
        """Stop the server if it runs, then start it on the same database without `--fixtures`
        (it serves what it stored, as after a crash), on the same port if that is still free."""
        self.stop()
        return self._start(fixtures=None, port=self.port or None)

    def _start(self, *, fixtures: Path | None, port: int | None) -> ServedMock:
        if self.running:
            raise EsmsMockError(f"the esms-mock server on {self.base_url} is already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, self.attempts + 1):
            self.port = port if attempt == 1 and port else free_port()
            self._launch(fixtures)
            atexit.register(self.stop)
            try:
                self.start_seconds = self._wait_until_healthy()
            except (_PortTaken, _StartHung):
                self.stop(grace=2.0)
                if attempt == self.attempts:
                    raise
                continue  # lost the race for the free port, or a server that hung at start: another one
            except BaseException:
                self.stop()
                raise
            self.start_attempt = attempt
            return self
        raise AssertionError("unreachable")

    def _launch(self, fixtures: Path | None) -> None:
        command = [
            sys.executable, "-m", "mock_server.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--db", str(self.db), "--workers", str(self.workers), "--threads", str(self.threads),
            "--delivery-delay", str(self.delivery_delay), "--callback-attempts", str(self.callback_attempts),
            "--log-level", self.log_level,
        ]
        if fixtures is not None:
            command += ["--fixtures", str(fixtures)]
        if self.read_timeout is not None:
            command += ["--read-timeout", str(self.read_timeout)]
        if self.max_connections is not None:
            command += ["--max-connections", str(self.max_connections)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._run_log_offset = log.tell()
            self.process = subprocess.Popen(_with_parent_death_signal(command), stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.workdir, env=_server_env(),
                                            start_new_session=True)

    def _run_log(self) -> str:
        """What the current process has written."""
        with contextlib.suppress(OSError), open(self.log_path, "rb") as handle:
            handle.seek(self._run_log_offset)
            return handle.read().decode("utf-8", "replace")
        return ""

    def _wait_until_healthy(self) -> float:
        """Seconds until /_mock/health answered with our database."""
        import httpx

        assert self.process is not None
        start = time.monotonic()
        deadline = start + self.start_timeout
        listening_since: float | None = None  # when it said it was ready, or took a connection without answering
        last_error = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=2.0, trust_env=False) as http:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    error = _PortTaken if "in use" in self._run_log() else EsmsMockError
                    raise error(f"the esms-mock server exited with status {code} before it was ready:\n"
                                f"{self.log_tail()}")
                try:
                    answer = http.get("/_mock/health")
                except httpx.TransportError as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
                    if listening_since is None and (isinstance(exc, httpx.ReadTimeout) or
                                                    READY_BANNER in self._run_log()):
                        listening_since = time.monotonic()
                    if listening_since is not None and time.monotonic() - listening_since > HUNG_AFTER:
                        raise _StartHung(f"the esms-mock server on {self.base_url} is listening but did not answer "
                                         f"/_mock/health for {HUNG_AFTER:g} s ({last_error}):\n"
                                         f"{self.log_tail()}") from None
                else:
                    if answer.status_code == 200:
                        if not self._is_ours(answer):
                            raise _PortTaken(f"another server answers on {self.base_url}; the port was taken")
                        return time.monotonic() - start
                    last_error = f"HTTP {answer.status_code}"
                time.sleep(POLL_INTERVAL)
        raise EsmsMockError(f"the esms-mock server on {self.base_url} did not answer /_mock/health within "
                            f"{self.start_timeout:g} s ({last_error}):\n{self.log_tail()}")

    def _is_ours(self, answer: object) -> bool:
        try:
            database = answer.json().get("database")  # type: ignore[attr-defined]
        except (ValueError, AttributeError):
            return False
        if database is None:
            return False
        return database == self.db if isinstance(self.db, str) else Path(str(database)).resolve() == self.db

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL to its process group after `grace` seconds). Idempotent."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)  # the server stops its workers gracefully
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)  # the session started for this server only
                process.wait(timeout=10)
        self._kill_group(process)

    def kill(self) -> None:
        """SIGKILL to every process of the server: no chance to flush or clean up (a crash)."""
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        process = self.process
        if process is None:
            return
        self._kill_group(process)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=10)

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        # A worker left behind by its master would still be in the server's own process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, 0)
            os.killpg(process.pid, signal.SIGKILL)
