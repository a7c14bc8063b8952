"""Who still calls v3: one `v3_request` event per request (route template, identity kind,
tier, status — never an id, so metrics stay low-cardinality), and a bounded tally of the
identified callers that use it most, for the status facts.

The tally is the Space-Saving algorithm (Metwally et al., 2005): at most `capacity`
counters; a caller arriving when all are taken replaces the smallest and inherits its
count, so memory stays bounded however many callers there are, and any caller making more
than 1/capacity of the requests is certain to be listed. Counts may be over-estimated by
at most the smallest count; anonymous callers (IP addresses) are counted together and
never listed, since `/ready`, which shows these facts, needs no credentials.
"""

from __future__ import annotations

from typing import Any

from themisgate import Identity

EVENT = "v3_request"


class TopCounter:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.counts: dict[str, int] = {}

    def add(self, key: str) -> None:
        counts = self.counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < self.capacity:
            counts[key] = 1
        elif self.capacity:
            smallest = min(counts, key=counts.__getitem__)
            counts[key] = counts.pop(smallest) + 1

    def top(self, n: int) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def event_payload(route: str, identity: Identity | None, status: int) -> dict[str, Any]:
    """The `v3_request` payload (docs/events.md); `unknown` when the caller could not be
    identified (refused credentials)."""
    return {
        "route": route,
        "identity_kind": identity.kind if identity else "unknown",
        "tier": identity.tier if identity else "unknown",
        "status": status,
    }


class Usage:
    def __init__(self, top_clients: int) -> None:
        self.top_clients = top_clients
        self.requests = 0
        self.anonymous = 0
        # a few times more counters than listed makes the listed ones nearly exact
        self.callers = TopCounter(top_clients * 4)

    def count(self, identity: Identity | None) -> None:
        self.requests += 1
        if identity is None or identity.anonymous:
            self.anonymous += 1
        elif self.top_clients:
            self.callers.add(identity.key)

    def facts(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "anonymous_requests": self.anonymous,
            "top_clients": [
                {"client": key, "requests": count}
                for key, count in self.callers.top(self.top_clients)
            ],
        }
