"""The example operations: search, traverse, a dashboard with aliases, the mutation."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.graphql.support import (
    codes,
    data,
    graphql_app,
    graphql_client,
    query,
    seed_articles,
    seed_graph,
)

SEARCH = """
query Search($text: String!) {
  vectorSearch(input: { query: $text, topK: 2 }) { documentId score content metadata }
}
"""

TRAVERSE = """
query Reach($start: ID!, $edges: String) {
  graphTraverse(startVertex: $start, edgeCollection: $edges, maxDepth: 2) {
    startVertex
    nodes { id label depth properties }
    edges { fromNode toNode relationship weight properties }
  }
}
"""

DASHBOARD = """
query Dashboard {
  status: adapterStatus { name available version queryCount avgLatencyMs }
  energy: vectorSearch(input: { query: "turn into electricity", topK: 2 }) { documentId }
  drinks: vectorSearch(input: { query: "green tea leaves", topK: 1 }) { documentId content }
}
"""

INSERT = """
mutation Insert($doc: JSON!) { insertDocument(collection: "notes", document: $doc) }
"""


async def test_vector_search_returns_the_nearest_documents_with_content_and_metadata() -> None:
    app = graphql_app()
    async with AsyncTestClient(app=app) as client:
        await seed_articles(app)
        result = data(await query(client, SEARCH, {"text": "solar panels sunlight"}))
    first, second = result["vectorSearch"]
    assert first["documentId"] == "documents:solar"
    assert first["content"] == "solar panels turn sunlight into electricity"
    assert first["metadata"] == {"topic": "solar"}
    assert first["score"] > second["score"]


async def test_search_threshold_and_collection_narrow_the_results() -> None:
    app = graphql_app()
    async with AsyncTestClient(app=app) as client:
        await seed_articles(app)
        strict = await query(
            client,
            '{ vectorSearch(input: { query: "solar panels", threshold: 0.99 }) { documentId } }',
        )
        elsewhere = await query(
            client,
            '{ vectorSearch(input: { query: "solar", collection: "empty" }) { documentId } }',
        )
    assert data(strict)["vectorSearch"] == []
    assert data(elsewhere)["vectorSearch"] == []


async def test_graph_traverse_follows_one_edge_type_or_all() -> None:
    app = graphql_app()
    async with AsyncTestClient(app=app) as client:
        await seed_graph(app, people=3)
        known = data(await query(client, TRAVERSE, {"start": "users:p0", "edges": "knows"}))
        everything = data(await query(client, TRAVERSE, {"start": "users:p0"}))
    traversal = known["graphTraverse"]
    assert traversal["startVertex"] == "users:p0"
    assert [n["id"] for n in traversal["nodes"]] == ["users:p0", "users:p1", "users:p2"]
    assert traversal["nodes"][1] == {
        "id": "users:p1",
        "label": "users",
        "depth": 1,
        "properties": {"name": "person 1"},
    }
    assert {e["relationship"] for e in traversal["edges"]} == {"knows"}
    reached = {n["id"]: n for n in everything["graphTraverse"]["nodes"]}
    assert reached["orgs:acme"]["depth"] == 2
    assert reached["orgs:acme"]["properties"] == {"name": "ACME"}
    works_at = next(
        e for e in everything["graphTraverse"]["edges"] if e["relationship"] == "works_at"
    )
    assert works_at == {
        "fromNode": "users:p1",
        "toNode": "orgs:acme",
        "relationship": "works_at",
        "weight": 0.5,
        "properties": {"since": 2020},
    }


async def test_dashboard_combines_fields_under_aliases() -> None:
    app = graphql_app()
    async with AsyncTestClient(app=app) as client:
        await seed_articles(app)
        result = data(await query(client, DASHBOARD))
    assert result["status"]["name"] == "embedded"
    assert result["status"]["available"] is True
    assert result["status"]["queryCount"] >= 1
    assert result["status"]["avgLatencyMs"] >= 0
    assert {r["documentId"] for r in result["energy"]} == {"documents:solar", "documents:wind"}
    assert result["drinks"] == [
        {"documentId": "documents:tea", "content": "green tea is brewed from steamed leaves"}
    ]


async def test_insert_document_stores_it_searchable_and_readable_by_id() -> None:
    async with graphql_client() as client:
        inserted = data(
            await query(client, INSERT, {"doc": {"_key": "n1", "text": "the moon is made of rock"}})
        )
        generated = data(await query(client, INSERT, {"doc": {"title": "no text, not embedded"}}))
        found = data(
            await query(
                client,
                '{ vectorSearch(input: { query: "moon rock", collection: "notes" }) { documentId }'
                ' document(id: "notes:n1") }',
            )
        )
        by_generated_id = data(
            await query(
                client, "query($id: ID!) { document(id: $id) }", {"id": generated["insertDocument"]}
            )
        )
    assert inserted == {"insertDocument": "notes:n1"}
    assert found["vectorSearch"] == [{"documentId": "notes:n1"}]
    assert found["document"] == {"_key": "n1", "text": "the moon is made of rock"}
    assert generated["insertDocument"].startswith("notes:")
    assert by_generated_id["document"] == {"title": "no text, not embedded"}


async def test_queries_work_over_get_with_variables() -> None:
    async with graphql_client() as client:
        response = await client.get(
            "/graphql",
            params={
                "query": "query($id: ID!) { document(id: $id) adapterStatus { name } }",
                "variables": '{"id": "nowhere:k"}',
            },
        )
    assert data(response) == {"document": None, "adapterStatus": {"name": "embedded"}}


async def test_bad_arguments_are_bad_user_input_errors_naming_them() -> None:
    async with graphql_client(max_top_k=10) as client:
        too_many = await query(client, '{ vectorSearch(input: {query: "x", topK: 11}) { score } }')
        bad_id = await query(client, '{ document(id: "no-colon") }')
        bad_collection = await query(
            client, 'mutation { insertDocument(collection: "a b", document: {}) }'
        )
        not_object = await query(
            client, 'mutation { insertDocument(collection: "ok", document: [1, 2]) }'
        )
        too_deep = await query(
            client, '{ graphTraverse(startVertex: "a:b", maxDepth: 11) { startVertex } }'
        )
    for response in (too_many, bad_id, bad_collection, not_object, too_deep):
        assert response.status_code == 200
        assert codes(response) == ["BAD_USER_INPUT"]
    assert "topK must be between 1 and 10" in too_many.json()["errors"][0]["message"]
    assert "collection:key" in bad_id.json()["errors"][0]["message"]
