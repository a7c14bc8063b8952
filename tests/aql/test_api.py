"""`POST /api/v4/themis/aql/query` as a client uses it, on the embedded engine — including a
few hundred generated bad queries, none of which may end in a 5xx or hang."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.aql.conftest import USERS
from tests.aql.test_wire_examples import EXAMPLES
from tests.core.plugin_fixtures import Named
from themisgate.testing import plugin_client

AQL = "/api/v4/themis/aql/query"
PROBLEM = "urn:themisgate:problem:"


async def seed(client: AsyncTestClient[Litestar]) -> None:
    for key, document in USERS.items():
        response = await client.put(f"/api/v4/themis/documents/users/{key}", json=document)
        assert response.status_code == 200, response.text
    for source, target in [("alice", "bob"), ("bob", "carol"), ("carol", "dan")]:
        edge = {"from": source, "to": target, "type": "knows"}
        response = await client.post("/api/v4/themis/graph/edges", json=edge)
        assert response.status_code == 201, response.text


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with plugin_client() as started:
        await seed(started)
        yield started


async def test_results_count_and_paging(client: AsyncTestClient[Litestar]) -> None:
    body = {
        "query": "FOR u IN @@users FILTER u.age > @min SORT u.age DESC RETURN u",
        "bind_vars": {"@users": "users", "min": 30},
        "batch_size": 3,
    }
    first = await client.post(AQL, json=body)
    assert first.status_code == 200, first.text
    page = first.json()
    assert set(page) == {"results", "count", "has_more", "next_cursor"}
    assert page["results"] == [USERS["frank"], USERS["dan"], USERS["carol"]]
    assert (page["count"], page["has_more"]) == (3, True)
    rest = await client.post(AQL, json={**body, "cursor": page["next_cursor"]})
    assert rest.json() == {
        "results": [USERS["alice"]],
        "count": 1,
        "has_more": False,
        "next_cursor": None,
    }


async def test_explain_is_added_when_asked(client: AsyncTestClient[Litestar]) -> None:
    answer = await client.post(
        AQL, json={"query": "FOR u IN users FILTER u.age > 40 RETURN u.name", "explain": True}
    )
    assert answer.json()["results"] == ["Dan", "Frank"]
    plan = answer.json()["explain"]["plan"]
    assert plan["engine"] == "embedded"
    assert plan["steps"][0]["conditions_in_sql"] == 1


async def test_traversal_over_edges_added_through_v4(client: AsyncTestClient[Litestar]) -> None:
    answer = await client.post(
        AQL,
        json={
            "query": "FOR v IN 1..2 OUTBOUND @start GRAPH 'g' RETURN v.name",
            "bind_vars": {"start": "alice"},
        },
    )
    assert answer.json()["results"] == ["Bob", "Carol"]


@pytest.mark.parametrize(
    ("body", "status", "slug", "detail"),
    [
        (
            {"query": 'INSERT {name: "Zoe"} INTO users'},
            400,
            "aql-forbidden-token",
            "forbidden token in AQL query: 'insert '",
        ),
        ({"query": "FOR u IN users FILTER RETURN"}, 400, "aql-syntax-error", "line 1, column 23"),
        ({"query": "FOR u IN users RETURN nobody"}, 400, "aql-invalid-query", "unknown variable"),
        ({"query": "FOR u IN users RETURN @x"}, 400, "aql-bind-error", "no value for bind"),
        (
            {"query": "FOR u IN users RETURN u", "bind_vars": {"x": 1}},
            400,
            "aql-bind-error",
            "does not use",
        ),
        (
            {"query": "FOR u IN users RETURN u", "batch_size": 1, "cursor": "x.y"},
            400,
            "aql-cursor-invalid",
            "cursor",
        ),
        ({"query": "FOR u IN users RETURN u", "batch_size": 0}, 422, "validation-error", ""),
        ({"query": ""}, 422, "validation-error", ""),
        ({"query": "FOR u IN users RETURN u", "mutate": True}, 422, "validation-error", ""),
    ],
)
async def test_refusals_are_problems(
    client: AsyncTestClient[Litestar], body: dict[str, Any], status: int, slug: str, detail: str
) -> None:
    answer = await client.post(AQL, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"] == PROBLEM + slug
    assert detail in problem["detail"]
    if slug == "aql-syntax-error":
        assert (problem["line"], problem["column"]) == (1, 23)
        assert "a name" in problem["expected"]


async def test_full_scans_follow_the_setting() -> None:
    settings = {"core": {"themis": {"aql": {"allow_full_scan": False}}}}
    async with plugin_client(settings=settings) as client:
        await seed(client)
        answer = await client.post(AQL, json={"query": "FOR u IN users FILTER u.age > 1 RETURN u"})
        assert answer.status_code == 400
        assert answer.json()["type"] == PROBLEM + "aql-full-scan"


def observer(seen: list[tuple[str, dict[str, Any], str | None]]) -> Named:
    @contextlib.contextmanager
    def themisgate_adapter_call(operation: str, attributes: dict[str, Any]) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            seen.append((operation, dict(attributes), type(exc).__name__))
            raise
        seen.append((operation, dict(attributes), None))

    return Named("observer", themisgate_adapter_call=themisgate_adapter_call)


async def test_queries_are_observed_as_aql_query() -> None:
    seen: list[tuple[str, dict[str, Any], str | None]] = []
    async with plugin_client(observer(seen)) as client:
        await seed(client)
        seen.clear()
        await client.post(AQL, json={"query": "FOR u IN users FILTER u.age > 40 RETURN u"})
        await client.post(
            AQL, json={"query": "FOR u IN @@c RETURN u", "bind_vars": {"@c": "users"}}
        )
        await client.post(AQL, json={"query": "FOR v IN 1..1 OUTBOUND 'alice' GRAPH 'g' RETURN v"})
        await client.post(AQL, json={"query": "FOR u IN users RETURN nobody"})
    assert seen == [
        ("aql_query", {"db.collection": "users", "adapter": "embedded", "results.count": 2}, None),
        ("aql_query", {"db.collection": "users", "adapter": "embedded", "results.count": 7}, None),
        ("aql_query", {"db.collection": "graph", "adapter": "embedded", "results.count": 1}, None),
        ("aql_query", {"adapter": "embedded"}, "AqlQueryError"),
    ]


# --- generated bad queries -----------------------------------------------------------------

VOCABULARY = [
    "FOR", "IN", "LET", "FILTER", "SORT", "LIMIT", "COLLECT", "AGGREGATE", "RETURN", "AND",
    "OR", "NOT", "ASC", "DESC", "OUTBOUND", "INBOUND", "ANY", "GRAPH", "TYPE", "WITH", "INTO",
    "==", "!=", "<", "<=", ">", ">=", "=", "..", ".", ",", ":", "(", ")", "[", "]", "{", "}",
    "+", "-", "*", "/", "%", "@x", "@@c", "u", "u.age", "42", "-1", "3.5", "99999999999999999999",
    "'x'", '"y"', "true", "null", "COUNT()", "LENGTH(", "insert ", "\\", "'", '"', "\x00", "é",
    "𝄞", "\n", "drop", "1..1000000",
]  # fmt: skip


def mutate(rng: random.Random, query: str) -> str:
    tokens = query.split(" ")
    for _ in range(rng.randrange(1, 4)):
        roll = rng.random()
        position = rng.randrange(len(tokens) + 1)
        if roll < 0.25 and len(tokens) > 1:
            del tokens[min(position, len(tokens) - 1)]
        elif roll < 0.55:
            tokens.insert(position, rng.choice(VOCABULARY))
        elif roll < 0.7 and len(tokens) > 1:
            i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif roll < 0.8:
            tokens = tokens[:position]
        elif roll < 0.9:
            tokens.insert(position, "NOT " * rng.randrange(50, 400))
        else:
            text = " ".join(tokens)
            cut = rng.randrange(len(text) + 1)
            tokens = [text[:cut] + rng.choice(VOCABULARY) + text[cut:]]
    return " ".join(tokens)


async def test_generated_bad_queries_never_end_in_a_server_error_or_hang(
    client: AsyncTestClient[Litestar],
) -> None:
    rng = random.Random(4)
    bases = [query for query, _, _ in EXAMPLES]
    refused = 0
    for _ in range(400):
        query = mutate(rng, rng.choice(bases))
        body: dict[str, Any] = {"query": query}
        if rng.random() < 0.3:
            body["bind_vars"] = rng.choice(
                [{"x": 1}, {"@c": "users"}, {"x": [1], "@c": "no way"}, {}]
            )
        if rng.random() < 0.2:
            body["batch_size"] = rng.randrange(1, 5)
        answer = await asyncio.wait_for(client.post(AQL, json=body), timeout=60)
        assert answer.status_code < 500, f"{query!r}: {answer.text}"
        if answer.status_code >= 400:
            refused += 1
            assert answer.headers["content-type"].startswith("application/problem+json"), query
            problem = answer.json()
            assert problem["type"].startswith(PROBLEM), query
            assert problem["status"] == answer.status_code
            assert problem["detail"], query
    assert refused > 250  # most mutations break the query, so this tested refusals
