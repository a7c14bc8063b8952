"""Rate-limit, auth, WebSocket and GraphQL metrics, fed by the events other plugins emit
(docs/events.md), each family present only while its plugin is enabled."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, get, websocket

import themisgate_metrics
from themisgate import Ctx
from themisgate.testing import plugin_client

from .scrape import scrape
from .support import Named, routes


def emitter(plugin: str, *events: tuple[str, dict[str, Any]]) -> Named:
    """A stand-in for `plugin` whose GET /emit/<plugin> emits `events`."""

    @get(f"/emit/{plugin}")
    async def emit(ctx: Ctx) -> dict[str, int]:
        for name, payload in events:
            ctx.emit(name, payload)
        return {"emitted": len(events)}

    return routes(plugin, emit)


RATE_LIMITED = {
    "route": "/api/v4/themis/vectors/search",
    "tier": "free",
    "identity_kind": "ip",
    "policy": "10/minute",
    "retry_after": 4.0,
}


async def test_rate_limit_metrics_are_by_endpoint_and_tier() -> None:
    checked = {"route": "/api/v4/themis/vectors/search", "tier": "free", "limit": 10}
    ratelimit = emitter(
        "ratelimit",
        ("rate_limit_checked", {**checked, "remaining": 8}),
        ("rate_limit_checked", {**checked, "remaining": 7}),
        ("rate_limited", RATE_LIMITED),
        ("rate_limited", {**RATE_LIMITED, "tier": "premium", "identity_kind": "api_key"}),
    )
    async with plugin_client(themisgate_metrics, ratelimit) as client:
        await client.get("/emit/ratelimit")
        await client.get("/emit/ratelimit")
        found = await scrape(client)
    labels = {"endpoint": "/api/v4/themis/vectors/search"}
    assert found.value("rate_limit_exceeded_total", **labels, user_tier="free") == 2
    assert found.value("rate_limit_exceeded_total", **labels, user_tier="premium") == 2
    assert found.value("rate_limit_remaining_requests", **labels, user_tier="free") == 7
    assert {frozenset(s.labels) for s in found.find("rate_limit_exceeded_total")} == {
        frozenset({"endpoint", "user_tier"})
    }


async def test_malformed_rate_limit_checks_are_counted_under_unknown() -> None:
    """A third-party emitter's odd values never raise and never mint new series."""
    ratelimit = emitter(
        "ratelimit",
        ("rate_limit_checked", {"route": ["/x"], "tier": None, "limit": 10, "remaining": 3}),
        ("rate_limit_checked", {"route": "/x", "tier": "free", "limit": 10, "remaining": 2.5}),
        ("rate_limit_checked", {"route": "/y", "tier": "free", "limit": 10, "remaining": True}),
    )
    async with plugin_client(themisgate_metrics, ratelimit) as client:
        assert (await client.get("/emit/ratelimit")).status_code == 200
        found = await scrape(client)
    remaining = "rate_limit_remaining_requests"
    assert found.value(remaining, endpoint="unknown", user_tier="unknown") == 3
    assert found.value(remaining, endpoint="/x", user_tier="free") == 2.5
    assert found.value(remaining, endpoint="/y", user_tier="free") == 0


async def test_auth_failures_are_by_reason_and_scheme() -> None:
    auth = emitter(
        "auth",
        ("auth_failed", {"reason": "unknown_key", "scheme": "api_key"}),
        ("auth_failed", {"reason": "expired_token", "scheme": "jwt"}),
        ("auth_succeeded", {"scheme": "jwt", "tier": "premium"}),
    )
    async with plugin_client(themisgate_metrics, auth) as client:
        await client.get("/emit/auth")
        found = await scrape(client)
    assert found.value("auth_failures_total", reason="unknown_key", scheme="api_key") == 1
    assert found.value("auth_failures_total", reason="expired_token", scheme="jwt") == 1


@websocket("/ws/echo")
async def echo(socket: WebSocket[Any, Any, Any], ctx: Ctx) -> None:
    """What the WebSocket plugin does, reduced to its events."""
    await socket.accept()
    ctx.emit("ws_connected", {"endpoint": "/ws/echo"})
    message = await socket.receive_json()
    ctx.emit("ws_message", {"endpoint": "/ws/echo", "direction": "in", "type": message["action"]})
    await socket.send_json({"type": "result"})
    ctx.emit("ws_message", {"endpoint": "/ws/echo", "direction": "out", "type": "result"})
    await socket.close()
    ctx.emit("ws_disconnected", {"endpoint": "/ws/echo", "duration_seconds": 0.2, "code": 1000})


