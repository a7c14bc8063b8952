"""HTTP server metrics after real requests, read from a parsed scrape."""

from __future__ import annotations

import asyncio
import gzip
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

import themisgate_metrics
from themisgate.testing import plugin_client

from .scrape import OPENMETRICS, Scrape, scrape
from .support import boom, routes, served_here

DURATION = "http_server_request_duration_seconds"
DOC_ROUTE = "/api/v4/themis/documents/{collection}/{key}"


async def test_requests_are_counted_by_method_route_template_and_status() -> None:
    async with plugin_client(themisgate_metrics, routes("extra", boom)) as client:
        await client.get("/health")
        await client.get("/health")
        await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        await client.put("/api/v4/themis/documents/films/f9", json={"t": 2})
        await client.get("/api/v4/themis/documents/books/missing")
        await client.get("/no/such/page")
        await client.delete("/health")  # the path exists, the method does not: 405
        await client.request("PURGE", "/health")
        await client.get("/boom")
        found = await scrape(client)

    count = f"{DURATION}_count"
    labels = ("http_request_method", "http_route", "http_response_status_code")

    def n(method: str, route: str, status: str) -> float:
        return found.value(count, **dict(zip(labels, (method, route, status), strict=True)))

    assert n("GET", "/health", "200") == 2
    assert n("PUT", DOC_ROUTE, "200") == 2  # two raw paths, one template
    assert n("GET", DOC_ROUTE, "404") == 1
    assert n("GET", "UNMATCHED", "404") == 1
    assert n("DELETE", "UNMATCHED", "405") == 1
    assert n("_OTHER", "UNMATCHED", "405") == 1
    assert n("GET", "/boom", "500") == 1
    assert not any("/no/such" in route for route in found.values(count, "http_route"))
    assert found.buckets(DURATION, http_route="/health", http_response_status_code="200") == [
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0",
        "2.5", "5.0", "7.5", "10.0", "+Inf",
    ]  # fmt: skip


async def test_request_and_response_sizes_are_the_bytes_on_the_wire() -> None:
    body = b'{"title": "Dune", "year": 1965}'
    async with plugin_client(themisgate_metrics) as client:
        put = await client.put(
            "/api/v4/themis/documents/books/b1",
            content=body,
            headers={"content-type": "application/json"},
        )
        health = await client.get("/health")
        found = await scrape(client)
    put_labels = {"http_request_method": "PUT", "http_route": DOC_ROUTE}
    health_labels = {"http_request_method": "GET", "http_route": "/health"}
    code = {"http_response_status_code": "200"}
    requests = "http_server_request_body_size_bytes_sum"
    responses = "http_server_response_body_size_bytes_sum"
    assert found.value(requests, **put_labels, **code) == len(body)
    assert found.value(responses, **put_labels, **code) == len(put.content)
    assert not found.find(requests, **health_labels)  # a GET has no body to measure
    assert found.value(responses, **health_labels, **code) == len(health.content)


async def test_a_streamed_request_body_is_counted_as_read() -> None:
    @post("/upload")
    async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
        return {"read": len(await request.body())}

    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * 1000

    async with served_here(themisgate_metrics, routes("upload", upload)) as client:
        response = await client.post("/upload", content=chunks())  # chunked: no length
        found = await scrape(client)
    assert response.json() == {"read": 3000}
    assert (
        found.value(
            "http_server_request_body_size_bytes_sum",
            http_request_method="POST",
            http_route="/upload",
            http_response_status_code="201",
        )
        == 3000
    )


async def test_requests_in_progress_rise_and_fall() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    @get("/slow")
    async def slow() -> dict[str, bool]:
        entered.set()
        await release.wait()
        return {"done": True}

    async with served_here(themisgate_metrics, routes("slow", slow)) as client:
        pending = asyncio.create_task(client.get("/slow"))
        await entered.wait()
        during = await scrape(client)
        release.set()
        await pending
        after = await scrape(client)
    active = "http_server_active_requests"
    assert during.value(active, http_request_method="GET") == 1  # the scrape is not counted
    assert after.value(active, http_request_method="GET") == 0


