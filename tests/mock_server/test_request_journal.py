"""The request journal (GET /_mock/requests): every request to an eSMS path, accepted, refused or
unmatched, with the headers a test may add (X-Esms-Mock-Code, X-Esms-Mock-Scope) and retention.

Covers mock_server/esms/request_journal.py, mock_server/store/request_log.py and the journal's
control-plane routes. Every control answer is checked against the control spec (`Control`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from esms_mock_support import CREDENTIALS, PHONE, SECRET_KEY, valid_request
from flask import Flask
from flask.testing import FlaskClient
from test_control import Control

from mock_server.store import Store, open_store, request_log
from mock_server.testing import ServedMock
from mock_server.store.clock import DAY_SECONDS
from mock_server.store.request_log import Retention
from mock_server.store.sqlite import SCHEMA_VERSION

V5 = "/MainService.svc/json/SendZaloMessage_V5_post/"
BALANCE = "/MainService.svc/json/GetBalance_json"


@pytest.fixture
def control(client: FlaskClient) -> Control:
    return Control(client)


def send(client: FlaskClient, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {**valid_request("send_zns_v5"), **fields}
    return client.post(V5, json={k: v for k, v in body.items() if v is not None}, headers=headers or {}).get_json()


def journal(control: Control, query: str = "") -> list[dict[str, Any]]:
    return control.get(f"/_mock/requests{query}")["requests"]  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------- what is journaled
def test_accepted_send_is_journaled_with_smsid_request_id_recipient_and_masked_secret(
        client: FlaskClient, control: Control) -> None:
    smsid = send(client, RequestId="req-journal-1")["SMSID"]
    [entry] = journal(control)
    assert entry["outcome"] == "accepted" and entry["code"] == "100" and entry["operation"] == "send_zns_v5"
    assert (entry["smsid"], entry["request_id"], entry["recipient"]) == (smsid, "req-journal-1", PHONE)
    assert entry["body"]["SecretKey"] == "********" and entry["body"]["Phone"] == PHONE
    assert entry["method"] == "POST" and entry["path"] == V5 and entry["http_status"] == 200


def test_refused_request_is_journaled_with_code_reason_and_field(client: FlaskClient, control: Control) -> None:
    assert send(client, OAID=None)["CodeResult"] == "791"
    [entry] = journal(control)
    assert entry["outcome"] == "refused" and entry["code"] == "791"
    assert entry["field"] == "OAID" and "OAID is missing" in entry["reason"]
    assert entry["body"]["SecretKey"] == "********"


def test_business_refusal_is_journaled_with_the_message_answered(client: FlaskClient, control: Control) -> None:
    answer = send(client, TempData=[{"key": "otp", "value": "12345678901"}])
    [entry] = journal(control, "?outcome=refused")
    assert entry["code"] == "790" and entry["reason"] == answer["ErrorMessage"]


def test_wrong_credentials_are_journaled_as_101(client: FlaskClient, control: Control) -> None:
    client.post(BALANCE, json={"ApiKey": "DEMO_API_KEY", "SecretKey": "wrong"})
    [entry] = journal(control)
    assert (entry["outcome"], entry["code"], entry["operation"]) == ("refused", "101", "get_balance")
    assert entry["body"] == {"ApiKey": "DEMO_API_KEY", "SecretKey": "********"}


def test_unreadable_body_is_journaled_as_its_text_with_the_secret_masked(client: FlaskClient, control: Control) -> None:
    client.post(V5, data='{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY",', content_type="application/json")
    [entry] = journal(control)
    assert entry["code"] == "110" and "not valid JSON" in entry["reason"]
    assert isinstance(entry["body"], str) and SECRET_KEY not in entry["body"] and "********" in entry["body"]


def test_query_operation_secret_is_masked(client: FlaskClient, control: Control) -> None:
    client.get(f"/MainService.svc/json/GetSendStatus?RefId=nope&ApiKey=DEMO_API_KEY&SecretKey={SECRET_KEY}")
    [entry] = journal(control)
    assert entry["operation"] == "get_send_status" and entry["body"]["SecretKey"] == "********"


def test_unknown_path_is_unmatched_with_the_closest_operation_as_did_you_mean(
        client: FlaskClient, control: Control) -> None:
    assert client.post("/MainService.svc/json/SendZaloMesage_V5_post/", json=CREDENTIALS).status_code == 404
    [entry] = journal(control)
    assert entry["outcome"] == "unmatched" and entry["code"] is None and entry["http_status"] == 404
    assert entry["did_you_mean"] == V5 and "did you mean" in entry["reason"]
    assert entry["path"] == "/MainService.svc/json/SendZaloMesage_V5_post/"
    assert entry["body"] == {"ApiKey": "DEMO_API_KEY", "SecretKey": "********"}


def test_xml_path_is_unmatched_with_the_json_path_as_did_you_mean(client: FlaskClient, control: Control) -> None:
    client.post("/MainService.svc/xml/GetBalance_json", data="<x/>")
    [entry] = journal(control)
    assert entry["outcome"] == "unmatched" and entry["did_you_mean"] == BALANCE


def test_wrong_method_is_unmatched_naming_the_operation_and_its_method(client: FlaskClient, control: Control) -> None:
    assert client.get(BALANCE).status_code == 405
    [entry] = journal(control)
    assert (entry["outcome"], entry["operation"], entry["http_status"]) == ("unmatched", "get_balance", 405)
    assert "use POST" in entry["reason"]


def test_path_far_from_every_operation_has_no_did_you_mean(client: FlaskClient, control: Control) -> None:
    client.get("/favicon.ico")
    [entry] = journal(control)
    assert entry["outcome"] == "unmatched" and entry["did_you_mean"] is None


def test_control_plane_requests_are_not_journaled(client: FlaskClient, control: Control) -> None:
    control.get("/_mock/health")
    assert journal(control) == []


def test_secret_key_never_reaches_the_database(app: Flask, client: FlaskClient, control: Control) -> None:
    send(client)
    send(client, Phone=None)
    client.post(V5, data=f'{{"SecretKey": "{SECRET_KEY}", ', content_type="application/json")
    client.get(f"/MainService.svc/json/GetBalance_json?SecretKey={SECRET_KEY}")
    app.extensions["esms_mock"].journal_writer.flush()
    store: Store = app.extensions["esms_mock"].store
    rows = store.connection().execute("SELECT * FROM requests").fetchall()
    assert len(rows) == 4
    assert not any(SECRET_KEY in str(value) for row in rows for value in tuple(row))


def test_secret_key_is_masked_in_any_spelling_and_the_body_keeps_its_order(client: FlaskClient, control: Control) -> None:
    body = {"secret_key": SECRET_KEY, **valid_request("send_zns_v5"), "SECRETKEY": SECRET_KEY}
    client.post(V5, json=body)
    [entry] = journal(control)
    assert list(entry["body"]) == list(body)
    assert [entry["body"][k] for k in ("secret_key", "SecretKey", "SECRETKEY")] == ["********"] * 3
    assert entry["body"]["ApiKey"] == body["ApiKey"]


# ---------------------------------------------------------------------------- filters
def test_filters_by_outcome_code_operation_recipient_request_id_and_smsid(client: FlaskClient, control: Control) -> None:
    smsid = send(client, RequestId="req-a")["SMSID"]
    send(client, Phone="0900000002", RequestId="req-b", TempData=[{"key": "nope", "value": "1"}])
    client.post(BALANCE, json=CREDENTIALS)
    client.post("/nowhere", json={})
    assert [e["outcome"] for e in journal(control)] == ["unmatched", "accepted", "refused", "accepted"]  # newest first
    assert [e["request_id"] for e in journal(control, "?outcome=refused")] == ["req-b"]
    assert [e["request_id"] for e in journal(control, "?code=790")] == ["req-b"]
    assert len(journal(control, "?operation=get_balance")) == 1
    assert [e["request_id"] for e in journal(control, "?recipient=%2B84901888484")] == ["req-a"]
    assert [e["request_id"] for e in journal(control, "?recipient=84900000002")] == ["req-b"]
    assert [e["smsid"] for e in journal(control, f"?smsid={smsid}")] == [smsid]
    assert [e["request_id"] for e in journal(control, "?request_id=req-a")] == ["req-a"]
    assert len(journal(control, "?limit=2")) == 2


def test_filters_by_time_in_iso_8601_or_epoch_seconds(client: FlaskClient, control: Control) -> None:
    send(client)
    [entry] = journal(control)
    now = time.time()
    assert len(journal(control, f"?since={now - 60:.0f}&until={now + 60:.0f}")) == 1
    assert journal(control, f"?since={now + 60:.0f}") == []
    assert len(journal(control, "?since=" + entry["received_at"].replace("+", "%2B"))) == 1
    assert journal(control, "?until=2000-01-01T00:00:00Z") == []


def test_one_entry_by_id_and_404_for_an_unknown_one(client: FlaskClient, control: Control) -> None:
    send(client)
    [entry] = journal(control)
    assert control.get(f"/_mock/requests/{entry['id']}") == entry
    assert control.get("/_mock/requests/999999", expect=404)["error"] == "Not Found"


@pytest.mark.parametrize("query", ["outcome=maybe", "code=abc", "operation=send_zns", "since=yesterday",
                                   "until=2025-13-01T00:00:00Z", "limit=0", "colour=red", "code="])
def test_bad_filter_is_a_400_naming_it(control: Control, query: str) -> None:
    body = control.get(f"/_mock/requests?{query}", expect=400)
    assert query.split("=")[0] in body["message"]


def test_reset_empties_the_journal(client: FlaskClient, control: Control) -> None:
    send(client)
    control.post("/_mock/reset")
    assert journal(control) == []


def test_a_bug_in_the_mock_is_journaled_as_its_honest_500_with_a_reason(
        app: Flask, client: FlaskClient, control: Control, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(app.extensions["esms_mock"].store, "fixtures", broken)
    assert client.post(BALANCE, json=CREDENTIALS).status_code == 500
    monkeypatch.undo()
    [entry] = journal(control)
    assert (entry["outcome"], entry["http_status"], entry["code"]) == ("refused", 500, None)
    assert "a bug in the mock" in entry["reason"] and entry["body"]["SecretKey"] == "********"


# ---------------------------------------------------------------------------- forced answers and scopes
def test_code_header_forces_the_answer_without_a_scenario(client: FlaskClient, control: Control) -> None:
    answer = send(client, headers={"X-Esms-Mock-Code": "103"})
    assert answer["CodeResult"] == "103"
    [entry] = journal(control)
    assert (entry["outcome"], entry["code"], entry["forced"]) == ("refused", "103", "header")
    assert control.get("/_mock/messages")["messages"] == []


def test_code_header_100_forces_a_success(client: FlaskClient) -> None:
    assert client.post(BALANCE, json={}, headers={"X-Esms-Mock-Code": "100"}).get_json()["CodeResponse"] == "100"


def test_bad_code_header_is_a_400_naming_the_header(client: FlaskClient, control: Control) -> None:
    answer = client.post(BALANCE, json=CREDENTIALS, headers={"X-Esms-Mock-Code": "lots"})
    assert answer.status_code == 400 and "X-Esms-Mock-Code" in answer.get_json()["message"]
    [entry] = journal(control)
    assert entry["outcome"] == "refused" and entry["http_status"] == 400 and entry["code"] is None


def test_scoped_scenario_matches_only_requests_with_its_scope(client: FlaskClient, control: Control) -> None:
    control.add_scenario(operation="send_zns_v5", code="789", scope="worker-a")
    assert send(client, headers={"X-Esms-Mock-Scope": "worker-a"})["CodeResult"] == "789"
    assert send(client, headers={"X-Esms-Mock-Scope": "worker-b"})["CodeResult"] == "100"
    assert send(client)["CodeResult"] == "100"
    scoped = journal(control, "?scope=worker-a")
    assert [(e["code"], e["forced"]) for e in scoped] == [("789", scoped[0]["forced"])]
    assert scoped[0]["forced"].startswith("scenario #")


def test_unscoped_scenario_matches_scoped_requests_too(client: FlaskClient, control: Control) -> None:
    control.add_scenario(operation="send_zns_v5", code="789")
    assert send(client, headers={"X-Esms-Mock-Scope": "worker-a"})["CodeResult"] == "789"


@pytest.mark.parametrize("scope", ["", " padded", "x" * 201, 5])
def test_scenario_scope_must_be_a_header_value(control: Control, scope: Any) -> None:
    body = control.post("/_mock/scenarios", {"operation": "*", "code": "789", "scope": scope}, expect=400)
    assert any("scope" in problem for problem in body["problems"])


# ---------------------------------------------------------------------------- retention
def _store_with_rows(location: str, count: int, received_at: float) -> Store:
    """A new database of either backend (store_location) holding `count` journal entries."""
    store = open_store(location)
    request_log.insert(store, [request_log.RequestRow(received_at, "POST", "/x", None, "null") for _ in range(count)])
    return store


def test_prune_keeps_the_newest_max_requests(store_location: str) -> None:
    now = time.time()
    store = _store_with_rows(store_location, 30, now)
    assert request_log.prune(store, Retention(max_requests=10, max_days=7), now) == 20
    assert [row["id"] for row in request_log.find(store)] == list(range(30, 20, -1))


def test_prune_drops_requests_older_than_max_days(store_location: str) -> None:
    now = time.time()
    store = _store_with_rows(store_location, 5, now - 3 * DAY_SECONDS)
    request_log.insert(store, [request_log.RequestRow(now, "POST", "/x", None, "null")])
    request_log.prune(store, Retention(max_requests=0, max_days=2), now)
    assert len(request_log.find(store)) == 1


def test_prune_runs_once_per_interval_whatever_the_number_of_workers(store_location: str) -> None:
    now = time.time()
    store = _store_with_rows(store_location, 5, now)
    request_log.prune(store, Retention(max_requests=4, interval=60), now)
    request_log.insert(store, [request_log.RequestRow(now, "POST", "/x", None, "null")])
    assert request_log.prune(store, Retention(max_requests=4, interval=60), now + 1) == 0
    assert request_log.prune(store, Retention(max_requests=4, interval=60), now + 61) == 1


def _journal_entries_deleted_per_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record, for each of `store`'s write transactions that deletes journal entries, how many."""
    deleted: list[int] = []
    transaction = store.transaction

    @contextmanager
    def counting(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with transaction(*args, **kwargs) as db:
            before = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
            yield db
            after = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        if after != before:
            deleted.append(before - after)

    monkeypatch.setattr(store, "transaction", counting)
    return deleted


def test_prune_deletes_at_most_chunk_entries_per_transaction(store_location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every writer, the served mock's event loop included, waits while a pruning transaction
    # holds the writers' lock: it must stay short however many entries are due.
    now = time.time()
    store = _store_with_rows(store_location, 30, now)
    monkeypatch.setattr(request_log, "CHUNK", 4)
    deleted = _journal_entries_deleted_per_transaction(store, monkeypatch)
    assert request_log.prune(store, Retention(max_requests=10, max_days=0), now) == 20
    assert deleted == [4, 4, 4, 4, 4]
    assert [row["id"] for row in request_log.find(store)] == list(range(30, 20, -1))


def test_prune_looks_at_the_batch_oldest_rows_past_one_it_keeps(store_location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_log, "CHUNK", 3)
    monkeypatch.setattr(request_log, "BATCH", 9)
    store = open_store(store_location)
    now = time.time()
    with store.transaction() as db:
        for n in range(1, 11):  # the second RequestId is recent, every other one older than 24 hours
            db.execute("INSERT INTO request_ids (api_key, request_id, accepted_at, smsid) VALUES (?, ?, ?, ?)",
                       ("KEY", f"r{n}", now if n == 2 else now - 2 * DAY_SECONDS, f"s{n}"))
    request_log.prune(store, Retention(max_requests=0, max_days=0), now)
    kept = {row[0] for row in store.connection().execute("SELECT request_id FROM request_ids").fetchall()}
    assert kept == {"r2", "r10"}  # r10 is not among the 9 oldest: the next pruning's


def test_accepted_messages_are_kept_for_the_7_day_status_window_even_with_a_shorter_retention(
        app: Flask, client: FlaskClient, control: Control) -> None:
    smsid = send(client)["SMSID"]
    app.extensions["esms_mock"].journal_writer.flush()
    store: Store = app.extensions["esms_mock"].store
    now = time.time()
    request_log.prune(store, Retention(max_requests=1, max_days=1), now + 6 * DAY_SECONDS)
    assert journal(control) == []  # the request journal: older than one day
    status = client.get(f"/MainService.svc/json/GetSendStatus?RefId={smsid}&ApiKey=DEMO_API_KEY&SecretKey={SECRET_KEY}")
    assert status.get_json()["CodeResponse"] == "100"
    request_log.prune(store, Retention(max_requests=1, max_days=1), now + 8 * DAY_SECONDS)
    assert store.message(smsid) is None


def test_a_version_3_database_gains_the_journal_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as db:  # schema 3: SecretKey digests (issue 8), no request journal yet
        db.execute("DROP TABLE requests")
        db.execute("DROP TABLE journal_pruning")
        db.execute("INSERT INTO balances VALUES ('OLD_KEY', 4321)")
        db.execute("PRAGMA user_version = 3")
    store = Store(path)
    try:
        assert store.connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert request_log.find(store) == []
        assert store.connection().execute("SELECT COUNT(*) FROM balances WHERE balance = 4321").fetchone()[0] == 1
        request_log.insert(store, [request_log.RequestRow(time.time(), "POST", "/x", None, "null")])
        assert len(request_log.find(store)) == 1
    finally:
        store.close()




def test_entries_beyond_the_queue_bound_are_dropped_not_kept_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "db.sqlite3")
    writer = request_log.JournalWriter(store)
    monkeypatch.setattr(request_log, "MAX_QUEUED", 0)
    writer.add(request_log.RequestRow(time.time(), "POST", "/x", None, "null"))
    writer.flush()
    assert writer.dropped == 1 and request_log.find(store) == []


# ---------------------------------------------------------------------------- on the served mock (mock_server.edge)
# The edge reads its requests from Granian's RSGI scope and journals once it knows what it sent:
# after a latency scenario's pause and after the loop's group commit.
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    running = ServedMock(tmp_path_factory.mktemp("journal") / "esms.sqlite3").start()
    yield running
    running.stop()


@pytest.fixture
def http(served: ServedMock) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=10, trust_env=False) as client:
        client.post("/_mock/reset")
        client.delete("/_mock/scenarios")
        yield client


