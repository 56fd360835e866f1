"""The pytest plugin (mock_server/testing/pytest_plugin.py), as a consumer team uses it.

Each test writes a small consumer test file and runs pytest on it in a subprocess (`pytester`),
then checks the outcome, the output and that the mock server it started is gone. Inner runs
load the plugin with `-p mock_server.testing.pytest_plugin` and no other plugin
(PYTEST_DISABLE_PLUGIN_AUTOLOAD), except the one that loads it by its `pytest11` entry point.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "mock_server.testing.pytest_plugin")
INNER_TIMEOUT = 120  # seconds; an inner run that hangs fails instead of blocking the suite

# Inner tests call record(esms_mock) to leave the server's pid, port and process group behind.
RECORDER = '''
import json
from pathlib import Path

def record(mock, name="server"):
    path = Path(__file__).parent / f"{name}.json"
    path.write_text(json.dumps({"pid": mock.pid, "port": mock.port, "base_url": mock.base_url}))
'''


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose runs load only this plugin (fast, and independent of the entry point)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(recorder=RECORDER)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", *args, timeout=INNER_TIMEOUT)


def recorded(pytester: pytest.Pytester, name: str = "server") -> dict[str, Any]:
    path = pytester.path / f"{name}.json"
    assert path.exists(), f"the inner test did not record its server ({path})"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def process_group_members(pgid: int) -> list[int]:
    """Live processes in process group `pgid` (the server's own session), from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (one whose parent was killed waits for init to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def assert_server_gone(server: dict[str, Any]) -> None:
    assert not alive(server["pid"]), f"the mock server (pid {server['pid']}) is still running"
    if Path("/proc").is_dir():
        assert process_group_members(server["pid"]) == [], "a process of the mock server (its worker?) is left"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        assert sock.connect_ex(("127.0.0.1", server["port"])) != 0, f"something still listens on {server['port']}"


# ============================================================================ the fixtures at work
def test_the_fixtures_send_track_and_reset_and_the_server_stops(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_consumer='''
        from recorder import record

        def test_send_and_follow(esms_mock, esms_callback_sink):
            record(esms_mock)
            assert esms_mock.base_url.startswith("http://127.0.0.1:")
            assert (esms_mock.api_key, esms_mock.secret_key) == ("DEMO_API_KEY", "DEMO_SECRET_KEY")
            with esms_mock.client() as client:
                sent = client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                          template_data={"otp": "123456"}, callback_url=esms_callback_sink.url)
            assert sent.result_code == "100"
            found = esms_mock.wait_for_message(lambda m: m["status"]["final"], smsid=sent.sms_id)
            assert found["request"]["TempData"] == {"otp": "123456"}
            assert "SecretKey" not in found["request"]
            assert esms_mock.messages(recipient="84901888484")[0]["smsid"] == sent.sms_id
            (report,) = esms_callback_sink.wait_for(smsid=sent.sms_id, parse=True)
            assert (report.sms_id, report.send_status, report.send_success) == (sent.sms_id, 5, 1)
            assert report.decoded_error_info.error == 0
            callback = esms_mock.wait_for_callback(smsid=sent.sms_id, state="delivered")
            assert callback["attempt_count"] == 1
            assert esms_mock.callbacks(smsid=sent.sms_id)[0]["state"] == "delivered"
            assert esms_mock.message(sent.sms_id)["recipients"][0]["timeline"][-1]["reached"] is True
            esms_mock.add_scenario("get_balance", code="101", times=1)
            esms_mock.advance_clock(3600)

        def test_every_test_starts_from_a_reset_mock(esms_mock):
            record(esms_mock, "second")
            assert esms_mock.messages() == []
            assert esms_mock.callbacks() == []
            assert esms_mock.scenarios() == []
            assert esms_mock.clock()["offset_seconds"] == 0
            with esms_mock.client() as client:
                assert client.get_balance().balance == 1000000

        def test_scenarios_and_clock(esms_mock, esms_callback_sink):
            from datetime import datetime, timedelta, timezone
            from esms_zalo import TemplateError
            import pytest

            esms_mock.add_scenario("send_zns_v6", match={"Phone": "0901888484"}, code="789", times=1)
            client = esms_mock.client()
            with pytest.raises(TemplateError):
                client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644", template_data={"otp": "1"})
            assert esms_mock.scenarios()[0]["hits"] == 1
            assert esms_mock.add_scenario("*", http_status=503)["active"] is True
            assert esms_mock.remove_scenarios() == 2
            vietnam = timezone(timedelta(hours=7))
            tomorrow = datetime.fromtimestamp(esms_mock.clock()["now"] + 86400, vietnam)
            sent = client.send_zns_v5(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                      template_data=[{"key": "otp", "value": "2"}],
                                      send_at=tomorrow,
                                      callback_url=esms_callback_sink.url)
            assert esms_mock.wait_for_callback(sent.sms_id, state="pending")["attempt_count"] == 0
            assert esms_callback_sink.received == []
            esms_mock.advance_clock(86400 + 1)
            assert esms_callback_sink.wait_for(smsid=sent.sms_id)[0].query["SendStatus"] == "5"
            assert esms_mock.reset()["status"] == "reset"
            assert esms_mock.messages() == []
    ''')
    result = run(inner, "-v")
    result.assert_outcomes(passed=3)
    first, second = recorded(inner), recorded(inner, "second")
    assert first == second, "the server is started once per session and shared"
    assert_server_gone(first)


def test_the_server_is_stopped_when_tests_fail_or_the_run_is_interrupted(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_consumer='''
        from recorder import record

        def test_fails(esms_mock):
            record(esms_mock)
            assert esms_mock.messages() == ["something"]

        def test_interrupts(esms_mock):
            raise KeyboardInterrupt

        def test_never_runs(esms_mock):
            pass
    ''')
    result = run(inner)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*"])
    assert_server_gone(recorded(inner))


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="the parent-death signal is Linux only")
def test_the_server_goes_away_when_pytest_itself_is_killed(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_consumer='''
        import os, signal
        from recorder import record

        def test_killed(esms_mock):
            record(esms_mock)
            os.kill(os.getpid(), signal.SIGKILL)  # like a CI job's timeout: no teardown, no atexit
    ''')
    result = run(inner)
    assert result.ret == -9
    server = recorded(inner)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process_group_members(server["pid"]):
        time.sleep(0.1)
    assert_server_gone(server)


