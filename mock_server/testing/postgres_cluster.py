"""A throw-away PostgreSQL cluster for tests and the bench: Debian's `postgresql` package, started
in a temporary folder, reachable only through a Unix socket, and deleted when stopped.

Run as root (CI, the test machines), `initdb` and `pg_ctl` run as the `postgres` user
(`runuser -u postgres --`), who owns the data and socket folders: PostgreSQL refuses to run as root.
`fsync=off`: a crash of the machine may lose the cluster, which is thrown away anyway; a crash of
a mock instance (kill -9) loses nothing, as every commit still reaches PostgreSQL before it answers.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


class ClusterError(Exception):
    """PostgreSQL is not installed, or the cluster did not start."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ClusterError("PostgreSQL is not installed (Debian: apt-get install postgresql; `make test` does it)")
    return Path(found[-1]).parent


class PostgresCluster:
    """`start()`, then `new_database()` per test (a URL), then `stop()`."""

    def __init__(self) -> None:
        self.bin = _bin_dir()
        # Not under pytest's tmp_path: its folders are private to root, and postgres must reach these.
        self.root = Path(tempfile.mkdtemp(prefix="esms-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as_postgres, *args], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-2000:]}")

    def start(self) -> PostgresCluster:
        os.chmod(self.root, 0o755)
        for folder in (self.data, self.socket_dir):
            folder.mkdir()
            if self._as_postgres:
                shutil.chown(folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
                  "-E", "UTF8", "--locale=C")
        options = (f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.data / "log"),
                  "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """The URL of a new, empty database of its own."""
        name = "esms_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
