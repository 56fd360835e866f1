"""Behaviours by family. Each handler is a plain function of a validated `Call` to the answer's fields.

Flask stays at the edge (mock_server.esms.api); handlers raise `EsmsError` to refuse a request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_server.esms.handlers import account, follower, multichannel, status, zns
from mock_server.esms.handlers.common import Call

Handler = Callable[[Call], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    **follower.HANDLERS,
    **zns.HANDLERS,
    **multichannel.HANDLERS,
    **status.HANDLERS,
    **account.HANDLERS,
}
