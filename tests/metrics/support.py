"""Plugin objects the metrics tests register beside the metrics plugin."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import get

from themisgate.testing import make_app


class Named:
    """A plugin object with a name and whatever hooks a test gives it. Its name is what
    `ctx.enabled(...)` sees, so `Named("ratelimit", ...)` stands in for that plugin."""

    def __init__(self, name: str, **hooks: Any) -> None:
        self.name = name
        for key, value in hooks.items():
            setattr(self, key, value)


def routes(name: str, *handlers: Any) -> Named:
    return Named(name, themisgate_routes=lambda ctx: list(handlers))


@get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("broken on purpose")


@contextlib.asynccontextmanager
async def served_here(
    *plugins: object, settings: dict[str, Any] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app served in this event loop, so a test can hold one request open
    while it sends another (Litestar's test client serves from another thread, one
    request at a time)."""
    app = make_app(*plugins, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c
