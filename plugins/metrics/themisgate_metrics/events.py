"""Metrics fed by other plugins' events (docs/events.md is the contract): rate limits,
auth failures, WebSocket and SSE traffic, GraphQL operations.

Only the events of enabled plugins get a handler. Label values come from another
plugin, so each family is bounded (`Series`), and GraphQL operation names — chosen by
clients — keep their own label only for the first N seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .families import (
    AuthFamilies,
    GraphQLFamilies,
    RateLimitFamilies,
    V3Families,
    WebSocketFamilies,
)
from .series import Series, TopValues

Handler = Callable[[Mapping[str, Any]], None]


def _text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) and value else "unknown"


def _number(payload: Mapping[str, Any], key: str) -> float:
    value = payload.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def event_handlers(
    families: Mapping[str, Any], *, series_limit: int, graphql_names: int
) -> dict[str, Handler]:
    """Event name → handler, for the plugins whose families exist."""
    handlers: dict[str, Handler] = {}

    def bounded(family: Any) -> Series[Any]:
        return Series(family, series_limit)

    if isinstance(limits := families.get("ratelimit"), RateLimitFamilies):
        exceeded, remaining = bounded(limits.exceeded), bounded(limits.remaining)

        def rate_limited(payload: Mapping[str, Any]) -> None:
            exceeded.labels(_text(payload, "route"), _text(payload, "tier")).inc()

        def rate_limit_checked(payload: Mapping[str, Any]) -> None:
            # once per rate-limited request: well-formed values find their child directly
            route, tier, left = payload.get("route"), payload.get("tier"), payload.get("remaining")
            child = remaining.find((route, tier)) if type(route) is type(tier) is str else None
            if child is None:
                child = remaining.labels(_text(payload, "route"), _text(payload, "tier"))
            child.set(left if type(left) is int else _number(payload, "remaining"))

        handlers["rate_limited"] = rate_limited
        handlers["rate_limit_checked"] = rate_limit_checked
        handlers.update(_backend_handlers(limits, bounded))

    if isinstance(auth := families.get("auth"), AuthFamilies):
        failures = bounded(auth.failures)

        def auth_failed(payload: Mapping[str, Any]) -> None:
            failures.labels(_text(payload, "reason"), _text(payload, "scheme")).inc()

        handlers["auth_failed"] = auth_failed

    if isinstance(ws := families.get("websocket"), WebSocketFamilies):
        handlers.update(_websocket_handlers(ws, bounded))

    if isinstance(graphql := families.get("graphql"), GraphQLFamilies):
        operations, duration = bounded(graphql.operations), bounded(graphql.duration)
        top_names = TopValues(graphql_names)

        def graphql_operation(payload: Mapping[str, Any]) -> None:
            kind = _text(payload, "operation_type")
            name = top_names(_text(payload, "operation_name"))
            status = "error" if _number(payload, "errors") > 0 else "success"
            operations.labels(kind, name, status).inc()
            duration.labels(kind, name).observe(_number(payload, "duration_seconds"))

        handlers["graphql_operation"] = graphql_operation

    if isinstance(v3 := families.get("v3compat"), V3Families):
        v3_requests = bounded(v3.requests)

        def v3_request(payload: Mapping[str, Any]) -> None:
            status = payload.get("status")
            v3_requests.labels(
                _text(payload, "route"),
                _text(payload, "identity_kind"),
                _text(payload, "tier"),
                str(status) if isinstance(status, int) else "unknown",
            ).inc()

        handlers["v3_request"] = v3_request
    return handlers


def _backend_handlers(
    limits: RateLimitFamilies, bounded: Callable[[Any], Series[Any]]
) -> dict[str, Handler]:
    """The rate limiter's storage (Redis) going down and coming back."""
    state, outages = bounded(limits.backend_down), bounded(limits.backend_outages)

    def down(payload: Mapping[str, Any]) -> None:
        backend = _text(payload, "backend")
        state.labels(backend).set(1)
        outages.labels(backend).inc()

    def up(payload: Mapping[str, Any]) -> None:
        state.labels(_text(payload, "backend")).set(0)

    return {"ratelimit_backend_down": down, "ratelimit_backend_up": up}


def _websocket_handlers(
    ws: WebSocketFamilies, bounded: Callable[[Any], Series[Any]]
) -> dict[str, Handler]:
    active, connections = bounded(ws.active), bounded(ws.connections)
    duration, messages = bounded(ws.duration), bounded(ws.messages)
    streams, events = bounded(ws.sse_streams), bounded(ws.sse_events)

    def ws_connected(payload: Mapping[str, Any]) -> None:
        endpoint = _text(payload, "endpoint")
        active.labels(endpoint).inc()
        connections.labels(endpoint).inc()

    def ws_disconnected(payload: Mapping[str, Any]) -> None:
        endpoint = _text(payload, "endpoint")
        active.labels(endpoint).dec()
        duration.labels(endpoint).observe(_number(payload, "duration_seconds"))

    def ws_message(payload: Mapping[str, Any]) -> None:
        labels = (_text(payload, "endpoint"), _text(payload, "direction"), _text(payload, "type"))
        messages.get(labels, labels).inc()

    def sse_stream(payload: Mapping[str, Any]) -> None:
        endpoint = _text(payload, "endpoint")
        streams.labels(endpoint).inc()
        events.labels(endpoint).inc(_number(payload, "events"))

    return {
        "ws_connected": ws_connected,
        "ws_disconnected": ws_disconnected,
        "ws_message": ws_message,
        "sse_stream": sse_stream,
    }
