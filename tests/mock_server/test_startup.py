"""`esms-mock serve` refuses to start rather than misbehave (mock_server.startup, mock_server.cli).

Each refusal is checked as a user meets it: the CLI started as a subprocess ends with exit status
2 and ONE line on stderr (what failed, what to do), no traceback, and no "ready" banner. The
servers these tests start listen on free loopback ports and are stopped by the tests.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mock_server.testing.supervisor import free_port

READY = "esms-mock ready on"
START_TIMEOUT = 30.0


def esms_mock(*args: str) -> list[str]:
    return [sys.executable, "-m", "mock_server.cli", *args]


def refused(*args: str, cwd: Path) -> str:
    """Run `esms-mock ARGS`, expect a refusal, and return its one line on stderr."""
    done = subprocess.run(esms_mock(*args), cwd=cwd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert READY not in done.stdout
    return lines[0]


class Served:
    """One `esms-mock serve` running until `stop`; `banner` is what it printed once ready."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.port = free_port()
        self.out = cwd / f"served-{self.port}.out"
        self.err = cwd / f"served-{self.port}.err"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(esms_mock("serve", "--port", str(self.port), "--workers", "1", *args),
                                            cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while READY not in self.banner:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"did not start: {self.err.read_text()}")
            time.sleep(0.05)

    @property
    def banner(self) -> str:
        return self.out.read_text()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:  # noqa: S310
            return json.loads(answer.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        server.stop()


def serve(started: list[Served], *args: str, cwd: Path) -> Served:
    server = Served(*args, cwd=cwd)
    started.append(server)
    return server


# ---------------------------------------------------------------------- the port
def test_a_port_another_esms_mock_serves_is_refused_naming_its_pid(tmp_path: Path, served: list[Served]):
    first = serve(served, "--db", "first.sqlite3", cwd=tmp_path)
    line = refused("serve", "--port", str(first.port), "--db", "second.sqlite3", cwd=tmp_path)
    assert line == (f"esms-mock: cannot start: port {first.port} is in use by another esms-mock "
                    f"(PID {first.process.pid}); stop it or choose another --port")
    assert first.get("/_mock/health")["status"] == "ok"  # the first one is untouched


def test_a_port_any_other_program_listens_on_is_refused_even_with_so_reuseport(tmp_path: Path):
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as a server that lets others share it
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        line = refused("serve", "--port", str(port), "--db", "mock.sqlite3", cwd=tmp_path)
    assert line == (f"esms-mock: cannot start: port {port} on 127.0.0.1 is in use by another program; "
                    f"stop it or choose another --port")


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "80.5"])
def test_an_invalid_port_is_refused(tmp_path: Path, port: str):
    line = refused("serve", f"--port={port}", cwd=tmp_path)
    assert line.startswith("esms-mock serve: error: argument --port: the port must be")
    assert line.endswith("(see esms-mock serve --help)")


