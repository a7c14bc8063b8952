"""ThemisDB's own facts: stats, capabilities, and the adapter's status."""

from __future__ import annotations

from typing import Any

from litestar import get

from ...context import AppContext, Ctx
from ...themis.errors import ThemisError
from ..problem_docs import problem_responses
from .models import AdapterStatus

ERRORS = problem_responses()


@get("/themis/stats", opt={"scope": "read"}, tags=["status"], responses=ERRORS)
async def stats(ctx: Ctx) -> dict[str, Any]:
    """ThemisDB's statistics, and this server's adapter counters."""
    return await read_stats(ctx)


async def read_stats(ctx: AppContext) -> dict[str, Any]:
    """The v4 stats without HTTP, for other surfaces to answer exactly alike."""
    adapter = ctx.adapter
    return {
        "backend": adapter.name,
        "themis": await adapter.server_stats(),
        "adapter": {
            "query_count": adapter.stats.calls,
            "error_count": adapter.stats.errors,
            "avg_latency_ms": adapter.stats.avg_latency_ms,
        },
    }


@get("/themis/capabilities", opt={"scope": "read"}, tags=["status"], responses=ERRORS)
async def capabilities(ctx: Ctx) -> dict[str, Any]:
    return await ctx.adapter.capabilities()


@get("/adapters/status", opt={"scope": "read"}, tags=["status"], responses=ERRORS)
async def adapters_status(ctx: Ctx) -> dict[str, list[AdapterStatus]]:
    """Each adapter: reachable or not, its version, and how it has been doing."""
    adapter = ctx.adapter
    try:
        health = await adapter.health()
        available, version, detail = health.status == "healthy", health.version, health.status
    except ThemisError as exc:
        available, version, detail = False, None, exc.message
    status = AdapterStatus(
        name=adapter.name,
        available=available,
        version=version,
        query_count=adapter.stats.calls,
        error_count=adapter.stats.errors,
        avg_latency_ms=adapter.stats.avg_latency_ms,
        detail=detail,
    )
    return {"adapters": [status]}


ROUTES = [stats, capabilities, adapters_status]