def test_the_server_scope_and_fixtures_can_be_configured(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nesms_mock_scope = function\nesms_mock_delivery_delay = 0.1\n"
                  "esms_mock_fixtures = fixtures/mine.yaml\n")
    inner.mkdir("fixtures")
    (inner.path / "fixtures" / "mine.yaml").write_text("accounts:\n  - {api_key: INI_KEY, secret_key: INI_SECRET}\n")
    inner.makepyfile(test_consumer='''
        from recorder import record

        def test_one(esms_mock):
            record(esms_mock, "one")
            assert esms_mock.api_key == "INI_KEY"

        def test_two(esms_mock_server):
            record(esms_mock_server, "two")
            assert esms_mock_server.api_key == "INI_KEY"
    ''')
    run(inner).assert_outcomes(passed=2)
    one, two = recorded(inner, "one"), recorded(inner, "two")
    assert one["pid"] != two["pid"]
    assert_server_gone(one)
    assert_server_gone(two)


def test_a_wrong_scope_is_a_usage_error(inner: pytest.Pytester) -> None:
    inner.makeini("[pytest]\nesms_mock_scope = forever\n")
    inner.makepyfile(test_consumer="def test_x(esms_mock):\n    pass\n")
    result = run(inner)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: esms_mock_scope must be one of session, package, module, class, function, not 'forever'"])


