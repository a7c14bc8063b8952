"""Small plugins the rate-limit tests register next to it: callers with tiers, plain
routes, and a route that charges another surface through `ctx.rate_limit`."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post, put
from litestar.params import FromPath, FromQuery

import themisgate_ratelimit
from themisgate import Ctx, Identity, ProblemError
from themisgate.testing import make_settings


class Callers:
    """An auth stand-in: `X-Caller: <id>/<tier>` is an API key of that tier; `X-Client-IP`
    is an anonymous caller's address as a proxy-aware auth plugin would resolve it."""

    name = "callers"

    def themisgate_identify(self, request: Request[Any, Any, Any]) -> Identity | None:
        address = request.headers.get("x-client-ip")
        if address is not None:
            return Identity("ip", address, "free", frozenset({"read"}))
        header = request.headers.get("x-caller")
        if header is None:
            return None
        if header == "forged":
            raise ProblemError(401, "Unknown API key.", slug="unauthorized")
        caller, _, tier = header.partition("/")
        return Identity("api_key", caller, tier or "free", frozenset({"read", "write"}))


@get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "yes"}


@get("/items/{name:str}")
async def get_item(name: FromPath[str]) -> dict[str, str]:
    return {"name": name}


@put("/items/{name:str}", status_code=200)
async def put_item(name: FromPath[str]) -> dict[str, str]:
    return {"name": name}


@get("/internal/metrics-like", opt={"exempt": True})
async def exempt_route() -> dict[str, str]:
    return {"exempt": "yes"}


@post("/surface/{key:str}", status_code=200, opt={"exempt": True})
async def charge_surface(
    ctx: Ctx, request: Request[Any, Any, Any], key: FromPath[str], cost: FromQuery[int] = 1
) -> dict[str, Any]:
    """What the GraphQL and WebSocket plugins do per operation or message."""
    identity = await ctx.identify(request)
    decision = await ctx.rate_limit(identity, key, cost)
    return {
        "allowed": decision.allowed,
        "limit": decision.limit,
        "remaining": decision.remaining,
        "retry_after": decision.retry_after,
        "policy": decision.policy,
    }


class Routes:
    name = "routes"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [ping, get_item, put_item, exempt_route, charge_surface]


def settings(**ratelimit: Any) -> dict[str, Any]:
    return {"plugins": {"ratelimit": ratelimit}}


def plugins(*extra: object) -> tuple[object, ...]:
    return (themisgate_ratelimit, Routes(), Callers(), *extra)


def check_settings(**ratelimit: Any) -> Any:
    """Validate a `[plugins.ratelimit]` table as start-up does; returns the app."""
    from themisgate import create_app

    return create_app(make_settings(settings(**ratelimit)), plugins=[themisgate_ratelimit])
