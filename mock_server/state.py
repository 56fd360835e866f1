"""The mock's parts wired together from a configuration: spec, store, fixtures, validation,
scenarios, the eSMS operations and the callback dispatcher. No web framework here: the eSMS
operations answer without Flask (mock_server.esms.api), and the Flask control plane is added on top
(mock_server.app), at once for `create_app` or on first use for the served mock (mock_server.server).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mock_server.store import fixtures
from mock_server.esms.api import EsmsApi, WsgiApp
from mock_server.esms.callbacks import Dispatcher
from mock_server.config import MockConfig
from mock_server.esms.scenarios import ScenarioBook
from mock_server.esms.spec import ApiSpec
from mock_server.store import Store, open_store
from mock_server.store.request_log import JournalWriter, Pruner
from mock_server.esms.validation import RequestValidator


@dataclass
class MockState:
    """What the app holds; reachable as `app.extensions["esms_mock"]`."""

    config: MockConfig
    spec: ApiSpec
    store: Store
    api: EsmsApi
    scenarios: ScenarioBook
    dispatcher: Dispatcher
    pruner: Pruner
    journal_writer: JournalWriter  # starts its thread in each process on its first entry
    fixtures_source: str = "stored"  # what build_state served: "file", "stored" or "demo"
    _dispatcher_pid: int | None = None

    def ensure_dispatcher(self) -> None:
        """Start the callback sender and the journal's pruner in this process (after a fork, each
        worker starts its own)."""
        if self.config.start_dispatcher and self._dispatcher_pid != os.getpid():
            self._dispatcher_pid = os.getpid()
            self.dispatcher.start()
            self.pruner.start()

    def shutdown(self) -> None:
        self.journal_writer.stop()
        self.pruner.stop()
        self.dispatcher.stop()
        self.store.close()


def build_state(config: MockConfig, fallback: WsgiApp) -> MockState:
    """Open the store, load the fixtures (or the demo data into a new database) and wire the parts.

    `fallback` answers whatever is not an eSMS operation: the control plane, 404 and 405."""
    spec = ApiSpec.load(config.spec_path)
    store = open_store(config.db_path)
    source = "stored"
    if config.fixtures_path is not None:
        store.load_fixtures(fixtures.read_document(config.fixtures_path))
        source = "file"
    elif store.state()[1] == 0:  # a new database: serve the demo data
        store.load_fixtures(fixtures.read_document(fixtures.DEMO_FIXTURES_PATH))
        source = "demo"
    else:
        try:  # stored by an earlier version, whose rules may have been looser: refuse now, not per request
            store.fixtures()
        except fixtures.FixtureError as exc:
            raise fixtures.FixtureError(f"the fixtures stored in {config.db_path} are no longer valid; start with "
                                        f"--fixtures FILE to replace them ({exc})", exc.problems) from None
    scenarios = ScenarioBook(store)
    dispatcher = Dispatcher(store, config.callbacks)
    journal_writer = JournalWriter(store)
    api = EsmsApi(spec, store, RequestValidator(spec), scenarios, dispatcher, config.delivery_delay,
                  config.max_body_bytes, fallback=fallback, journal_writer=journal_writer)
    pruner = Pruner(store, config.journal, lambda: store.state()[0])
    state = MockState(config, spec, store, api, scenarios, dispatcher, pruner, journal_writer, source)
    api.on_request = state.ensure_dispatcher
    return state
