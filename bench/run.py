"""`make bench`: drive the served mock, Stoplight Prism on the same spec and WireMock serving a fixed
stub for the same URL, with wrk on loopback.

Prints requests/s and p50/p99 latency for a valid V5 send (validated and stored), an invalid send
and a status query; the time from start to first answer; resident memory before and after load;
and the mock/Prism and mock/WireMock ratios, all measured side by side in one run because this
machine is noisy. Every tool gets the same warm-up before each measured load, and every answer of
every tool is checked (bench/lua/answers.lua): an answer without the expected code never counts.
WireMock (the npm package `wiremock`, which bundles the standalone JAR; Java 17) serves
bench/wiremock/mappings: it validates nothing and stores nothing. It runs with its default request
journal and with `--no-request-journal`. Beside them, the floor of the mock's own serving stack
(bench/floor.py: Granian with the mock's settings and a Python handler that only parses the body
and answers the success body), which shows what the HTTP server costs and what the mock's work.

The valid send is measured in rounds (`--rounds`), the mock, the floor and both WireMocks taking turns, so
that a slow spell of the machine falls on every tool alike. The rounds also show what one
measurement hid: WireMock's JIT keeps compiling for about a minute of load, and its throughput
more than doubles meanwhile (5,200 -> 17,000 req/s here), while the mock's stays level. Round 1
compares the tools after the same short load; the last round, once WireMock is warm.
This is a script that prints figures, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "lua"
SPEC = ROOT / "spec" / "esms-zalo.openapi.yaml"
PRISM = ROOT / "node_modules" / ".bin" / "prism"
WIREMOCK_JARS = ROOT / "node_modules" / "wiremock" / "build"
WIREMOCK_ROOT = Path(__file__).resolve().parent / "wiremock"
CREDENTIALS = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}
V5_PATH = "/MainService.svc/json/SendZaloMessage_V5_post/"
VALID_SEND = {**CREDENTIALS, "OAID": "4097311281936189049", "Phone": "0901888484", "TempID": "205644",
              "TempData": [{"key": "otp", "value": "1"}]}


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str
    cpu_us_per_request: float = 0.0  # the server's CPU time (all its processes) per answered request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_ready(url: str, body: dict, started: float, timeout: float = 30.0) -> float:
    """Seconds from `started` until the server answers `body` at `url`."""
    while time.perf_counter() - started < timeout:
        try:
            post(url, body)
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"no answer from {url} within {timeout} s")


def memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) in MB of a process and all its descendants.

    PSS counts a page shared by the forked workers once, split between them; RSS counts it in
    every process, so the RSS sum overstates a pre-forking server's footprint."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for line in out.splitlines():
        p, pp, r = (int(x) for x in line.split())
        children.setdefault(pp, []).append(p)
        rss[p] = r
    pss_total, rss_total, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        rss_total += rss.get(current, 0)
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                pss_total += sum(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
        except OSError:
            pss_total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return pss_total / 1024, rss_total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (from /proc; 0 elsewhere).

    Throughput on a shared machine moves with the other load; the CPU the server spends per
    request does much less, so it is the figure to compare two versions of the mock by."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, parents = 0.0, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    todo = [pid]
    while todo:
        current = todo.pop()
        total += parents.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in parents.items() if parent == current)
    return total


def measured(pid: int, url: str, script: Path, seconds: int, connections: int) -> Load:
    """One wrk run, with the server's CPU time per request."""
    before = cpu_seconds(pid)
    load = wrk(url, script, seconds, connections)
    served = load.requests_per_second * seconds
    load.cpu_us_per_request = (cpu_seconds(pid) - before) * 1e6 / served if served else 0.0
    return load


