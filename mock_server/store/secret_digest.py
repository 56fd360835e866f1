"""SecretKeys are stored as keyed digests, never in clear (not even in the SQLite file).

Each database has its own random key (in its `meta` table); a secret is kept as
`hmac-sha256:<HMAC-SHA256(key, secret) in hex>`, and a request authenticates when the digest of the
SecretKey it sends equals the stored one (compared in constant time). A keyed digest rather than
a slow password hash: the mock computes one per request, and what it protects is a test secret
that must not sit readable in a file, not a user's password against offline guessing.
"""

from __future__ import annotations

import copy
import hmac
import secrets
from typing import Any

from mock_server.bounded_memo import BoundedMemo

PREFIX = "hmac-sha256:"
MASK = "********"  # how a secret is shown; a document sent back with it keeps the account's secret


def new_key() -> str:
    return secrets.token_hex(32)


class SecretDigest:
    """The digest of a SecretKey under one database's key.

    Every request authenticates, almost always with the same few secrets: the digests of recently
    seen ones are kept in memory (never written anywhere), so a request looks one up instead of
    computing an HMAC (several microseconds on the served loop, in profiles of the valid send)."""

    CACHED = 1024  # secrets remembered; past that the memory starts again from empty
    CACHED_LENGTH = 256  # longer secrets are not remembered: the memory stays small whatever is sent

    def __init__(self, key_hex: str) -> None:
        self._key = bytes.fromhex(key_hex)
        self._known = BoundedMemo(self._digest, entries=self.CACHED, max_key_length=self.CACHED_LENGTH)

    def __call__(self, secret: str) -> str:
        return self._known(secret)

    def _digest(self, secret: str) -> str:
        # hmac.digest: OpenSSL's one-shot HMAC, several times quicker than building an hmac.HMAC.
        return PREFIX + hmac.digest(self._key, secret.encode("utf-8", "surrogatepass"), "sha256").hex()


def matches(stored: str, digest_of_given: str) -> bool:
    return hmac.compare_digest(stored.encode("utf-8", "surrogatepass"), digest_of_given.encode("utf-8", "surrogatepass"))


def with_digests(document: dict[str, Any], digest: SecretDigest, kept: dict[str, str]) -> dict[str, Any]:
    """A copy of a (validated) fixtures document with each account's `secret_key` as its digest.

    An account whose `secret_key` is still MASK (as GET /_mock/fixtures shows it), or the very
    digest `kept` has for its api_key (a stored document loaded again), keeps that digest, so a
    document read, edited and sent back keeps its secrets."""
    stored = copy.deepcopy(document)
    for account in stored.get("accounts", []):
        secret = account["secret_key"]
        if account["api_key"] in kept and secret in (MASK, kept[account["api_key"]]):
            account["secret_key"] = kept[account["api_key"]]
        else:
            account["secret_key"] = digest(secret)
    return stored
