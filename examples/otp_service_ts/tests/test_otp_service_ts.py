"""Runs the TypeScript example's node:test suite the way a Node team would set it up.

The SDK is packed into its tarball (`npm pack`, as `make sdk-ts` does), the example is copied
to a scratch folder and installs that tarball offline, is compiled with `tsc --strict`, and its
tests run against a served mock (tests/esms_fixtures.yaml; a delivery delay of an hour, so only
the mock's clock, moved by the tests, delivers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.testing import ServedMock

EXAMPLE = Path(__file__).resolve().parents[1]
ROOT = EXAMPLE.parents[1]
SDK = ROOT / "generated" / "typescript"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
DELIVERY_DELAY = 3600.0


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None or not TSC.exists():
        pytest.fail("node, npm and node_modules/.bin/tsc are needed: run `make install`")
    return node, npm


@pytest.fixture(scope="module")
def sdk_tarball(tools: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _node, npm = tools
    scratch = tmp_path_factory.mktemp("sdk-pack")
    package = scratch / "package"
    shutil.copytree(SDK, package, ignore=shutil.ignore_patterns("dist", "node_modules", "*.tgz"))
    _run([str(TSC), "-p", "tsconfig.json"], cwd=package)
    packed = _run([npm, "pack", "--json", "--pack-destination", str(scratch)], cwd=package)
    return scratch / json.loads(packed.stdout)[0]["filename"]


@pytest.fixture(scope="module")
def built_example(tools: tuple[str, str], sdk_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _node, npm = tools
    app = tmp_path_factory.mktemp("otp-service-ts") / "app"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("build", "node_modules", "__pycache__", "*.py", "*.yaml"))
    # The copy depends on the tarball just packed, not on the repository's dist/.
    manifest = json.loads((app / "package.json").read_text(encoding="utf-8"))
    manifest["dependencies"]["esms-zalo-sdk"] = f"file:{sdk_tarball}"
    (app / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    _run([npm, "install", "--offline", "--no-audit", "--no-fund"], cwd=app)
    # Type declarations of Node for tsc, from the repository's dev tools.
    (app / "node_modules" / "@types").symlink_to(ROOT / "node_modules" / "@types", target_is_directory=True)
    _run([str(TSC), "-p", "tsconfig.json"], cwd=app)
    return app


@pytest.fixture(scope="module")
def served_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    mock = ServedMock(
        tmp_path_factory.mktemp("mock") / "mock.sqlite3",
        fixtures=EXAMPLE / "tests" / "esms_fixtures.yaml",
        delivery_delay=DELIVERY_DELAY,
    ).start()
    try:
        yield mock
    finally:
        mock.stop()


def test_the_sdk_tarball_holds_the_compiled_package(sdk_tarball: Path) -> None:
    listing = subprocess.run(["tar", "-tzf", str(sdk_tarball)], capture_output=True, text=True, check=True).stdout.split()

    for name in ("package.json", "README.md", "dist/index.js", "dist/index.d.ts", "dist/mock.js", "dist/mock.d.ts", "src/client.ts"):
        assert f"package/{name}" in listing, name


def test_the_typescript_otp_service_passes_its_tests_against_the_mock(
    tools: tuple[str, str], built_example: Path, served_mock: ServedMock
) -> None:
    node, _npm = tools
    env = {
        **os.environ,
        "ESMS_MOCK_URL": served_mock.base_url,
        "ESMS_MOCK_DELIVERY_DELAY": str(int(DELIVERY_DELAY)),
        "NO_COLOR": "1",
    }

    _run([node, "--test", "--test-reporter=spec", "build/tests/otp-service.test.js"], cwd=built_example, env=env)
