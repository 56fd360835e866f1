"""A function's results for recently seen short keys, kept in a bounded memory.

The request path repeats a few values (a team's SecretKey, the paths it calls) whose derived
forms cost microseconds each: the SecretKey's HMAC digest, a path's normal form. This keeps them
for keys up to `max_key_length` characters, at most `entries` of them; past that the memory
starts again from empty, so nothing a caller sends can make it grow. Unlike functools.lru_cache
it bounds the size of what it keeps, not only the count, and costs one dict lookup on a hit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedMemo(Generic[V]):
    def __init__(self, compute: Callable[[str], V], *, entries: int, max_key_length: int) -> None:
        self._compute = compute
        self._entries = entries
        self._max_key_length = max_key_length
        self._known: dict[str, V] = {}

    def __call__(self, key: str) -> V:
        known = self._known.get(key)
        if known is not None:
            return known
        value = self._compute(key)
        if len(key) <= self._max_key_length:
            if len(self._known) >= self._entries:
                self._known.clear()  # under the GIL: a thread racing this only computes again
            self._known[key] = value
        return value

    def __len__(self) -> int:
        return len(self._known)

    def __iter__(self) -> Iterator[str]:
        """The keys kept (tests look at what is remembered)."""
        return iter(self._known)
