"""The v3 routes answer in exactly the v3 shapes, over the same data v4 serves."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from .support import PROBLEM, at, v3_client

NOW = at(2026, 11, 29)

DOCUMENTS = [
    {"key": "solar", "text": "solar panels turn sunlight into electricity", "topic": "energy"},
    {"key": "wind", "text": "wind turbines turn moving air into electricity", "topic": "energy"},
    {"key": "bread", "text": "sourdough bread needs a starter", "topic": "food"},
]


async def store_via_v4(
    client: AsyncTestClient[Litestar], collection: str = "documents", docs: Any = None
) -> None:
    items = [
        {"key": d["key"], "text": d["text"], "document": {k: v for k, v in d.items() if k != "key"}}
        for d in docs or DOCUMENTS
    ]
    response = await client.post(
        "/api/v4/themis/vectors", json={"collection": collection, "items": items}
    )
    assert response.status_code == 200, response.text


async def test_search_answers_exactly_the_v3_shape() -> None:
    async with v3_client(now=NOW) as client:
        await store_via_v4(client)
        response = await client.post(
            "/api/v3/vector/search", json={"query": "solar panels and sunlight", "top_k": 2}
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["results"]
    assert len(body["results"]) == 2
    for hit in body["results"]:
        assert list(hit) == ["id", "score", "content", "metadata"]
        assert isinstance(hit["score"], float)
    first = body["results"][0]
    assert first["id"] == "solar"
    assert first["content"] == "solar panels turn sunlight into electricity"
    assert first["metadata"] == {"topic": "energy"}


async def test_v3_search_sees_what_v4_wrote_and_ranks_it_as_v4_does() -> None:
    query = {"query": "turning air into electricity", "top_k": 3}
    async with v3_client(now=NOW) as client:
        await store_via_v4(client)
        v3 = (await client.post("/api/v3/vector/search", json=query)).json()
        v4 = (
            await client.post(
                "/api/v4/themis/vectors/search", json={**query, "collection": "documents"}
            )
        ).json()
    assert [(h["id"], h["score"]) for h in v3["results"]] == [
        (h["id"], h["score"]) for h in v4["results"]
    ]
    assert [{"text": h["content"], **h["metadata"]} for h in v3["results"]] == [
        h["document"] for h in v4["results"]
    ]


async def test_v3_sees_v4_writes_at_once_and_v4_sees_the_same_store() -> None:
    async with v3_client(now=NOW) as client:
        await store_via_v4(client, docs=DOCUMENTS[:1])
        before = (await client.post("/api/v3/vector/search", json={"query": "bread"})).json()
        await store_via_v4(client, docs=DOCUMENTS[2:])
        after = (await client.post("/api/v3/vector/search", json={"query": "bread"})).json()
        deleted = await client.delete("/api/v4/themis/documents/documents/bread")
        gone = (await client.post("/api/v3/vector/search", json={"query": "bread"})).json()
        v3_stats = (await client.get("/api/v3/stats")).json()
        v4_stats = (await client.get("/api/v4/themis/stats")).json()
    assert [h["id"] for h in before["results"]] == ["solar"]
    assert after["results"][0]["id"] == "bread"
    assert deleted.status_code == 204
    assert "bread" not in [h["id"] for h in gone["results"]]
    assert v3_stats["database"]["storage"] == v4_stats["themis"]["storage"]


async def test_collection_is_optional_in_v3_and_defaults_to_documents() -> None:
    async with v3_client(now=NOW) as client:
        await store_via_v4(client, collection="documents", docs=DOCUMENTS[:1])
        await store_via_v4(client, collection="recipes", docs=DOCUMENTS[2:])
        default = (await client.post("/api/v3/vector/search", json={"query": "bread"})).json()
        chosen = (
            await client.post(
                "/api/v3/vector/search", json={"query": "bread", "collection": "recipes"}
            )
        ).json()
    assert [h["id"] for h in default["results"]] == ["solar"]
    assert [h["id"] for h in chosen["results"]] == ["bread"]


async def test_threshold_drops_weak_results() -> None:
    async with v3_client(now=NOW) as client:
        await store_via_v4(client)
        everything = (await client.post("/api/v3/vector/search", json={"query": "bread"})).json()
        strong = (
            await client.post("/api/v3/vector/search", json={"query": "bread", "threshold": 0.3})
        ).json()
    assert len(everything["results"]) == 3
    assert [h["id"] for h in strong["results"]] == ["bread"]
    assert all(h["score"] >= 0.3 for h in strong["results"])


async def test_a_document_without_text_has_null_content_and_keeps_its_fields() -> None:
    docs = [{"key": "n1", "text": "numbers", "title": "No text field"}]
    async with v3_client(now=NOW) as client:
        # stored with a vector from the text, but a document without a `text` field
        await client.post(
            "/api/v4/themis/vectors",
            json={
                "collection": "documents",
                "items": [
                    {"key": "n1", "text": "numbers", "document": {"title": docs[0]["title"]}}
                ],
            },
        )
        body = (await client.post("/api/v3/vector/search", json={"query": "numbers"})).json()
    assert body["results"] == [
        {
            "id": "n1",
            "score": body["results"][0]["score"],
            "content": None,
            "metadata": {"title": "No text field"},
        }
    ]


async def test_invalid_v3_requests_are_problems_naming_the_field() -> None:
    async with v3_client(now=NOW) as client:
        empty = await client.post("/api/v3/vector/search", json={"query": ""})
        too_many = await client.post("/api/v3/vector/search", json={"query": "q", "top_k": 5000})
        no_query = await client.post("/api/v3/vector/search", json={"top_k": 3})
        v4_only = await client.post(
            "/api/v3/vector/search", json={"query": "q", "filters": {"topic": "food"}}
        )
    for response, named in [
        (empty, "query"),
        (too_many, "top_k"),
        (no_query, "query"),
        (v4_only, "filters"),
    ]:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        assert named in response.json()["detail"]


async def test_stats_answer_exactly_the_v3_shape() -> None:
    async with v3_client(now=NOW) as client:
        await store_via_v4(client)
        body = (await client.get("/api/v3/stats")).json()
    assert list(body) == ["backend", "database", "query_count", "error_count", "avg_latency_ms"]
    assert body["backend"] == "embedded"
    assert body["database"]["storage"]["documents"] == 3
    assert isinstance(body["query_count"], int)
    assert body["query_count"] > 0
    assert isinstance(body["error_count"], int)
    assert isinstance(body["avg_latency_ms"], float)


async def test_index_answers_with_and_without_the_trailing_slash() -> None:
    expected = {
        "version": "v3",
        "status": "deprecated",
        "sunset_date": "2026-12-31",
        "migration_guide": "/api/v3/docs",
        "new_version": "/api/v4/",
    }
    async with v3_client(now=NOW) as client:
        bare = await client.get("/api/v3")
        slash = await client.get("/api/v3/")
    assert bare.status_code == slash.status_code == 200
    assert bare.json() == slash.json() == expected


async def test_index_shows_the_configured_sunset_and_guide() -> None:
    settings = {"sunset_date": "2027-03-31", "migration_guide": "https://example.com/move"}
    async with v3_client(settings=settings, now=NOW) as client:
        body = (await client.get("/api/v3/")).json()
    assert body["sunset_date"] == "2027-03-31"
    assert body["migration_guide"] == "https://example.com/move"


async def store_books(client: AsyncTestClient[Litestar]) -> None:
    for key, title, year in [("b1", "Dune", 1965), ("b2", "Solaris", 1961)]:
        response = await client.put(
            f"/api/v4/themis/documents/books/{key}", json={"title": title, "year": year}
        )
        assert response.status_code == 200, response.text


async def test_aql_answers_exactly_the_v3_shape_over_v4_data() -> None:
    query = {
        "query": "FOR b IN @@books SORT b.year RETURN b.title",
        "bind_vars": {"@books": "books"},
    }
    async with v3_client(now=NOW) as client:
        await store_books(client)
        v3 = await client.post("/api/v3/aql/query", json=query)
        v4 = await client.post("/api/v4/themis/aql/query", json=query)
    assert v3.status_code == 200, v3.text
    assert v3.json() == {"results": ["Solaris", "Dune"], "count": 2}
    assert v4.json()["results"] == v3.json()["results"]
    assert "has_more" in v4.json()


async def test_aql_bind_vars_are_optional_and_v4_paging_is_not_v3() -> None:
    async with v3_client(now=NOW) as client:
        await store_books(client)
        plain = await client.post(
            "/api/v3/aql/query", json={"query": "FOR b IN books SORT b.year RETURN b.year"}
        )
        paged = await client.post(
            "/api/v3/aql/query", json={"query": "FOR b IN books RETURN b", "batch_size": 1}
        )
        forbidden = await client.post(
            "/api/v3/aql/query",
            json={"query": "FOR b IN books FILTER b.title == 'delete me' RETURN b"},
        )
    assert plain.json() == {"results": [1961, 1965], "count": 2}
    assert paged.status_code == 422
    assert "batch_size" in paged.json()["detail"]
    assert forbidden.status_code == 400
    assert forbidden.headers["content-type"].startswith(PROBLEM)
    assert forbidden.headers["deprecation"].startswith("@")
