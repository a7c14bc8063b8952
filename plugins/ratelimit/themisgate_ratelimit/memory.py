"""The in-process store: one TAT per (caller, policy) in a bounded LRU dictionary.

Used as the store for `storage = "memory://"` (one process) and as the per-process
fallback while Redis is down. Memory is bounded two ways: each insert drops up to two of
the least recently used entries whose TAT has passed (a passed TAT is the same as no
entry, so dropping it changes no decision), and past `max_keys` the least recently used
entry goes even if live (counted in `evicted`; that caller then starts afresh).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from .gcra import Policy, Verdict

Clock = Callable[[], int]
"""Returns the time in whole microseconds; only differences matter."""


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class MemoryStore:
    def __init__(self, max_keys: int, clock: Clock = monotonic_us, source: str = "memory") -> None:
        self.max_keys = max_keys
        self.clock = clock
        self.source = source
        self.evicted = 0
        self._tats: OrderedDict[tuple[str, str], int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    def charge(self, caller: str, policies: Sequence[Policy], cost: int = 1) -> Verdict:
        """Decide for every policy at once and charge all of them or none (the same
        arithmetic as `gcra.lua`)."""
        now = self.clock()
        entries = self._tats
        tats = []
        allowed = True
        for policy in policies:
            tat = entries.get((caller, policy.key), 0)
            if tat < now:
                tat = now
            if tat + cost * policy.interval - policy.tolerance > now:
                allowed = False
            tats.append(tat)
        if allowed and cost:
            for i, policy in enumerate(policies):
                tat = tats[i] = tats[i] + cost * policy.interval
                key = (caller, policy.key)
                if entries.pop(key, None) is None:  # re-inserted: most recently used last
                    self._make_room(now)
                entries[key] = tat
        return Verdict(allowed, now, tats, policies, cost, self.source)

    def _make_room(self, now: int) -> None:
        entries = self._tats
        for _ in range(2):  # amortised O(1): each insert clears up to two stale entries
            if not entries:
                return
            oldest, tat = next(iter(entries.items()))
            if tat > now:
                break
            del entries[oldest]
        while len(entries) >= self.max_keys:
            entries.popitem(last=False)
            self.evicted += 1

    def clear(self) -> None:
        self._tats.clear()
