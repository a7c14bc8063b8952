"""HttpBackend against the recorded answers of a real ThemisDB server.

A replay transport answers each request with the recorded response to the same method, path
and body (JSON-equal; a `blob` compared by the JSON it holds), walking the recording forward
so state-dependent answers (a read after an update) come in order. A request with no recorded
answer fails the test, so these tests also prove the backend sends what the server was sent.
`status: null` in a recording (the server dropped the connection) is replayed as a
connection closed without an answer.
"""

from __future__ import annotations

import pytest

from tests.support.recordings import AQL_FIXED, AS_RELEASED, replayed
from themisgate.themis import (
    DimensionMismatch,
    Edge,
    ThemisAuthError,
    ThemisBadRequest,
    ThemisPolicyDenied,
    ThemisProtocolError,
    ThemisServerError,
    ThemisUnavailable,
    ThemisUnsupported,
    TraversalQuery,
    VectorHit,
    VectorItem,
)
from themisgate.themis.http.responses import as_object

BOTH = pytest.mark.parametrize("recording", [AS_RELEASED, AQL_FIXED])


@BOTH
async def test_health_stats_and_capabilities(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        health = await backend.health()
        stats = await backend.stats()
        capabilities = await backend.capabilities()
    assert (health.status, health.version, health.backend) == ("healthy", "0.1.0", "http")
    assert health.uptime_seconds == 4.0
    assert stats["server"]["threads"] == 2
    assert capabilities["server"]["version"] == "1.0.0"
    assert replay.names == ["health", "stats_initial", "capabilities"]


@BOTH
async def test_documents_round_trip_and_blobs_are_decoded(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        await backend.put_document("users", "alice", {"name": "Alice", "city": "Berlin", "age": 30})
        first = await backend.get_document("users", "alice")
        await backend.put_document("users", "alice", {"name": "Alice", "city": "Berlin", "age": 31})
        updated = await backend.get_document("users", "alice")
        missing = await backend.get_document("users", "nobody")
        await backend.put_document("users", "eve", {"name": "Eve", "city": "Munich", "age": 22})
        await backend.delete_document("users", "eve")
        gone = await backend.get_document("users", "eve")
        await backend.delete_document("users", "nobody")
    # the server stores the document as a JSON string; the backend hands back the object
    assert first == {"name": "Alice", "city": "Berlin", "age": 30}
    assert updated == {"name": "Alice", "city": "Berlin", "age": 31}
    assert missing is None
    assert gone is None
    assert replay.names == [
        "put_user_alice",
        "get_user_alice",
        "put_user_alice_update",
        "get_user_alice_after_update",
        "get_user_missing",
        "put_user_eve",
        "delete_user_eve",
        "get_user_eve_after_delete",
        "delete_user_missing",
    ]
    # what went on the wire: a JSON string in `blob`, never an object, never a key override
    assert isinstance(replay.served[0].body["blob"], str)
    assert set(replay.served[0].body) == {"blob"}


@BOTH
async def test_get_documents_leaves_missing_keys_out(recording: str) -> None:
    async with replayed(recording) as (backend, _):
        found = await backend.get_documents("users", ["frank", "nobody", "body_pk", "frank"])
    assert list(found) == ["frank", "body_pk"]
    assert found["frank"] == {"name": "Frank", "city": "Cologne", "age": 50}
    assert found["body_pk"] == {"name": "Body"}


@BOTH
async def test_a_stored_blob_that_is_not_json_is_a_protocol_error(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        with pytest.raises(ThemisProtocolError, match=r"notes:n2.*not JSON"):
            await backend.get_document("notes", "n2")
        # and the backend never writes one: not a string, not NaN, not a non-JSON value
        for bad in ("not json at all", {"x": float("nan")}, {"when": object()}):
            with pytest.raises(ThemisBadRequest):
                await backend.put_document("notes", "n3", bad)  # type: ignore[arg-type]
    assert replay.names == ["get_entity_blob_not_json"]


@BOTH
async def test_reading_a_vectors_entity_is_a_server_error_not_retried(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        with pytest.raises(ThemisServerError, match=r"documents:v1.*invalid UTF-8.*HTTP 500"):
            await backend.get_document("documents", "v1")
    assert replay.names == ["get_entity_vector_doc"]


@BOTH
async def test_vector_search_answers_and_odd_requests(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        nearest = await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 2)
        everything = await backend.search_vectors([0.0, 0.0, 1.0, 1.0], 100)
        with pytest.raises(DimensionMismatch) as mismatch:
            await backend.search_vectors([1.0, 0.0, 0.0], 2)
        for k in (0, -1):
            with pytest.raises(ThemisBadRequest, match="at least 1"):
                await backend.search_vectors([1.0, 0.0, 0.0, 0.0], k)
        zero = await backend.search_vectors([0.0, 0.0, 0.0, 0.0], 2)
        with pytest.raises(ThemisPolicyDenied, match="ANN blocked by classification"):
            await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 1)
    # recorded pks carry no `collection:` prefix: reported with the empty collection
    assert nearest == [VectorHit("", "v1", 0.0), VectorHit("", "v3", 0.006116271018981934)]
    assert len(everything) == 6
    assert [hit.distance for hit in zero] == [1.0, 1.0]
    assert (mismatch.value.expected, mismatch.value.got) == (4, 3)
    # k = 0 and k = -1 never reached the server (it wraps -1 around to "every vector")
    assert replay.names == [
        "vector_search_k2",
        "vector_search_k_larger_than_n",
        "vector_search_wrong_dimension",
        "vector_search_zero_vector",
        "vector_search_governance_enforce",
    ]
    assert all(served.body["k"] >= 1 for served in replay.served)


@BOTH
async def test_collection_search_overfetches_and_keeps_only_its_prefix(recording: str) -> None:
    async with replayed(recording, overfetch_factor=2) as (backend, replay):
        hits = await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 1, collection="users")
    assert hits == []  # v1 and v3 are not `users:` pks
    # the released server advertises no collection filter: it is asked for k * overfetch
    assert replay.names == ["capabilities", "vector_search_k2"]
    assert replay.served[1].body == {"vector": [1.0, 0.0, 0.0, 0.0], "k": 2}


@BOTH
async def test_index_info(recording: str) -> None:
    async with replayed(recording) as (backend, _):
        before = await backend.index_info()
        await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 2)  # vectors were inserted by now
        after = await backend.index_info()
    assert (before.dimension, before.metric, before.vector_count) == (4, "cosine", 0)
    assert before.object_name == "documents"
    assert after.vector_count == 6


@BOTH
async def test_upsert_vectors_counts_what_the_server_reports(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        replay.stand_in("POST", "/vector/batch_insert", "vector_batch_insert_mixed_bad_items")
        items = [
            VectorItem("a", [0.5, 0.5, 0.0, 0.0], {"title": "east", "n": 1}),
            VectorItem("b", [0.0, 1.0, 0.0, 0.0]),
        ]
        result = await backend.upsert_vectors("docs", items)
        with pytest.raises(ThemisBadRequest, match="flat scalars"):
            await backend.upsert_vectors("docs", [VectorItem("c", [1.0] * 4, {"tags": ["x"]})])
    assert (result.inserted, result.errors, result.dimension) == (1, 4, 4)
    assert len(replay.served) == 1
    sent = replay.served[0].body
    assert sent["vector_field"] == "embedding"
    assert [item["pk"] for item in sent["items"]] == ["docs:a", "docs:b"]
    assert sent["items"][0]["fields"] == {"title": "east", "n": 1}


@BOTH
async def test_edges_fall_back_to_content_import_on_404_and_remember(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        replay.stand_in("POST", "/content/import", "content_import_with_edges")
        await backend.add_edge(Edge("e0", "alice", "bob"))
        await backend.add_edge(Edge("e9", "bob", "dan", type="knows", weight=0.5))
    assert backend.edge_route == "content-import"
    assert replay.names == [
        "graph_edge_post",
        "content_import_with_edges",
        "content_import_with_edges",
    ]
    first_import, second_import = replay.served[1].body, replay.served[2].body
    assert first_import == {
        "content": {"id": "edge-import:e0", "mime_type": "text/plain"},
        "chunks": [],
        "edges": [{"id": "e0", "_from": "alice", "_to": "bob"}],
    }
    assert second_import["edges"] == [
        {"id": "e9", "_from": "bob", "_to": "dan", "type": "knows", "weight": 0.5}
    ]


@BOTH
async def test_traversal(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        one = await backend.traverse(TraversalQuery("alice", max_depth=1))
        three = await backend.traverse(TraversalQuery("alice", max_depth=3))
        unknown = await backend.traverse(TraversalQuery("zed", max_depth=2))
        without_start = await backend.traverse(TraversalQuery("alice", max_depth=1, min_depth=1))
        with pytest.raises(ThemisBadRequest, match="max_depth"):
            await backend.traverse(TraversalQuery("alice", max_depth=-1))
        with pytest.raises(ThemisUnsupported, match="without AQL"):
            await backend.traverse(TraversalQuery("carol", max_depth=1, direction="in"))
        with pytest.raises(ThemisUnsupported, match="edge type"):
            await backend.traverse(TraversalQuery("alice", max_depth=1, edge_type="knows"))
    assert one.vertices == ["alice", "bob", "carol"]
    assert three.vertices == ["alice", "bob", "carol", "dan"]
    assert unknown.vertices == ["zed"]
    assert without_start.vertices == ["bob", "carol"]
    assert (one.edges, one.paths) == ([], [])
    # the negative depth (a 500 "Traversal failed" on the server) was never sent; for the
    # inbound and typed traversals the backend asked once what the server can do, and refused
    assert replay.names == [
        "graph_traverse_depth1",
        "graph_traverse_depth3",
        "graph_traverse_unknown_vertex",
        "graph_traverse_depth1",
        "capabilities",
    ]


@BOTH
async def test_unrouted_requests_say_the_server_lacks_the_route(recording: str) -> None:
    async with replayed(recording) as (backend, _):
        with pytest.raises(ThemisProtocolError, match=r"no route GET /does/not/exist"):
            await backend.request_json("look around", "GET", "/does/not/exist")
        with pytest.raises(ThemisProtocolError, match=r"no route POST /stats"):
            await backend.request_json("post stats", "POST", "/stats", {})
        with pytest.raises(ThemisProtocolError, match=r"no route PATCH /entities/users:alice"):
            await backend.request_json(
                "patch a document", "PATCH", "/entities/users:alice", {"blob": "{}"}
            )


@BOTH
async def test_bad_requests_keep_the_servers_message(recording: str) -> None:
    async with replayed(recording) as (backend, _):
        with pytest.raises(ThemisBadRequest) as as_object_blob:
            await backend.request_json(
                "write document users:gina",
                "PUT",
                "/entities/users:gina",
                {"blob": {"name": "Gina"}},
            )
        with pytest.raises(ThemisAuthError) as cors:
            await backend.request_json("preflight", "OPTIONS", "/entities/users:alice")
    assert str(as_object_blob.value).startswith("ThemisDB refused to write document users:gina")
    assert "type must be string, but is object" in str(as_object_blob.value)
    assert (cors.value.upstream_status, cors.value.code) == (403, None)


AQL_BERLIN = {"query": 'FOR u IN users FILTER u.city == "Berlin" RETURN u'}


@pytest.mark.parametrize(
    ("recording", "server_says"),
    [
        (AS_RELEASED, "NUL byte not allowed"),
        (AQL_FIXED, "sequential: scanKeysEqual: kein Index für users.city"),
    ],
)
async def test_aql_errors_keep_german_messages_and_say_what_failed(
    recording: str, server_says: str
) -> None:
    async with replayed(recording) as (backend, replay):
        with pytest.raises(ThemisBadRequest) as error:
            await backend.request_json("run the AQL query", "POST", "/query/aql", AQL_BERLIN)
    assert str(error.value) == f"ThemisDB refused to run the AQL query: {server_says} (HTTP 400)"
    assert error.value.detail == server_says
    assert replay.names == ["aql_filter_city_no_index"]


async def test_aql_entities_sent_as_json_strings_decode_to_objects() -> None:
    async with replayed(AQL_FIXED) as (backend, _):
        body = {**AQL_BERLIN, "allow_full_scan": True}
        answer = await backend.request_json("run the AQL query", "POST", "/query/aql", body)
    people = [as_object(entity, "an AQL result") for entity in answer["entities"]]
    assert [person["name"] for person in people] == ["Alice", "Carol", "Dan"]


async def test_a_dropped_connection_is_unavailable_and_reads_are_retried() -> None:
    """In the fixed recording a full scan over a table holding a non-JSON blob kills the
    server: the AQL call and every later health check get no answer."""
    scan = {"query": 'FOR n IN notes FILTER n.lang == "en" RETURN n', "allow_full_scan": True}
    async with replayed(AQL_FIXED, retries=2, breaker_threshold=10) as (backend, replay):
        before = await backend.request_json("run the AQL query", "POST", "/query/aql", scan)
        with pytest.raises(ThemisProtocolError):
            await backend.get_document("notes", "n2")
        with pytest.raises(ThemisUnavailable, match="closed the connection") as dropped:
            await backend.request_json("run the AQL query", "POST", "/query/aql", scan)
        with pytest.raises(ThemisUnavailable, match="closed the connection"):
            await backend.health()
    assert before["count"] == 1
    assert "may or may not have been applied" in str(dropped.value)
    # the AQL POST is not a known read: sent once; the health GET: once plus two retries
    assert replay.names == [
        "aql_full_scan_notes_ok",
        "get_entity_blob_not_json",
        "aql_full_scan_after_non_json_blob",
        "health_after_full_scan",
        "health_after_full_scan",
        "health_after_full_scan",
    ]


@BOTH
async def test_bodies_over_one_mebibyte_are_never_sent(recording: str) -> None:
    async with replayed(recording) as (backend, replay):
        with pytest.raises(ThemisBadRequest, match=r"1 MiB"):
            await backend.put_document("users", "huge", {"pad": "y" * 12_000_000})
        with pytest.raises(ThemisBadRequest, match=r"1 MiB"):
            await backend.request_json(
                "run the AQL query",
                "POST",
                "/query/aql",
                {"query": "FOR u IN users RETURN u", "pad": "x" * 2_000_000},
            )
        health = await backend.health()
    # the server would have reset both connections (recorded as status null)
    assert replay.names == ["health"]
    assert health.status == "healthy"
