"""Delivery simulation: which outcome a recipient gets, and where a message is in its lifecycle.

The outcome is decided once, when the message is accepted, so that it is deterministic: the
fixtures' per-recipient outcomes first, then the magic recipients, else delivered. The
SendStatus at any moment is derived from the mock clock, so status queries and callbacks tell
the same story, and advancing the clock moves messages forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.store.fixtures import Fixtures, Outcome
from mock_server.esms.phones import hashed

# Magic recipients, like Twilio's test numbers: no fixtures needed. The last three digits pick the
# outcome: phones 0900000NNN (any 0/84/+84 form, or its SHA-256 for hash_phone) and Zalo user ids
# 9000000000000000NNN.
MAGIC_PHONE_PREFIX = "0900000"
MAGIC_UID_PREFIX = "9000000000000000"
MAGIC_OUTCOMES: dict[str, Outcome] = {
    "001": Outcome("delivered"),
    "004": Outcome("rejected"),
    "099": Outcome("result_code", result_code="99"),
    "114": Outcome("zalo_error", zalo_error=-114, message="User is inactive, rejected the message, or the app is outdated"),
    "124": Outcome("zalo_error", zalo_error=-124, message="Access token is invalid"),
    "408": Outcome("never_answered"),
}
_MAGIC_HASHES = {hashed(MAGIC_PHONE_PREFIX + suffix): suffix for suffix in MAGIC_OUTCOMES}

QUOTA_EXCEEDED = Outcome("zalo_error", zalo_error=-144, message="OA has exceeded its daily ZNS quota")
DELIVERED = Outcome("delivered")

# SendStatus values (spec: SendStatus).
WAITING = 2
HANDED_TO_CARRIER = 7
REJECTED = 4
FINISHED = 5


def outcome_for(key: str, fixtures: Fixtures) -> Outcome:
    """The outcome of the recipient whose `recipient_key` (mock_server.esms.phones) is `key`."""
    found = fixtures.recipients.get(key)
    if found is not None:
        return found
    suffix = _magic_suffix(key)
    if suffix is not None:
        return MAGIC_OUTCOMES.get(suffix, DELIVERED)
    return DELIVERED


def _magic_suffix(key: str) -> str | None:
    if len(key) == 10 and key.startswith(MAGIC_PHONE_PREFIX):
        return key[-3:]
    if len(key) == 19 and key.startswith(MAGIC_UID_PREFIX):
        return key[-3:]
    return _MAGIC_HASHES.get(key)


def charges(outcome: Outcome) -> bool:
    """Only messages that reach the user are paid for (the vendor's failed-ZNS sample costs 0.0)."""
    return outcome.kind in ("delivered", "never_answered")


@dataclass(frozen=True)
class Progress:
    """Where one recipient's message is at a given moment."""

    send_status: int
    final: bool
    sent: bool  # handed on to Zalo / the carrier
    success: bool


def progress(outcome: Outcome, send_at: float, final_at: float, now: float) -> Progress:
    """SendStatus 2 until half-way, then 7, then the final state at `final_at`."""
    if now < send_at + (final_at - send_at) / 2:
        return Progress(WAITING, False, False, False)
    if now < final_at or outcome.kind == "never_answered":
        return Progress(HANDED_TO_CARRIER, False, True, False)
    if outcome.kind == "rejected":
        return Progress(REJECTED, True, False, False)
    return Progress(FINISHED, True, True, outcome.kind == "delivered")
