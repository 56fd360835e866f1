"""The served app (mock_server.server): the eSMS operations answer without Flask; the control
plane is loaded the first time it is needed, and answers like the one `create_app` builds."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mock_server.config import MockConfig
from mock_server.store.fixtures import FixtureError
from mock_server.server import build_served_app

CREDENTIALS = b'{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY"}'


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[str, dict[str, Any]]:
    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = status

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "REMOTE_ADDR": "127.0.0.1"}
    payload = b"".join(app(environ, start_response))
    return answer["status"], json.loads(payload)


def test_start_up_does_not_import_flask(tmp_path: Path):
    # In a fresh interpreter: this test session has imported Flask already. (The first request
    # then starts loading the control plane in the background.)
    script = textwrap.dedent(f"""
        import io, json, sys
        from mock_server.config import MockConfig
        from mock_server.server import build_served_app
        state = build_served_app(MockConfig(db_path={str(tmp_path / 'esms.sqlite3')!r}, start_dispatcher=False))
        flask_at_start = "flask" in sys.modules
        body = {CREDENTIALS!r}
        environ = {{"REQUEST_METHOD": "POST", "PATH_INFO": "/MainService.svc/json/GetBalance_json",
                    "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}}
        answer = json.loads(b"".join(state.api(environ, lambda status, headers: None)))
        print(json.dumps({{"code": answer["CodeResponse"], "flask": flask_at_start}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == {"code": "100", "flask": False}


def test_control_plane_is_loaded_on_first_use_and_answers(tmp_path: Path):
    state = build_served_app(MockConfig(db_path=tmp_path / "esms.sqlite3", start_dispatcher=False))
    status, health = call(state.api, "GET", "/_mock/health")
    assert status == "200 OK"
    assert health["status"] == "ok"
    status, answer = call(state.api, "POST", "/MainService.svc/json/GetBalance_json", CREDENTIALS)
    assert (status, answer["CodeResponse"]) == ("200 OK", "100")
    status, journal = call(state.api, "GET", "/_mock/messages")
    assert status == "200 OK"


def test_paths_that_are_not_esms_operations_get_the_flask_404_and_405(tmp_path: Path):
    state = build_served_app(MockConfig(db_path=tmp_path / "esms.sqlite3", start_dispatcher=False))
    status, answer = call(state.api, "GET", "/MainService.svc/json/NoSuchOperation")
    assert status.startswith("404") and "No eSMS operation" in answer["message"]
    status, _ = call(state.api, "DELETE", "/MainService.svc/json/GetBalance_json")
    assert status.startswith("405")


def test_a_database_whose_stored_fixtures_no_longer_pass_is_refused_at_start(tmp_path: Path):
    db = tmp_path / "esms.sqlite3"
    build_served_app(MockConfig(db_path=db, start_dispatcher=False)).store.close()  # demo data stored
    connection = sqlite3.connect(db)
    stored = json.loads(connection.execute("SELECT fixtures_json FROM meta").fetchone()[0])
    stored["accounts"].append(dict(stored["accounts"][0]))  # the same api_key twice: accepted by older versions
    connection.execute("UPDATE meta SET fixtures_json = ?", (json.dumps(stored),))
    connection.commit()
    connection.close()
    with pytest.raises(FixtureError, match="--fixtures FILE"):
        build_served_app(MockConfig(db_path=db, start_dispatcher=False))


def test_a_control_plane_that_cannot_load_answers_an_honest_json_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(state: Any) -> Any:
        raise ImportError("flask is missing")

    monkeypatch.setattr("mock_server.app.control_plane", broken)
    state = build_served_app(MockConfig(db_path=tmp_path / "esms.sqlite3", start_dispatcher=False))
    status, answer = call(state.api, "GET", "/_mock/health")
    assert status == "500 Internal Server Error" and answer["error"] == "Internal error in the mock"
    assert "Traceback" not in json.dumps(answer)
    status, answer = call(state.api, "POST", "/MainService.svc/json/GetBalance_json", CREDENTIALS)
    assert (status, answer["CodeResponse"]) == ("200 OK", "100")  # the eSMS operations are unaffected