def served_journal(http: httpx.Client, query: str = "") -> list[dict[str, Any]]:
    return http.get(f"/_mock/requests{query}").json()["requests"]  # type: ignore[no-any-return]


def test_served_accepted_and_refused_sends_are_journaled(http: httpx.Client) -> None:
    smsid = http.post(V5, json={**valid_request("send_zns_v5"), "RequestId": "served-1"}).json()["SMSID"]
    refused = {k: v for k, v in valid_request("send_zns_v5").items() if k != "OAID"}
    assert http.post(V5, json=refused).json()["CodeResult"] == "791"
    second, first = served_journal(http)
    assert (first["outcome"], first["smsid"], first["request_id"], first["path"]) == ("accepted", smsid, "served-1", V5)
    assert first["body"]["SecretKey"] == "********"
    assert (second["outcome"], second["code"], second["field"]) == ("refused", "791", "OAID")


def test_served_unreadable_body_is_journaled_as_its_text(http: httpx.Client) -> None:
    http.post(V5, content=b'{"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY",',
              headers={"Content-Type": "application/json"})
    [entry] = served_journal(http)
    assert entry["code"] == "110" and SECRET_KEY not in entry["body"] and "********" in entry["body"]


def test_served_unknown_path_and_wrong_method_are_unmatched(http: httpx.Client) -> None:
    assert http.post("/MainService.svc/json/SendZaloMessage_V5_pst/", json=CREDENTIALS).status_code == 404
    assert http.get(BALANCE).status_code == 405
    wrong_method, unknown = served_journal(http, "?outcome=unmatched")
    assert unknown["did_you_mean"] == "/MainService.svc/json/SendZaloMessage_V5_post/"
    assert unknown["http_status"] == 404 and unknown["body"]["SecretKey"] == "********"
    assert (wrong_method["operation"], wrong_method["http_status"]) == ("get_balance", 405)


