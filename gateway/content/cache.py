"""A least-recently-used cache of upstream answers, bounded by the bytes it holds."""

from __future__ import annotations

from collections import OrderedDict

import msgspec

__all__ = ("ContentCache", "Entry", "cache_key")

_ENCODE = msgspec.json.Encoder().encode


def cache_key(source: str, params: list[tuple[str, str]]) -> bytes:
    """The key of an answer: the source and its sorted query parameters (``best[["a","1"],["b","2"]]``).

    JSON keeps every name and value apart whatever they contain, and msgspec writes it faster than a query
    string is encoded: the key is made on every request.

    Args:
        source: The source name.
        params: The request's query parameters, already sorted.
    """
    return source.encode() + _ENCODE(params)


class Entry(msgspec.Struct):
    """One cached answer.

    Attributes:
        body: The upstream's JSON object, as it sent it.
        stored_at: When it was fetched (the clock's seconds).
        retry_at: Before this time no refresh is started (set after a failed refresh, so that a failing upstream
            is not called on every request that finds the copy stale).
    """

    body: bytes
    stored_at: float
    retry_at: float = 0.0

    def size(self, key: bytes) -> int:
        """What the entry counts against the bound: its body and key."""
        return len(self.body) + len(key)


class ContentCache:
    """Answers by key, least recently used first out once the bodies and keys exceed ``capacity`` bytes."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> Entry | None:
        """The entry of ``key`` (now the most recently used), if cached."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        """Store ``entry`` under ``key``, evicting the least recently used entries until it fits."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= old.size(key)
        needed = entry.size(key)
        if needed > self.capacity:
            return
        while self.size + needed > self.capacity:
            evicted_key, evicted = self._entries.popitem(last=False)
            self.size -= evicted.size(evicted_key)
        self._entries[key] = entry
        self.size += needed