def test_a_host_that_does_not_resolve_is_refused(tmp_path: Path):
    line = refused("serve", "--host", "no-such-host.invalid", "--port", str(free_port()), cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: cannot listen on host 'no-such-host.invalid': it does not resolve")


def test_a_host_that_is_not_an_address_of_this_machine_is_refused(tmp_path: Path):
    line = refused("serve", "--host", "192.0.2.1", "--port", str(free_port()), cwd=tmp_path)  # TEST-NET-1
    assert line.startswith("esms-mock: cannot start: cannot listen on 192.0.2.1 port ")


# ---------------------------------------------------------------------- option values
@pytest.mark.parametrize(("option", "value", "says"), [
    ("--delivery-delay", "-1", "expected seconds from 0 to 86400, not -1"),
    ("--delivery-delay", "nan", "expected seconds from 0 to 86400, not nan"),
    ("--delivery-delay", "soon", "expected a number of seconds, not 'soon'"),
    ("--workers", "0", "expected a whole number from 1 to 1000, not 0"),
    ("--threads", "-4", "expected a whole number from 1 to 1000, not -4"),
    ("--callback-attempts", "0", "expected a whole number from 1 to 1000, not 0"),
    ("--journal-max-requests", "-1", "expected a whole number from 0, not -1"),
    ("--journal-max-requests", "many", "expected a whole number from 0, not 'many'"),
    ("--journal-max-days", "nan", "expected days from 0 to 36600, not nan"),
    ("--journal-max-days", "-2", "expected days from 0 to 36600, not -2"),
])
def test_impossible_option_values_are_refused(tmp_path: Path, option: str, value: str, says: str):
    line = refused("serve", f"{option}={value}", cwd=tmp_path)
    assert line == f"esms-mock serve: error: argument {option}: {says} (see esms-mock serve --help)"


def test_an_unknown_option_is_one_line(tmp_path: Path):
    line = refused("serve", "--prot", "8080", cwd=tmp_path)
    assert line == "esms-mock: error: unrecognized arguments: --prot 8080 (see esms-mock --help)"


# ---------------------------------------------------------------------- the database
def test_a_database_in_a_folder_that_does_not_exist_is_refused(tmp_path: Path):
    line = refused("serve", "--port", str(free_port()), "--db", "missing/mock.sqlite3", cwd=tmp_path)
    assert line == ("esms-mock: cannot start: cannot create the database missing/mock.sqlite3: the folder "
                    "missing does not exist; create it or choose another --db")


def test_a_postgresql_database_that_cannot_be_reached_is_refused(tmp_path: Path):
    url = f"postgresql://mock@/esms?host={tmp_path}"  # no server listens on that socket folder
    line = refused("serve", "--port", str(free_port()), "--db", url, cwd=tmp_path)
    assert line.startswith(f"esms-mock: cannot start: cannot connect to {url}: ")


def test_a_postgresql_database_needs_no_lock_file_and_is_shared_without_share_db(tmp_path: Path, served: list[Served],
                                                                                 postgres_cluster: Any):
    url = postgres_cluster.new_database()
    serve(served, "--db", url, cwd=tmp_path)
    serve(served, "--db", url, cwd=tmp_path)  # a second instance: shared by design, no --share-db
    assert not [f for f in tmp_path.iterdir() if not f.name.startswith("served-")]  # no database file, no lock file


def test_a_database_path_that_is_a_folder_is_refused(tmp_path: Path):
    (tmp_path / "folder").mkdir()
    line = refused("serve", "--port", str(free_port()), "--db", "folder", cwd=tmp_path)
    assert line == "esms-mock: cannot start: the database folder is a folder; give --db a file name"


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not SQLite " * 200)
    line = refused("serve", "--port", str(free_port()), "--db", "notes.txt", cwd=tmp_path)
    assert line == ("esms-mock: cannot start: cannot open the database notes.txt: file is not a database; "
                    "delete it or choose another --db")


def test_a_database_in_a_folder_nobody_can_write_is_refused(tmp_path: Path):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc, a folder not even root can create files in")
    line = refused("serve", "--port", str(free_port()), "--db", "/proc/mock.sqlite3", cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: cannot create the database /proc/mock.sqlite3: ")
    assert line.endswith("choose a writable folder with --db")


def test_a_database_below_a_file_is_refused(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("a file")
    line = refused("serve", "--port", str(free_port()), "--db", "notes.txt/mock.sqlite3", cwd=tmp_path)
    assert line == ("esms-mock: cannot start: cannot create the database notes.txt/mock.sqlite3: the folder "
                    "notes.txt is not a folder; create it or choose another --db")


def test_a_database_made_by_another_version_is_refused(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "old.sqlite3")
    db.execute("CREATE TABLE messages (smsid TEXT)")
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    line = refused("serve", "--port", str(free_port()), "--db", "old.sqlite3", cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: old.sqlite3 was made by another version of esms-mock (schema 99")
    assert line.endswith("delete it or choose another --db")


def test_a_database_another_server_uses_is_refused_naming_its_pid(tmp_path: Path, served: list[Served]):
    first = serve(served, "--db", "shared.sqlite3", cwd=tmp_path)
    line = refused("serve", "--port", str(free_port()), "--db", "shared.sqlite3", cwd=tmp_path)
    assert line == (f"esms-mock: cannot start: the database shared.sqlite3 is used by another esms-mock "
                    f"(PID {first.process.pid}); stop it, choose another --db, or pass --share-db to both servers")


def test_servers_started_with_share_db_share_one_state(tmp_path: Path, served: list[Served]):
    first = serve(served, "--db", "shared.sqlite3", "--share-db", cwd=tmp_path)
    second = serve(served, "--db", "shared.sqlite3", "--share-db", cwd=tmp_path)
    first.post("/_mock/clock/advance", {"seconds": 3600})
    assert second.get("/_mock/clock")["offset_seconds"] == 3600


def test_share_db_never_loads_fixtures_over_what_another_server_serves(tmp_path: Path, served: list[Served]):
    serve(served, "--db", "shared.sqlite3", "--share-db", cwd=tmp_path)
    (tmp_path / "mine.yaml").write_text("accounts:\n  - {api_key: MINE, secret_key: MINE_SECRET}\n")
    line = refused("serve", "--port", str(free_port()), "--db", "shared.sqlite3", "--share-db",
                   "--fixtures", "mine.yaml", cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: --fixtures would replace the fixtures that another esms-mock")
    assert line.endswith("start without --fixtures, or load them with PUT /_mock/fixtures")


def test_share_db_is_refused_next_to_a_server_that_does_not_share(tmp_path: Path, served: list[Served]):
    first = serve(served, "--db", "mine.sqlite3", cwd=tmp_path)
    line = refused("serve", "--port", str(free_port()), "--db", "mine.sqlite3", "--share-db", cwd=tmp_path)
    assert line == (f"esms-mock: cannot start: the database mine.sqlite3 is used by another esms-mock "
                    f"(PID {first.process.pid}) that does not share it; stop it or choose another --db")


def test_a_database_is_free_again_once_its_server_stopped(tmp_path: Path, served: list[Served]):
    serve(served, "--db", "again.sqlite3", cwd=tmp_path).stop()
    assert serve(served, "--db", "again.sqlite3", cwd=tmp_path).get("/_mock/health")["status"] == "ok"


# ---------------------------------------------------------------------- fixtures
def test_a_fixtures_file_that_does_not_exist_is_refused(tmp_path: Path):
    line = refused("serve", "--port", str(free_port()), "--fixtures", "nope.yaml", cwd=tmp_path)
    assert line == "esms-mock: cannot start: the fixtures file nope.yaml does not exist"


def test_an_invalid_fixtures_file_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("accounts:\n  - {api_key: K}\n  - {secret_key: S}\n")
    line = refused("serve", "--port", str(free_port()), "--fixtures", "bad.yaml", cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: the fixtures file bad.yaml is not valid: ")
    assert '"secret_key" is a required property' in line and '"api_key" is a required property' in line


def test_a_fixtures_file_that_is_not_yaml_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "broken.yaml").write_text("accounts: [\n  {api_key: K\n")
    line = refused("serve", "--port", str(free_port()), "--fixtures", "broken.yaml", cwd=tmp_path)
    assert line.startswith("esms-mock: cannot start: the fixtures file broken.yaml is not valid: ")


def test_fixtures_on_an_existing_database_reset_balances_and_keep_the_journal(tmp_path: Path, served: list[Served]):
    first = serve(served, "--db", "kept.sqlite3", cwd=tmp_path)
    credentials = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}
    before = first.post("/MainService.svc/json/GetBalance_json", credentials)["Balance"]
    sent = first.post("/MainService.svc/json/SendZaloMessage_V5_post/",
                      {**credentials, "OAID": "4097311281936189049", "Phone": "0901888484", "TempID": "205644",
                       "TempData": [{"key": "otp", "value": "123456"}]})
    assert sent["CodeResult"] == "100"
    assert first.post("/MainService.svc/json/GetBalance_json", credentials)["Balance"] < before
    first.stop()
    demo = Path(__file__).resolve().parents[2] / "mock_server" / "demo_fixtures.yaml"
    second = serve(served, "--db", "kept.sqlite3", "--fixtures", str(demo), cwd=tmp_path)
    assert f"fixtures from {demo}" in second.banner
    assert second.post("/MainService.svc/json/GetBalance_json", credentials)["Balance"] == before
    assert second.get(f"/_mock/messages/{sent['SMSID']}")["smsid"] == sent["SMSID"]


# ---------------------------------------------------------------------- ready, and stopping
def test_the_banner_shows_demo_credentials_only_when_the_demo_data_is_served(tmp_path: Path, served: list[Served]):
    demo = serve(served, "--db", "demo.sqlite3", cwd=tmp_path)
    assert "fixtures the demo data" in demo.banner and "DEMO_SECRET_KEY" in demo.banner
    (tmp_path / "mine.yaml").write_text("accounts:\n  - {api_key: MINE, secret_key: MINE_SECRET}\n")
    mine = serve(served, "--db", "mine.sqlite3", "--fixtures", "mine.yaml", cwd=tmp_path)
    assert "fixtures from mine.yaml" in mine.banner
    assert "DEMO_" not in mine.banner and "MINE_SECRET" not in mine.banner
    mine.stop()
    stored = serve(served, "--db", "mine.sqlite3", cwd=tmp_path)
    assert "fixtures stored in mine.sqlite3" in stored.banner and "DEMO_" not in stored.banner


def test_ready_is_announced_only_once_this_process_answers_health(tmp_path: Path, served: list[Served]):
    server = serve(served, "--db", "mock.sqlite3", cwd=tmp_path)
    health = server.get("/_mock/health")
    assert len(health["instance"]) == 16
    assert server.banner.count(READY) == 1


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_the_server_within_a_second(tmp_path: Path, served: list[Served], signal_number: int):
    server = serve(served, "--db", "mock.sqlite3", "--workers", "2", cwd=tmp_path)
    server.post("/MainService.svc/json/GetBalance_json", {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"})
    server.process.send_signal(signal_number)
    assert server.process.wait(timeout=1.0) == 0
    assert "Traceback" not in server.err.read_text()


def test_ready_waits_for_this_instance_and_another_answer_is_reported(tmp_path: Path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from mock_server.startup import wait_until_this_instance_answers

    class OtherServer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            body = json.dumps({"status": "ok", "instance": "someone-else"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), OtherServer)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        seen: list[str] = []
        wait_until_this_instance_answers("127.0.0.1", other.server_address[1], "mine", timeout=5,
                                         on_ready=lambda: seen.append("ready"), on_other=seen.append)
        assert seen == [f"another server answers on port {other.server_address[1]} (instance 'someone-else', "
                        f"not this one)"]
    finally:
        other.shutdown()
        other.server_close()