def test_served_control_plane_is_not_journaled(http: httpx.Client) -> None:
    http.get("/_mock/health")
    assert served_journal(http) == []


def test_served_code_header_and_scoped_scenario(http: httpx.Client) -> None:
    assert http.post(BALANCE, json=CREDENTIALS, headers={"X-Esms-Mock-Code": "99"}).json()["CodeResponse"] == "99"
    bad = http.post(BALANCE, json=CREDENTIALS, headers={"X-Esms-Mock-Code": "lots"})
    assert bad.status_code == 400 and "X-Esms-Mock-Code" in bad.json()["message"]
    http.post("/_mock/scenarios", json={"operation": "get_balance", "code": "789", "scope": "worker-a"})
    assert http.post(BALANCE, json=CREDENTIALS, headers={"X-Esms-Mock-Scope": "worker-a"}).json()["CodeResponse"] == "789"
    assert http.post(BALANCE, json=CREDENTIALS).json()["CodeResponse"] == "100"
    plain, scoped, bad_entry, forced = served_journal(http)
    assert (forced["code"], forced["forced"]) == ("99", "header")
    assert (bad_entry["http_status"], bad_entry["code"]) == (400, None) and "X-Esms-Mock-Code" in bad_entry["reason"]
    assert (scoped["scope"], scoped["code"]) == ("worker-a", "789") and scoped["forced"].startswith("scenario #")
    assert (plain["outcome"], plain["scope"]) == ("accepted", None)


