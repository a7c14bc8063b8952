"""HttpBackend's wire mapping for what the recordings do not show: auth, hooks, batching,
collection filtering, answers in unexpected shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from themisgate.secrets import Secret
from themisgate.themis import (
    DimensionMismatch,
    Edge,
    ThemisAuthError,
    ThemisBackend,
    ThemisBadRequest,
    ThemisPolicyDenied,
    ThemisProtocolError,
    ThemisSettings,
    ThemisUnsupported,
    TraversalQuery,
    VectorHit,
    VectorItem,
)
from themisgate.themis.http import MAX_BODY_BYTES, HttpBackend

TOKEN = "s3cret-admin-token"


@asynccontextmanager
async def backend_answering(
    handler: Callable[[httpx.Request], httpx.Response], **settings: Any
) -> AsyncIterator[HttpBackend]:
    backend = HttpBackend(
        ThemisSettings(backend="http", url="http://themis.test:8765", **settings),
        httpx.MockTransport(handler),
    )
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_http_backend_implements_the_protocol() -> None:
    backend = HttpBackend(ThemisSettings(backend="http"))
    assert isinstance(backend, ThemisBackend)
    assert backend.name == "http"
    assert backend.state == "closed"


async def test_calls_before_start_say_so() -> None:
    backend = HttpBackend(ThemisSettings(backend="http"))
    with pytest.raises(RuntimeError, match="start"):
        await backend.health()


async def test_bearer_token_is_sent_and_never_shown() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(
            401, json={"error": "missing_authorization", "message": "Bearer token required"}
        )

    async with backend_answering(handler, token=Secret(TOKEN)) as backend:
        with pytest.raises(ThemisAuthError) as error:
            await backend.stats()
        status = backend.status()
    assert seen == [f"Bearer {TOKEN}"]
    assert (error.value.upstream_status, error.value.code) == (401, "missing_authorization")
    assert "Bearer token required" in str(error.value)
    assert TOKEN not in str(error.value) + repr(error.value) + json.dumps(status)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "policy_denied", "message": "no"}, ThemisPolicyDenied),
        ({"error": "missing_authorization", "message": "no"}, ThemisAuthError),
        (
            {"error": True, "message": "CORS origin not allowed", "status_code": 403},
            ThemisAuthError,
        ),
    ],
)
async def test_both_403_shapes(body: dict[str, Any], expected: type[Exception]) -> None:
    async with backend_answering(lambda _: httpx.Response(403, json=body)) as backend:
        with pytest.raises(expected):
            await backend.get_document("users", "alice")


async def test_request_hooks_can_inject_traceparent_and_a_broken_hook_is_survived() -> None:
    seen: list[str | None] = []
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent"))
        return httpx.Response(200, json={"status": "healthy", "version": "1"})

    def broken(request: httpx.Request) -> None:
        raise RuntimeError("tracing plugin bug")

    def inject(request: httpx.Request) -> None:
        request.headers["traceparent"] = traceparent

    async with backend_answering(handler) as backend:
        backend.add_request_hook(broken)
        backend.add_request_hook(inject)
        health = await backend.health()
    assert health.status == "healthy"
    assert seen == [traceparent]


async def test_collection_search_keeps_its_prefix_and_truncates_to_k() -> None:
    sent: list[Any] = []
    results = [
        {"pk": "notes:a", "distance": 0.01},
        {"pk": "users:alice", "distance": 0.02},
        {"pk": "plain", "distance": 0.03},
        {"pk": "users:bob:x", "distance": 0.04},
        {"pk": "users:carol", "distance": 0.05},
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/capabilities":
            return httpx.Response(200, json={"server": {"version": "1.0.0"}})
        sent.append(body_of(request))
        return httpx.Response(200, json={"results": results, "k": 8, "count": 5})

    async with backend_answering(handler, overfetch_factor=4) as backend:
        in_users = await backend.search_vectors([1.0, 0.0], 2, collection="users")
        everywhere = await backend.search_vectors([1.0, 0.0], 3)
        huge = await backend.search_vectors([1.0, 0.0], 900, collection="users")
    assert in_users == [VectorHit("users", "alice", 0.02), VectorHit("users", "bob:x", 0.04)]
    assert everywhere == [
        VectorHit("notes", "a", 0.01),
        VectorHit("users", "alice", 0.02),
        VectorHit("", "plain", 0.03),
    ]
    assert [hit.key for hit in huge] == ["alice", "bob:x", "carol"]
    assert [request["k"] for request in sent] == [8, 3, 1000]  # over-fetch, plain, capped


async def test_configured_dimension_is_checked_before_sending() -> None:
    async with backend_answering(lambda _: pytest.fail("must not be sent"), dimension=4) as b:
        with pytest.raises(DimensionMismatch) as search:
            await b.search_vectors([1.0, 0.0, 0.0], 1)
        with pytest.raises(DimensionMismatch):
            await b.upsert_vectors("docs", [VectorItem("a", [1.0, 0.0])])
        with pytest.raises(ThemisBadRequest, match="NaN"):
            await b.search_vectors([float("nan"), 0.0, 0.0, 0.0], 1)
    assert (search.value.expected, search.value.got) == (4, 3)


async def test_large_vector_batches_are_split_under_the_body_limit() -> None:
    sizes: list[int] = []
    pks: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sizes.append(len(request.content))
        items = body_of(request)["items"]
        pks.extend(item["pk"] for item in items)
        return httpx.Response(
            200, json={"inserted": len(items), "errors": 0, "dimension": 768, "objectName": "d"}
        )

    items = [VectorItem(f"k{i}", [0.123456789] * 768) for i in range(300)]
    async with backend_answering(handler) as backend:
        result = await backend.upsert_vectors("docs", items)
    assert len(sizes) > 1
    assert max(sizes) <= MAX_BODY_BYTES
    assert pks == [f"docs:k{i}" for i in range(300)]
    assert (result.inserted, result.errors, result.dimension) == (300, 0, 768)


async def test_get_documents_stays_within_its_concurrency_bound() -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        in_flight -= 1
        key = request.url.path.rsplit(":", 1)[1]
        if key.startswith("missing"):
            return httpx.Response(404, json={"error": True, "message": "Entity not found"})
        return httpx.Response(200, json={"key": key, "blob": json.dumps({"k": key})})

    keys = [f"k{i}" for i in range(20)] + ["missing1"]
    backend = HttpBackend(
        ThemisSettings(backend="http", batch_get_concurrency=3),
        httpx.MockTransport(handler),  # type: ignore[arg-type]
    )
    await backend.start()
    found = await backend.get_documents("users", keys)
    await backend.close()
    assert list(found) == keys[:-1]
    assert found["k7"] == {"k": "k7"}
    assert 1 < peak <= 3


async def test_delete_edge_on_a_server_without_the_route_is_unsupported() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": True, "message": "Endpoint not found"})

    async with backend_answering(handler) as backend:
        with pytest.raises(ThemisUnsupported, match="cannot delete edges"):
            await backend.delete_edge("e1")
        assert await backend.capabilities() == {}


async def test_new_servers_take_edges_on_graph_edge() -> None:
    sent: list[tuple[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, body_of(request)))
        return httpx.Response(201, json={"status": "ok", "edge_id": "e1"})

    async with backend_answering(handler) as backend:
        await backend.add_edge(Edge("e1", "users:a", "users:b", "knows", 0.5, {"since": 2020}))
        with pytest.raises(ThemisBadRequest, match="_from"):
            await backend.add_edge(Edge("e2", "users:a", "users:b", properties={"_from": "x"}))
    assert sent == [
        (
            "/graph/edge",
            {
                "since": 2020,
                "id": "e1",
                "_from": "users:a",
                "_to": "users:b",
                "_type": "knows",
                "_weight": 0.5,
            },
        )
    ]
    assert backend.edge_route == "graph-edge"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (httpx.Response(200, text="<html>proxy</html>"), ThemisProtocolError),
        (httpx.Response(200, json=["not", "an", "object"]), ThemisProtocolError),
        (httpx.Response(200, json={"server": {"threads": 2}}), None),
        (httpx.Response(200, json=json.dumps({"server": {"threads": 2}})), None),
    ],
)
async def test_answers_in_unexpected_shapes(
    answer: httpx.Response, expected: type[Exception] | None
) -> None:
    async with backend_answering(lambda _: answer) as backend:
        if expected is None:
            assert await backend.stats() == {"server": {"threads": 2}}
        else:
            with pytest.raises(expected, match="stats"):
                await backend.stats()


@pytest.mark.parametrize(
    ("collection", "key"), [("", "a"), ("a:b", "c"), ("users", ""), ("users", None)]
)
async def test_invalid_keys_are_refused_before_sending(collection: str, key: Any) -> None:
    async with backend_answering(lambda _: pytest.fail("must not be sent")) as backend:
        with pytest.raises(ThemisBadRequest):
            await backend.get_document(collection, key)


async def test_keys_are_quoted_in_the_path() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"key": "x", "blob": "{}"})

    async with backend_answering(handler) as backend:
        await backend.get_document("users", "../../etc/passwd")
        await backend.get_document("users", "a b?c#d")
    assert paths == ["/entities/users:..%2F..%2Fetc%2Fpasswd", "/entities/users:a%20b%3Fc%23d"]


async def test_options_a_server_advertises_are_sent_instead_of_refused() -> None:
    """themis-lite advertises inbound traversal, edge types, min_depth and a collection
    filter in /api/capabilities; the backend then sends them, asking only once."""
    sent: list[tuple[str, Any]] = []
    capabilities = {
        "graph": {"directions": ["out", "in", "any"], "min_depth": True, "edge_type_filter": True},
        "vector": {"collection_filter": True},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            sent.append((request.url.path, None))
            return httpx.Response(200, json=capabilities)
        sent.append((request.url.path, body_of(request)))
        if request.url.path == "/graph/traverse":
            return httpx.Response(200, json={"visited": ["users:bob"], "visited_count": 1})
        return httpx.Response(200, json={"results": [{"pk": "users:a", "distance": 0.1}]})

    async with backend_answering(handler) as backend:
        inbound = await backend.traverse(
            TraversalQuery("users:carol", max_depth=2, min_depth=1, direction="in")
        )
        typed = await backend.traverse(TraversalQuery("users:a", max_depth=3, edge_type="knows"))
        hits = await backend.search_vectors([1.0, 0.0], 5, collection="users")
    assert inbound.vertices == ["users:bob"]
    assert typed.vertices == ["users:bob"]
    assert hits == [VectorHit("users", "a", 0.1)]
    assert sent == [
        ("/api/capabilities", None),
        (
            "/graph/traverse",
            {"start_vertex": "users:carol", "max_depth": 2, "direction": "in", "min_depth": 1},
        ),
        (
            "/graph/traverse",
            {"start_vertex": "users:a", "max_depth": 3, "edge_type": "knows", "min_depth": 0},
        ),
        ("/vector/search", {"vector": [1.0, 0.0], "k": 5, "collection": "users"}),
    ]
