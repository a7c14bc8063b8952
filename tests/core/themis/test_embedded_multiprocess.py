"""Several EmbeddedBackends on one SQLite file — as `serve --workers N` runs them, or
`themisgate load` beside a server — each see the vectors, edges and dimension the others
write: their in-memory indexes follow the `changes` log.

Two backends in one test process stand for two workers (they share nothing but the file);
one test runs the writer in a real second process to prove it across processes.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from themisgate.themis import (
    DimensionMismatch,
    Edge,
    ThemisSettings,
    TraversalQuery,
    VectorItem,
)
from themisgate.themis.embedded import EmbeddedBackend, store
from themisgate.themis.embedded import changes as changes_module


def items(*pairs: tuple[str, list[float]]) -> list[VectorItem]:
    return [VectorItem(key=key, vector=vector) for key, vector in pairs]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "shared.sqlite")


@pytest.fixture
async def a(db: str) -> AsyncIterator[EmbeddedBackend]:
    async with EmbeddedBackend(ThemisSettings(path=db)) as backend:
        yield backend


@pytest.fixture
async def b(db: str, a: EmbeddedBackend) -> AsyncIterator[EmbeddedBackend]:
    async with EmbeddedBackend(ThemisSettings(path=db)) as backend:
        yield backend


async def keys_found(backend: EmbeddedBackend, vector: list[float], collection: str) -> list[str]:
    return [hit.key for hit in await backend.search_vectors(vector, 100, collection)]


# --- vectors ------------------------------------------------------------------------------


async def test_a_vector_upserted_in_one_is_found_by_the_other(
    a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    assert await b.search_vectors([1.0, 0.0, 0.0], 5) == []  # b started before the write
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0, 0.0]), ("y", [0.0, 1.0, 0.0])))

    hits = await b.search_vectors([1.0, 0.0, 0.0], 1, "docs")
    assert [(h.collection, h.key) for h in hits] == [("docs", "x")]
    assert hits[0].distance < 1e-6
    info = await b.index_info()
    assert (info.dimension, info.vector_count) == (3, 2)

    # a replaced vector moves in b too
    await a.upsert_vectors("docs", items(("x", [0.0, 0.0, 1.0])))
    hits = await b.search_vectors([0.0, 0.0, 1.0], 1, "docs")
    assert [h.key for h in hits] == ["x"]
    assert hits[0].distance < 1e-6
    assert (await b.index_info()).vector_count == 2


async def test_a_vector_deleted_in_one_disappears_from_the_other(
    a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0]), ("y", [0.0, 1.0]), ("z", [1.0, 1.0])))
    assert sorted(await keys_found(b, [1.0, 0.0], "docs")) == ["x", "y", "z"]

    assert await a.delete_vectors("docs", ["x", "missing"]) == 1
    assert sorted(await keys_found(b, [1.0, 0.0], "docs")) == ["y", "z"]
    assert sorted(b.vector_keys()) == [("docs", "y"), ("docs", "z")]
    assert (await b.stats())["storage"]["indexed_vectors"] == 2

    # and back the other way: b deletes, a no longer finds it
    assert await b.delete_vectors("docs", ["y"]) == 1
    assert await keys_found(a, [0.0, 1.0], "docs") == ["z"]


async def test_writes_from_both_sides_interleaved_converge(
    db: str, a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    """Own writes are applied directly and foreign ones from the log, in any interleaving;
    both end up with exactly what a freshly started backend loads from the table."""
    rng = random.Random(7)
    for step in range(120):
        writer = a if rng.random() < 0.5 else b
        key = f"k{rng.randrange(25)}"
        if rng.random() < 0.7:
            vector = [rng.uniform(-1, 1) for _ in range(4)]
            await writer.upsert_vectors("c", items((key, vector)))
        else:
            await writer.delete_vectors("c", [key])
        if step % 7 == 0:  # the other side looks now and then, so it sees partial states
            other = b if writer is a else a
            await other.search_vectors([1.0, 0.0, 0.0, 0.0], 3, "c")

    async with EmbeddedBackend(ThemisSettings(path=db)) as fresh:
        expected = sorted(fresh.vector_keys())
        probe = [0.3, -0.2, 0.9, 0.1]
        expected_hits = await fresh.search_vectors(probe, 5, "c")
    for backend in (a, b):
        assert sorted(backend.vector_keys()) == expected
        hits = await backend.search_vectors(probe, 5, "c")
        assert [h.key for h in hits] == [h.key for h in expected_hits]
        assert [round(h.distance, 5) for h in hits] == [round(h.distance, 5) for h in expected_hits]


# --- the dimension ------------------------------------------------------------------------


async def test_the_dimension_fixed_by_one_is_enforced_in_the_other(
    a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    assert (await b.index_info()).dimension is None
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0, 0.0])))

    # b never searched since: its own write still checks the stored dimension
    with pytest.raises(DimensionMismatch) as raised:
        await b.upsert_vectors("docs", items(("y", [1.0, 0.0])))
    assert (raised.value.expected, raised.value.got) == (3, 2)
    assert (await b.index_info()).dimension == 3
    with pytest.raises(DimensionMismatch):
        await b.search_vectors([1.0, 0.0], 1)
    assert (await b.capabilities())["vector"]["dimension"] == 3

    # and the refused write left nothing behind anywhere
    assert await keys_found(a, [1.0, 0.0, 0.0], "docs") == ["x"]
    assert await keys_found(b, [1.0, 0.0, 0.0], "docs") == ["x"]


async def test_a_configured_dimension_reaches_a_running_process(db: str) -> None:
    async with EmbeddedBackend(ThemisSettings(path=db)) as running:
        assert (await running.index_info()).dimension is None
        async with EmbeddedBackend(ThemisSettings(path=db, dimension=5)):
            pass
        assert (await running.index_info()).dimension == 5
        with pytest.raises(DimensionMismatch):
            await running.upsert_vectors("docs", items(("x", [1.0, 2.0])))


# --- edges --------------------------------------------------------------------------------


async def test_edges_added_and_deleted_in_one_are_followed_in_the_other(
    a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    walk = await b.traverse(TraversalQuery(start="v:1", max_depth=2))
    assert walk.vertices == ["v:1"]

    await a.add_edges(
        [
            Edge(id="e1", source="v:1", target="v:2", type="knows"),
            Edge(id="e2", source="v:2", target="v:3", type="knows"),
        ]
    )
    walk = await b.traverse(TraversalQuery(start="v:1", max_depth=2))
    assert walk.vertices == ["v:1", "v:2", "v:3"]
    assert walk.paths == [[], ["e1"], ["e1", "e2"]]

    # a replaced edge is replaced in b as well
    await a.add_edge(Edge(id="e2", source="v:2", target="v:4", type="knows"))
    walk = await b.traverse(TraversalQuery(start="v:1", max_depth=2))
    assert walk.vertices == ["v:1", "v:2", "v:4"]

    await a.delete_edge("e1")
    walk = await b.traverse(TraversalQuery(start="v:1", max_depth=2))
    assert walk.vertices == ["v:1"]
    assert (await b.stats())["storage"]["graph_edges"] == 1


async def test_edges_keep_the_table_order_whoever_wrote_them(
    db: str, a: EmbeddedBackend, b: EmbeddedBackend
) -> None:
    """Neighbours are visited in insertion order; with writes from both sides, each process
    ends up with the order a fresh start reads from the table."""
    await a.add_edge(Edge(id="e1", source="hub", target="n1"))
    await b.add_edge(Edge(id="e2", source="hub", target="n2"))
    await a.add_edge(Edge(id="e3", source="hub", target="n3"))  # a has not looked at b's yet
    await b.add_edge(Edge(id="e1", source="hub", target="n1"))  # replaced: moves to the end

    query = TraversalQuery(start="hub", max_depth=1)
    async with EmbeddedBackend(ThemisSettings(path=db)) as fresh:
        expected = (await fresh.traverse(query)).vertices
    assert expected == ["hub", "n2", "n3", "n1"]
    assert (await a.traverse(query)).vertices == expected
    assert (await b.traverse(query)).vertices == expected


# --- across a real process boundary -------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from themisgate.themis import Edge, ThemisSettings, VectorItem
    from themisgate.themis.embedded import EmbeddedBackend

    async def main(path):
        async with EmbeddedBackend(ThemisSettings(path=path)) as backend:
            await backend.upsert_vectors("docs", [
                VectorItem(key="p1", vector=[1.0, 0.0, 0.0, 0.0]),
                VectorItem(key="p2", vector=[0.0, 1.0, 0.0, 0.0]),
                VectorItem(key="old", vector=[0.0, 0.0, 1.0, 0.0]),
            ])
            await backend.delete_vectors("docs", ["old"])
            await backend.add_edge(Edge(id="pe", source="docs:p1", target="docs:p2"))

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_writes_of_another_process_are_seen(db: str, a: EmbeddedBackend) -> None:
    await a.upsert_vectors("docs", items(("old", [0.0, 0.0, 1.0, 0.0])))
    assert await keys_found(a, [0.0, 0.0, 1.0, 0.0], "docs") == ["old"]

    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, db, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(writer.communicate(), timeout=120)
    assert writer.returncode == 0, stderr.decode()

    hits = await a.search_vectors([0.0, 1.0, 0.0, 0.0], 3, "docs")
    assert [h.key for h in hits] == ["p2", "p1"]  # "old" was deleted over there
    assert hits[0].distance < 1e-6
    walk = await a.traverse(TraversalQuery(start="docs:p1", max_depth=1))
    assert walk.vertices == ["docs:p1", "docs:p2"]


# --- pruning and the full reload ----------------------------------------------------------


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch, a: EmbeddedBackend, b: EmbeddedBackend) -> list[int]:
    """Counts the full reloads either backend does after its start-up."""
    calls: list[int] = []
    original = changes_module.Mirror._rebuild

    def counting(self: changes_module.Mirror, connection: sqlite3.Connection) -> None:
        calls.append(1)
        original(self, connection)

    monkeypatch.setattr(changes_module.Mirror, "_rebuild", counting)
    return calls


async def test_a_process_that_missed_pruned_changes_reloads_everything(
    db: str, a: EmbeddedBackend, b: EmbeddedBackend, rebuilds: list[int]
) -> None:
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0]), ("gone", [0.5, 0.5])))
    await a.add_edge(Edge(id="e1", source="v:1", target="v:2"))
    assert sorted(await keys_found(b, [1.0, 0.0], "docs")) == ["gone", "x"]  # b is current

    # b stops looking; a writes on, then prunes everything but the newest row
    await a.upsert_vectors("docs", items(("y", [0.0, 1.0]), ("z", [1.0, 1.0])))
    await a.delete_vectors("docs", ["gone"])
    await a.delete_edge("e1")
    await a.add_edge(Edge(id="e2", source="v:1", target="v:3"))
    assert await a.prune_changes(older_than=0) > 0
    assert rebuilds == []

    assert sorted(await keys_found(b, [1.0, 0.0], "docs")) == ["x", "y", "z"]
    assert len(rebuilds) == 1  # the gap could only be closed by a full reload
    walk = await b.traverse(TraversalQuery(start="v:1", max_depth=1))
    assert walk.vertices == ["v:1", "v:3"]
    assert sorted(b.vector_keys()) == [("docs", "x"), ("docs", "y"), ("docs", "z")]

    # after the reload, b follows the log again, change by change
    await a.upsert_vectors("docs", items(("w", [0.2, 0.8])))
    assert "w" in await keys_found(b, [0.2, 0.8], "docs")
    assert len(rebuilds) == 1


async def test_pruning_does_not_disturb_processes_that_are_current(
    db: str, a: EmbeddedBackend, b: EmbeddedBackend, rebuilds: list[int]
) -> None:
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0])))
    await a.add_edge(Edge(id="e1", source="v:1", target="v:2"))
    assert await keys_found(b, [1.0, 0.0], "docs") == ["x"]

    assert await a.prune_changes(older_than=0) == 2  # the dimension row and the vector row
    assert await a.prune_changes(older_than=0) == 0  # the newest row always stays

    await a.upsert_vectors("docs", items(("y", [0.0, 1.0])))
    assert sorted(await keys_found(b, [1.0, 0.0], "docs")) == ["x", "y"]
    assert rebuilds == []

    connection = store.connect(db, read_only=True)
    try:
        assert store.pruned_through(connection) == 2
        remaining = connection.execute("SELECT seq, kind, key, op FROM changes").fetchall()
        assert remaining == [(3, "edge", "e1", "upsert"), (4, "vector", "y", "upsert")]
    finally:
        connection.close()


async def test_recent_changes_survive_a_routine_prune(a: EmbeddedBackend) -> None:
    await a.upsert_vectors("docs", items(("x", [1.0, 0.0]), ("y", [0.0, 1.0])))
    assert await a.prune_changes() == 0  # all younger than the retention window


async def test_memory_databases_log_nothing() -> None:
    async with EmbeddedBackend(ThemisSettings(path=":memory:")) as backend:
        await backend.upsert_vectors("docs", items(("x", [1.0, 0.0])))
        await backend.add_edge(Edge(id="e1", source="v:1", target="v:2"))
        assert await backend.prune_changes(older_than=0) == 0
        assert await keys_found(backend, [1.0, 0.0], "docs") == ["x"]
        assert (await backend.traverse(TraversalQuery(start="v:1"))).vertices == ["v:1", "v:2"]
