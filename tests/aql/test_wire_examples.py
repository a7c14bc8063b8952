"""The dialect of the wire API notes, example by example, on both backends: the embedded
engine, and the http backend against themis-lite over a real socket (binds written into
the query text there, native here). Each answers exactly the expected results."""

from __future__ import annotations

from typing import Any

import pytest

from tests.aql.conftest import USERS, Backend
from themisgate.themis.aql import AqlCursorInvalid, AqlFullScan


def users(*keys: str) -> list[dict[str, Any]]:
    return [USERS[key] for key in keys]


# (query, bind variables, expected results); every example may scan (allow_full_scan)
EXAMPLES: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        'FOR u IN users FILTER u.city == "Berlin" RETURN u',
        {},
        users("alice", "carol", "dan", "gus"),
    ),
    (
        "FOR u IN users FILTER u.city == @city SORT u.age DESC LIMIT 2 RETURN u",
        {"city": "Berlin"},
        users("dan", "carol"),
    ),
    (
        'FOR u IN users FILTER u.city == "Berlin" SORT u.age LIMIT 1, 2 RETURN u',
        {},
        users("alice", "carol"),
    ),
    ("FOR u IN users FILTER u.age > 30 RETURN u", {}, users("alice", "carol", "dan", "frank")),
    (
        'FOR u IN users FILTER u.city == "Berlin" RETURN {name: u.name, city: u.city}',
        {},
        [{"name": n, "city": "Berlin"} for n in ("Alice", "Carol", "Dan", "Gus")],
    ),
    (
        'FOR u IN users FILTER u.city == "Berlin" RETURN u.name',
        {},
        ["Alice", "Carol", "Dan", "Gus"],
    ),
    (
        "FOR u IN users LET a = u.age FILTER a > 30 RETURN u.name",
        {},
        ["Alice", "Carol", "Dan", "Frank"],
    ),
    (
        'FOR u IN users FILTER u.age >= 25 AND u.age <= 35 AND u.city != "Berlin" RETURN u.name',
        {},
        ["Bob"],
    ),
    (
        'FOR u IN users FILTER u.city IN ["Hamburg", "Cologne"] OR u.age < @young RETURN u.name',
        {"young": 30},
        ["Bob", "Frank", "Gus"],
    ),
    ('FOR u IN users FILTER NOT (u.city == "Berlin") RETURN u.name', {}, ["Bob", "Body", "Frank"]),
    (
        "FOR u IN users FILTER u.age > 0 "
        "COLLECT city = u.city AGGREGATE n = COUNT(), avg = AVG(u.age) "
        "RETURN {city: city, n: n, avg: avg}",
        {},
        [
            {"city": "Berlin", "n": 4, "avg": 33.75},
            {"city": "Cologne", "n": 1, "avg": 50.0},
            {"city": "Hamburg", "n": 1, "avg": 25.0},
        ],
    ),
    (
        "FOR u IN users FILTER u.age > 0 "
        "COLLECT AGGREGATE n = COUNT(), oldest = MAX(u.age), total = SUM(u.age) "
        "RETURN {n: n, oldest: oldest, total: total}",
        {},
        [{"n": 6, "oldest": 50, "total": 210}],
    ),
    (
        "FOR u IN users FOR o IN orders FILTER o.user == u.name SORT o.total DESC "
        "RETURN {name: u.name, total: o.total}",
        {},
        [
            {"name": "Alice", "total": 30},
            {"name": "Alice", "total": 12.5},
            {"name": "Dan", "total": 7},
        ],
    ),
    ("FOR v,e,p IN 1..2 OUTBOUND 'alice' GRAPH 'g' RETURN v", {}, users("bob", "carol", "dan")),
    (
        "FOR v,e IN 1..1 OUTBOUND 'alice' GRAPH 'g' RETURN e",
        {},
        [
            {"_from": "alice", "_to": "bob", "id": "e1", "type": "knows"},
            {"_from": "alice", "_to": "carol", "id": "e4", "type": "likes", "weight": 0.5},
        ],
    ),
    ("FOR v IN 1..1 INBOUND 'carol' GRAPH 'g' RETURN v", {}, users("bob", "alice")),
    (
        "FOR v IN 1..3 ANY @start TYPE 'knows' GRAPH 'g' RETURN v.name",
        {"start": "carol"},
        ["Dan", "Bob", "Alice"],
    ),
    (
        "FOR v, e, p IN 2..2 OUTBOUND 'alice' GRAPH 'g' "
        "RETURN {to: v.name, hops: LENGTH(p.edges), via: e.id, first: p.vertices}",
        {},
        [{"to": "Dan", "hops": 2, "via": "e3", "first": users("alice", "carol", "dan")}],
    ),
    (
        "FOR u IN @@coll FILTER u.name == @name RETURN u.age",
        {"@coll": "users", "name": "Gus"},
        [28],
    ),
    ('FOR o IN orders FILTER "pen" IN o.items SORT o.total RETURN o.total', {}, [1, 12.5]),
    ('for u in users filter u.city == "Hamburg" return u.name', {}, ["Bob"]),
]


@pytest.mark.parametrize(("query", "binds", "expected"), EXAMPLES)
async def test_example_answers_the_same_on_both_backends(
    backend: Backend, query: str, binds: dict[str, Any], expected: list[Any]
) -> None:
    result = await backend.aql(query, binds, allow_full_scan=True)
    assert result.results == expected
    assert result.count == len(expected)
    assert (result.has_more, result.next_cursor) == (False, None)


async def test_paging_with_cursors_reads_every_result_once(backend: Backend) -> None:
    query = "FOR u IN users FILTER u.age >= @min SORT u.age RETURN u.name"
    binds = {"min": 0}
    seen: list[str] = []
    page = await backend.aql(query, binds, batch_size=4)
    seen += page.results
    while page.has_more:
        assert page.next_cursor is not None
        page = await backend.aql(query, binds, cursor=page.next_cursor)
        seen += page.results
    assert page.next_cursor is None
    assert seen == ["Bob", "Gus", "Alice", "Carol", "Dan", "Frank"]


async def test_unindexed_filters_need_a_full_scan_on_both(backend: Backend) -> None:
    with pytest.raises(AqlFullScan):
        await backend.aql('FOR u IN users FILTER u.name == "Bob" RETURN u')
    with pytest.raises(AqlFullScan):
        await backend.aql("FOR u IN users RETURN u")
    indexed = await backend.aql('FOR u IN users FILTER u.city == "Hamburg" RETURN u.name')
    assert indexed.results == ["Bob"]


async def test_cursors_belong_to_their_query_and_cannot_be_altered(backend: Backend) -> None:
    query = "FOR u IN users FILTER u.age >= 0 SORT u.age RETURN u.name"
    page = await backend.aql(query, batch_size=2)
    assert page.next_cursor is not None
    body, signature = page.next_cursor.split(".")
    with pytest.raises(AqlCursorInvalid, match="altered"):
        await backend.aql(query, cursor=f"{body[:-2]}xx.{signature}")
    with pytest.raises(AqlCursorInvalid, match="another query"):
        await backend.aql(query.replace(">= 0", ">= 1"), cursor=page.next_cursor)
    with pytest.raises(AqlCursorInvalid, match="another query"):
        await backend.aql(query, cursor=page.next_cursor, allow_full_scan=True)
