"""The caller's identity and scopes decide what runs (mutations need `write`), and every
operation is charged to the rate limiter by its estimated cost."""

from __future__ import annotations

from tests.graphql.support import (
    ALL,
    codes,
    data,
    graphql_client,
    identity_plugin,
    query,
    rate_limiter,
)

INSERT = 'mutation { insertDocument(collection: "notes", document: {text: "hi"}) }'


async def test_a_mutation_without_the_write_scope_is_a_forbidden_error() -> None:
    async with graphql_client(identity_plugin(frozenset({"read"}))) as client:
        response = await query(client, INSERT)
        still_readable = await query(client, "{ adapterStatus { name } }")
    assert response.status_code == 200
    assert codes(response) == ["FORBIDDEN"]
    error = response.json()["errors"][0]
    assert error["extensions"]["requiredScope"] == "write"
    assert error["path"] == ["insertDocument"]
    assert response.json()["data"] == {"insertDocument": None}
    assert data(still_readable)["adapterStatus"]["name"] == "embedded"


async def test_an_anonymous_caller_is_told_to_authenticate() -> None:
    async with graphql_client(identity_plugin(frozenset({"read"}), kind="ip")) as client:
        response = await query(client, INSERT)
    assert codes(response) == ["UNAUTHENTICATED"]


async def test_a_caller_with_write_may_mutate() -> None:
    async with graphql_client(identity_plugin(frozenset({"read", "write"}))) as client:
        response = await query(client, INSERT)
    assert data(response)["insertDocument"].startswith("notes:")


async def test_a_caller_without_read_cannot_reach_the_endpoint() -> None:
    async with graphql_client(identity_plugin(frozenset(), kind="ip")) as client:
        response = await query(client, "{ __typename }")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_each_operation_is_charged_its_estimated_cost() -> None:
    charges: list[tuple[str, str, int]] = []
    async with graphql_client(identity_plugin(ALL), rate_limiter(charges)) as client:
        await query(client, "{ adapterStatus { name available } }")
        await query(
            client,
            'query { vectorSearch(input: {query: "x", topK: 20}) { documentId score } '
            'graphTraverse(startVertex: "a:b", maxDepth: 2) { nodes { id } } }',
        )
        await query(client, INSERT)
        await query(client, "{ nope }")  # invalid: refused before it is charged
    assert charges == [
        ("api_key:caller", "graphql", 3),  # a field and two below it
        # vectorSearch 1 + 20 results + 2 fields; graphTraverse 1 + 2 hops x 10 + 2 fields
        ("api_key:caller", "graphql", 23 + 23),
        ("api_key:caller", "graphql", 11),  # a mutation field: 1 + 10
    ]


async def test_a_rate_limited_operation_is_a_429_with_retry_after_and_a_graphql_error() -> None:
    charges: list[tuple[str, str, int]] = []
    limiter = rate_limiter(charges, allow=False, retry_after=2.5)
    async with graphql_client(limiter, rate_limit_key="gql") as client:
        as_json = await query(client, "{ adapterStatus { name } }")
        as_graphql = await query(
            client,
            "{ adapterStatus { name } }",
            headers={"accept": "application/graphql-response+json"},
        )
    for response in (as_json, as_graphql):
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        body = response.json()
        assert "data" not in body
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 3, "cost": 2}
    assert charges[0][1] == "gql"


async def test_a_repeated_document_is_charged_every_time() -> None:
    # parse and validation are cached by query text; admission never is
    charges: list[tuple[str, str, int]] = []
    async with graphql_client(identity_plugin(ALL), rate_limiter(charges)) as client:
        for top_k in (1, 1, 5):
            await query(
                client,
                'query($k: Int!) { vectorSearch(input: {query: "x", topK: $k}) { score } }',
                {"k": top_k},
            )
    assert [cost for _, _, cost in charges] == [3, 3, 7]
