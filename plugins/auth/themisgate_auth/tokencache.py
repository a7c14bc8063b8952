"""Verified tokens remembered for a short while, so a client sending the same bearer token
on every request pays for one signature check per `cache_seconds`, not one per request.

Entries are keyed by the token's SHA-256 (the token itself is never kept), hold the
identity it proved, and end at the earlier of the token's own expiry and the cache TTL, so
an expired token is refused exactly as without the cache. The size is bounded: when full,
the oldest entry goes first (insertion order), which is all a short-lived cache needs.
"""

from __future__ import annotations

from themisgate import Identity


class TokenCache:
    __slots__ = ("_entries", "seconds", "size")

    def __init__(self, size: int, seconds: float) -> None:
        self.size = size
        self.seconds = seconds
        self._entries: dict[bytes, tuple[Identity, float]] = {}

    @property
    def enabled(self) -> bool:
        return self.size > 0 and self.seconds > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, now: float) -> Identity | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        identity, until = entry
        if now >= until:
            del self._entries[digest]
            return None
        return identity

    def put(self, digest: bytes, identity: Identity, now: float, expires: float | None) -> None:
        until = now + self.seconds
        if expires is not None and expires < until:
            until = expires
        if until <= now:
            return
        entries = self._entries
        if digest not in entries and len(entries) >= self.size:
            del entries[next(iter(entries))]
        entries[digest] = (identity, until)

    def clear(self) -> None:
        self._entries.clear()
