"""Running the Node tools of package.json (Spectral, Prism) and Node itself from the tests.

A missing node_modules is a failure that says to run `make install`; only
ESMS_SKIP_NODE_TOOLS=1 turns these checks into skips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from esms_spec_checks import patterns
from esms_spec_support import REPO_ROOT, SPECTRAL_RULESET, node_tool

SEVERITIES = {0: "error", 1: "warning", 2: "info", 3: "hint"}


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise AssertionError(
            "Node.js (`node`) is not on PATH: the portability checks need it (see package.json), "
            "or set ESMS_SKIP_NODE_TOOLS=1 to skip them knowingly."
        )
    return node


def run_node_script(script: str, *args: str, timeout: float = 120) -> Any:
    """Run a Node script (with the repository's node_modules resolvable) that prints JSON."""
    if not (REPO_ROOT / "node_modules").is_dir():
        node_tool("spectral")  # raises the "run make install" message
    completed = subprocess.run(
        [node_executable(), "-e", script, "--", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if completed.returncode != 0:
        raise AssertionError(f"node script failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout)


# ---------------------------------------------------------------------------- Spectral
@dataclass
class SpectralFinding:
    code: str
    severity: int
    message: str
    path: list[Any]
    line: int | None

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "(root)"
        line = f"line {self.line + 1}: " if self.line is not None else ""
        return f"{SEVERITIES.get(self.severity, self.severity)} {self.code}: {line}{where}: {self.message}"


def spectral_lint(spec_path: Path, output_dir: Path, ruleset: Path = SPECTRAL_RULESET) -> list[SpectralFinding]:
    """Lint `spec_path` with Spectral and the repository's ruleset; every finding."""
    spectral = node_tool("spectral")
    output = output_dir / "spectral.json"
    completed = subprocess.run(
        [str(spectral), "lint", str(spec_path), "--ruleset", str(ruleset), "--format", "json", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Exit codes: 0 no error, 1 findings at or above the fail severity, 2 Spectral itself failed.
    if completed.returncode not in (0, 1) or not output.exists():
        raise AssertionError(
            f"spectral could not lint {spec_path} (exit {completed.returncode}):\n"
            f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
        )
    findings = []
    for item in json.loads(output.read_text(encoding="utf-8") or "[]"):
        start = ((item.get("range") or {}).get("start") or {}).get("line")
        findings.append(SpectralFinding(item.get("code", "?"), item.get("severity", 0), item.get("message", ""), item.get("path", []), start))
    return findings


# ---------------------------------------------------------------------------- Prism
def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PrismServer:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, *, json_body: Any = None, form: dict | None = None,
                query: dict | None = None, headers: dict | None = None, timeout: float = 30) -> tuple[int, Any]:
        url = self.base_url + urllib.parse.quote(path)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        try:
            return status, json.loads(body or b"null")
        except ValueError:
            return status, body.decode(errors="replace")


def _answers_http(base_url: str) -> bool:
    """Whether an HTTP server answers at base_url (any status will do: Prism says 404 to `/`)."""
    try:
        with urllib.request.urlopen(base_url + "/", timeout=2):  # noqa: S310 - loopback only
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Stop the Prism process and anything it started (its own process group)."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def prism_mock(spec_path: Path, log_dir: Path, *, startup_timeout: float = 90, errors: bool = True) -> Iterator[PrismServer]:
    """`prism mock` on a free loopback port, until it answers; always stopped afterwards.

    With `errors`, Prism also checks the answer it picks against the response schema and
    answers 500 when its own example is invalid."""
    prism = node_tool("prism")
    port = free_loopback_port()
    log_path = log_dir / f"prism-{port}.log"
    command = [str(prism), "mock", str(spec_path), "--host", "127.0.0.1", "--port", str(port)]
    if errors:
        command.append("--errors")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = PrismServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"prism exited ({process.returncode}) before it answered:\n{server.log()[-4000:]}")
            if _answers_http(server.base_url):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"prism did not answer on port {port} within {startup_timeout:.0f}s:\n{server.log()[-4000:]}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(process)


# ---------------------------------------------------------------------------- YAML and regex portability
_PARSE_WITH_NODE = r"""
const fs = require('fs');
const text = fs.readFileSync(process.argv[1], 'utf8');
const out = {};
out['@stoplight/yaml (Spectral, Prism)'] = require('@stoplight/yaml').parse(text);
out['js-yaml'] = require('js-yaml').load(text);
out['yaml (YAML 1.2)'] = require('yaml').parse(text, {version: '1.2'});
process.stdout.write(JSON.stringify(out));
"""


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two parsed documents first differ (None if they are the same data). Numbers
    compare by value (YAML's 440.0 and JSON's 440 are the same); booleans are not numbers."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}/{key}: present for only one parser"
            found = first_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}/{index}")
            if found:
                return found
        return None
    same_kind = isinstance(a, bool) == isinstance(b, bool) and isinstance(a, str) == isinstance(b, str)
    if same_kind and a == b:
        return None
    return f"{path or '(root)'}: PyYAML reads {a!r}, the Node parser {b!r}"


def yaml_parity_problems(spec_path) -> list[str]:
    ours = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    theirs = run_node_script(_PARSE_WITH_NODE, str(spec_path))
    problems = []
    for parser, document in theirs.items():
        difference = first_difference(ours, document)
        if difference:
            problems.append(f"{parser}: {difference}")
    return problems


_COMPILE_WITH_NODE = r"""
const patterns = JSON.parse(process.argv[1]);
const bad = [];
for (const [where, source] of patterns) {
  try { new RegExp(source, 'u'); } catch (e) { bad.push(`${where}: ${JSON.stringify(source)}: ${e.message}`); }
}
process.stdout.write(JSON.stringify(bad));
"""


def ecmascript_pattern_problems(spec) -> list[str]:
    return run_node_script(_COMPILE_WITH_NODE, json.dumps(patterns(spec)))
