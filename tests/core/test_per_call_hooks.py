"""Hooks asked per call: adapter observation, events, identity, rate limits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from litestar import Request, get

from themisgate import Ctx, Identity, RateDecision
from themisgate.testing import make_app, plugin_client

from .plugin_fixtures import Named


def observer_plugin(seen: list[tuple[str, dict[str, Any], str | None]]) -> Named:
    @contextlib.contextmanager
    def themisgate_adapter_call(operation: str, attributes: dict[str, Any]) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            seen.append((operation, dict(attributes), type(exc).__name__))
            raise
        seen.append((operation, dict(attributes), None))

    return Named("observer", themisgate_adapter_call=themisgate_adapter_call)


async def test_adapter_calls_are_observed_with_results_and_errors() -> None:
    seen: list[tuple[str, dict[str, Any], str | None]] = []
    async with plugin_client(observer_plugin(seen)) as client:
        await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        await client.get("/api/v4/themis/documents/books/b1")
        await client.post(
            "/api/v4/themis/vectors",
            json={"collection": "v", "items": [{"key": "a", "vector": [1, 0]}]},
        )
        await client.post(
            "/api/v4/themis/vectors/search",
            json={"collection": "v", "vector": [1, 0, 0], "top_k": 3},
        )
    by_operation = {op: (attrs, error) for op, attrs, error in seen}
    put_attrs, _ = by_operation["put_document"]
    assert put_attrs == {"db.collection": "books", "adapter": "embedded"}
    get_attrs, _ = by_operation["get_document"]
    assert get_attrs["results.count"] == 1
    search_attrs, search_error = by_operation["vector_search"]
    assert search_attrs["vector.top_k"] == 3
    assert search_error == "DimensionMismatch"  # the exception passed through the observer


def test_per_call_hooks_nobody_implements_are_skipped() -> None:
    app = make_app()
    ctx = app.state["themisgate"]
    assert ctx.adapter._observer is None
    assert not ctx._has_event
    assert not ctx._has_identify
    assert not ctx._has_rate_limit


@get("/whoami")
async def whoami(ctx: Ctx, request: Request[Any, Any, Any]) -> dict[str, Any]:
    first = await ctx.identify(request)
    second = await ctx.identify(request)  # asked of plugins once per request
    decision = await ctx.rate_limit(first, "test", cost=2)
    ctx.emit("checked", {"who": first.key, "allowed": decision.allowed})
    return {
        "key": first.key,
        "tier": first.tier,
        "same": first is second,
        "allowed": decision.allowed,
    }


async def test_without_plugins_the_caller_is_an_ip_with_the_default_tier_and_allowed() -> None:
    routes = Named("routes", themisgate_routes=lambda ctx: [whoami])
    async with plugin_client(routes, settings={"core": {"default_tier": "anonymous"}}) as client:
        body = (await client.get("/whoami")).json()
    assert body == {"key": "ip:testclient", "tier": "anonymous", "same": True, "allowed": True}


async def test_identify_rate_limit_and_events_reach_plugins() -> None:
    asked: list[str] = []
    events: list[tuple[str, dict[str, Any]]] = []

    async def identify(request: Request[Any, Any, Any]) -> Identity | None:
        asked.append(request.url.path)
        key = request.headers.get("x-api-key")
        return Identity("api_key", key, "premium", frozenset({"read"})) if key else None

    def rate_limit(identity: Identity, key: str, cost: int) -> RateDecision:
        return RateDecision(allowed=cost <= 1, limit=10, remaining=0, retry_after=3.0)

    def failing_listener(name: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("a broken listener must not break the request")

    plugins = [
        Named("routes", themisgate_routes=lambda ctx: [whoami]),
        Named("auth", themisgate_identify=identify),
        Named("limits", themisgate_rate_limit=rate_limit),
        Named("listener", themisgate_event=lambda name, payload: events.append((name, payload))),
        Named("broken", themisgate_event=failing_listener),
    ]
    async with plugin_client(*plugins) as client:
        keyed = (await client.get("/whoami", headers={"x-api-key": "k1"})).json()
        anonymous = (await client.get("/whoami")).json()
    assert keyed == {"key": "api_key:k1", "tier": "premium", "same": True, "allowed": False}
    assert anonymous["key"] == "ip:testclient"
    assert asked == ["/whoami", "/whoami"]  # once per request, not once per identify() call
    assert ("checked", {"who": "api_key:k1", "allowed": False}) in events


async def test_identify_takes_the_arguments_each_implementation_declares() -> None:
    """One implementation is called without pluggy (direct.py); it must still get exactly
    the arguments it names, in its own order."""
    seen: list[Any] = []

    def identify(ctx: Any, request: Request[Any, Any, Any]) -> Identity:
        seen.append((ctx.enabled("auth"), request.url.path))
        return Identity("user", "u1", "gold", frozenset({"read"}))

    plugins = [
        Named("routes", themisgate_routes=lambda ctx: [whoami]),
        Named("auth", themisgate_identify=identify),
    ]
    async with plugin_client(*plugins) as client:
        body = (await client.get("/whoami")).json()
    assert body["key"] == "user:u1"
    assert seen == [(True, "/whoami")]


async def test_with_several_identify_plugins_the_first_answer_wins_and_wrappers_run() -> None:
    import pluggy

    order: list[str] = []
    hookimpl = pluggy.HookimplMarker("themisgate")

    class Silent:
        name = "silent"

        @hookimpl(tryfirst=True)
        def themisgate_identify(self) -> None:
            order.append("silent")

    class Keys:
        name = "keys"

        @hookimpl
        def themisgate_identify(self, request: Any) -> Identity:
            order.append("keys")
            return Identity("api_key", "k", "free", frozenset({"read"}))

    class Audit:
        name = "audit"

        @hookimpl(wrapper=True)
        def themisgate_identify(self) -> Iterator[None]:
            order.append("audit before")
            answer = yield
            order.append(f"audit saw {answer.key}")
            return answer

    routes = Named("routes", themisgate_routes=lambda ctx: [whoami])
    async with plugin_client(routes, Silent(), Keys(), Audit()) as client:
        body = (await client.get("/whoami")).json()
    assert body["key"] == "api_key:k"
    assert order == ["audit before", "silent", "keys", "audit saw api_key:k"]