# ============================================================================ fixtures documents
def test_esms_mock_fixtures_can_be_overridden_per_test_and_invalid_ones_are_explained(inner: pytest.Pytester) -> None:
    inner.makeconftest('''
        import pytest

        CUSTOM = {"accounts": [{"api_key": "K1", "secret_key": "S1", "balance": 5000,
                                "oas": [{"oaid": "111", "templates": [{"id": "1", "params": [{"name": "otp"}]}]}]}]}

        @pytest.fixture(scope="module")
        def custom():
            return CUSTOM
    ''')
    inner.makepyfile(test_default='''
        from esms_zalo import AuthorizationError
        import pytest

        def test_demo_by_default(esms_mock):
            assert esms_mock.api_key == "DEMO_API_KEY"

        def test_load_fixtures_lasts_for_one_test(esms_mock, custom):
            esms_mock.load_fixtures(custom)
            assert (esms_mock.api_key, esms_mock.secret_key, esms_mock.oaid) == ("K1", "S1", "111")
            with esms_mock.client() as client:
                assert client.get_balance().balance == 5000

        def test_back_to_the_demo_data(esms_mock):
            assert esms_mock.api_key == "DEMO_API_KEY"
            with esms_mock.client() as client:
                assert client.get_balance().balance == 1000000
            with esms_mock.client(api_key="K1", secret_key="S1") as client, pytest.raises(AuthorizationError):
                client.get_balance()
    ''')
    inner.makepyfile(test_yaml_file='''
        from pathlib import Path
        import pytest

        @pytest.fixture(scope="session")
        def esms_mock_fixtures():
            path = Path(__file__).with_name("mine.yaml")
            path.write_text("accounts:\\n  - {api_key: YAML_KEY, secret_key: YAML_SECRET, balance: 7}\\n")
            return path

        def test_a_yaml_file(esms_mock):
            assert esms_mock.api_key == "YAML_KEY"
            assert esms_mock.oaid is None
            with esms_mock.client() as client:
                assert client.get_balance().balance == 7
    ''')
    inner.makepyfile(test_class_override='''
        import pytest

        class TestOwnAccount:
            @pytest.fixture
            def esms_mock_fixtures(self, custom):
                return custom

            def test_custom(self, esms_mock):
                assert esms_mock.api_key == "K1"
                assert esms_mock.fixtures["accounts"][0]["balance"] == 5000
    ''')
    inner.makepyfile(test_invalid='''
        import pytest

        @pytest.fixture
        def esms_mock_fixtures():
            return {"accounts": [{"api_key": "NO_SECRET"}]}

        def test_invalid_fixtures(esms_mock):
            pass
    ''')
    result = run(inner)
    result.assert_outcomes(passed=5, errors=1)
    # An invalid document fails the test that asked for it, listing the problems, and nothing else.
    result.stdout.fnmatch_lines([
        "E *PUT /_mock/fixtures answered 400: Invalid fixtures:",
        "E *- accounts/0: \"secret_key\" is a required property",
    ])


def test_a_server_that_cannot_start_shows_its_log(inner: pytest.Pytester) -> None:
    (inner.path / "broken.yaml").write_text("accounts:\n  - api_key: NO_SECRET\n")
    inner.makeini("[pytest]\nesms_mock_fixtures = broken.yaml\n")
    inner.makepyfile(test_consumer="def test_x(esms_mock):\n    pass\n\ndef test_y(esms_mock):\n    pass\n")
    result = run(inner)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines([
        "E *the esms-mock server exited with status 2 before it was ready:",
        "E *| esms-mock: cannot start: the fixtures file *fixtures.json is not valid: "
        "accounts/0: \"secret_key\" is a required property",
    ])


