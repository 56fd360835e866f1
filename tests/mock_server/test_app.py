"""The app around the eSMS operations (mock_server.app): OPTIONS, the index at the root, and an
honest JSON 500 for a bug in the mock."""

from __future__ import annotations

import logging

import pytest
import yaml
from esms_mock_support import CREDENTIALS, api_spec
from flask import Flask
from flask.testing import FlaskClient

import esms_spec

ESMS_PATHS = sorted({op.path for op in api_spec().operations.values()})
CONTROL_PATHS = ["/_mock/health", "/_mock/fixtures", "/_mock/messages", "/_mock/callbacks", "/_mock/scenarios",
                 "/_mock/clock", "/_mock/reset", "/_mock/", "/_mock/openapi/esms-zalo.yaml", "/"]


@pytest.mark.parametrize("path", ESMS_PATHS + CONTROL_PATHS)
def test_options_is_answered_json_405_with_allow_like_any_other_missing_method(client: FlaskClient, path: str):
    response = client.options(path)
    assert response.status_code == 405 and response.mimetype == "application/json"
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert allowed and "OPTIONS" not in allowed
    assert response.get_json()["error"] == "Method Not Allowed"


@pytest.mark.parametrize("path", ["/", "/_mock/"])
def test_the_root_and_the_control_plane_root_answer_an_index(client: FlaskClient, path: str):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "application/json"
    index = response.get_json()
    assert index["health"] == "/_mock/health"
    assert index["control_spec"] == "/_mock/openapi/mock-control.yaml"
    assert index["esms_spec"] == "/_mock/openapi/esms-zalo.yaml"
    assert index["docs"].startswith("/_mock/ui/docs") and index["inbox"] == "/_mock/ui/"
    for link in (index["health"], index["control_spec"], index["esms_spec"], index["inbox"], "/_mock/ui/docs"):
        assert client.get(link).status_code == 200


@pytest.mark.parametrize("path", ["/", "/_mock/"])
def test_a_browser_at_the_root_is_sent_to_the_inbox(client: FlaskClient, path: str):
    response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 302 and response.headers["Location"] == "/_mock/ui/"
    assert response.headers["Vary"] == "Accept"


@pytest.mark.parametrize(("name", "document"), [("esms-zalo", esms_spec.ESMS_SPEC),
                                                ("mock-control", esms_spec.CONTROL_SPEC)])
def test_both_specs_are_served_byte_for_byte_from_the_package(client: FlaskClient, name: str, document: str):
    response = client.get(f"/_mock/openapi/{name}.yaml")
    assert response.status_code == 200 and response.mimetype == "application/yaml"
    assert response.data == esms_spec.spec_path(document).read_bytes()
    assert yaml.safe_load(response.data)["openapi"].startswith("3.")


def test_an_unknown_spec_is_a_json_404_naming_the_known_ones(client: FlaskClient):
    response = client.get("/_mock/openapi/petstore.yaml")
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert "/_mock/openapi/esms-zalo.yaml" in response.get_json()["message"]


def test_a_bug_in_an_esms_operation_is_an_honest_json_500_with_the_traceback_only_in_the_log(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture):
    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(app.extensions["esms_mock"].store, "fixtures", broken)
    with caplog.at_level(logging.ERROR):
        response = client.post("/MainService.svc/json/GetBalance_json", json=CREDENTIALS)
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json()["error"] == "Internal error in the mock"
    assert "Traceback" not in response.get_data(as_text=True) and "ZeroDivisionError" not in response.get_data(as_text=True)
    assert "ZeroDivisionError: a bug" in caplog.text


def test_a_bug_in_the_control_plane_is_an_honest_json_500(app: Flask, client: FlaskClient,
                                                         monkeypatch: pytest.MonkeyPatch):
    def broken(*args: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(app.extensions["esms_mock"].store, "all_callbacks", broken)
    response = client.get("/_mock/callbacks")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json() == {"error": "Internal error in the mock",
                                   "message": "The mock failed on this request (a bug in the mock); the server log "
                                              "has the traceback."}


def test_paths_are_routed_alike_whether_their_normal_form_is_remembered_or_not(app: Flask):
    api = app.extensions["esms_mock"].api
    spellings = ["/MainService.svc/json/GetBalance_json", "/mainservice.svc//JSON/getbalance_json/"]
    spellings += [f"/x{n}" for n in range(api.NORMAL_PATHS_KEPT + 5)]  # fills the memory past its bound
    spellings += ["/" + "a" * api.NORMAL_PATH_LENGTH + "/MainService.svc/json/GetBalance_json"]  # never remembered
    for _ in range(2):  # the first time normalised, the second (if kept) remembered
        assert [api.operation("POST", path) is not None for path in spellings[:2]] == [True, True]
        assert not any(api.operation("POST", path) for path in spellings[2:])
    assert len(api._normal_paths) <= api.NORMAL_PATHS_KEPT
