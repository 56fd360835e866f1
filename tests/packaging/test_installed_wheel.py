"""The mock as a consumer gets it: both wheels built, installed with plain `pip install` (no `-e`)
into a fresh virtual environment in a temporary folder outside the checkout, and used from there:
served, sent to, driven through the pytest plugin, verified.

Nothing here imports the checkout's mock: every step is a subprocess of the fresh environment,
started in a folder of its own, and every process started is stopped (its whole process group).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec"
# What a build must not see: local environments, caches, build leftovers (a stale build/lib would
# otherwise slip old files into the wheel), state files.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".hypothesis", "*.sqlite3*", "*.db",
)
TIMEOUT = 600  # seconds for any one step (pip on a cold cache is the slow one)

SEND_PATH = "/MainService.svc/json/SendZaloMessage_V5_post/"
DEMO_SEND = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY", "OAID": "4097311281936189049",
             "Phone": "0901888484", "TempID": "205644", "TempData": [{"key": "otp", "value": "123456"}]}

CONSUMER_TEST = '''\
"""A consumer project's contract test: only the installed plugin's fixtures, no mock code of its own."""
import httpx


def test_an_otp_is_accepted_and_its_callback_arrives(esms_mock, esms_callback_sink):
    answer = httpx.post(
        esms_mock.base_url + "/MainService.svc/json/SendZaloMessage_V5_post/",
        json={"ApiKey": esms_mock.api_key, "SecretKey": esms_mock.secret_key, "OAID": esms_mock.oaid,
              "Phone": "0901888484", "TempID": "205644", "TempData": [{"key": "otp", "value": "123456"}],
              "CallbackUrl": esms_callback_sink.url},
    ).json()
    assert answer["CodeResult"] == "100", answer
    [callback] = esms_callback_sink.wait_for(smsid=answer["SMSID"])
    assert callback is not None
    [message] = esms_mock.messages(smsid=answer["SMSID"])
    assert message
'''


def _environment() -> dict[str, str]:
    """The caller's environment minus anything that would lead Python or pip back to the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PIP_NO_CACHE_DIR", "PIP_REQUIRE_VIRTUALENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run(command: list[str], *, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run to the end in a process group of its own; on timeout the whole group is killed."""
    process = subprocess.Popen(command, cwd=cwd, env=_environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise AssertionError(f"{command} did not finish in {timeout} s:\n{stdout}\n{stderr}") from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def succeed(command: list[str], *, cwd: Path, timeout: float = TIMEOUT) -> str:
    result = run(command, cwd=cwd, timeout=timeout)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class Wheels:
    mock: Path
    sdk: Path


@dataclass(frozen=True)
class Installed:
    """The fresh environment: its interpreter, its scripts and a working folder outside the checkout."""

    python: Path
    bin: Path
    home: Path


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("installed-wheel")
    assert not folder.resolve().is_relative_to(ROOT.resolve())
    return folder


@pytest.fixture(scope="module")
def wheels(scratch: Path) -> Wheels:
    """Both wheels, built from a clean copy of the checkout (as CI's fresh clone would build them)."""
    source = scratch / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE, symlinks=True)
    dist = scratch / "dist"
    succeed([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist),
             str(source), str(source / "generated")], cwd=scratch)
    (mock,) = dist.glob("esms_zalo_mock-*.whl")
    (sdk,) = dist.glob("esms_zalo_sdk-*.whl")
    return Wheels(mock=mock, sdk=sdk)


@pytest.fixture(scope="module")
def installed(scratch: Path, wheels: Wheels) -> Installed:
    """A fresh venv with both wheels installed by plain `pip install`, the mock with its `contract`
    extra (schemathesis, for `esms-mock verify`; it brings pytest, which the plugin needs anyway).
    pip's own cache (not disabled here) keeps a second run fast."""
    venv = scratch / "venv"
    succeed([sys.executable, "-m", "venv", str(venv)], cwd=scratch)
    python = venv / "bin" / "python"
    succeed([str(python), "-m", "pip", "install", "--quiet", f"{wheels.mock}[contract]", str(wheels.sdk)],
            cwd=scratch)
    home = scratch / "home"
    home.mkdir()
    return Installed(python=python, bin=venv / "bin", home=home)


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """`esms-mock serve --temporary` from the fresh environment on a free port; its base URL."""
    port = _free_port()
    log = installed.home / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(installed.bin / "esms-mock"), "serve", "--temporary", "--port", str(port), "--workers", "1"],
            cwd=installed.home, env=_environment(), stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base, process, log)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"esms-mock serve exited {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/_mock/health", timeout=2) as answer:  # noqa: S310 - loopback
                json.loads(answer.read())
            if base.removeprefix("http://") in log.read_text(errors="replace"):  # this process's banner
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"esms-mock serve did not get ready on {base}:\n{log.read_text(errors='replace')}")


def _post_json(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read())