async def test_ten_thousand_unmatched_paths_add_no_label_values() -> None:
    async with plugin_client(themisgate_metrics) as client:
        await client.get("/first/unknown")
        before = await scrape(client)
        for i in range(10_000):
            await client.get(f"/random/{i}/path-{i * 7919}")
        after = await scrape(client)

    def series(found: Scrape) -> set[tuple[tuple[str, str], ...]]:
        return {tuple(sorted(s.labels.items())) for s in found.samples if "http_" in s.name}

    assert series(after) == series(before)
    assert after.values(f"{DURATION}_count", "http_route") == {"UNMATCHED"}
    assert (
        after.value(
            f"{DURATION}_count",
            http_request_method="GET",
            http_route="UNMATCHED",
            http_response_status_code="404",
        )
        == 10_001
    )


async def test_the_scrape_is_not_counted_and_is_exempt_from_rate_limits() -> None:
    from themisgate import Middleware

    def refuse_unless_exempt(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and not scope["route_handler"].opt.get("exempt"):
                await answer(send, 429)
                return
            await app(scope, receive, send)

        return middleware

    limiter = routes("ratelimit")
    limiter.themisgate_middleware = lambda ctx: [  # type: ignore[attr-defined]
        Middleware("limits", 700, refuse_unless_exempt, after_routing=True)
    ]
    async with plugin_client(themisgate_metrics, limiter) as client:
        limited = await client.get("/api")
        for _ in range(3):
            await scrape(client)
        found = await scrape(client)
    assert limited.status_code == 429
    assert found.values(f"{DURATION}_count", "http_route") == {"/api"}


async def answer(send: Any, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_openmetrics_by_content_negotiation_and_gzip() -> None:
    async with plugin_client(themisgate_metrics) as client:
        await client.get("/health")
        plain = await client.get("/metrics")
        openmetrics = await client.get("/metrics", headers={"accept": OPENMETRICS})
        async with client.stream("GET", "/metrics", headers={"accept-encoding": "gzip"}) as zipped:
            raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
    assert plain.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    parsed = Scrape(openmetrics.text, openmetrics=True)
    assert parsed.find(f"{DURATION}_count", http_route="/health")
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert b"http_server_request_duration_seconds" in gzip.decompress(raw)


async def test_path_is_configurable() -> None:
    settings = {"plugins": {"metrics": {"path": "/-/prometheus"}}}
    async with plugin_client(themisgate_metrics, settings=settings) as client:
        moved = await client.get("/-/prometheus")
        old = await client.get("/metrics")
    assert moved.status_code == 200
    assert "http_server_request_duration_seconds" in moved.text
    assert old.status_code == 404


async def test_scrape_needs_the_configured_scope_when_auth_is_on() -> None:
    from themisgate import Identity

    def identify(request: Any) -> Identity | None:
        if request.headers.get("x-api-key") == "prom":
            return Identity("api_key", "prometheus", "internal", frozenset({"admin"}))
        return None

    auth = routes("auth")
    auth.themisgate_identify = identify  # type: ignore[attr-defined]
    settings = {"plugins": {"metrics": {"scope": "admin"}}}
    async with plugin_client(themisgate_metrics, auth, settings=settings) as client:
        anonymous = await client.get("/metrics")
        allowed = await client.get("/metrics", headers={"x-api-key": "prom"})
    assert anonymous.status_code == 401
    assert allowed.status_code == 200


async def test_label_combinations_past_the_limit_are_counted_as_other() -> None:
    @get("/status/{code:int}")
    async def status(code: FromPath[int]) -> Response[dict[str, int]]:
        return Response({"code": code}, status_code=code)

    settings = {"plugins": {"metrics": {"max_series_per_metric": 10}}}
    async with plugin_client(themisgate_metrics, routes("s", status), settings=settings) as c:
        for code in range(200, 230):
            await c.get(f"/status/{code}")
        found = await scrape(c)
    count = f"{DURATION}_count"
    assert len(found.find(count)) == 11
    other = {label: "_OTHER" for label in ("http_request_method", "http_route")}
    assert found.value(count, **other, http_response_status_code="_OTHER") == 20
