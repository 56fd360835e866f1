"""The control-plane client (mock_server/testing/control_client.py), held to spec/mock-control.openapi.yaml.

The client is hand-written, so the spec checks it: every route it knows is an operation of the
control spec and every operation has a route; each method sends the request of its operation;
every answer it gets from a served mock (successes and refusals) has a status the operation
documents and a body that follows the operation's schema (schemathesis validates it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

from mock_server.store.fixtures import CONTROL_SPEC_PATH
from mock_server.testing import DEMO_FIXTURES_PATH, ControlClient, EsmsMockError, ServedMock, read_fixtures


@pytest.fixture(scope="module")
def control_spec() -> Any:
    return schemathesis.openapi.from_path(str(CONTROL_SPEC_PATH))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedMock]:
    server = ServedMock(tmp_path_factory.mktemp("control-client") / "control.sqlite3", delivery_delay=0.1).start()
    try:
        yield server
    finally:
        server.stop()


class Recorded:
    """A ControlClient whose every answer is kept, with the operation the spec finds for its request."""

    def __init__(self, base_url: str, spec: Any) -> None:
        self.spec = spec
        self.answers: list[httpx.Response] = []
        http = httpx.Client(base_url=base_url, trust_env=False, event_hooks={"response": [self._keep]})
        self.client = ControlClient(base_url, http=http)

    def _keep(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append(response)

    def operation_of(self, answer: httpx.Response) -> Any:
        operation = self.spec.find_operation_by_path(answer.request.method, answer.request.url.path)
        assert operation is not None, f"{answer.request.method} {answer.request.url.path} is not in the control spec"
        return operation

    def operations_hit_by(self, call: Callable[[ControlClient], Any]) -> list[str]:
        before = len(self.answers)
        try:
            call(self.client)
        except EsmsMockError:
            pass  # refusals are answers too: checked against the spec like the rest
        return [self.operation_of(answer).definition.raw["operationId"] for answer in self.answers[before:]]


@pytest.fixture
def recorded(served: ServedMock, control_spec: Any) -> Iterator[Recorded]:
    recorder = Recorded(served.base_url, control_spec)
    try:
        yield recorder
    finally:
        recorder.client.close()


def send_otp(base_url: str) -> str:
    body = {"ApiKey": "DEMO_API_KEY", "SecretKey": "DEMO_SECRET_KEY", "OAID": "4097311281936189049",
            "Phone": "0901888484", "TempID": "205644", "TempData": [{"key": "otp", "value": "1"}],
            "CallbackUrl": "http://127.0.0.1:9/closed"}
    answer = httpx.post(f"{base_url}/MainService.svc/json/SendZaloMessage_V5_post/", json=body, trust_env=False)
    return str(answer.json()["SMSID"])


def test_the_routes_are_exactly_the_operations_of_the_control_spec(control_spec: Any) -> None:
    documented = {}
    for result in control_spec.get_all_operations():
        operation = result.ok()
        documented[operation.definition.raw["operationId"]] = (operation.method.upper(), operation.path)
    assert ControlClient.ROUTES == documented


def test_each_method_calls_its_operation_and_every_answer_follows_the_spec(served: ServedMock,
                                                                           recorded: Recorded) -> None:
    smsid = send_otp(served.base_url)
    demo = read_fixtures(DEMO_FIXTURES_PATH)
    # (what a Python caller writes, the operation it must reach), successes first, then refusals.
    calls: list[tuple[Callable[[ControlClient], Any], str]] = [
        (lambda c: c.health(), "get_health"),
        (lambda c: c.served_fixtures(), "get_fixtures"),
        (lambda c: c.load_fixtures(demo), "put_fixtures"),
        (lambda c: c.messages(smsid=smsid, limit=5), "list_messages"),
        (lambda c: c.message(smsid), "get_message"),
        (lambda c: c.replay_callback(smsid), "replay_callback"),  # 409: no callback due
        (lambda c: c.callbacks(smsid=smsid, state="pending"), "list_callbacks"),
        (lambda c: c.requests(outcome="accepted", operation="send_zns_v5", code=100, recipient="84901888484",
                              since=0, until="2999-01-01T00:00:00Z", limit=5), "list_requests"),
        (lambda c: c.request_entry(c.requests(smsid=smsid)[0]["id"]), "get_request"),
        (lambda c: c.add_scenario("get_balance", code="103", scope="worker-1"), "add_scenario"),
        (lambda c: c.add_scenario("get_balance", match={"ApiKey": "K"}, code="101", times=2), "add_scenario"),
        (lambda c: c.scenarios(), "list_scenarios"),
        (lambda c: c.remove_scenario(c.scenarios()[0]["id"]), "delete_scenario"),
        (lambda c: c.remove_scenarios(), "delete_scenarios"),
        (lambda c: c.clock(), "get_clock"),
        (lambda c: c.advance_clock(60), "advance_clock"),
        (lambda c: c.reset_clock(), "reset_clock"),
        (lambda c: c.reset(), "reset"),
        (lambda c: c.message("NO_SUCH_SMSID"), "get_message"),  # 404
        (lambda c: c.replay_callback("NO_SUCH_SMSID"), "replay_callback"),  # 404
        (lambda c: c.load_fixtures({"accounts": [{"api_key": "NO_SECRET"}]}), "put_fixtures"),  # 400
        (lambda c: c.add_scenario("send_zns", code="7x9"), "add_scenario"),  # 400
        (lambda c: c.remove_scenario(999999), "delete_scenario"),  # 404
        (lambda c: c.callbacks(state="lost"), "list_callbacks"),  # 400
        (lambda c: c.advance_clock(-5), "advance_clock"),  # 400
        (lambda c: c.requests(outcome="lost"), "list_requests"),  # 400
        (lambda c: c.request_entry(999999), "get_request"),  # 404
    ]
    for call, operation_id in calls:
        hit = recorded.operations_hit_by(call)
        assert hit and hit[-1] == operation_id, (operation_id, hit)
    assert {op for _, op in calls} == set(ControlClient.ROUTES), "a control operation is not exercised"
    statuses = set()
    for answer in recorded.answers:
        operation = recorded.operation_of(answer)
        statuses.add(answer.status_code)
        assert operation.responses.find_by_status_code(answer.status_code) is not None, (
            f"{operation.label} answered {answer.status_code}, which it does not document")
        operation.validate_response(schemathesis.Response.from_any(answer))  # raises when the body does not follow
    assert {200, 201, 400, 404, 409} <= statuses
    # The validation can fail: the same clock answer with a wrong body does not pass.
    clock = next(a for a in recorded.answers if a.request.url.path == "/_mock/clock")
    wrong = httpx.Response(200, json={"now": "yesterday"}, request=clock.request)
    wrong.elapsed = clock.elapsed
    with pytest.raises(BaseException) as caught:  # schemathesis raises a group of failures: looked into below
        recorded.operation_of(wrong).validate_response(schemathesis.Response.from_any(wrong))
    failures = getattr(caught.value, "exceptions", [caught.value])
    assert any('"yesterday" is not of type "number"' in str(failure) for failure in failures)


def test_a_refusal_raises_with_the_status_and_every_problem(recorded: Recorded) -> None:
    with pytest.raises(EsmsMockError) as caught:
        recorded.client.add_scenario("send_zns", code="7x9")
    assert caught.value.status_code == 400
    message = str(caught.value)
    assert message.startswith("POST /_mock/scenarios answered 400: Invalid scenario:")
    assert '\n  - operation must be an operationId of the eSMS spec or "*", not "send_zns"' in message


def test_path_parameters_are_escaped(recorded: Recorded) -> None:
    with pytest.raises(EsmsMockError) as caught:
        recorded.client.message("a/b?c")
    assert caught.value.status_code == 404
    assert recorded.answers[-1].request.url.raw_path == b"/_mock/messages/a%2Fb%3Fc"


def test_an_unreachable_control_plane_is_one_clear_error() -> None:
    with ControlClient("http://127.0.0.1:9", timeout=2) as client, pytest.raises(EsmsMockError) as caught:
        client.health()
    assert str(caught.value).startswith("GET http://127.0.0.1:9/_mock/health failed: ConnectError")
    assert caught.value.status_code is None


def test_answers_are_the_documented_json(served: ServedMock) -> None:
    with ControlClient(served.base_url) as client:
        health = client.health()
        assert health["status"] == "ok"
        assert Path(health["database"]).resolve() == served.db
        masked = client.served_fixtures()
        assert {account["secret_key"] for account in masked["accounts"]} == {"********"}
        assert json.dumps(masked).count("DEMO_SECRET_KEY") == 0
