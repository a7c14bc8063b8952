"""The http backend's `aql` against the answers a real ThemisDB server recorded.

The replay transport (from the core replay tests) answers each request with the recorded
response to the same method, path and body, and fails the test on any request the server
was never sent — so these tests also prove the backend sends exactly what the recorder
did. Queries the server refused for their syntax or a forbidden token are refused here
before any request, at the same line and column."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.recordings import AQL_FIXED, Replay, load_recording, replayed
from themisgate.themis import ThemisBadRequest, ThemisSettings
from themisgate.themis.aql import AqlForbidden, AqlFullScan, AqlSyntaxError
from themisgate.themis.http import HttpBackend
from themisgate.themis.http.aql import typed_error
from themisgate.themis.http.responses import error_for


def recorded(name: str) -> dict[str, Any]:
    return next(entry for entry in load_recording(AQL_FIXED) if entry["name"] == name)


def entities(name: str) -> list[Any]:
    """What the server answered, decoded the way a client must: strings that hold whole
    documents become objects."""
    body = recorded(name)["response"]["body"]
    return [
        json.loads(v) if isinstance(v, str) and v.startswith("{") else v for v in body["entities"]
    ]


async def run(backend: HttpBackend, name: str) -> Any:
    body = recorded(name)["request"]["body"]
    return await backend.aql(
        body["query"],
        allow_full_scan=body.get("allow_full_scan", False),
        explain=body.get("explain", False),
    )


RESULTS = [
    "aql_filter_city_full_scan",
    "aql_return_all_no_filter_full_scan",
    "aql_filter_sort_asc_limit_offset",
    "aql_filter_sort_limit",
    "aql_filter_sort_limit_full_scan",
    "aql_range_filter",
    "aql_projection",
    "aql_return_field",
    "aql_graph_traversal",
    "aql_graph_traversal_return_e",
    "aql_graph_traversal_inbound",
    "aql_lowercase_keywords",
    # the server's LET bug (it finds nothing) is what a client of that server gets
    "aql_let",
]


@pytest.mark.parametrize("name", RESULTS)
async def test_results_are_decoded_like_the_servers(name: str) -> None:
    async with replayed(AQL_FIXED) as (backend, replay):
        result = await run(backend, name)
    assert result.results == entities(name)
    assert result.count == recorded(name)["response"]["body"]["count"]
    assert (result.has_more, result.next_cursor) == (False, None)
    assert replay.names == [name]


async def test_whole_documents_become_objects_and_plain_values_stay_strings() -> None:
    async with replayed(AQL_FIXED) as (backend, _):
        documents = await run(backend, "aql_filter_city_full_scan")
        names = await run(backend, "aql_return_field")
    assert all(isinstance(document, dict) for document in documents.results)
    assert names.results == ["Alice", "Carol", "Dan", "Gus"]


async def test_each_answer_is_passed_on_as_the_server_gave_it() -> None:
    """Before `/index/reindex` the server's new index holds only rows written after it;
    the backend passes on what the server answers, call by call."""
    names = [
        "aql_filter_city_with_index_before_reindex",
        "aql_filter_city_with_index_after_new_put",
        "aql_filter_city_with_index",
    ]
    counts = []
    async with replayed(AQL_FIXED) as (backend, replay):
        for name in names:
            # the same request, answered differently as the server's state moved on
            replay.cursor = replay.entries.index(recorded(name))
            result = await backend.aql('FOR u IN users FILTER u.city == "Berlin" RETURN u')
            counts.append(result.count)
    assert counts == [0, 1, 4]
    assert replay.names == names


async def test_explain_passes_on_the_servers_plan() -> None:
    async with replayed(AQL_FIXED) as (backend, _):
        result = await run(backend, "aql_explain")
    body = recorded("aql_explain")["response"]["body"]
    assert result.explain == {"plan": body["plan"], "ast": body["ast"]}
    assert result.results == entities("aql_explain")


@pytest.mark.parametrize(
    ("name", "server_says"),
    [
        ("aql_filter_city_no_index", "sequential: scanKeysEqual: kein Index für users.city"),
        ("aql_return_all_no_filter", "executeAndKeysSequential: keine Prädikate"),
    ],
)
async def test_full_scan_refusals_are_typed_and_keep_the_german_message(
    name: str, server_says: str
) -> None:
    async with replayed(AQL_FIXED) as (backend, replay):
        with pytest.raises(AqlFullScan) as error:
            await run(backend, name)
    assert server_says in error.value.message
    assert error.value.message.startswith("ThemisDB refused to run the AQL query")
    assert error.value.status_code == 400
    assert replay.names == [name]


@pytest.mark.parametrize(
    ("name", "line", "column"),
    [("aql_parse_error", 1, 23), ("aql_parse_error_garbage", 1, 1), ("aql_collect_count", 1, 38)],
)
async def test_syntax_errors_are_found_before_sending_where_the_server_found_them(
    name: str, line: int, column: int
) -> None:
    server_says = recorded(name)["response"]["body"]["message"]
    async with replayed(AQL_FIXED) as (backend, replay):
        with pytest.raises(AqlSyntaxError) as error:
            await run(backend, name)
    assert (error.value.line, error.value.column) == (line, column)
    assert f"at line {line}, column {column}" in server_says
    assert error.value.expected
    assert replay.names == []


@pytest.mark.parametrize("name", ["aql_insert", "aql_insert_lowercase"])
async def test_mutations_are_refused_with_the_servers_message_before_sending(name: str) -> None:
    async with replayed(AQL_FIXED) as (backend, replay):
        with pytest.raises(AqlForbidden) as error:
            await run(backend, name)
    assert error.value.message == recorded(name)["response"]["body"]["message"]
    assert replay.names == []


@pytest.mark.parametrize("name", ["aql_parse_error", "aql_parse_error_garbage", "aql_insert"])
def test_the_servers_own_refusals_map_to_the_same_types(name: str) -> None:
    """A query this parser accepts but a server refuses still gets a typed error."""
    entry = recorded(name)
    request = httpx.Request("POST", "http://themis.test/query/aql")
    response = httpx.Response(400, json=entry["response"]["body"], request=request)
    error = error_for(response, "run the AQL query")
    assert isinstance(error, ThemisBadRequest)
    typed = typed_error(error)
    server_says = entry["response"]["body"]["message"]
    if name == "aql_insert":
        assert isinstance(typed, AqlForbidden)
        assert typed.message == server_says
    else:
        assert isinstance(typed, AqlSyntaxError)
        assert server_says in typed.message
        expected = {"aql_parse_error": (1, 23), "aql_parse_error_garbage": (1, 1)}[name]
        assert (typed.line, typed.column) == expected


async def test_binds_are_sent_as_literals_the_server_reads_back() -> None:
    """The bound query goes out as exactly the text the recorder sent (else the replay
    would find no recorded answer)."""
    async with replayed(AQL_FIXED) as (backend, replay):
        result = await backend.aql(
            "FOR u IN @@users FILTER u.city == @city SORT u.age DESC LIMIT @n RETURN u",
            {"@users": "users", "city": "Berlin", "n": 2},
        )
    assert replay.served[0].body["query"] == (
        'FOR u IN users FILTER u.city == "Berlin" SORT u.age DESC LIMIT 2 RETURN u'
    )
    assert [person["name"] for person in result.results] == ["Dan", "Carol"]


def pages_without_server_cursor(query: str, documents: list[dict[str, Any]]) -> Replay:
    """A server that ignores `use_cursor` and answers everything at once."""
    body = {"table": "users", "count": len(documents)}
    body["entities"] = body["result"] = [json.dumps(d) for d in documents]
    entry = {
        "name": "everything",
        "request": {"method": "POST", "path": "/query/aql", "body": None},
        "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": body},
    }
    replay = Replay([entry])
    replay.stand_in("POST", "/query/aql", "everything")
    return replay


async def test_a_server_that_ignores_use_cursor_is_paged_here() -> None:
    documents = [{"n": i} for i in range(5)]
    query = "FOR u IN users FILTER u.n >= 0 RETURN u"
    replay = pages_without_server_cursor(query, documents)
    backend = HttpBackend(
        ThemisSettings(backend="http", url="http://themis.test:8765"),
        httpx.MockTransport(replay.handler),
    )
    await backend.start()
    try:
        first = await backend.aql(query, batch_size=2)
        second = await backend.aql(query, cursor=first.next_cursor)
        third = await backend.aql(query, cursor=second.next_cursor)
    finally:
        await backend.close()
    assert [first.results, second.results, third.results] == [
        documents[0:2],
        documents[2:4],
        documents[4:5],
    ]
    assert (first.has_more, second.has_more, third.has_more) == (True, True, False)
    assert replay.served[0].body["use_cursor"] is True
    assert "use_cursor" not in replay.served[1].body  # offsets are this backend's own
