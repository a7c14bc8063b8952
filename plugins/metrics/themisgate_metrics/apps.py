"""Which app's metrics a per-call hook should count into.

`themisgate_adapter_call` and `themisgate_event` are not given the app, and one process
may hold several apps (tests build many): each keeps its own registry. When the process
runs exactly one app (a server), that app is meant, wherever the call comes from. With
several, the HTTP middleware marks each request (and the lifespan the tasks started after
it) with its app's metrics in a context variable, which follows the request into
handlers, adapter calls and the events they emit.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app_metrics import AppMetrics

CURRENT: ContextVar[AppMetrics | None] = ContextVar("themisgate_metrics", default=None)
RUNNING: list[AppMetrics] = []


def current() -> AppMetrics | None:
    found = CURRENT.get()
    if found is None and len(RUNNING) == 1:
        return RUNNING[0]
    return found


def started(metrics: AppMetrics) -> None:
    RUNNING.append(metrics)
    _mark_alone()


def stopped(metrics: AppMetrics) -> None:
    RUNNING.remove(metrics)
    metrics.alone = False
    _mark_alone()


def _mark_alone() -> None:
    """`alone`: the one running app, which per-call hooks find without the variable."""
    for metrics in RUNNING:
        metrics.alone = len(RUNNING) == 1
