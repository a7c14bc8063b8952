"""Small plugin objects the core tests register directly."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get

from themisgate import Middleware, StatusCheck, StatusReport


class Named:
    """A plugin object with a name and whatever attributes a test gives it."""

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = name
        for key, value in attrs.items():
            setattr(self, key, value)


class LimitsConfig(msgspec.Struct, kw_only=True):
    rate: str = "10/minute"
    burst: int = 5
    token: str | None = None


def routes_plugin(name: str, *handlers: Any) -> Named:
    plugin = Named(name)
    plugin.themisgate_routes = lambda ctx: list(handlers)  # type: ignore[attr-defined]
    return plugin


@get("/shared")
async def shared_one() -> dict[str, str]:
    return {"from": "one"}


@get("/shared")
async def shared_two() -> dict[str, str]:
    return {"from": "two"}


@get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("internal detail that must not reach the client")


class Order(msgspec.Struct):
    quantity: int
    item: str


def status_plugin(name: str, ok: bool, required: bool) -> Named:
    async def check() -> StatusReport:
        return StatusReport(ok=ok, detail="fine" if ok else "down")

    plugin = Named(name)
    plugin.themisgate_status = lambda ctx: [  # type: ignore[attr-defined]
        StatusCheck(f"{name}-check", check, required=required)
    ]
    return plugin


def middleware_plugin(name: str, priority: int, seen: list[str]) -> Named:
    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append(name)
            await app(scope, receive, send)

        return middleware

    plugin = Named(name)
    plugin.themisgate_middleware = lambda ctx: [  # type: ignore[attr-defined]
        Middleware(name, priority, factory)
    ]
    return plugin
