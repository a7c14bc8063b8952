"""The v4 REST API as a client uses it, on the embedded engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from themisgate.testing import plugin_client

V4 = "/api/v4/themis"


@pytest.fixture
async def client() -> Any:
    async with plugin_client() as client:
        yield client


async def seed(client: AsyncTestClient[Litestar]) -> None:
    items = [
        {
            "key": "cat",
            "text": "the cat sat on the warm mat",
            "document": {"text": "the cat sat on the warm mat", "lang": "en", "year": 2020},
        },
        {
            "key": "dog",
            "text": "a dog barked at the mail carrier",
            "document": {"text": "a dog barked at the mail carrier", "lang": "en", "year": 2021},
        },
        {
            "key": "katze",
            "text": "die katze sitzt auf der matte",
            "document": {"text": "die katze sitzt auf der matte", "lang": "de", "year": 2020},
        },
    ]
    response = await client.post(f"{V4}/vectors", json={"collection": "pets", "items": items})
    assert response.status_code == 200, response.text
    assert response.json()["inserted"] == 3
    other = [{"key": "cat", "text": "the cat sat on the warm mat"}]
    await client.post(f"{V4}/vectors", json={"collection": "other", "items": other})


async def test_document_crud_and_batch_get(client: AsyncTestClient[Litestar]) -> None:
    put = await client.put(f"{V4}/documents/books/b1", json={"title": "Dune", "year": 1965})
    assert put.status_code == 200
    got = await client.get(f"{V4}/documents/books/b1")
    assert got.json() == {
        "collection": "books",
        "key": "b1",
        "document": {"title": "Dune", "year": 1965},
    }
    await client.put(f"{V4}/documents/books/b1", json={"title": "Dune", "year": 1966})
    assert (await client.get(f"{V4}/documents/books/b1")).json()["document"]["year"] == 1966

    await client.put(f"{V4}/documents/books/b2", json={"title": "Emma"})
    batch = await client.post(
        f"{V4}/documents/batch-get", json={"collection": "books", "keys": ["b1", "b2", "nope"]}
    )
    assert batch.status_code == 200
    assert set(batch.json()["documents"]) == {"b1", "b2"}
    assert batch.json()["missing"] == ["nope"]

    assert (await client.delete(f"{V4}/documents/books/b1")).status_code == 204
    assert (await client.delete(f"{V4}/documents/books/b1")).status_code == 204  # idempotent
    missing = await client.get(f"{V4}/documents/books/b1")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:themisgate:problem:document-not-found"


async def test_search_by_text_ranks_the_similar_document_first(
    client: AsyncTestClient[Litestar],
) -> None:
    await seed(client)
    response = await client.post(
        f"{V4}/vectors/search", json={"collection": "pets", "query": "a cat on a mat", "top_k": 2}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["results"][0]["id"] == "cat"
    assert body["results"][0]["collection"] == "pets"
    assert body["results"][0]["document"]["lang"] == "en"
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(abs(r["score"] + r["distance"] - 1) < 1e-5 for r in body["results"])


async def test_search_stays_in_its_collection_and_honours_filters_and_threshold(
    client: AsyncTestClient[Litestar],
) -> None:
    await seed(client)
    everything = await client.post(
        f"{V4}/vectors/search", json={"collection": "pets", "query": "cat", "top_k": 10}
    )
    assert {r["collection"] for r in everything.json()["results"]} == {"pets"}
    assert len(everything.json()["results"]) == 3

    german = await client.post(
        f"{V4}/vectors/search",
        json={"collection": "pets", "query": "cat", "top_k": 10, "filters": {"lang": "de"}},
    )
    assert [r["id"] for r in german.json()["results"]] == ["katze"]

    strict = await client.post(
        f"{V4}/vectors/search",
        json={"collection": "pets", "query": "the cat sat on the warm mat", "threshold": 0.99},
    )
    assert [r["id"] for r in strict.json()["results"]] == ["cat"]


async def test_search_by_vector_and_explain(client: AsyncTestClient[Litestar]) -> None:
    items = [
        {"key": "x", "vector": [1, 0, 0]},
        {"key": "y", "vector": [0, 1, 0]},
        {"key": "xy", "vector": [1, 1, 0]},
    ]
    await client.post(f"{V4}/vectors", json={"collection": "geo", "items": items})
    response = await client.post(
        f"{V4}/vectors/search",
        json={
            "collection": "geo",
            "vector": [1, 0.1, 0],
            "top_k": 2,
            "explain": True,
            "include_documents": False,
        },
    )
    body = response.json()
    assert [r["id"] for r in body["results"]] == ["x", "xy"]
    assert body["results"][0]["document"] is None
    steps = [s["step"] for s in body["explain"]]
    assert steps == ["vector_search"]
    assert all(s["ms"] >= 0 for s in body["explain"])


async def test_search_streams_server_sent_events(client: AsyncTestClient[Litestar]) -> None:
    await seed(client)
    response = await client.post(
        f"{V4}/vectors/search",
        json={"collection": "pets", "query": "cat", "top_k": 3},
        headers={"accept": "text/event-stream"},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    text = response.text.replace("\r\n", "\n")  # SSE allows CRLF or LF line ends
    events = [block for block in text.split("\n\n") if block.strip()]
    parsed = []
    for block in events:
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        parsed.append((fields["event"], json.loads(fields["data"])))
    assert [kind for kind, _ in parsed] == ["result", "result", "result", "complete"]
    assert [data["index"] for _, data in parsed[:3]] == [0, 1, 2]
    assert parsed[-1][1] == {"count": 3}


async def test_wrong_dimension_and_bad_input_are_4xx_problems(
    client: AsyncTestClient[Litestar],
) -> None:
    await client.post(
        f"{V4}/vectors", json={"collection": "geo", "items": [{"key": "x", "vector": [1, 0, 0]}]}
    )
    wrong = await client.post(f"{V4}/vectors/search", json={"collection": "geo", "vector": [1, 0]})
    assert wrong.status_code == 400
    assert wrong.json()["type"] == "urn:themisgate:problem:vector-dimension-mismatch"
    assert "expected 3, got 2" in wrong.json()["detail"]

    cases = [
        {"collection": "geo", "vector": [1, 0, 0], "top_k": 0},
        {"collection": "geo", "vector": [1, 0, 0], "top_k": 1001},
        {"collection": "", "query": "x"},
        {"query": "x"},
        {"collection": "geo", "query": "x", "colour": "red"},
        {"collection": "geo", "vector": ["a"]},
    ]
    for body in cases:
        response = await client.post(f"{V4}/vectors/search", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    nothing = await client.post(f"{V4}/vectors/search", json={"collection": "geo"})
    assert nothing.status_code == 400
    assert "query" in nothing.json()["detail"]
    malformed = await client.post(
        f"{V4}/vectors/search", content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    bad_key = await client.put(f"{V4}/documents/books/..%2Fetc", json={})
    assert 400 <= bad_key.status_code < 500


async def test_graph_edges_and_traversal(client: AsyncTestClient[Litestar]) -> None:
    for source, target, kind in [("a", "b", "knows"), ("b", "c", "knows"), ("a", "d", "likes")]:
        response = await client.post(
            f"{V4}/graph/edges",
            json={"id": f"{source}-{target}", "from": source, "to": target, "type": kind},
        )
        assert response.status_code == 201
    out = await client.post(f"{V4}/graph/traverse", json={"start": "a", "max_depth": 2})
    assert out.json()["vertices"] == ["a", "b", "d", "c"]
    knows = await client.post(
        f"{V4}/graph/traverse",
        json={"start": "a", "max_depth": 2, "edge_type": "knows", "min_depth": 1},
    )
    assert knows.json()["vertices"] == ["b", "c"]
    inbound = await client.post(
        f"{V4}/graph/traverse", json={"start": "c", "max_depth": 3, "direction": "in"}
    )
    assert inbound.json()["vertices"] == ["c", "b", "a"]
    assert (await client.delete(f"{V4}/graph/edges/b-c")).status_code == 204
    after = await client.post(f"{V4}/graph/traverse", json={"start": "a", "max_depth": 2})
    assert "c" not in after.json()["vertices"]
    negative = await client.post(f"{V4}/graph/traverse", json={"start": "a", "max_depth": -1})
    assert negative.status_code == 422


async def test_stats_and_adapter_status(client: AsyncTestClient[Litestar]) -> None:
    await seed(client)
    status = (await client.get("/api/v4/adapters/status")).json()["adapters"][0]
    assert status["name"] == "embedded"
    assert status["available"] is True
    assert status["query_count"] > 0
    stats = (await client.get(f"{V4}/stats")).json()
    assert stats["backend"] == "embedded"
    assert stats["themis"]["storage"]["documents"] >= 3


async def test_openapi_documents_the_v4_routes(client: AsyncTestClient[Litestar]) -> None:
    spec = (await client.get("/api/v4/openapi.json")).json()
    assert "/api/v4/themis/vectors/search" in spec["paths"]
    schema = spec["paths"]["/api/v4/themis/vectors/search"]["post"]
    assert schema["requestBody"]
    assert "/health" not in spec["paths"]


async def test_embedder_down_is_a_503_for_text_while_vectors_keep_working() -> None:
    from tests.support.processes import free_port

    settings = {
        "core": {
            "themis": {
                "embedder": {
                    "name": "openai",
                    "url": f"http://127.0.0.1:{free_port()}/v1",
                    "timeout": 1.0,
                }
            }
        }
    }
    async with plugin_client(settings=settings) as client:
        items = {"collection": "geo", "items": [{"key": "x", "vector": [1, 0, 0]}]}
        assert (await client.post(f"{V4}/vectors", json=items)).status_code == 200
        by_text = await client.post(
            f"{V4}/vectors/search", json={"collection": "geo", "query": "north"}
        )
        by_vector = await client.post(
            f"{V4}/vectors/search", json={"collection": "geo", "vector": [1, 0, 0]}
        )
    assert by_text.status_code == 503
    assert by_text.json()["type"] == "urn:themisgate:problem:embedder-unavailable"
    assert int(by_text.headers["retry-after"]) >= 1
    assert "127.0.0.1" in by_text.json()["detail"]
    assert by_vector.status_code == 200
    assert [r["id"] for r in by_vector.json()["results"]] == ["x"]