# ---------------------------------------------------------------------------- the wheels
def test_the_mock_wheel_holds_the_mock_esms_spec_and_the_contract_kit_and_not_sdkgen(wheels: Wheels) -> None:
    with zipfile.ZipFile(wheels.mock) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    top_levels = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    plugin_module = re.search(r"^\[pytest11\]\n\w+ = ([\w.]+)", entry_points, re.MULTILINE)
    checkout_packages = {
        path.parent.relative_to(ROOT).as_posix() for path in (ROOT / "mock_server").rglob("__init__.py")
    }
    packaged = {name.rsplit("/", 1)[0] for name in names if name.endswith("/__init__.py")}

    assert top_levels == {"mock_server", "esms_spec"}
    assert "mock_server/demo_fixtures.yaml" in names
    assert {"mock_server/ui/templates/inbox.html", "mock_server/ui/static/inbox.js",
            "mock_server/ui/static/swagger-ui/swagger-ui-bundle.js"} <= names, "the inbox's pages and Swagger UI"
    assert {"esms_spec/documents/esms-zalo.openapi.yaml", "esms_spec/documents/mock-control.openapi.yaml"} <= names
    assert checkout_packages <= packaged, "every package of mock_server/ is in the wheel"
    assert plugin_module, entry_points
    plugin_file = plugin_module[1].replace(".", "/")
    assert {f"{plugin_file}.py", f"{plugin_file}/__init__.py"} & names, "the pytest11 entry point is in the wheel"


def test_the_packaged_specs_are_the_bytes_of_spec(wheels: Wheels) -> None:
    sources = {path.name: path.read_bytes() for path in SPEC_DIR.glob("*.openapi.yaml")}
    with zipfile.ZipFile(wheels.mock) as archive:
        packaged = {
            name.rsplit("/", 1)[1]: archive.read(name)
            for name in archive.namelist()
            if name.startswith("esms_spec/documents/") and name.endswith(".yaml")
        }

    assert sorted(packaged) == sorted(sources) == ["esms-zalo.openapi.yaml", "mock-control.openapi.yaml"]
    for name, content in sources.items():
        assert packaged[name] == content, f"esms_spec/documents/{name} differs from spec/{name}"


# ---------------------------------------------------------------------------- the installed package
def test_the_fresh_environment_imports_the_wheel_not_the_checkout(installed: Installed) -> None:
    program = (
        "import importlib.util, json, esms_spec, mock_server\n"
        "print(json.dumps({'mock_server': mock_server.__file__, 'spec': str(esms_spec.spec_path()),\n"
        "    'control': str(esms_spec.spec_path(esms_spec.CONTROL_SPEC)),\n"
        "    'codes': len(esms_spec.result_codes(esms_spec.load_spec())),\n"
        "    'sdkgen': importlib.util.find_spec('sdkgen') is not None}))\n"
    )
    found = json.loads(succeed([str(installed.python), "-c", program], cwd=installed.home))
    venv = installed.python.parent.parent.resolve()

    for key in ("mock_server", "spec", "control"):
        assert Path(found[key]).resolve().is_relative_to(venv), found
    assert Path(found["spec"]).read_bytes() == (SPEC_DIR / "esms-zalo.openapi.yaml").read_bytes()
    assert found["codes"] > 0
    assert found["sdkgen"] is False


def test_esms_mock_version_prints_the_package_version(installed: Installed) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

    assert succeed([str(installed.bin / "esms-mock"), "--version"], cwd=installed.home).strip() == f"esms-mock {version}"


def test_the_installed_mock_serves_and_answers_100_for_a_send(served: str) -> None:
    answer = _post_json(served + SEND_PATH, DEMO_SEND)

    assert answer["CodeResult"] == "100", answer
    assert answer["SMSID"]


def test_the_installed_mock_serves_the_inbox_and_its_offline_api_docs(served: str) -> None:
    def get(path: str) -> str:
        with urllib.request.urlopen(served + path, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.read().decode()

    smsid = _post_json(served + SEND_PATH, DEMO_SEND)["SMSID"]

    assert str(smsid) in get("/_mock/ui/")
    assert "Demo OA" in get(f"/_mock/ui/messages/{smsid}")
    assert "swagger-ui/swagger-ui-bundle.js" in get("/_mock/ui/docs")
    assert "SwaggerUIBundle" in get("/_mock/ui/static/swagger-ui/swagger-ui-bundle.js")


def test_a_consumer_test_passes_through_the_installed_pytest_plugin(installed: Installed) -> None:
    project = installed.home / "consumer"
    project.mkdir()
    (project / "test_consumer.py").write_text(CONSUMER_TEST, encoding="utf-8")

    result = run([str(installed.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_consumer.py"],
                 cwd=project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_esms_mock_verify_passes_against_the_installed_mock(installed: Installed, served: str) -> None:
    result = run([str(installed.bin / "esms-mock"), "verify", "--base-url", served, "--max-examples", "3",
                  "--operation", "send_zns_v5", "--operation", "get_balance"], cwd=installed.home)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "send_zns_v5" in result.stdout and "get_balance" in result.stdout