# ============================================================================ failure messages
def test_failure_messages_say_what_was_there_instead(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_consumer='''
        from datetime import datetime

        from recorder import record

        def test_callback_that_never_comes(esms_mock, esms_callback_sink):
            record(esms_mock)
            with esms_mock.client() as client:
                sent = client.send_zns_v6(oa_id=esms_mock.oaid, phone="0900000408", template_id="205644",
                                          template_data={"otp": "1"}, callback_url=esms_callback_sink.url)
            esms_mock.wait_for_callback(sent.sms_id, timeout=0.3)

        def test_callback_to_nowhere(esms_mock):
            with esms_mock.client() as client:
                sent = client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                          template_data={"otp": "1"}, callback_url="http://127.0.0.1:9/closed")
            esms_mock.wait_for_callback(sent.sms_id, timeout=1.0)

        def test_sink_waits_in_vain(esms_callback_sink):
            esms_callback_sink.wait_for(2, smsid="NOPE", timeout=0.2)

        def test_message_that_was_not_sent(esms_mock):
            with esms_mock.client() as client:
                client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644", template_data={"otp": "1"})
            esms_mock.wait_for_message(recipient="0911111111", timeout=0.2)

        def test_scheduled_callback(esms_mock, esms_callback_sink):
            with esms_mock.client() as client:
                sent = client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                          template_data={"otp": "1"}, send_at=datetime(2099, 12, 31, 23, 59),
                                          callback_url=esms_callback_sink.url)
            esms_mock.wait_for_callback(sent.sms_id, timeout=0.2)

        def test_invalid_scenario(esms_mock):
            esms_mock.add_scenario("send_zns", code="7x9")

        def test_unknown_message(esms_mock):
            esms_mock.message("NO_SUCH_SMSID")
    ''')
    result = run(inner)
    result.assert_outcomes(failed=7)
    result.stdout.fnmatch_lines([
        "E *WaitTimeout: no callback of * delivered within 0.3 s.",
        "E *Its recipient's outcome is never_answered: it stays pending and has no callback.",
        "*- esms-mock journal -*",
        "*send_zns_v6 to 0900000408 (never_answered)*callback_url http://127.0.0.1:*",
        "*- esms-mock server log (this test) -*",
        "*event=message_accepted*",
        "*- esms callback sink -*",
    ])
    result.stdout.fnmatch_lines([
        "E *WaitTimeout: no callback of * delivered within 1 s.",
        "E *Callbacks:",
        "E *-> http://127.0.0.1:9/closed: pending, * attempt(s), *last error: ConnectError*",
    ])
    result.stdout.fnmatch_lines([
        "E *the callback sink http://127.0.0.1:*/esms-callback got 0 of 2 expected request(s) for SMSID NOPE within 0.2 s.",
        "E *Received: nothing.",
    ])
    result.stdout.fnmatch_lines([
        "E *no message (recipient='0911111111') in the esms-mock journal within 0.2 s; it holds:",
        "E *send_zns_v6 to 0901888484 (delivered)*",
    ])
    result.stdout.fnmatch_lines([
        "E *EsmsMockError: POST /_mock/scenarios answered 400: Invalid scenario:",
        "E *- operation must be an operationId of the eSMS spec or \"*\", not \"send_zns\"",
        "E *- code must be an eSMS result code made of digits*",
    ])
    result.stdout.fnmatch_lines(["E *no message NO_SUCH_SMSID in the journal; it holds:"])
    result.stdout.fnmatch_lines([
        "E *It is scheduled for 2099-12-31T23:59:00.000+07:00 and the mock clock says *: advance_clock() to get there.",
    ])
    # The kit's own frames are hidden: each failure points at the consumer's line.
    assert "mock_server/testing/" not in result.stdout.str()
    assert_server_gone(recorded(inner))


