"""What every lite route shares: the backend, the token, and the counters `/stats` shows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..embedded import EmbeddedBackend


@dataclass(eq=False)
class LiteContext:
    backend: EmbeddedBackend
    token: str | None = None
    started: float = field(default_factory=time.monotonic)
    total_requests: int = 0
    total_errors: int = 0
    # HNSW knobs the wire API exposes; the embedded index is exact, so they change nothing
    ef_search: int = 64
    m: int = 16
    ef_construction: int = 200
