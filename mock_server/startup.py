"""What `esms-mock serve` checks before it serves, so that it refuses to start rather than misbehave.

Each check ends in a `StartupError`, whose message is the one line the CLI prints (what failed and
what to do): option values, the host, the port, the database file and the fixtures file. Two claims
are held for the life of the server (and inherited by its forked workers, which share them):

- the port: a lock file per port (`$TMPDIR/esms-mock-port-N.lock`) refuses a second esms-mock
  whatever socket options the HTTP server binds with, and a bind probe without SO_REUSEPORT
  refuses a port that any other program listens on;
- the database: a lock file beside it (`<db>.server.lock`, holding the server's PID) refuses a second
  server on the same file, unless both pass `--share-db`.

The "ready" banner is printed only once `/_mock/health` answers with this process's instance id
(`MockConfig.instance_id`), so it never announces another program that answers on the port.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import socket
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import orjson

from mock_server.store import StoreError
from mock_server.store.fixtures import FixtureError, parse, read_document


class StartupError(Exception):
    """The server cannot start; the message is one line saying what failed and what to do."""


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit 2), not the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---------------------------------------------------------------------- option values
def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"the port must be a number from 1 to 65535, not {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be from 1 to 65535, not {port}")
    return port


def _number_within(text: str, kind: type[int] | type[float], low: float, high: float, *,
                   not_a_number: str, out_of_range: str) -> Any:
    """`text` read as `kind` within [low, high], else argparse's error: "expected <what>, not <text>"."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {not_a_number}, not {text!r}") from None
    if not low <= value <= high:  # also refuses nan, and inf where high is finite
        raise argparse.ArgumentTypeError(f"expected {out_of_range}, not {text if kind is float else value}")
    return value


def seconds_not_negative(text: str) -> float:
    return float(_number_within(text, float, 0, 86_400, not_a_number="a number of seconds",
                                out_of_range="seconds from 0 to 86400"))


def seconds_positive(text: str) -> float:
    value = seconds_not_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected more than 0 seconds, not 0")
    return value


def count_at_least_one(text: str) -> int:
    return int(_number_within(text, int, 1, 1000, not_a_number="a whole number",
                              out_of_range="a whole number from 1 to 1000"))


def count_not_negative(text: str) -> int:
    """A whole number from 0 (0: no limit), such as the journal's --journal-max-requests."""
    return int(_number_within(text, int, 0, float("inf"), not_a_number="a whole number from 0",
                              out_of_range="a whole number from 0"))


def days_not_negative(text: str) -> float:
    """A number of days from 0 to 36600 (0: no limit), such as --journal-max-days."""
    return float(_number_within(text, float, 0, 36_600, not_a_number="a number of days",
                                out_of_range="days from 0 to 36600"))


# ---------------------------------------------------------------------- the host and the port
def check_host(host: str, port: int) -> None:
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"cannot listen on host {host!r}: it does not resolve ({exc}); "
                           f"use an address of this machine such as 127.0.0.1 or 0.0.0.0") from None


@dataclass
class Claim:
    """An open lock file held for the life of the server (closing it, or exiting, releases it)."""

    path: Path
    handle: IO[str]

    def release(self) -> None:
        self.handle.close()


def _open_lock_file(path: Path) -> IO[str]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(fd, "r+", encoding="utf-8")


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    pid = handle.read().strip()
    return f"PID {pid}" if pid.isdigit() else "an unknown process"


