"""`GET /metrics`: the Prometheus text format, or OpenMetrics when the scraper's Accept
asks for `application/openmetrics-text` (only OpenMetrics carries exemplars), gzip when
it accepts it. Exempt from rate limits; runs in a thread so a large scrape never holds
up the event loop."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

# smaller bodies are not worth the CPU
GZIP_MIN_BYTES = 1024


def exposition(
    collector: Collector, accept: str, accept_encoding: str
) -> tuple[bytes, str, dict[str, str]]:
    """The body, its content type and headers for one scrape."""
    encoder, content_type = choose_encoder(accept)
    body = encoder(collector)
    headers = {
        # given as a header: Litestar would append a second charset to a text/ media type
        "Content-Type": content_type,
        "Vary": "Accept, Accept-Encoding",
        "Cache-Control": "no-store",
    }
    if len(body) >= GZIP_MIN_BYTES and _accepts_gzip(accept_encoding):
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return body, content_type, headers


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def metrics_route(
    path: str, scope: str | None, scrape: Callable[[], Collector]
) -> HTTPRouteHandler:
    """The scrape handler at `path`; `scrape()` gives what to expose, fresh each time."""
    opt: dict[str, Any] = {"exempt": True}
    if scope is not None:
        opt["scope"] = scope

    def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = request.headers
        body, content_type, extra = exposition(
            scrape(), headers.get("accept", ""), headers.get("accept-encoding", "")
        )
        return Response(body, media_type=content_type, headers=extra)

    return get(
        path, opt=opt, include_in_schema=False, sync_to_thread=True, name="themisgate-metrics"
    )(metrics)
