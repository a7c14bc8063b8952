"""Every metric family the plugin exports: names, labels, buckets, in one place.

Names follow Prometheus conventions (`_total`, `_seconds`, `_bytes`); the HTTP ones are
the OpenTelemetry HTTP semantic conventions as an OpenTelemetry Prometheus exporter
writes them; the adapter ones keep the names existing ThemisDB dashboards query.
Families of another plugin's events are made only when that plugin is enabled, so a
scrape shows no metric that can never move.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# OpenTelemetry's advisory buckets for http.server.request.duration
HTTP_DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
SIZE_BUCKETS = (64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216)
# what existing ThemisDB dashboards were built on
ADAPTER_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
QUERY_SIZE_BUCKETS = (16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)
CONNECTION_SECONDS_BUCKETS = (1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)

HTTP_LABELS = ("http_request_method", "http_route", "http_response_status_code")
# (name, help) of the HTTP families: made here, or by the one-process recorder's collector
DURATION = ("http_server_request_duration_seconds", "Duration of HTTP server requests.")
ACTIVE = ("http_server_active_requests", "HTTP server requests in progress.")
REQUEST_SIZE = (
    "http_server_request_body_size_bytes",
    "Size of HTTP request bodies (Content-Length, or the bytes read).",
)
RESPONSE_SIZE = ("http_server_response_body_size_bytes", "Size of HTTP response bodies as sent.")


class Factory:
    """Makes families in one registry (one process) or in none (multiprocess mode, where
    the scrape reads every worker's files instead of a registry)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry

    def counter(self, name: str, doc: str, labels: tuple[str, ...]) -> Counter:
        return Counter(name, doc, labels, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: tuple[str, ...], mode: str) -> Gauge:
        # `mode` says how workers' values combine; `live*` modes forget dead workers
        return Gauge(name, doc, labels, registry=self.registry, multiprocess_mode=mode)  # type: ignore[arg-type]

    def histogram(
        self, name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]
    ) -> Histogram:
        return Histogram(name, doc, labels, buckets=buckets, registry=self.registry)


class HttpFamilies:
    """The HTTP metrics as prometheus-client metrics (several workers; one process uses
    `LocalHttpRecorder` instead)."""

    def __init__(self, make: Factory) -> None:
        self.duration = make.histogram(*DURATION, HTTP_LABELS, HTTP_DURATION_BUCKETS)
        self.active = make.gauge(*ACTIVE, ("http_request_method",), "livesum")
        self.request_size = make.histogram(*REQUEST_SIZE, HTTP_LABELS, SIZE_BUCKETS)
        self.response_size = make.histogram(*RESPONSE_SIZE, HTTP_LABELS, SIZE_BUCKETS)


class AdapterFamilies:
    def __init__(self, make: Factory) -> None:
        self.requests = make.counter(
            "adapter_requests_total",
            "ThemisDB operations by adapter, operation and outcome (success, error).",
            ("adapter", "operation", "status"),
        )
        self.latency = make.histogram(
            "adapter_latency_seconds",
            "Duration of ThemisDB operations.",
            ("adapter", "operation"),
            ADAPTER_LATENCY_BUCKETS,
        )
        self.active = make.gauge(
            "adapter_connections_active",
            "ThemisDB operations in flight.",
            ("adapter",),
            "livesum",
        )
        self.query_size = make.histogram(
            "themis_query_size_bytes",
            "Size of what an operation sends to ThemisDB (see docs/metrics.md).",
            ("adapter", "operation"),
            QUERY_SIZE_BUCKETS,
        )
        self.info = make.gauge(
            "adapter_info",
            "The ThemisDB adapter in use and the version its server reports; always 1.",
            ("adapter", "version"),
            "livemax",
        )


class RateLimitFamilies:
    def __init__(self, make: Factory) -> None:
        self.exceeded = make.counter(
            "rate_limit_exceeded_total",
            "Requests refused by a rate limit, by route template (or surface) and tier.",
            ("endpoint", "user_tier"),
        )
        self.remaining = make.gauge(
            "rate_limit_remaining_requests",
            "Requests left in the window after the most recent check, by endpoint and tier.",
            ("endpoint", "user_tier"),
            "livemostrecent",
        )
        self.backend_down = make.gauge(
            "rate_limit_backend_down",
            "1 while the rate-limit storage (Redis) is unreachable, 0 once it answers again.",
            ("backend",),
            "livemax",
        )
        self.backend_outages = make.counter(
            "rate_limit_backend_outages_total",
            "Times the rate-limit storage became unreachable.",
            ("backend",),
        )


class AuthFamilies:
    def __init__(self, make: Factory) -> None:
        self.failures = make.counter(
            "auth_failures_total",
            "Refused credentials, by reason and scheme.",
            ("reason", "scheme"),
        )


class WebSocketFamilies:
    def __init__(self, make: Factory) -> None:
        self.active = make.gauge(
            "websocket_connections_active",
            "Open WebSocket connections.",
            ("endpoint",),
            "livesum",
        )
        self.connections = make.counter(
            "websocket_connections_total", "WebSocket connections accepted.", ("endpoint",)
        )
        self.duration = make.histogram(
            "websocket_connection_duration_seconds",
            "How long WebSocket connections stayed open.",
            ("endpoint",),
            CONNECTION_SECONDS_BUCKETS,
        )
        self.messages = make.counter(
            "websocket_messages_total",
            "WebSocket messages by direction (in, out) and type (action or message type).",
            ("endpoint", "direction", "type"),
        )
        self.sse_streams = make.counter(
            "sse_streams_total", "Server-sent event streams that ended.", ("endpoint",)
        )
        self.sse_events = make.counter(
            "sse_events_total", "Server-sent events delivered.", ("endpoint",)
        )


class GraphQLFamilies:
    def __init__(self, make: Factory) -> None:
        self.operations = make.counter(
            "graphql_operations_total",
            "GraphQL operations by type, name (top N, then _OTHER) and outcome.",
            ("operation_type", "operation_name", "status"),
        )
        self.duration = make.histogram(
            "graphql_operation_duration_seconds",
            "Duration of GraphQL operations.",
            ("operation_type", "operation_name"),
            HTTP_DURATION_BUCKETS,
        )


class V3Families:
    def __init__(self, make: Factory) -> None:
        self.requests = make.counter(
            "v3_requests_total",
            "Requests to the deprecated v3 API, by route, caller kind, tier and status.",
            ("route", "identity_kind", "tier", "status"),
        )


# the plugin whose events feed them → the families
EVENT_FAMILIES: dict[str, Callable[[Factory], Any]] = {
    "ratelimit": RateLimitFamilies,
    "auth": AuthFamilies,
    "websocket": WebSocketFamilies,
    "graphql": GraphQLFamilies,
    "v3compat": V3Families,
}
