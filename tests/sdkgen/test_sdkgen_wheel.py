"""generated/ builds as its own wheel: the SDK package alone, requiring httpx and pydantic only."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("wheel")
    # Build from a copy, so that setuptools' build/ and egg-info do not land in generated/.
    source = scratch / "generated"
    shutil.copytree(ROOT / "generated", source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(scratch / "dist")]
    result = subprocess.run(
        [*build, str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (built,) = (scratch / "dist").glob("esms_zalo_sdk-*.whl")
    return built


def test_the_wheel_holds_only_the_sdk_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        top_levels = {name.split("/")[0] for name in archive.namelist()}

    assert top_levels == {"esms_zalo", wheel.name.split("-py3")[0] + ".dist-info"}


def test_the_wheel_requires_httpx_and_pydantic_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    requirements = [line.split(":", 1)[1] for line in metadata.splitlines() if line.startswith("Requires-Dist:")]

    assert sorted(re.split(r"[<>=!~ ;]", r.strip())[0] for r in requirements) == ["httpx", "pydantic"]


def test_the_installed_wheel_imports_and_works_on_its_own(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    program = (
        "import esms_zalo, httpx\n"
        f"assert esms_zalo.__file__.startswith({str(target)!r}), esms_zalo.__file__\n"
        "answer = lambda request: httpx.Response(200, json={'Balance': 1, 'CodeResponse': '100'})\n"
        "client = esms_zalo.Client('k', 's', http_client=httpx.Client(transport=httpx.MockTransport(answer)))\n"
        "print(client.get_balance().balance)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,  # not the project root: nothing of the project is importable by accident
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1.0"
