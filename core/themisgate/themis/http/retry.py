"""When a failed call may be sent again, and how long to wait first.

Only idempotent reads are retried: GET, and the two POSTs that only read
(`/vector/search`, `/graph/traverse`). A write that timed out may have been applied, and
the server has no idempotency keys, so sending it again could apply it twice; writes fail
at once with a message that says so. Waits are exponential with full jitter (so clients
that failed together do not retry together) and all attempts of one call share a time
budget; a 429's `Retry-After` is honoured when it fits in what is left of that budget,
otherwise the caller gets `ThemisRateLimited` carrying the server's `retry_after`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ..settings import ThemisSettings

# POSTs that change nothing on the server, so they are as safe to repeat as a GET
READ_ONLY_POSTS = frozenset({"/vector/search", "/graph/traverse"})

# answers worth asking again: rate limited, or a gateway/overload in front of the server.
# A plain 500 is not here: this server answers 500 deterministically for some requests
# (reading a vector's entity, a failed traversal), and asking again changes nothing.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})

_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def is_idempotent_read(method: str, path: str) -> bool:
    """True for calls that may be repeated without changing what the server holds."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return True
    return method == "POST" and path.split("?", 1)[0] in READ_ONLY_POSTS


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`retries` extra attempts after the first, within `budget` seconds for the whole call."""

    retries: int = 2
    base_delay: float = 0.05
    max_delay: float = 1.0
    budget: float = 10.0

    @classmethod
    def from_settings(cls, settings: ThemisSettings) -> RetryPolicy:
        # the budget is the read timeout: a caller already accepts waiting that long
        return cls(retries=max(0, settings.retries), budget=settings.read_timeout)

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry `retry_number` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2**retry_number))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
    None when absent or unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _DELAY_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
