"""ThemisDB metrics with the names and labels existing dashboards query, fed only by
`themisgate_adapter_call`."""

from __future__ import annotations

import asyncio

from litestar import get

import themisgate_metrics
from themisgate import Ctx
from themisgate.testing import plugin_client

from .scrape import Scrape, scrape
from .support import routes, served_here

EMBEDDED = {"adapter": "embedded"}


async def test_operations_are_counted_timed_and_sized_by_adapter_and_operation() -> None:
    async with plugin_client(themisgate_metrics) as client:
        await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        await client.get("/api/v4/themis/documents/books/b1")
        await client.get("/api/v4/themis/documents/books/b1")
        await client.post(
            "/api/v4/themis/vectors",
            json={"collection": "v", "items": [{"key": "a", "vector": [1.0, 0.0]}]},
        )
        wrong_dimension = await client.post(
            "/api/v4/themis/vectors/search",
            json={"collection": "v", "vector": [1.0, 0.0, 0.0], "top_k": 3},
        )
        found = await scrape(client)

    def requests(operation: str, status: str) -> float:
        return found.value("adapter_requests_total", **EMBEDDED, operation=operation, status=status)

    assert wrong_dimension.status_code >= 400
    assert requests("put_document", "success") == 1
    assert requests("get_document", "success") == 2
    assert requests("get_document", "error") == 0
    assert requests("vector_search", "error") == 1
    assert found.value("adapter_latency_seconds_count", **EMBEDDED, operation="get_document") == 2
    assert found.buckets("adapter_latency_seconds", operation="get_document") == [
        "0.01", "0.05", "0.1", "0.5", "1.0", "5.0", "+Inf",
    ]  # fmt: skip
    assert found.value("themis_query_size_bytes_count", **EMBEDDED, operation="get_document") == 2
    assert found.value("themis_query_size_bytes_sum", **EMBEDDED, operation="put_document") > 0
    assert found.value("adapter_connections_active", **EMBEDDED) == 0


async def test_operations_in_flight_are_active_connections() -> None:
    release = asyncio.Event()
    entered = asyncio.Event()

    @get("/hold")
    async def hold(ctx: Ctx) -> dict[str, bool]:
        with ctx.adapter.observe("get_document", {"db.collection": "held"}):
            entered.set()
            await release.wait()
        return {"held": True}

    async with served_here(themisgate_metrics, routes("hold", hold)) as client:
        pending = asyncio.create_task(client.get("/hold"))
        await entered.wait()
        during = await scrape(client)
        release.set()
        await pending
        after = await scrape(client)
    assert during.value("adapter_connections_active", **EMBEDDED) == 1
    assert after.value("adapter_connections_active", **EMBEDDED) == 0


async def test_the_size_an_adapter_reports_is_the_query_size() -> None:
    @get("/sized")
    async def sized(ctx: Ctx) -> dict[str, bool]:
        with ctx.adapter.observe("aql_query", {"db.request.size_bytes": 1234}):
            pass
        return {"ok": True}

    async with plugin_client(themisgate_metrics, routes("sized", sized)) as client:
        await client.get("/sized")
        found = await scrape(client)
    assert found.value("themis_query_size_bytes_sum", **EMBEDDED, operation="aql_query") == 1234


async def test_adapter_info_names_the_adapter_and_the_version_themisdb_reports() -> None:
    async with plugin_client(themisgate_metrics) as client:
        version = (await client.get("/ready")).json()["checks"]
        themis = next(c for c in version if c["name"] == "themisdb")
        found: Scrape | None = None
        for _ in range(100):  # learned in the background at start-up
            found = await scrape(client)
            if found.find("adapter_info"):
                break
            await asyncio.sleep(0.02)
    assert found is not None
    assert found.value("adapter_info", **EMBEDDED, version=themis["facts"]["version"]) == 1