def wrk(url: str, script: Path, seconds: int, connections: int) -> Load:
    """One wrk run; the script counts answers without the expected code (bench/lua/answers.lua).

    A fresh nonce per run keeps the RequestIds of valid sends unique across runs on one database."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", "-s", str(script)]
    out = subprocess.run([*command, url, "--", uuid.uuid4().hex[:12]], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Socket errors:.*", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    unexpected = re.search(r"Unexpected answers \(without (.*)\): (\d+)", out)
    if unexpected is None:
        raise RuntimeError(f"{script.name} did not report its unexpected answers:\n{out}")
    problems = ", ".join(x for x in (
        errors.group(0) if errors else "",
        f"non-2xx {non2xx.group(1)}" if non2xx else "",
        f"{unexpected.group(2)} answers without {unexpected.group(1)}" if unexpected.group(2) != "0" else "",
    ) if x)
    return Load(rps, percentile("50%"), percentile("99%"), problems or "none")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class Served:
    """A server under test: started once, its valid V5 send measured in every round."""

    label: str
    process: subprocess.Popen
    url: str  # of the valid V5 send
    ready_s: float
    rounds: list[Load] = field(default_factory=list)


def launch(label: str, command: list[str], port: int, ready_path: str, ready_body: dict, *, timeout: float = 30.0,
           stderr: int | None = subprocess.DEVNULL) -> Served:
    """Start a tool on `port` and wait until `ready_path` answers `ready_body` (stopped again if it never does)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(base + ready_path, ready_body, started, timeout)
    except BaseException:
        stop(process)
        raise
    return Served(label, process, base + V5_PATH, ready)


def start_mock(args: argparse.Namespace, workdir: Path) -> Served:
    port = free_port()
    command = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(port), "--db", str(workdir / "bench.sqlite3"),
               "--fixtures", str(Path(__file__).with_name("fixtures.yaml")), "--workers", str(args.workers),
               "--threads", str(args.threads), "--log-level", "warning"]
    # Its warnings reach this terminal: a pipe nobody reads would stall the mock once full.
    return launch("mock", command, port, "/MainService.svc/json/GetBalance_json", CREDENTIALS, stderr=None)


def mock_other_loads(args: argparse.Namespace, mock: Served) -> dict:
    """The invalid send and the status query, then a soak of valid sends and the memory after it."""
    base = mock.url.removesuffix(V5_PATH)
    smsid = post(mock.url, VALID_SEND)["SMSID"]
    status_url = f"{base}/MainService.svc/json/GetSendStatus?RefId={smsid}&ApiKey=DEMO_API_KEY&SecretKey=DEMO_SECRET_KEY"
    results: dict = {}
    for name, url, script in (
        ("invalid send", mock.url, LUA / "invalid_send.lua"),
        ("status query", status_url, LUA / "status_query.lua"),
    ):
        wrk(url, script, args.warm_up, args.connections)
        results[name] = measured(mock.process.pid, url, script, args.seconds, args.connections)
        print(f"  mock {name}: {results[name].requests_per_second:.0f} req/s", flush=True)
    results["memory_after_load"] = memory_mb(mock.process.pid)
    # Memory must stay flat however many requests are served: a long soak, then measure again.
    served = 0
    while served < args.soak_sends:
        load = wrk(mock.url, LUA / "valid_send.lua", args.seconds, args.connections)
        served += int(load.requests_per_second * args.seconds)
    results["soak_requests"] = served
    results["memory_after_soak"] = memory_mb(mock.process.pid)
    return results


