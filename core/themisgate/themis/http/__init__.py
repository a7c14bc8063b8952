"""The HTTP backend: ThemisBackend over the real ThemisDB wire API, with a circuit breaker,
retries for idempotent reads and typed errors for every answer the server can give."""

from .backend import HttpBackend
from .breaker import BreakerState, CircuitBreaker, CircuitOpen
from .client import MAX_BODY_BYTES, RequestHook
from .retry import RetryPolicy

__all__ = [
    "MAX_BODY_BYTES",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "HttpBackend",
    "RequestHook",
    "RetryPolicy",
]
