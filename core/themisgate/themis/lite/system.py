"""`/`, `/health`, `/stats`, `/api/capabilities`: what the server says about itself."""

from __future__ import annotations

import threading
import time
from typing import Any

from litestar import Response, get, route
from litestar.handlers import HTTPRouteHandler

from ._context import LiteContext
from ._wire import json_response


def routes(ctx: LiteContext) -> list[HTTPRouteHandler]:
    backend = ctx.backend

    async def health_body() -> Response[bytes]:
        health = await backend.health()
        return json_response(
            {
                "status": health.status,
                "version": health.version,
                "database": "themis",
                "uptime_seconds": int(time.monotonic() - ctx.started),
            }
        )

    # the server answers POST /health too
    @route("/health", http_method=["GET", "POST"], status_code=200)
    async def health() -> Response[bytes]:
        return await health_body()

    @get("/")
    async def root() -> Response[bytes]:
        return await health_body()

    @get("/stats")
    async def stats() -> Response[bytes]:
        storage = (await backend.stats())["storage"]
        uptime = max(time.monotonic() - ctx.started, 1e-9)
        server = {
            "uptime_seconds": int(uptime),
            "total_requests": ctx.total_requests,
            "total_errors": ctx.total_errors,
            "queries_per_second": round(ctx.total_requests / uptime, 3),
            "threads": threading.active_count(),
        }
        return json_response({"server": server, "storage": storage})

    @get("/api/capabilities")
    async def capabilities() -> Response[bytes]:
        features: dict[str, Any] = await backend.capabilities()
        return json_response(
            {
                "server": {
                    "version": features["version"],
                    "threads": threading.active_count(),
                    "backend": features["backend"],
                },
                "vector": {"gpu_compiled": False, **features["vector"]},
                "geo": {"enabled": False},
                "graph": features["graph"],
                "aql": features["aql"],
            }
        )

    return [health, root, stats, capabilities]