async def test_websocket_connections_and_messages() -> None:
    sse = emitter("sse", ("sse_stream", {"endpoint": "/sse", "events": 5, "duration_seconds": 1}))
    plugins = [themisgate_metrics, routes("websocket", echo), sse]
    async with plugin_client(*plugins) as client:
        with await client.websocket_connect("/ws/echo") as socket:
            connected = await scrape(client)
            socket.send_json({"action": "search"})
            assert socket.receive_json() == {"type": "result"}
        await client.get("/emit/sse")
        found = await scrape(client)
    endpoint = {"endpoint": "/ws/echo"}
    assert connected.value("websocket_connections_active", **endpoint) == 1
    assert found.value("websocket_connections_active", **endpoint) == 0
    assert found.value("websocket_connections_total", **endpoint) == 1
    assert found.value("websocket_connection_duration_seconds_count", **endpoint) == 1
    messages = "websocket_messages_total"
    assert found.value(messages, **endpoint, direction="in", type="search") == 1
    assert found.value(messages, **endpoint, direction="out", type="result") == 1
    assert found.value("sse_events_total", endpoint="/sse") == 5
    # the websocket's own request is not an HTTP request
    assert "/ws/echo" not in found.values(
        "http_server_request_duration_seconds_count", "http_route"
    )


def graphql_event(name: str, errors: int = 0) -> tuple[str, dict[str, Any]]:
    payload = {
        "operation_type": "query",
        "operation_name": name,
        "duration_seconds": 0.03,
        "errors": errors,
    }
    return ("graphql_operation", payload)


async def test_graphql_operations_by_type_name_and_outcome() -> None:
    graphql = emitter(
        "graphql",
        graphql_event("Search"),
        graphql_event("Search"),
        graphql_event("Search", errors=2),
        graphql_event("anonymous"),
    )
    async with plugin_client(themisgate_metrics, graphql) as client:
        await client.get("/emit/graphql")
        found = await scrape(client)
    total = "graphql_operations_total"
    query = {"operation_type": "query"}
    assert found.value(total, **query, operation_name="Search", status="success") == 2
    assert found.value(total, **query, operation_name="Search", status="error") == 1
    assert found.value(total, **query, operation_name="anonymous", status="success") == 1
    duration = "graphql_operation_duration_seconds_count"
    assert found.value(duration, **query, operation_name="Search") == 3


async def test_client_chosen_graphql_names_keep_a_label_only_for_the_first_n() -> None:
    graphql = emitter("graphql", *(graphql_event(f"Op{i}") for i in range(20)))
    settings = {"plugins": {"metrics": {"graphql_operation_names": 3}}}
    async with plugin_client(themisgate_metrics, graphql, settings=settings) as client:
        await client.get("/emit/graphql")
        found = await scrape(client)
    names = found.values("graphql_operations_total", "operation_name")
    assert names == {"Op0", "Op1", "Op2", "_OTHER"}
    assert found.value(
        "graphql_operations_total", operation_type="query", operation_name="_OTHER",
        status="success",
    ) == 17  # fmt: skip


async def test_label_combinations_are_bounded_per_metric() -> None:
    flood = [("rate_limited", {**RATE_LIMITED, "route": f"/raw/{i}"}) for i in range(50)]
    ratelimit = emitter("ratelimit", *flood)
    settings = {"plugins": {"metrics": {"max_series_per_metric": 10}}}
    async with plugin_client(themisgate_metrics, ratelimit, settings=settings) as client:
        await client.get("/emit/ratelimit")
        found = await scrape(client)
    exceeded = found.find("rate_limit_exceeded_total")
    assert len(exceeded) == 11
    assert found.value("rate_limit_exceeded_total", endpoint="_OTHER", user_tier="_OTHER") == 40


async def test_families_of_plugins_that_are_not_enabled_are_not_exported() -> None:
    async with plugin_client(themisgate_metrics) as client:
        await client.get("/health")
        response = await client.get("/metrics")
    for prefix in ("rate_limit_", "auth_", "websocket_", "sse_", "graphql_"):
        assert prefix not in response.text


async def test_each_app_counts_its_own_requests_events_and_adapter_calls() -> None:
    one = emitter("ratelimit", ("rate_limited", RATE_LIMITED))
    two = emitter("ratelimit", ("rate_limited", RATE_LIMITED))
    async with (
        plugin_client(themisgate_metrics, one) as first,
        plugin_client(themisgate_metrics, two) as second,
    ):
        await first.get("/emit/ratelimit")
        await first.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        in_first = await scrape(first)
        in_second = await scrape(second)
    assert in_first.value("rate_limit_exceeded_total", endpoint=RATE_LIMITED["route"],
                          user_tier="free") == 1  # fmt: skip
    assert not in_second.find("rate_limit_exceeded_total")
    assert in_first.find("adapter_requests_total", operation="put_document")
    assert not in_second.find("adapter_requests_total", operation="put_document")


async def test_events_outside_any_request_reach_the_running_app() -> None:
    async with plugin_client(themisgate_metrics, emitter("ratelimit")) as client:
        ctx = client.app.state["themisgate"]
        ctx.emit("rate_limited", RATE_LIMITED)  # e.g. from a background task
        found = await scrape(client)
    assert found.value("rate_limit_exceeded_total", endpoint=RATE_LIMITED["route"],
                       user_tier="free") == 1  # fmt: skip
