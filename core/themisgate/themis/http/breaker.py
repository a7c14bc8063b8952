"""A circuit breaker, so a ThemisDB that is down costs callers microseconds, not timeouts.

Without it every request to a dead server waits for the connect or read timeout, holds a
pooled connection and a worker while it waits, and the server that comes back is greeted by
a thundering herd. The breaker counts consecutive failures (connection errors, timeouts,
5xx — never 4xx, which say the request was wrong, not the server); after `threshold` of them
it opens and every call fails at once with `CircuitOpen` carrying `retry_after`. After
`reset_seconds` it lets exactly one probe through (half-open): success closes it, failure
opens it again for another `reset_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from ..errors import ThemisUnavailable

BreakerState = Literal["closed", "open", "half-open"]


class CircuitOpen(ThemisUnavailable):
    """Raised without touching the network while the breaker is open (never retried)."""


class Attempt:
    """One permitted call; the caller reports how it went with `succeeded` or `failed`."""

    __slots__ = ("_breaker", "_settled", "is_probe")

    def __init__(self, breaker: CircuitBreaker, *, is_probe: bool) -> None:
        self._breaker = breaker
        self._settled = False
        self.is_probe = is_probe

    def succeeded(self) -> None:
        if not self._settled:
            self._settled = True
            self._breaker._record_success()

    def failed(self) -> None:
        if not self._settled:
            self._settled = True
            self._breaker._record_failure()


class CircuitBreaker:
    """Closed → open after `threshold` consecutive failures → half-open after `reset_seconds`.

    `clock` is injectable (monotonic seconds) so tests move time instead of sleeping. The
    breaker is used from one event loop; it needs no lock because it never awaits.
    """

    def __init__(
        self,
        threshold: int,
        reset_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        name: str = "ThemisDB",
    ) -> None:
        if threshold < 1:
            raise ValueError("breaker threshold must be at least 1")
        if reset_seconds < 0:
            raise ValueError("breaker reset_seconds must not be negative")
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.name = name
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """`closed`, `open`, or `half-open` (the reset time has passed: the next call probes)."""
        if self._opened_at is None:
            return "closed"
        if self._probe_in_flight or self._clock() - self._opened_at < self.reset_seconds:
            return "open"
        return "half-open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> float | None:
        """Seconds until the breaker lets a probe through; None when it is not open."""
        if self._opened_at is None:
            return None
        return max(0.0, self._opened_at + self.reset_seconds - self._clock())

    @contextmanager
    def attempt(self) -> Iterator[Attempt]:
        """Permit one call or raise `CircuitOpen`.

        Leaving the block without a verdict (cancellation, a programming error) frees a
        probe slot without counting for or against the server, so the breaker never sticks
        in half-open waiting for a probe that will not report.
        """
        permit = self._permit()
        try:
            yield permit
        finally:
            if not permit._settled and permit.is_probe:
                self._probe_in_flight = False

    def _permit(self) -> Attempt:
        if self._opened_at is None:
            return Attempt(self, is_probe=False)
        remaining = self._opened_at + self.reset_seconds - self._clock()
        if remaining > 0:
            raise CircuitOpen(
                f"{self.name} is unavailable: {self._failures} consecutive failures opened "
                f"the circuit breaker; the next attempt is allowed in {remaining:.1f}s",
                retry_after=remaining,
            )
        if self._probe_in_flight:
            raise CircuitOpen(
                f"{self.name} is unavailable: a probe request is checking whether it has recovered",
                retry_after=min(1.0, self.reset_seconds) or None,
            )
        self._probe_in_flight = True
        return Attempt(self, is_probe=True)

    def _record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_in_flight = False

    def _record_failure(self) -> None:
        self._failures += 1
        if self._probe_in_flight or self._failures >= self.threshold:
            self._opened_at = self._clock()
        self._probe_in_flight = False
