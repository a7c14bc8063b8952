"""A circuit breaker around Redis, so a dead Redis costs no waiting.

closed     every decision goes to Redis; `threshold` consecutive failures open it
open       no decision goes to Redis (the fallback answers); after `cooldown` seconds
           the next decision starts one probe in the background
half-open  the probe is under way (decisions still use the fallback); its success
           closes the breaker, its failure opens it for another cooldown
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(
        self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.state: State = "closed"
        self.failures = 0
        self.opened_at = 0.0
        self.down_since = 0.0

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    def probe_due(self) -> bool:
        """True once per cooldown while open: the caller should start one probe."""
        if self.state == "open" and self.clock() - self.opened_at >= self.cooldown:
            self.state = "half-open"
            return True
        return False

    def retry_in(self) -> float:
        """Seconds until the next probe (0 when closed or probing)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))

    def succeeded(self) -> float | None:
        """Record a success; returns how long Redis was down if this ended an outage."""
        self.failures = 0
        if self.state == "closed":
            return None
        self.state = "closed"
        return self.clock() - self.down_since

    def failed(self) -> bool:
        """Record a failure; returns True when this failure opened a closed breaker."""
        self.failures += 1
        if self.state == "closed" and self.failures < self.threshold:
            return False
        opening = self.state == "closed"
        self.state = "open"
        self.opened_at = self.clock()
        if opening:
            self.down_since = self.opened_at
        return opening
