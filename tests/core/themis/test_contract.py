"""One contract, every backend: the embedded engine, the HTTP backend against themis-lite
over a real socket, and the HTTP backend against a real ThemisDB when THEMIS_URL is set
(e.g. THEMIS_URL=http://127.0.0.1:8765 THEMIS_TOKEN=… uv run pytest -k contract)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, themis_lite
from themisgate.secrets import Secret
from themisgate.themis import (
    DimensionMismatch,
    Edge,
    ThemisBackend,
    ThemisBadRequest,
    ThemisSettings,
    TraversalQuery,
    VectorItem,
)
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.http import HttpBackend

BACKENDS = ["embedded", "http-lite"] + (["http-real"] if os.environ.get("THEMIS_URL") else [])


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("lite")
    server = themis_lite(work, work / "lite.sqlite").start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, lite_server: ServerProcess
) -> AsyncIterator[ThemisBackend]:
    kind = request.param
    if kind == "embedded":
        backend: ThemisBackend = EmbeddedBackend(ThemisSettings(path=str(tmp_path / "db.sqlite")))
    elif kind == "http-lite":
        backend = HttpBackend(ThemisSettings(backend="http", url=lite_server.url))
    else:
        token = os.environ.get("THEMIS_TOKEN")
        backend = HttpBackend(
            ThemisSettings(
                backend="http", url=os.environ["THEMIS_URL"], token=Secret(token) if token else None
            )
        )
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def coll() -> str:
    """A fresh collection per test: backends over a server share one database."""
    return "c" + uuid.uuid4().hex[:12]


async def test_documents_round_trip(backend: ThemisBackend, coll: str) -> None:
    await backend.put_document(coll, "alice", {"name": "Alice", "age": 30, "tags": ["a"]})
    assert await backend.get_document(coll, "alice") == {"name": "Alice", "age": 30, "tags": ["a"]}
    await backend.put_document(coll, "alice", {"name": "Alice", "age": 31})
    assert await backend.get_document(coll, "alice") == {"name": "Alice", "age": 31}
    assert await backend.get_document(coll, "nobody") is None
    await backend.put_document(coll, "bob", {"name": "Bob"})
    found = await backend.get_documents(coll, ["alice", "bob", "nobody"])
    assert set(found) == {"alice", "bob"}
    await backend.delete_document(coll, "alice")
    await backend.delete_document(coll, "alice")  # deleting what is gone is fine
    assert await backend.get_document(coll, "alice") is None


async def test_vector_search_is_cosine_nearest_first_within_a_collection(
    backend: ThemisBackend, coll: str
) -> None:
    other = coll + "x"
    index = await backend.index_info()
    dimension = index.dimension or 4

    def vec(*head: float) -> list[float]:
        return [*head, *([0.0] * (dimension - len(head)))]

    await backend.upsert_vectors(
        coll,
        [
            VectorItem("east", vec(1, 0)),
            VectorItem("north", vec(0, 1)),
            VectorItem("northeast", vec(1, 1)),
        ],
    )
    await backend.upsert_vectors(other, [VectorItem("east", vec(1, 0.01))])
    hits = await backend.search_vectors(vec(1, 0.1), 2, coll)
    assert [(h.collection, h.key) for h in hits] == [(coll, "east"), (coll, "northeast")]
    assert hits[0].distance < hits[1].distance
    assert abs(hits[0].score - (1 - hits[0].distance)) < 1e-9
    everything = await backend.search_vectors(vec(1, 0.1), 100, coll)
    assert {h.key for h in everything} == {"east", "north", "northeast"}

    await backend.delete_vectors(coll, ["east"])
    after = await backend.search_vectors(vec(1, 0.1), 3, coll)
    assert "east" not in {h.key for h in after}


async def test_vector_rules_match_the_server(backend: ThemisBackend, coll: str) -> None:
    index = await backend.index_info()
    dimension = index.dimension or 4
    await backend.upsert_vectors(coll, [VectorItem("v", [1.0] * dimension)])
    with pytest.raises(DimensionMismatch):
        await backend.search_vectors([1.0] * (dimension + 1), 1, coll)
    with pytest.raises(ThemisBadRequest):
        await backend.search_vectors([1.0] * dimension, 0, coll)
    with pytest.raises(ThemisBadRequest):
        await backend.search_vectors([1.0] * dimension, -1, coll)


async def test_graph_traversal_is_bfs_from_the_start(backend: ThemisBackend, coll: str) -> None:
    a, b, c, d = (f"{coll}:{n}" for n in "abcd")
    for source, target in [(a, b), (a, c), (c, d)]:
        await backend.add_edge(
            Edge(id=f"{coll}-{source[-1]}{target[-1]}", source=source, target=target, type="knows")
        )
    one = await backend.traverse(TraversalQuery(start=a, max_depth=1))
    assert one.vertices[0] == a
    assert set(one.vertices) == {a, b, c}
    two = await backend.traverse(TraversalQuery(start=a, max_depth=3))
    assert set(two.vertices) == {a, b, c, d}
    assert two.vertices.index(d) > two.vertices.index(c)
    alone = await backend.traverse(TraversalQuery(start=f"{coll}:zed", max_depth=2))
    assert alone.vertices == [f"{coll}:zed"]
    with pytest.raises(ThemisBadRequest):
        await backend.traverse(TraversalQuery(start=a, max_depth=-1))


async def test_health_and_stats(backend: ThemisBackend) -> None:
    health = await backend.health()
    assert health.status == "healthy"
    stats = await backend.stats()
    assert "server" in stats