# ============================================================================ the request journal and scopes
def test_journal_helpers_list_count_verify_and_assert_no_refused(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_consumer='''
        import httpx
        import pytest

        from recorder import record

        def send(esms_mock, **fields):
            body = {"ApiKey": esms_mock.api_key, "SecretKey": esms_mock.secret_key, "OAID": esms_mock.oaid,
                    "Phone": "0901888484", "TempID": "205644", "TempData": [{"key": "otp", "value": "1"}], **fields}
            return httpx.post(f"{esms_mock.base_url}/MainService.svc/json/SendZaloMessage_V5_post/", json=body,
                              headers=esms_mock.scope_headers, trust_env=False).json()

        def test_accepted_requests_pass(esms_mock):
            record(esms_mock)
            with esms_mock.client() as client:
                client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                   template_data={"otp": "1"})
            send(esms_mock)
            esms_mock.assert_no_refused()
            assert esms_mock.count_requests(outcome="accepted") == 2
            [v6] = esms_mock.verify(1, operation="send_zns_v6", recipient="84901888484")
            assert v6["scope"] == esms_mock.scope and esms_mock.scope.startswith("main:")
            assert esms_mock.requests(scope=esms_mock.scope, operation="send_zns_v5")[0]["body"]["SecretKey"] == "********"

        def test_refusals_are_listed_with_code_and_reason(esms_mock):
            send(esms_mock, TempData=[{"key": "otp", "value": "12345678901"}])
            httpx.post(f"{esms_mock.base_url}/MainService.svc/json/SendZaloMesage_V5_post/", json={}, trust_env=False)
            esms_mock.assert_no_refused()

        def test_verify_says_what_the_journal_holds(esms_mock):
            send(esms_mock)
            esms_mock.verify(2, operation="send_zns_v5")

        def test_forced_code_header_and_scoped_scenarios(esms_mock):
            assert send(esms_mock, **{})["CodeResult"] == "100"
            forced = httpx.post(f"{esms_mock.base_url}/MainService.svc/json/GetBalance_json",
                                json={"ApiKey": esms_mock.api_key, "SecretKey": esms_mock.secret_key},
                                headers=esms_mock.forced_code_headers(103), trust_env=False).json()
            assert forced["CodeResponse"] == "103"
            esms_mock.add_scenario("send_zns_v6", code="789", scope=esms_mock.scope)
            esms_mock.add_scenario("send_zns_v5", code="789", scope="another-worker")
            with esms_mock.client() as client:
                with pytest.raises(Exception) as refused:
                    client.send_zns_v6(oa_id=esms_mock.oaid, phone="0901888484", template_id="205644",
                                       template_data={"otp": "1"})
            assert "789" in str(refused.value)
            assert send(esms_mock)["CodeResult"] == "100"  # another worker's scenario does not apply
            assert esms_mock.verify(1, code="789")[0]["forced"].startswith("scenario #")
    ''')
    result = run(inner)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "E *AssertionError: the eSMS mock refused 2 request(s):",
        "E *#1 POST /MainService.svc/json/SendZaloMessage_V5_post/ (send_zns_v5) refused 790: Template data is not correct*",
        "E *#2 POST /MainService.svc/json/SendZaloMesage_V5_post/ (no operation) unmatched HTTP 404: no eSMS operation at "
        "*/SendZaloMesage_V5_post/; did you mean /MainService.svc/json/SendZaloMessage_V5_post/?",
    ])
    result.stdout.fnmatch_lines([
        "E *AssertionError: expected 2 request(s) matching operation='send_zns_v5' in the eSMS mock's journal, found 1;*",
        "E *#1 POST /MainService.svc/json/SendZaloMessage_V5_post/ (send_zns_v5) accepted 100",
    ])
    result.stdout.fnmatch_lines(["*- esms-mock journal -*", "*requests (newest first)*"])
    assert_server_gone(recorded(inner))


# ============================================================================ the entry point
def test_the_pytest11_entry_point_loads_the_plugin(inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`esms_mock = "mock_server.testing.pytest_plugin"` under [project.entry-points.pytest11] is all a consumer needs.

    Until the project declares it, a stand-in distribution on PYTHONPATH declares it the same
    way. `-p esms_mock` loads that one entry point by its name (as a CI that sets
    PYTEST_DISABLE_PLUGIN_AUTOLOAD does), without the cost of every other installed plugin.
    """
    declared = any(ep.name == "esms_mock" and ep.value == "mock_server.testing.pytest_plugin"
                   for ep in importlib.metadata.entry_points(group="pytest11"))
    if not declared:
        site = inner.mkdir("site")
        dist_info = site / "esms_mock_entry_point-0.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: esms-mock-entry-point\nVersion: 0.0\n")
        (dist_info / "entry_points.txt").write_text("[pytest11]\nesms_mock = mock_server.testing.pytest_plugin\n")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    inner.makepyfile(test_consumer='''
        def test_fixture_available(request, esms_mock):
            assert request.config.pluginmanager.has_plugin("esms_mock")
            assert esms_mock.health()["status"] == "ok"
    ''')
    result = inner.runpytest_subprocess("-p", "esms_mock", "-p", "no:cacheprovider", timeout=INNER_TIMEOUT)
    result.assert_outcomes(passed=1)
