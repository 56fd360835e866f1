"""The contract kit: run a real esms-mock in your tests, drive it, receive its callbacks, verify a server.

- `ServedMock` (supervisor.py): `esms-mock serve` as a process of its own: start on a free
  loopback port, stop, kill, restart on the same database.
- `ControlClient` (control_client.py): the control plane (`/_mock/`), one method per operation.
- `EsmsMock` (esms_mock.py): both, plus credentials, SDK clients and waits that explain themselves.
- `CallbackSink` (callback_sink.py): a local receiver to use as `CallbackUrl`.
- `verify.py`: `esms-mock verify`, the spec's contract checks against any eSMS-compatible server.
- `pytest_plugin.py`: the fixtures (`esms_mock`, `esms_callback_sink`, ...), loaded by the
  `pytest11` entry point.

Nothing here imports pytest except the plugin, nor schemathesis except `verify`.
"""

from mock_server.testing.callback_sink import CallbackSink, ReceivedRequest
from mock_server.testing.control_client import ControlClient
from mock_server.testing.errors import EsmsMockError, WaitTimeout
from mock_server.testing.esms_mock import EsmsMock, read_fixtures
from mock_server.testing.supervisor import DEMO_FIXTURES_PATH, ServedMock, free_port

__all__ = [
    "DEMO_FIXTURES_PATH",
    "CallbackSink",
    "ControlClient",
    "EsmsMock",
    "EsmsMockError",
    "ReceivedRequest",
    "ServedMock",
    "WaitTimeout",
    "free_port",
    "read_fixtures",
]
