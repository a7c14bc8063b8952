"""No N+1: documents asked for anywhere in one tick are loaded in one adapter call per
collection (counted with an adapter observer, as metrics would see them)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from litestar.testing import AsyncTestClient

from tests.graphql.support import (
    adapter_calls,
    adapter_of,
    data,
    graphql_app,
    query,
    seed_articles,
    seed_graph,
)


def loads(seen: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(op, attrs) for op, attrs in seen if op in ("get_document", "get_documents")]


async def test_twenty_documents_resolve_with_one_batch_call() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    app = graphql_app(adapter_calls(seen))
    async with AsyncTestClient(app=app) as client:
        for index in range(20):
            await adapter_of(app).put_document("docs", f"d{index}", {"n": index})
        seen.clear()
        document = "{ " + " ".join(f'd{i}: document(id: "docs:d{i}")' for i in range(20)) + " }"
        result = data(await query(client, document))
    assert result == {f"d{i}": {"n": i} for i in range(20)}
    ((operation, attributes),) = loads(seen)
    assert operation == "get_documents"
    assert attributes["db.collection"] == "docs"
    assert attributes["results.count"] == 20


async def test_nested_vertex_documents_are_one_call_per_collection() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    app = graphql_app(adapter_calls(seen))
    async with AsyncTestClient(app=app) as client:
        await seed_graph(app, people=20)
        seen.clear()
        result = data(
            await query(
                client,
                '{ graphTraverse(startVertex: "users:p0", maxDepth: 2) '
                "{ nodes { id properties } } }",
            )
        )
    nodes = result["graphTraverse"]["nodes"]
    assert len(nodes) == 21  # p0 … p19 and orgs:acme
    assert all(node["properties"] is not None for node in nodes)
    assert Counter(a["db.collection"] for _, a in loads(seen)) == {"users": 1, "orgs": 1}


async def test_a_document_asked_for_twice_is_loaded_once() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    app = graphql_app(adapter_calls(seen))
    async with AsyncTestClient(app=app) as client:
        await adapter_of(app).put_document("docs", "same", {"v": 1})
        seen.clear()
        result = data(
            await query(
                client,
                '{ a: document(id: "docs:same") b: document(id: "docs:same") '
                'c: document(id: "docs:missing") }',
            )
        )
    assert result == {"a": {"v": 1}, "b": {"v": 1}, "c": None}
    ((_, attributes),) = loads(seen)
    assert attributes["results.count"] == 1  # two keys asked, one found


async def test_search_results_bring_their_documents_without_another_call() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    app = graphql_app(adapter_calls(seen))
    async with AsyncTestClient(app=app) as client:
        await seed_articles(app)
        seen.clear()
        with_content = data(
            await query(
                client, '{ vectorSearch(input: {query: "electricity", topK: 3}) { content } }'
            )
        )
    assert len(with_content["vectorSearch"]) == 3
    assert [op for op, _ in seen] == ["embed", "vector_search"]