def _write_pid(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()


def port_lock_path(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"esms-mock-port-{port}.lock"


def claim_port(host: str, port: int) -> Claim:
    """Refuse a port another esms-mock holds (lock file) or any other program listens on (bind probe)."""
    path = port_lock_path(port)
    try:
        handle = _open_lock_file(path)
    except OSError as exc:
        raise StartupError(f"cannot create the port lock {path}: {exc.strerror}; check TMPDIR") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(handle)
        handle.close()
        raise StartupError(f"port {port} is in use by another esms-mock ({holder}); stop it or choose "
                           f"another --port") from None
    try:
        _probe_bind(host, port)
    except StartupError:
        handle.close()
        raise
    _write_pid(handle)
    return Claim(path, handle)


def _probe_bind(host: str, port: int) -> None:
    """Bind (without SO_REUSEPORT, so a listener that set it still conflicts) and let go at once."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"cannot listen on host {host!r}: it does not resolve ({exc})") from None
    probe = socket.socket(family, kind, proto)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore connections in TIME_WAIT only
        probe.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is in use by another program; stop it or choose "
                               f"another --port") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"not allowed to listen on port {port} (ports below 1024 need root); "
                               f"choose another --port") from None
        raise StartupError(f"cannot listen on {host} port {port}: {exc.strerror}; use an address of this "
                           f"machine such as 127.0.0.1 or 0.0.0.0") from None
    finally:
        probe.close()


# ---------------------------------------------------------------------- the database
def claim_database(db: Path, *, share: bool, loads_fixtures: bool) -> Claim:
    """Refuse a database another live server uses, unless both share it on purpose (`--share-db`);
    a sharing server never loads `--fixtures` over what another one serves."""
    folder = db.parent if str(db.parent) else Path(".")
    if db.is_dir():
        raise StartupError(f"the database {db} is a folder; give --db a file name")
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise StartupError(f"cannot create the database {db}: the folder {folder} {problem}; create it "
                           f"or choose another --db")
    path = Path(f"{db}.server.lock")
    try:
        handle = _open_lock_file(path)
    except OSError as exc:
        raise StartupError(f"cannot create the database {db}: {exc.strerror} (writing {path}); choose a "
                           f"writable folder with --db") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _holder(handle)
        if not share:
            handle.close()
            raise StartupError(f"the database {db} is used by another esms-mock ({holder}); stop it, choose "
                               f"another --db, or pass --share-db to both servers") from None
        if loads_fixtures:
            handle.close()
            raise StartupError(f"--fixtures would replace the fixtures that another esms-mock ({holder}) serves "
                               f"from {db}; start without --fixtures, or load them with PUT /_mock/fixtures") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StartupError(f"the database {db} is used by another esms-mock ({holder}) that does not "
                               f"share it; stop it or choose another --db") from None
        return Claim(path, handle)
    _write_pid(handle)
    if share:  # the first sharing server: others with --share-db may join
        fcntl.flock(handle, fcntl.LOCK_SH)
    return Claim(path, handle)


def check_database_opens(db: Path) -> None:
    """Open the file as SQLite once, so that an unusable file fails here with one line."""
    try:
        connection = sqlite3.connect(db, timeout=5)
        try:
            connection.execute("PRAGMA user_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise StartupError(f"cannot open the database {db}: {exc}; delete it or choose another --db") from None


# ---------------------------------------------------------------------- fixtures
def check_fixtures_file(path: str) -> None:
    """The fixtures file exists and is a valid Fixtures document."""
    file = Path(path)
    if not file.is_file():
        raise StartupError(f"the fixtures file {path} does not exist" if not file.exists()
                           else f"the fixtures file {path} is not a file")
    try:
        parse(read_document(file))
    except FixtureError as exc:
        raise StartupError(f"the fixtures file {path} is not valid: {'; '.join(exc.problems)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StartupError(f"cannot read the fixtures file {path}: {exc}") from None
    except RecursionError:
        raise StartupError(f"the fixtures file {path} is nested too deeply to be fixtures") from None


def one_line(error: BaseException) -> str:
    """An exception from building the mock as one line (FixtureError and StoreError may span several)."""
    if isinstance(error, FixtureError):
        return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    if isinstance(error, (StoreError, sqlite3.Error, OSError)):
        return " ".join(str(error).split())
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


# ---------------------------------------------------------------------- ready
def local_address(host: str) -> str:
    """Where this machine reaches a server listening on `host` (a wildcard is reached on loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def wait_until_this_instance_answers(host: str, port: int, instance_id: str, *, timeout: float = 30.0,
                                     on_ready: Callable[[], None], on_other: Callable[[str], None]) -> None:
    """Call `on_ready` once /_mock/health answers with `instance_id`, `on_other` if something else answers."""
    url = f"http://{local_address(host)}:{port}/_mock/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
                answered = orjson.loads(response.read()).get("instance")
        except (OSError, ValueError, AttributeError):
            time.sleep(0.02)
            continue
        if answered == instance_id:
            on_ready()
        else:
            on_other(f"another server answers on port {port} (instance {answered!r}, not this one)")
        return
    on_other(f"the server did not answer on {url} within {timeout:.0f} s")


def fail(message: str) -> int:
    """Print why the server cannot start, as one line (a parser's message may span several)."""
    print(f"esms-mock: cannot start: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return 2