def test_served_latency_scenario_is_journaled_once_after_the_pause(http: httpx.Client) -> None:
    http.post("/_mock/scenarios", json={"operation": "get_balance", "latency_ms": 300, "times": 1})
    assert http.post(BALANCE, json=CREDENTIALS).json()["CodeResponse"] == "100"
    [entry] = served_journal(http)
    assert (entry["outcome"], entry["code"]) == ("accepted", "100") and entry["forced"].startswith("scenario #")


def test_served_dropped_connection_is_journaled_without_a_code(http: httpx.Client) -> None:
    http.post("/_mock/scenarios", json={"operation": "get_balance", "drop": True, "times": 1})
    with pytest.raises(httpx.HTTPError):
        http.post(BALANCE, json=CREDENTIALS)
    [entry] = served_journal(http)
    assert entry["code"] is None and "dropped" in entry["reason"] and entry["outcome"] == "refused"


def test_served_non_latin_path_is_a_json_404_journaled_as_written(http: httpx.Client) -> None:
    # Granian hands such a path over already decoded: the edge gives Werkzeug its UTF-8 bytes.
    assert http.get("/_mock/messages/%F1%A1%91%BF").status_code == 404
    assert http.get("/MainService.svc/json/%C3%A9%F1%A1%91%BF").status_code == 404
    [entry] = served_journal(http)
    assert entry["path"] == "/MainService.svc/json/é\U0006147f" and entry["outcome"] == "unmatched"
