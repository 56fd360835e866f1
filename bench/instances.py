"""The several-instances part of `make bench`: valid V5 sends on one instance on SQLite, one instance on
PostgreSQL, and two instances on the same PostgreSQL behind Debian's HAProxy (round robin), side by
side, with what the database costs per send (CPU of the PostgreSQL server, bytes added).

The PostgreSQL cluster is a throw-away one (mock_server.testing.postgres_cluster: fsync off, Unix
socket only); every configuration gets a new database and the same warm-up. Run with bench/run.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from mock_server.testing.postgres_cluster import PostgresCluster

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).with_name("fixtures.yaml")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class InstancesResult:
    label: str
    requests_per_second: float
    p99_ms: float
    errors: str
    mock_cpu_ms_per_send: float  # every mock process (and HAProxy), per valid send
    database_cpu_ms_per_send: float | None  # the PostgreSQL server's processes; None: SQLite runs inside the mock
    bytes_per_send: float  # growth of the database (file, or pg_database_size) per valid send


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and every process below them."""
    total = 0
    for pid in {p for root in pids for p in _tree(root)}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def _serve(db: str, port: int, args: argparse.Namespace, *, fixtures: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port), "--db", db,
               "--workers", str(args.workers), "--threads", str(args.threads), "--log-level", "warning"]
    if fixtures:
        command += ["--fixtures", str(FIXTURES)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _haproxy(port: int, backends: list[int], workdir: Path) -> subprocess.Popen[bytes]:
    config = workdir / "haproxy.cfg"
    servers = "\n".join(f"    server mock{i} 127.0.0.1:{p}" for i, p in enumerate(backends))
    config.write_text(f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend esms
    bind 127.0.0.1:{port}
    default_backend mocks
backend mocks
    balance roundrobin
{servers}
""")
    return subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _database_bytes(db: str) -> int:
    if db.startswith("postgresql://"):
        with psycopg.connect(db) as connection:
            return int(connection.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    return sum(f.stat().st_size for f in Path(db).parent.glob(Path(db).name + "*"))


def _postmaster(cluster: PostgresCluster) -> int:
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


def bench_instances(args: argparse.Namespace, workdir: Path, run: dict) -> list[InstancesResult]:
    """`run` holds bench/run.py's helpers (free_port, wait_ready, wrk, stop, and the paths)."""
    if shutil.which("haproxy") is None:
        print("  HAProxy is not installed (make bench installs it with apt-get): two instances left out", flush=True)
    cluster = PostgresCluster().start()
    results: list[InstancesResult] = []
    try:
        configurations = [("1 instance, SQLite", str(workdir / "instances.sqlite3"), 1),
                          ("1 instance, PostgreSQL", cluster.new_database(), 1)]
        if shutil.which("haproxy") is not None:
            configurations.append(("2 instances + HAProxy, PostgreSQL", cluster.new_database(), 2))
        for label, db, count in configurations:
            print(f"  {label}: measuring...", flush=True)
            results.append(_measure(label, db, count, args, workdir, run,
                                    _postmaster(cluster) if db.startswith("postgresql://") else None))
    finally:
        cluster.stop()
    return results


def _measure(label: str, db: str, count: int, args: argparse.Namespace, workdir: Path, run: dict,
             postmaster: int | None) -> InstancesResult:
    ports = [run["free_port"]() for _ in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, port in enumerate(ports):  # one after the other: the first loads the fixtures
            started = time.perf_counter()
            processes.append(_serve(db, port, args, fixtures=index == 0))
            run["wait_ready"](f"http://127.0.0.1:{port}/MainService.svc/json/GetBalance_json", run["CREDENTIALS"], started)
        port = ports[0]
        if count > 1:
            port = run["free_port"]()
            processes.append(_haproxy(port, ports, workdir))
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port}{run['V5_PATH']}"
        script = run["LUA"] / "valid_send.lua"
        run["wrk"](url, script, args.warm_up, args.connections)
        size, mock_cpu = _database_bytes(db), cpu_seconds([p.pid for p in processes])
        database_cpu = cpu_seconds([postmaster]) if postmaster else 0.0
        load = run["wrk"](url, script, args.seconds, args.connections)
        sends = max(load.requests_per_second * args.seconds, 1.0)
        return InstancesResult(
            label, load.requests_per_second, load.p99_ms, load.errors,
            (cpu_seconds([p.pid for p in processes]) - mock_cpu) * 1000 / sends,
            (cpu_seconds([postmaster]) - database_cpu) * 1000 / sends if postmaster else None,
            (_database_bytes(db) - size) / sends,
        )
    finally:
        for process in processes:
            run["stop"](process)


def print_instances(results: list[InstancesResult]) -> None:
    print(f"{'valid V5 send':36}{'req/s':>8}{'p99 ms':>9}{'mock CPU ms/send':>18}{'PostgreSQL CPU ms/send':>24}"
          f"{'DB bytes/send':>15}  errors")
    for r in results:
        database = f"{r.database_cpu_ms_per_send:.3f}" if r.database_cpu_ms_per_send is not None else "(in the mock)"
        print(f"{r.label:36}{r.requests_per_second:8.0f}{r.p99_ms:9.2f}{r.mock_cpu_ms_per_send:18.3f}{database:>24}"
              f"{r.bytes_per_send:15.0f}  {r.errors}")
