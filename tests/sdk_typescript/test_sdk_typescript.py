"""The TypeScript SDK (generated/typescript): `tsc --strict` on the package, then its node:test
suites (tests/sdk_typescript/*.test.ts) against a served mock.

Each *.test.ts file is one pytest test, so a failure names the suite; node's own report (which
test, which assertion) is the failure message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mock_server.testing import ServedMock
from sdkgen.typescript import camel_case

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGE = ROOT / "generated" / "typescript"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
SUITES = sorted(path.name for path in HERE.glob("*.test.ts"))
SENDING_TAG = "sending"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not TSC.exists():
        pytest.fail("node and node_modules/.bin/tsc are needed: run `make install`")
    return node


def _run(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def sending_methods() -> list[str]:
    """The client methods of the spec's `sending` operations."""
    spec = yaml.safe_load((ROOT / "spec" / "esms-zalo.openapi.yaml").read_text(encoding="utf-8"))
    return sorted(
        camel_case(op["operationId"])
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and SENDING_TAG in (op.get("tags") or [])
    )


def test_the_package_type_checks_with_tsc_strict() -> None:
    _node()
    result = _run([str(TSC), "-p", str(PACKAGE / "tsconfig.json"), "--noEmit", "--strict"])

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SDK and its tests compiled to JavaScript, in a folder of their own."""
    _node()
    out = tmp_path_factory.mktemp("sdk-ts")
    result = _run([str(TSC), "-p", str(HERE / "tsconfig.json"), "--outDir", str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    (out / "package.json").write_text(json.dumps({"type": "module"}), encoding="utf-8")
    # The tests' own npm packages (fast-check), found from the compiled files as from the sources.
    (out / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return out


@pytest.fixture(scope="module")
def served_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(tmp_path_factory.mktemp("mock") / "mock.sqlite3").start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.mark.parametrize("suite", SUITES)
def test_the_typescript_suite_passes_against_the_served_mock(suite: str, compiled: Path, served_mock: ServedMock) -> None:
    script = compiled / "tests" / "sdk_typescript" / suite.replace(".ts", ".js")
    env = {
        **os.environ,
        "ESMS_MOCK_URL": served_mock.base_url,
        "ESMS_SENDING_METHODS": ",".join(sending_methods()),
        "NO_COLOR": "1",
    }

    result = _run([_node(), "--test", "--test-reporter=spec", str(script)], env=env)

    assert result.returncode == 0, f"{suite} failed:\n{result.stdout}\n{result.stderr}"


def test_the_control_plane_client_calls_every_operation_of_the_control_spec() -> None:
    spec = yaml.safe_load((ROOT / "spec" / "mock-control.openapi.yaml").read_text(encoding="utf-8"))
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }
    source = (PACKAGE / "src" / "mock.ts").read_text(encoding="utf-8")
    called = {
        (method, re.sub(r"\$\{[^}]*\}", "{}", path))
        for method, path in re.findall(r'this\.request\("([A-Z]+)", [`"]([^`"]+)[`"]', source)
    }

    assert {(method, re.sub(r"\{[^}]*\}", "{}", path)) for method, path in documented} == called
