"""EmbeddedBackend: the server's rules, persistence across restarts, and exact search.

Every behaviour test runs twice, on `:memory:` (reads go to the writer thread) and on a
file (reads run inline on their own connection), since those are different code paths.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from themisgate.themis import (
    DimensionMismatch,
    Edge,
    ThemisBackend,
    ThemisBadRequest,
    ThemisError,
    ThemisSettings,
    ThemisUnavailable,
    TraversalQuery,
    VectorItem,
)
from themisgate.themis.embedded import EmbeddedBackend


@pytest.fixture(params=["memory", "file"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ThemisSettings:
    path = ":memory:" if request.param == "memory" else str(tmp_path / "nested" / "themis.db")
    return ThemisSettings(path=path)


@pytest.fixture
async def backend(settings: ThemisSettings) -> AsyncIterator[EmbeddedBackend]:
    async with EmbeddedBackend(settings) as started:
        yield started


def items(*pairs: tuple[str, list[float]]) -> list[VectorItem]:
    return [VectorItem(key=key, vector=vector) for key, vector in pairs]


# --- life cycle and status ----------------------------------------------------------------


async def test_implements_the_protocol(backend: EmbeddedBackend) -> None:
    assert isinstance(backend, ThemisBackend)
    assert backend.name == "embedded"


async def test_calls_before_start_are_unavailable() -> None:
    backend = EmbeddedBackend(ThemisSettings(path=":memory:"))
    with pytest.raises(ThemisUnavailable, match="not started"):
        await backend.get_document("users", "alice")
    await backend.close()  # closing what never started is harmless


async def test_start_and_close_are_idempotent(settings: ThemisSettings) -> None:
    backend = EmbeddedBackend(settings)
    await backend.start()
    await backend.start()
    await backend.put_document("users", "alice", {"n": 1})
    await backend.close()
    await backend.close()
    with pytest.raises(ThemisUnavailable):
        await backend.health()


async def test_health_stats_and_capabilities(backend: EmbeddedBackend) -> None:
    await backend.put_document("users", "alice", {"name": "Alice"})
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0])))
    await backend.add_edge(Edge(id="e1", source="users:alice", target="users:bob"))

    health = await backend.health()
    assert (health.status, health.backend) == ("healthy", "embedded")
    assert health.version
    assert health.uptime_seconds is not None
    assert health.uptime_seconds >= 0

    stats = await backend.stats()
    assert set(stats) == {"server", "storage"}
    storage = stats["storage"]
    assert (storage["documents"], storage["vectors"], storage["edges"]) == (1, 1, 1)
    assert storage["collections"] == 2
    assert storage["dimension"] == 2

    capabilities = await backend.capabilities()
    assert capabilities["vector"]["metric"] == "cosine"
    assert capabilities["vector"]["dimension"] == 2
    assert capabilities["graph"]["traverse"] is True
    assert capabilities["aql"] is True


# --- documents ----------------------------------------------------------------------------


async def test_document_round_trip_and_upsert_replaces(backend: EmbeddedBackend) -> None:
    assert await backend.get_document("users", "alice") is None
    await backend.put_document("users", "alice", {"name": "Alice", "tags": ["a"], "age": 30})
    assert await backend.get_document("users", "alice") == {
        "name": "Alice",
        "tags": ["a"],
        "age": 30,
    }
    await backend.put_document("users", "alice", {"name": "Alice", "age": 31})
    assert await backend.get_document("users", "alice") == {"name": "Alice", "age": 31}


async def test_collections_are_separate(backend: EmbeddedBackend) -> None:
    await backend.put_document("users", "x", {"kind": "user"})
    await backend.put_document("notes", "x", {"kind": "note"})
    assert await backend.get_document("users", "x") == {"kind": "user"}
    assert await backend.get_document("notes", "x") == {"kind": "note"}


async def test_keys_may_contain_colons_and_unicode(backend: EmbeddedBackend) -> None:
    await backend.put_document("users", "a:b:ü", {"ok": True})
    assert await backend.get_document("users", "a:b:ü") == {"ok": True}


async def test_get_documents_returns_found_ones_only(backend: EmbeddedBackend) -> None:
    for key in ("a", "b", "c"):
        await backend.put_document("users", key, {"key": key})
    found = await backend.get_documents("users", ["c", "missing", "a", "a"])
    assert dict(found) == {"c": {"key": "c"}, "a": {"key": "a"}}
    assert await backend.get_documents("users", []) == {}


async def test_get_documents_in_bulk(backend: EmbeddedBackend) -> None:
    # more keys than one SQL statement takes, and more than are read inline
    keys = [f"k{i}" for i in range(1200)]
    await asyncio.gather(*(backend.put_document("bulk", key, {"k": key}) for key in keys))
    found = await backend.get_documents("bulk", [*keys, "nope"])
    assert len(found) == 1200
    assert found["k777"] == {"k": "k777"}


async def test_delete_document_and_deleting_a_missing_one(backend: EmbeddedBackend) -> None:
    await backend.put_document("users", "eve", {"name": "Eve"})
    await backend.delete_document("users", "eve")
    assert await backend.get_document("users", "eve") is None
    await backend.delete_document("users", "never-existed")


async def test_document_text_is_kept_verbatim(backend: EmbeddedBackend) -> None:
    text = '{"name": "Alice",  "age": 30}'
    await backend.put_document_text("users", "alice", text)
    assert await backend.get_document_text("users", "alice") == text
    assert await backend.get_document("users", "alice") == {"name": "Alice", "age": 30}


@pytest.mark.parametrize("text", ["not json at all", "[1, 2]", '"a string"', "{"])
async def test_document_text_must_be_a_json_object(backend: EmbeddedBackend, text: str) -> None:
    with pytest.raises(ThemisBadRequest):
        await backend.put_document_text("notes", "n2", text)
    assert await backend.get_document_text("notes", "n2") is None


@pytest.mark.parametrize(
    ("collection", "key", "message"),
    [
        ("", "k", "collection must be a non-empty string"),
        ("a:b", "k", "must not contain ':'"),
        ("users", "", "key must be a non-empty string"),
        ("users", "a\x00b", "NUL"),
    ],
)
async def test_bad_addresses_are_bad_requests(
    backend: EmbeddedBackend, collection: str, key: str, message: str
) -> None:
    with pytest.raises(ThemisBadRequest, match=message):
        await backend.put_document(collection, key, {"x": 1})
    with pytest.raises(ThemisBadRequest, match=message):
        await backend.get_document(collection, key)
    with pytest.raises(ThemisBadRequest, match=message):
        await backend.delete_document(collection, key)


async def test_documents_must_be_json_objects(backend: EmbeddedBackend) -> None:
    with pytest.raises(ThemisBadRequest, match="JSON object"):
        await backend.put_document("users", "a", ["not", "an", "object"])  # type: ignore[arg-type]
    with pytest.raises(ThemisBadRequest, match="cannot be stored as JSON"):
        await backend.put_document("users", "a", {"bad": object()})


# --- vectors ------------------------------------------------------------------------------


async def test_dimension_is_fixed_by_the_first_insert(backend: EmbeddedBackend) -> None:
    assert (await backend.index_info()).dimension is None
    assert await backend.search_vectors([1.0, 0.0], 3) == []  # nothing stored yet
    result = await backend.upsert_vectors("docs", items(("a", [1.0, 0.0, 0.0])))
    assert (result.inserted, result.errors, result.dimension) == (1, 0, 3)
    with pytest.raises(DimensionMismatch) as caught:
        await backend.upsert_vectors("docs", items(("b", [1.0, 0.0])))
    assert (caught.value.expected, caught.value.got) == (3, 2)
    with pytest.raises(DimensionMismatch, match="expected 3, got 4"):
        await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 1)


async def test_dimension_from_settings() -> None:
    async with EmbeddedBackend(ThemisSettings(path=":memory:", dimension=4)) as backend:
        assert (await backend.index_info()).dimension == 4
        with pytest.raises(DimensionMismatch, match="expected 4, got 3"):
            await backend.upsert_vectors("docs", items(("a", [1.0, 0.0, 0.0])))


async def test_a_batch_with_one_bad_vector_stores_nothing(backend: EmbeddedBackend) -> None:
    with pytest.raises(DimensionMismatch):
        await backend.upsert_vectors("docs", items(("a", [1.0, 0.0]), ("b", [1.0, 0.0, 0.0])))
    assert (await backend.index_info()).vector_count == 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e39])
async def test_non_finite_vectors_are_bad_requests(backend: EmbeddedBackend, bad: float) -> None:
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0])))
    with pytest.raises(ThemisBadRequest, match="NaN or infinity"):
        await backend.upsert_vectors("docs", items(("b", [bad, 0.0])))
    with pytest.raises(ThemisBadRequest, match="NaN or infinity"):
        await backend.search_vectors([bad, 1.0], 1)


@pytest.mark.parametrize("k", [0, -1, True, 2.5])
async def test_k_must_be_a_positive_integer(backend: EmbeddedBackend, k: object) -> None:
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0])))
    with pytest.raises(ThemisBadRequest, match="k must be"):
        await backend.search_vectors([1.0, 0.0], k)  # type: ignore[arg-type]


async def test_vector_fields_must_be_flat_scalars(backend: EmbeddedBackend) -> None:
    good = VectorItem(key="a", vector=[1.0, 0.0], fields={"t": "x", "n": 1, "ok": True, "z": None})
    await backend.upsert_vectors("docs", [good])
    with pytest.raises(ThemisBadRequest, match="field 'nested'"):
        await backend.upsert_vectors(
            "docs", [VectorItem(key="b", vector=[1.0, 0.0], fields={"nested": {"a": 1}})]
        )


async def test_search_is_cosine_nearest_first(backend: EmbeddedBackend) -> None:
    # the recorded server's vectors and answers (server-as-released.json, vector_search_k2)
    await backend.upsert_vectors(
        "docs",
        items(
            ("v1", [1.0, 0.0, 0.0, 0.0]),
            ("v2", [0.0, 1.0, 0.0, 0.0]),
            ("v3", [0.9, 0.1, 0.0, 0.0]),
            ("v4", [0.0, 0.0, 1.0, 1.0]),
        ),
    )
    hits = await backend.search_vectors([1.0, 0.0, 0.0, 0.0], 2)
    assert [(hit.collection, hit.key) for hit in hits] == [("docs", "v1"), ("docs", "v3")]
    assert hits[0].distance == 0.0
    assert hits[1].distance == pytest.approx(0.006116271018981934, abs=1e-7)
    assert hits[1].score == pytest.approx(1 - hits[1].distance)
    everything = await backend.search_vectors([0.0, 0.0, 1.0, 1.0], 100)
    assert [hit.key for hit in everything][:1] == ["v4"]
    assert len(everything) == 4
    distances = [hit.distance for hit in everything]
    assert distances == sorted(distances)
    assert all(0.0 <= d <= 2.0 for d in distances)


async def test_an_all_zero_query_is_distance_one_to_everything(backend: EmbeddedBackend) -> None:
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0]), ("b", [0.0, 1.0])))
    hits = await backend.search_vectors([0.0, 0.0], 5)
    assert sorted(hit.key for hit in hits) == ["a", "b"]
    assert {hit.distance for hit in hits} == {1.0}


async def test_upsert_replaces_a_vector(backend: EmbeddedBackend) -> None:
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0]), ("b", [0.0, 1.0])))
    await backend.upsert_vectors("docs", items(("a", [0.0, 1.0])))
    info = await backend.index_info()
    assert (info.vector_count, info.metric, info.object_name) == (2, "cosine", "documents")
    hits = await backend.search_vectors([0.0, 1.0], 2)
    assert {hit.key for hit in hits} == {"a", "b"}
    assert all(hit.distance == pytest.approx(0.0, abs=1e-6) for hit in hits)


async def test_search_restricted_to_a_collection(backend: EmbeddedBackend) -> None:
    await backend.upsert_vectors("a", items(("1", [1.0, 0.0]), ("2", [0.9, 0.1])))
    await backend.upsert_vectors("b", items(("1", [1.0, 0.01]), ("3", [0.0, 1.0])))
    only_b = await backend.search_vectors([1.0, 0.0], 10, collection="b")
    assert [(hit.collection, hit.key) for hit in only_b] == [("b", "1"), ("b", "3")]
    assert await backend.search_vectors([1.0, 0.0], 10, collection="nothing") == []
    both = await backend.search_vectors([1.0, 0.0], 3)
    assert [(hit.collection, hit.key) for hit in both] == [("a", "1"), ("b", "1"), ("a", "2")]


async def test_the_empty_collection_holds_bare_wire_pks(backend: EmbeddedBackend) -> None:
    await backend.upsert_vectors("", items(("v1", [1.0, 0.0])))
    hits = await backend.search_vectors([1.0, 0.0], 1, collection="")
    assert [(hit.collection, hit.key) for hit in hits] == [("", "v1")]
    with pytest.raises(ThemisBadRequest):
        await backend.put_document("", "v1", {})


async def test_delete_vectors(backend: EmbeddedBackend) -> None:
    await backend.upsert_vectors("docs", items(("a", [1.0, 0.0]), ("b", [0.0, 1.0])))
    assert await backend.delete_vectors("docs", ["a", "missing", "a"]) == 1
    assert [hit.key for hit in await backend.search_vectors([1.0, 0.0], 5)] == ["b"]
    assert await backend.delete_vectors("docs", []) == 0
    assert await backend.delete_vectors("elsewhere", ["b"]) == 0


async def test_search_matches_numpy_after_many_deletes(backend: EmbeddedBackend) -> None:
    """Swap-remove keeps rows and keys in step: compare against brute force."""
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((3000, 32)).astype(np.float32)
    keys = [f"k{i}" for i in range(len(rows))]
    await backend.upsert_vectors(
        "docs", [VectorItem(key=k, vector=v) for k, v in zip(keys, rows.tolist(), strict=True)]
    )
    gone = set(keys[::3]) | {"k2999", "k1"}
    await backend.delete_vectors("docs", sorted(gone))
    live = [i for i, key in enumerate(keys) if key not in gone]
    unit = rows[live] / np.linalg.norm(rows[live], axis=1, keepdims=True)
    for query in rng.standard_normal((5, 32)).astype(np.float32):
        expected_scores = unit @ (query / np.linalg.norm(query))
        expected = [keys[live[i]] for i in np.argsort(-expected_scores)[:20]]
        hits = await backend.search_vectors(query.tolist(), 20)
        assert [hit.key for hit in hits] == expected
        for hit, score in zip(hits, np.sort(expected_scores)[::-1][:20], strict=True):
            assert hit.distance == pytest.approx(1 - float(score), abs=1e-5)
    assert (await backend.index_info()).vector_count == len(live)


async def test_big_searches_run_off_the_loop_and_agree(backend: EmbeddedBackend) -> None:
    """Enough rows that the search goes to the reader pool instead of running inline."""
    rng = np.random.default_rng(5)
    rows = rng.standard_normal((6000, 64)).astype(np.float32)
    await backend.upsert_vectors(
        "big", [VectorItem(key=str(i), vector=v) for i, v in enumerate(rows.tolist())]
    )
    query = rows[1234] * 2.0
    hits = await backend.search_vectors(query.tolist(), 3, collection="big")
    assert hits[0].key == "1234"
    assert hits[0].distance == pytest.approx(0.0, abs=1e-6)


# --- graph --------------------------------------------------------------------------------


@pytest.fixture
async def graph(backend: EmbeddedBackend) -> EmbeddedBackend:
    # the recorded server's edges (content_import_with_edges), plus one inbound-only vertex
    await backend.add_edges(
        [
            Edge(id="e1", source="alice", target="bob", type="knows"),
            Edge(id="e2", source="bob", target="carol", type="knows"),
            Edge(id="e3", source="carol", target="dan", type="knows"),
            Edge(id="e4", source="alice", target="carol", type="likes", weight=0.5),
            Edge(id="e6", source="zoe", target="alice", type="knows", properties={"since": 2020}),
        ]
    )
    return backend


async def test_traverse_matches_the_server(graph: EmbeddedBackend) -> None:
    one = await graph.traverse(TraversalQuery(start="alice", max_depth=1))
    assert one.vertices == ["alice", "bob", "carol"]  # the server's visited list
    three = await graph.traverse(TraversalQuery(start="alice", max_depth=3))
    assert three.vertices == ["alice", "bob", "carol", "dan"]
    assert three.paths == [[], ["e1"], ["e4"], ["e4", "e3"]]
    assert [edge.id for edge in three.edges] == ["e1", "e4", "e3"]
    assert three.depths == {"alice": 0, "bob": 1, "carol": 1, "dan": 2}


async def test_traverse_depth_zero_and_unknown_start(graph: EmbeddedBackend) -> None:
    assert (await graph.traverse(TraversalQuery(start="alice", max_depth=0))).vertices == ["alice"]
    unknown = await graph.traverse(TraversalQuery(start="zed", max_depth=2))
    assert (unknown.vertices, unknown.edges, unknown.paths) == (["zed"], [], [[]])


async def test_traverse_min_depth_direction_and_type(graph: EmbeddedBackend) -> None:
    deep = await graph.traverse(TraversalQuery(start="alice", max_depth=2, min_depth=2))
    assert deep.vertices == ["dan"]
    assert deep.paths == [["e4", "e3"]]
    inbound = await graph.traverse(TraversalQuery(start="carol", max_depth=5, direction="in"))
    assert inbound.vertices == ["carol", "bob", "alice", "zoe"]
    anywhere = await graph.traverse(TraversalQuery(start="bob", max_depth=1, direction="any"))
    assert anywhere.vertices == ["bob", "carol", "alice"]  # outgoing first, then incoming
    knows = await graph.traverse(TraversalQuery(start="alice", max_depth=3, edge_type="knows"))
    assert knows.vertices == ["alice", "bob", "carol", "dan"]
    assert knows.paths[2] == ["e1", "e2"]
    likes = await graph.traverse(TraversalQuery(start="alice", max_depth=3, edge_type="likes"))
    assert likes.vertices == ["alice", "carol"]


@pytest.mark.parametrize(
    "query",
    [
        TraversalQuery(start="alice", max_depth=-1),
        TraversalQuery(start="alice", max_depth=1, min_depth=-1),
        TraversalQuery(start="alice", max_depth=1, min_depth=2),
        TraversalQuery(start="", max_depth=1),
        TraversalQuery(start="alice", max_depth=1, direction="sideways"),  # type: ignore[arg-type]
    ],
)
async def test_bad_traversals_are_bad_requests(
    graph: EmbeddedBackend, query: TraversalQuery
) -> None:
    with pytest.raises(ThemisBadRequest):
        await graph.traverse(query)


async def test_edges_replace_and_delete(graph: EmbeddedBackend) -> None:
    await graph.add_edge(Edge(id="e1", source="alice", target="dan"))
    assert (await graph.traverse(TraversalQuery(start="alice", max_depth=1))).vertices == [
        "alice",
        "carol",
        "dan",  # a replaced edge moves to the end of the insertion order
    ]
    await graph.delete_edge("e4")
    await graph.delete_edge("never-existed")
    assert (await graph.traverse(TraversalQuery(start="alice", max_depth=1))).vertices == [
        "alice",
        "dan",
    ]


async def test_bad_edges_are_bad_requests(backend: EmbeddedBackend) -> None:
    with pytest.raises(ThemisBadRequest, match="source"):
        await backend.add_edge(Edge(id="e", source="", target="b"))
    with pytest.raises(ThemisBadRequest, match="weight"):
        await backend.add_edge(Edge(id="e", source="a", target="b", weight=math.nan))
    with pytest.raises(ThemisBadRequest):
        await backend.add_edge(Edge(id="", source="a", target="b"))


# --- persistence --------------------------------------------------------------------------


async def test_everything_survives_a_restart(tmp_path: Path) -> None:
    settings = ThemisSettings(path=str(tmp_path / "data" / "themis.db"))
    async with EmbeddedBackend(settings) as backend:
        await backend.put_document("users", "alice", {"name": "Alice"})
        await backend.put_document_text("users", "bob", '{"name":  "Bob"}')
        await backend.upsert_vectors("docs", items(("a", [1.0, 0.0, 0.0]), ("b", [0.0, 1.0, 0.0])))
        await backend.upsert_vectors("", items(("bare", [0.0, 0.0, 1.0])))
        await backend.delete_vectors("docs", ["b"])
        await backend.add_edges([Edge(id="e1", source="a", target="b", type="t", weight=2.0)])
        await backend.add_edge(Edge(id="e2", source="a", target="c", properties={"p": [1]}))

    async with EmbeddedBackend(settings) as backend:
        assert await backend.get_document("users", "alice") == {"name": "Alice"}
        assert await backend.get_document_text("users", "bob") == '{"name":  "Bob"}'
        info = await backend.index_info()
        assert (info.dimension, info.vector_count) == (3, 2)
        hits = await backend.search_vectors([1.0, 0.0, 0.0], 5)
        assert [(hit.collection, hit.key) for hit in hits] == [("docs", "a"), ("", "bare")]
        walk = await backend.traverse(TraversalQuery(start="a", max_depth=1))
        assert walk.vertices == ["a", "b", "c"]
        assert walk.edges == [
            Edge(id="e1", source="a", target="b", type="t", weight=2.0),
            Edge(id="e2", source="a", target="c", properties={"p": [1]}),
        ]
        with pytest.raises(DimensionMismatch):
            await backend.upsert_vectors("docs", items(("c", [1.0, 0.0])))


async def test_a_configured_dimension_conflicting_with_the_file_fails_clearly(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "themis.db")
    async with EmbeddedBackend(ThemisSettings(path=path)) as backend:
        await backend.upsert_vectors("docs", items(("a", [1.0, 0.0])))
    with pytest.raises(ThemisError, match="dimension 2, but dimension = 8 is configured"):
        await EmbeddedBackend(ThemisSettings(path=path, dimension=8)).start()
    async with EmbeddedBackend(ThemisSettings(path=path, dimension=2)) as backend:
        assert (await backend.index_info()).vector_count == 1


async def test_the_sqlite_file_uses_wal(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "themis.db"
    async with EmbeddedBackend(ThemisSettings(path=str(path))) as backend:
        await backend.put_document("users", "a", {"city": "Berlin"})
        connection = sqlite3.connect(path)
        try:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            # bodies are JSON text, ready for json_extract (the later AQL layer)
            row = connection.execute(
                "SELECT json_extract(body, '$.city') FROM documents WHERE collection = 'users'"
            ).fetchone()
            assert row == ("Berlin",)
        finally:
            connection.close()


# --- concurrency --------------------------------------------------------------------------


async def test_concurrent_writes_and_reads(backend: EmbeddedBackend) -> None:
    async def writer(n: int) -> None:
        await backend.put_document("c", f"k{n}", {"n": n})
        await backend.upsert_vectors("v", items((f"k{n}", [1.0, float(n)])))
        assert await backend.get_document("c", f"k{n}") == {"n": n}  # read-your-writes

    await asyncio.gather(*(writer(n) for n in range(200)))
    assert len(await backend.get_documents("c", [f"k{n}" for n in range(200)])) == 200
    assert (await backend.index_info()).vector_count == 200
