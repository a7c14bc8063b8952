"""What an HTTP response turned out to be, and the headers middleware want on it, without
each middleware wrapping `send`.

The core's request context (priority 900) wraps `send` once: it records the status and
the body's size in the request's `ResponseFacts` and appends the headers gathered there
to the response as it starts. Other middleware, outer or inner, call
`response_facts(scope)` to add a header before the response starts (a trace id, rate
limit fields) and to read the status and size once the app has returned — one wrapper
instead of one per plugin, each costing two extra calls per response.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

SCOPE_KEY = "themisgate.response"


class ResponseFacts:
    __slots__ = ("body_bytes", "headers", "status")

    def __init__(self) -> None:
        self.status = 0  # 0 until the response starts
        self.body_bytes = 0
        self.headers: list[tuple[bytes, bytes]] = []  # added when the response starts


def response_facts(scope: MutableMapping[str, Any]) -> ResponseFacts:
    """This HTTP request's facts, created by whoever asks first."""
    facts: ResponseFacts | None = scope.get(SCOPE_KEY)
    if facts is None:
        facts = scope[SCOPE_KEY] = ResponseFacts()
    return facts