def wait_until_idle(others: list[Served], busy: float = 0.05, timeout: float = 20.0) -> float:
    """Wait until the other tools use less than `busy` of a core; returns the seconds waited.

    After a load a JVM keeps compiling for several seconds (a whole core for the first five,
    measured after WireMock's first load): that must not fall on the next tool's measurement."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        before = sum(cpu_seconds(other.process.pid) for other in others)
        time.sleep(0.5)
        if sum(cpu_seconds(other.process.pid) for other in others) - before < busy * 0.5:
            break
    return time.perf_counter() - started


def measure_valid_send(args: argparse.Namespace, served: Served) -> Load:
    """One round: the same warm-up for every tool, then the measured load."""
    wrk(served.url, LUA / "valid_send.lua", args.warm_up, args.connections)
    load = measured(served.process.pid, served.url, LUA / "valid_send.lua", args.seconds, args.connections)
    served.rounds.append(load)
    return load


def bench_prism(args: argparse.Namespace, verbosity: str | None) -> dict | None:
    if shutil.which("node") is None or not PRISM.exists():
        print("  Prism skipped: npm tools are not installed (run `make install` with Node.js and npm present)")
        return None
    port = free_port()
    command = [str(PRISM), "mock", str(SPEC), "-p", str(port)] + (["-v", verbosity] if verbosity else [])
    prism = launch("Prism", command, port, V5_PATH, VALID_SEND, timeout=60)
    try:
        load = measure_valid_send(args, prism)
        return {"ready_s": prism.ready_s, "valid V5 send": load, "memory": memory_mb(prism.process.pid)}
    finally:
        stop(prism.process)


def start_floor() -> Served:
    port = free_port()
    return launch("floor (Granian, no work)", [sys.executable, str(Path(__file__).with_name("floor.py")), str(port)],
                  port, V5_PATH, CREDENTIALS)


def start_wiremock(journal: bool) -> Served | None:
    jars = sorted(WIREMOCK_JARS.glob("wiremock-standalone-*.jar"))
    if shutil.which("java") is None or not jars:
        print("  WireMock skipped: needs Java 17 and the npm package `wiremock` (run `make bench`)")
        return None
    port = free_port()
    command = ["java", "-jar", str(jars[-1]), "--port", str(port), "--root-dir", str(WIREMOCK_ROOT),
               "--disable-banner"] + ([] if journal else ["--no-request-journal"])
    return launch("WireMock (journal)" if journal else "WireMock (no journal)", command, port, V5_PATH,
                  {**CREDENTIALS}, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each measured load (default: %(default)s)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default: %(default)s)")
    parser.add_argument("--warm-up", type=int, default=5,
                        help="seconds of the same load before each measured one, for every tool (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of the valid send, the mock, the floor and WireMock taking turns, each with its warm-up: "
                             "the first compares the tools after the same short load, the last once WireMock's "
                             "JIT has compiled its hot path (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=1, help="mock worker processes (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=4,
                        help="control-plane threads per mock worker (default: %(default)s)")
    parser.add_argument("--soak-sends", type=int, default=100_000,
                        help="valid sends (at least) after the loads before measuring memory again (default: %(default)s)")
    parser.add_argument("--no-prism", action="store_true", help="leave Prism out")
    parser.add_argument("--no-wiremock", action="store_true", help="leave WireMock out")
    parser.add_argument("--no-floor", action="store_true",
                        help="leave out the floor of the serving stack (bench/floor.py: Granian and a handler that does nothing)")
    parser.add_argument("--no-instances", action="store_true",
                        help="leave out SQLite vs PostgreSQL vs two instances behind HAProxy (bench/instances.py)")
    parser.add_argument("--only-instances", action="store_true", help="run only bench/instances.py")
    args = parser.parse_args()
    if args.rounds < 1:
        print("bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (make bench installs it with apt-get)", file=sys.stderr)
        return 2
    if args.only_instances:
        return _instances(args)
    with tempfile.TemporaryDirectory(prefix="esms-bench-") as tmp:
        print(f"esms-mock: {args.workers} worker(s), wrk -t2 -c{args.connections} -d{args.seconds}s after {args.warm_up} s of "
              f"warm-up; the valid send in {args.rounds} round(s), each tool in turn", flush=True)
        contenders: list[Served] = []
        try:
            mock = start_mock(args, Path(tmp))
            contenders.append(mock)
            memory_start = memory_mb(mock.process.pid)
            print(f"  mock ready in {mock.ready_s:.3f} s, {memory_start[0]:.0f} MB", flush=True)
            if not args.no_floor:
                contenders.append(start_floor())
            if not args.no_wiremock:
                for journal in (True, False):
                    wiremock = start_wiremock(journal)
                    if wiremock is not None:
                        contenders.append(wiremock)
            for served in contenders[1:]:
                print(f"  {served.label} ready in {served.ready_s:.3f} s", flush=True)
            # Taking turns, round after round: a slow spell of this shared machine falls on every
            # tool alike, instead of on whichever tool happened to run during it.
            for number in range(1, args.rounds + 1):
                for served in contenders:
                    waited = wait_until_idle([other for other in contenders if other is not served])
                    if waited > 1:
                        print(f"  (waited {waited:.0f} s for the other tools to go idle)", flush=True)
                    load = measure_valid_send(args, served)
                    print(f"  round {number}/{args.rounds}, {served.label} valid V5 send: "
                          f"{load.requests_per_second:.0f} req/s", flush=True)
            others = contenders[1:]
            memory = {served.label: memory_mb(served.process.pid) for served in others}
            for served in others:
                stop(served.process)
            mock_loads = mock_other_loads(args, mock)
        finally:
            for served in contenders:
                stop(served.process)
    prism = {} if args.no_prism else {
        label: result for label, verbosity in (("Prism (default logging)", None), ("Prism (-v silent)", "silent"))
        if (print(f"{label}: measuring...", flush=True) or True) and (result := bench_prism(args, verbosity)) is not None
    }
    _report(args, mock, others, memory, prism, memory_start, mock_loads)
    return 0 if args.no_instances else _instances(args)


def _report(args: argparse.Namespace, mock: Served, others: list[Served], others_memory: dict[str, tuple[float, float]], prism: dict,
            memory_start: tuple[float, float], mock_loads: dict) -> None:
    last = len(mock.rounds) - 1
    print()
    print(f"{'':34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU us/req':>12}  socket errors / non-2xx / unexpected answers")
    rows = [("mock valid V5 send", mock.rounds[last]), ("mock invalid send", mock_loads["invalid send"]),
            ("mock status query", mock_loads["status query"])]
    rows += [(f"{served.label} V5 send", served.rounds[last]) for served in others]
    rows += [(f"{label} V5 send", result["valid V5 send"]) for label, result in prism.items()]
    for name, load in rows:
        cpu = f"{load.cpu_us_per_request:12.0f}" if load.cpu_us_per_request else f"{'':12}"
        print(f"{name:34}{load.requests_per_second:10.0f}{load.p50_ms:10.2f}{load.p99_ms:10.2f}{cpu}  {load.errors}")
    if last:
        print(f"(the valid V5 sends above: round {last + 1}; every round, req/s, then server CPU us/req:)")
        for served in (mock, *others):
            print(f"  {served.label:32}" + "".join(f"{load.requests_per_second:8.0f}" for load in served.rounds)
                  + "   " + "".join(f"{load.cpu_us_per_request:6.0f}" for load in served.rounds))
    print()
    print(f"time to first answer: mock {mock.ready_s:.3f} s" +
          "".join(f", {served.label} {served.ready_s:.3f} s" for served in others) +
          "".join(f", {label} {r['ready_s']:.3f} s" for label, r in prism.items()))
    loaded, soaked = mock_loads["memory_after_load"], mock_loads["memory_after_soak"]
    print(f"memory (PSS, RSS sum in brackets): mock {memory_start[0]:.0f} MB ({memory_start[1]:.0f}) at start, "
          f"{loaded[0]:.0f} MB ({loaded[1]:.0f}) after the loads, {soaked[0]:.0f} MB ({soaked[1]:.0f}) after "
          f"{mock_loads['soak_requests']} more sends" +
          "".join(f"; {label} {m[0]:.0f} MB ({m[1]:.0f}) after its loads" for label, m in others_memory.items()) +
          "".join(f"; {label} {r['memory'][0]:.0f} MB ({r['memory'][1]:.0f}) after its load" for label, r in prism.items()))
    ours = mock.rounds[last]
    for label, result in prism.items():
        theirs = result["valid V5 send"]
        print(f"ratio mock / {label}: throughput x{ours.requests_per_second / theirs.requests_per_second:.2f}, "
              f"p99 x{ours.p99_ms / theirs.p99_ms:.2f}, start-up x{mock.ready_s / result['ready_s']:.2f}, "
              f"memory (RSS) x{soaked[1] / result['memory'][1]:.2f}")
    for served in others:
        theirs = served.rounds[last]
        print(f"ratio mock / {served.label}, round {last + 1} (each tool after "
              f"{(last + 1) * (args.warm_up + args.seconds)} s of load): "
              f"throughput x{ours.requests_per_second / theirs.requests_per_second:.2f}, p99 x{ours.p99_ms / theirs.p99_ms:.2f}, "
              f"start-up x{mock.ready_s / served.ready_s:.2f}, memory (RSS) x{soaked[1] / others_memory[served.label][1]:.2f}")
        if last:
            print("  throughput round by round: " + " ".join(
                f"x{ours_then.requests_per_second / theirs_then.requests_per_second:.2f}"
                for ours_then, theirs_then in zip(mock.rounds, served.rounds)))


def _instances(args: argparse.Namespace) -> int:
    """Several instances on one PostgreSQL (README: Running several instances)."""
    sys.path.insert(0, str(ROOT))
    from bench.instances import bench_instances, print_instances

    print(f"\nseveral instances: wrk -t2 -c{args.connections} -d{args.seconds}s after {args.warm_up} s of warm-up, "
          f"{args.workers} worker(s) per instance", flush=True)
    helpers = {"free_port": free_port, "wait_ready": wait_ready, "wrk": wrk, "stop": stop, "LUA": LUA,
               "V5_PATH": V5_PATH, "CREDENTIALS": CREDENTIALS}
    with tempfile.TemporaryDirectory(prefix="esms-bench-") as tmp:
        results = bench_instances(args, Path(tmp), helpers)
    print()
    print_instances(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
