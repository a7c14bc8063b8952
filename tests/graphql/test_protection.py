"""Abusive documents are refused before anything runs, as GraphQL errors with the status
GraphQL-over-HTTP prescribes (200 for application/json, 400 for
application/graphql-response+json), never a 500 or a hang."""

from __future__ import annotations

from tests.graphql.support import codes, data, graphql_client, query

GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}


def deep(levels: int) -> str:
    """A selection `levels` fields deep through the schema's own types."""
    inner = "name"
    for _ in range(levels - 1):
        inner = f"adapterStatus {{ {inner} }}"
    return "{ " + inner + " }"


async def test_a_50_deep_query_is_refused_with_a_graphql_error() -> None:
    async with graphql_client() as client:
        as_json = await query(client, deep(50))
        as_graphql = await query(client, deep(50), headers=GRAPHQL_RESPONSE)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    assert "QUERY_TOO_DEEP" in codes(as_json)
    assert "data" not in as_json.json()  # refused before execution: no data entry
    assert as_graphql.status_code == 400
    assert as_graphql.headers["content-type"].startswith("application/graphql-response+json")
    assert "QUERY_TOO_DEEP" in codes(as_graphql)


async def test_depth_counts_fields_through_fragments_and_is_configurable() -> None:
    traverse = '{ graphTraverse(startVertex: "a:b") { nodes { id } } }'
    through_fragment = (
        "fragment Nodes on GraphTraversal { nodes { id } }"
        ' { graphTraverse(startVertex: "a:b") { ...Nodes } }'
    )
    async with graphql_client(max_depth=2) as client:
        shallow = await query(client, "{ adapterStatus { name } }")
        three = await query(client, traverse)
        three_via_fragment = await query(client, through_fragment)
    async with graphql_client(max_depth=3) as client:
        allowed = await query(client, traverse)
    assert data(shallow)["adapterStatus"]["name"] == "embedded"
    assert codes(three) == ["QUERY_TOO_DEEP"]
    assert codes(three_via_fragment) == ["QUERY_TOO_DEEP"]
    assert "3 fields deep; at most 2" in three.json()["errors"][0]["message"]
    assert data(allowed)["graphTraverse"]["nodes"] == [{"id": "a:b"}]


async def test_an_alias_flood_is_refused() -> None:
    flood = "{ " + " ".join(f"a{i}: adapterStatus {{ name }}" for i in range(200)) + " }"
    async with graphql_client() as client:
        response = await query(client, flood)
    assert response.status_code == 200
    assert codes(response) == ["TOO_MANY_ALIASES"]
    assert "200 aliases" in response.json()["errors"][0]["message"]


async def test_fragments_spreading_each_other_cannot_make_checking_explode() -> None:
    # 40 fragments each spreading the next twice stand for 2**40 aliased fields: walked
    # once per spread (as strawberry's own limiters do) this would never finish (the test
    # would hang); measured once per fragment it is refused at once
    levels = 40
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ a: adapterStatus {{ name }} }}")
    document = "query Bomb { ...F0 }\n" + "\n".join(fragments)
    async with graphql_client(max_tokens=5000) as client:
        response = await query(client, document)
    assert response.status_code == 200
    assert "TOO_MANY_ALIASES" in codes(response)
    assert f"{2**levels} aliases" in response.json()["errors"][0]["message"]


async def test_a_document_longer_than_max_tokens_is_refused() -> None:
    long = "{ " + " ".join("__typename" for _ in range(300)) + " }"
    async with graphql_client(max_tokens=200) as client:
        response = await query(client, long, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert "more than 200 tokens" in response.json()["errors"][0]["message"]


async def test_an_operation_costlier_than_max_cost_is_refused() -> None:
    async with graphql_client(max_cost=50, max_top_k=100) as client:
        cheap = await query(client, '{ vectorSearch(input: {query: "x", topK: 10}) { score } }')
        costly = await query(client, '{ vectorSearch(input: {query: "x", topK: 60}) { score } }')
    assert "errors" not in cheap.json()
    assert codes(costly) == ["QUERY_TOO_COSTLY"]
    error = costly.json()["errors"][0]
    assert error["extensions"]["cost"] == 62  # the field, its 60 results, `score`
    assert error["extensions"]["maxCost"] == 50


async def test_introspection_can_be_switched_off_and_is_depth_limited_when_on() -> None:
    async with graphql_client(introspection=False) as client:
        off = await query(client, "{ __schema { queryType { name } } }")
        typename = await query(client, "{ __typename }")
    async with graphql_client() as client:
        on = await query(client, "{ __schema { queryType { name } } }")
        too_deep = await query(
            client,
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
        )
    assert "introspection" in off.json()["errors"][0]["message"].lower()
    assert data(typename) == {"__typename": "Query"}
    assert data(on) == {"__schema": {"queryType": {"name": "Query"}}}
    assert "introspection" in too_deep.json()["errors"][0]["message"].lower()


async def test_requests_that_are_not_graphql_are_problems_not_500s() -> None:
    async with graphql_client() as client:
        not_json = await client.post(
            "/graphql", content=b"{nope", headers={"content-type": "application/json"}
        )
        deeply_nested = await client.post(
            "/graphql",
            content=b'{"query": "{ __typename }", "variables": '
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}",
            headers={"content-type": "application/json"},
        )
        no_query = await client.post("/graphql", json={"variables": {}})
        batch = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
        mutation_over_get = await client.get(
            "/graphql",
            params={"query": 'mutation { insertDocument(collection: "c", document: {}) }'},
        )
        syntax = await query(client, "{ adapterStatus { name ")
    for response in (not_json, deeply_nested, no_query, batch):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"] == "urn:themisgate:problem:graphql-bad-request"
        assert body["errors"][0]["message"] == body["detail"]
    assert mutation_over_get.status_code == 405
    assert mutation_over_get.headers["allow"] == "POST"
    assert syntax.status_code == 200
    assert "Syntax Error" in syntax.json()["errors"][0]["message"]
    assert "data" not in syntax.json()


async def test_get_can_be_switched_off_and_graphiql_with_it_answers_404() -> None:
    async with graphql_client(allow_get=False, graphiql=False) as client:
        get = await client.get("/graphql", params={"query": "{ __typename }"})
        page = await client.get("/graphql", headers={"accept": "text/html"})
        post = await query(client, "{ __typename }")
        assets = await client.get("/graphql/assets/boot.js")
    assert get.status_code == 405
    assert page.status_code == 404
    assert "GraphiQL is switched off" in page.json()["detail"]
    assert data(post) == {"__typename": "Query"}
    assert assets.status_code == 404
