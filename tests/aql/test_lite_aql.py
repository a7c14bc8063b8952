"""themis-lite answers the recorded AQL and index requests as the real server did, where
the server was sensible.

All 114 requests of `server-aql-validator-fixed.json` are sent in order to one fresh
themis-lite (the others build the state the AQL entries query; their answers are checked
by the core lite tests). Each AQL and index answer is compared with the recorded one: the
status, the keys, and the decoded entities. `DEVIATIONS` lists where themis-lite answers
otherwise on purpose, and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.recordings import AQL_FIXED, load_recording, request_body
from themisgate.themis import ThemisSettings
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.lite import create_lite_app

AQL_PATHS = ("/query/aql", "/api/aql", "/index/")

# name -> (status themis-lite answers, entities it answers or None when only the status
# and the error shape are compared, why)
DEVIATIONS: dict[str, tuple[int, list[str] | None, str]] = {
    "aql_filter_city_with_index_before_reindex": (
        200,
        ["Alice", "Carol", "Dan"],
        "an index covers the rows that exist when it is created; the server's covers only "
        "rows written later, until /index/reindex",
    ),
    "aql_filter_city_with_index_after_new_put": (
        200,
        ["Alice", "Carol", "Dan", "Gus"],
        "as above: every Berlin user, not only the one written after the index",
    ),
    "aql_let": (
        200,
        ["Alice", "Carol", "Dan", "Frank"],
        "LET a = u.age FILTER a > 30 finds the users over 30; the server finds nothing",
    ),
    "aql_full_scan_after_non_json_blob": (
        200,
        ["hello"],
        "the blob that is not JSON was refused when written, so nothing can crash the scan",
    ),
    "aql_graph_traversal_return_e": (
        200,
        ["e0", "e4"],
        "themis-lite has POST /graph/edge, so the recording's edge e0 (alice -> bob, a 404 on "
        "that server) exists and reaches bob before e1 does",
    ),
    "body_2MB_aql": (413, None, "the server resets the connection above 1 MiB"),
}


@pytest.fixture
async def lite() -> AsyncIterator[httpx.AsyncClient]:
    async with EmbeddedBackend(ThemisSettings(path=":memory:", dimension=4)) as backend:
        transport = httpx.ASGITransport(app=create_lite_app(backend))
        async with httpx.AsyncClient(transport=transport, base_url="http://lite") as client:
            yield client


def names(entities: list[Any]) -> list[Any]:
    """What identifies each entity: a document's name or text, an edge's id, a value."""
    found = []
    for entity in entities:
        value = json.loads(entity) if isinstance(entity, str) and entity.startswith("{") else entity
        if isinstance(value, dict):
            value = value.get("name", value.get("text", value.get("id")))
        found.append(value)
    return found


def check(entry: dict[str, Any], response: httpx.Response) -> None:
    name, recorded = entry["name"], entry["response"]
    status, expected, _ = DEVIATIONS.get(name, (recorded["status"], None, ""))
    assert response.status_code == status, f"{name}: {response.text}"
    got = response.json()
    if status >= 400:
        assert set(got) == {"error", "message", "status_code"}, name
        if recorded["status"] == status and isinstance(recorded["body"], dict):
            server_says = recorded["body"]["message"]
            if server_says.startswith("AQL parse error"):
                # the same place; the wording may differ ("Expected FOR" / "Unexpected …")
                where = re.search(r"at line \d+, column \d+", server_says)
                assert where is not None
                assert got["message"].startswith("AQL parse error: "), name
                assert where.group(0) in got["message"], name
            elif server_says.startswith(("forbidden token", "AQL request")):
                assert got["message"] == server_says, name
        return
    body = recorded["body"]
    if name not in DEVIATIONS:
        extra = {"plan", "ast", "query"} - set(body)
        assert set(got) - extra == set(body), f"{name}: {sorted(got)} != {sorted(body)}"
    if "entities" in got:
        want = expected if expected is not None else names(body["entities"])
        assert names(got["entities"]) == want, name
        assert got["count"] == len(want), name
        if "result" in got:
            assert got["result"] == got["entities"], name
        if expected is None:
            # whole documents as JSON strings, the way the server sends them
            assert [type(e) for e in got["entities"]] == [type(e) for e in body["entities"]]


async def test_replay_the_recorded_aql_exchanges(lite: httpx.AsyncClient) -> None:
    checked = []
    for entry in load_recording(AQL_FIXED):
        request = entry["request"]
        content = request_body(request["body"])
        headers = {"content-type": "application/json"} if content is not None else {}
        response = await lite.request(
            request["method"], request["path"], content=content, headers=headers
        )
        if request["path"].startswith(AQL_PATHS):
            check(entry, response)
            checked.append(entry["name"])
    assert len(checked) == 37
    assert set(DEVIATIONS) <= set(checked)


async def test_explain_adds_the_plan_the_ast_and_the_query(lite: httpx.AsyncClient) -> None:
    await lite.put("/entities/users:alice", json={"blob": '{"name": "Alice", "city": "Berlin"}'})
    await lite.post("/index/create", json={"table": "users", "column": "city"})
    query = 'FOR u IN users FILTER u.city == "Berlin" RETURN u'
    answer = (await lite.post("/query/aql", json={"query": query, "explain": True})).json()
    assert answer["query"] == query
    assert answer["ast"]["fors"] == [{"type": "for", "variable": "u", "collection": "users"}]
    assert answer["plan"]["steps"][0]["indexes"] == ["city"]
    assert answer["entities"] == ['{"city":"Berlin","name":"Alice"}']


async def test_use_cursor_pages_like_the_vector_search(lite: httpx.AsyncClient) -> None:
    for n in range(5):
        await lite.put(f"/entities/docs:d{n}", json={"blob": json.dumps({"n": n})})
    query = {"query": "FOR d IN docs SORT d.n RETURN d.n", "allow_full_scan": True}
    first = (
        await lite.post("/query/aql", json={**query, "use_cursor": True, "batch_size": 2})
    ).json()
    assert first["items"] == [0, 1]
    assert (first["batch_size"], first["has_more"]) == (2, True)
    rest = await lite.post(
        "/query/aql", json={**query, "use_cursor": True, "cursor": first["next_cursor"]}
    )
    assert rest.json()["items"] == [2, 3]
    bad = await lite.post("/query/aql", json={**query, "use_cursor": True, "cursor": "x.y"})
    assert bad.status_code == 400
    assert "cursor" in bad.json()["message"]


async def test_index_routes_validate_their_input(lite: httpx.AsyncClient) -> None:
    missing = await lite.post("/index/create", json={"table": "users"})
    assert missing.status_code == 400
    fulltext = await lite.post(
        "/index/create", json={"table": "users", "column": "bio", "type": "fulltext"}
    )
    assert fulltext.status_code == 400
    assert "fulltext" in fulltext.json()["message"]
    bad_field = await lite.post("/index/create", json={"table": "users", "column": "a b"})
    assert bad_field.status_code == 400
