"""The contract kit's two exceptions: one for the mock (or its control plane) refusing, one for a wait in vain."""

from __future__ import annotations


class EsmsMockError(Exception):
    """The mock could not be started, or its control plane refused a request (the message says why).

    `status_code`: the control plane's HTTP status, when it answered.
    """

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class WaitTimeout(AssertionError):
    """A `wait_for...` gave up; the message lists what was there instead.

    An AssertionError, so that pytest reports it as a test failure rather than an error.
    """
