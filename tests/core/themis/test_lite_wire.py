"""themis-lite answers the recorded requests as the real server did, where it was sensible.

`test_replay_the_recorded_server` sends the 114 requests of `server-as-released.json`, in
order and against one fresh database, minus the AQL and index ones (tests/aql replays those),
and compares each answer with the recorded one: the status code, the top-level JSON keys,
and the values wherever they are deterministic. Where the server is not sensible — it
crashes, 500s, wraps a negative k around or resets the connection — themis-lite answers
differently on purpose; `DEVIATIONS` lists each such entry with what we answer and why.
The remaining tests cover what the recording does not: auth, limits, pagination to the
end, deletes by filter, edges, and a real socket.
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.support.recordings import AS_RELEASED, load_recording, request_body
from themisgate.themis import ThemisSettings, ThemisUnavailable
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.lite import MAX_BODY_BYTES, create_lite_app

# AQL and secondary indexes are replayed by tests/aql; their entries are left out here
NOT_REPLAYED = ("/query/aql", "/api/aql", "/index/")
# values that differ between any two runs (clocks, counters, versions, threads)
VOLATILE = frozenset({"uptime_seconds", "version", "threads"})


@dataclass(frozen=True)
class Deviation:
    status: int
    reason: str
    keys: Literal["same", "superset"] = "same"


DEVIATIONS: dict[str, Deviation] = {
    "vector_search_k_negative": Deviation(
        400, "the server wraps k=-1 around to 2**64-1 and returns every vector"
    ),
    "vector_search_governance_enforce": Deviation(
        200,
        "the recording ran under a data-governance policy ('ANN blocked by classification') "
        "that its request does not show; themis-lite has no such policies",
    ),
    "get_entity_vector_doc": Deviation(
        404,
        "vectors are kept apart from entities, so documents:v1 is simply not an entity; the "
        "server answers 500 (invalid UTF-8) for the vector it filed under that key",
    ),
    "graph_edge_post": Deviation(
        201, "this server revision lacks POST /graph/edge; newer servers and themis-lite have it"
    ),
    "content_import_missing_content": Deviation(
        400, "a missing 'content' is the client's mistake: 400, not the server's 500"
    ),
    "content_get": Deviation(
        404, "themis-lite keeps the edges of an import, not the content record"
    ),
    "graph_traverse_negative_depth": Deviation(
        400, "the server answers 500 'Traversal failed' for a negative depth"
    ),
    "body_12MB_entity": Deviation(
        413, "the server resets the connection without an answer above 1 MiB"
    ),
    "put_entity_blob_not_json": Deviation(
        400, "the server stores a blob that is not JSON, then crashes a full scan over it"
    ),
    "get_entity_blob_not_json": Deviation(404, "follows from the 400 above: nothing was stored"),
    "capabilities": Deviation(
        200, "themis-lite adds what it can do (graph, aql, vector metric)", keys="superset"
    ),
}


@pytest.fixture
async def backend() -> AsyncIterator[EmbeddedBackend]:
    # the recorded server: vector index `documents`, dimension 4, cosine
    async with EmbeddedBackend(ThemisSettings(path=":memory:", dimension=4)) as started:
        yield started


@pytest.fixture
async def client(backend: EmbeddedBackend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_lite_app(backend))
    async with httpx.AsyncClient(transport=transport, base_url="http://lite") as http:
        yield http


# --- the replay ---------------------------------------------------------------------------


class Reference:
    """Independent bookkeeping of the vectors the server accepted, to check distances."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[float]] = {}

    def record_insert(self, body: dict[str, Any]) -> None:
        for item in body.get("items", []):
            vector = item.get("vector")
            if (
                isinstance(item.get("pk"), str)
                and isinstance(vector, list)
                and len(vector) == 4
                and all(isinstance(x, int | float) and not isinstance(x, bool) for x in vector)
            ):
                self.vectors[item["pk"]] = [float(x) for x in vector]

    def distance(self, query: list[float], pk: str) -> float:
        vector = self.vectors[pk]
        norms = math.hypot(*query) * math.hypot(*vector)
        if norms == 0:
            return 1.0
        return 1.0 - sum(a * b for a, b in zip(query, vector, strict=True)) / norms


def without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    return value


def check_search(
    recorded: dict[str, Any], got: dict[str, Any], query: list[float], ref: Reference
) -> None:
    """Same page shape and the same distances; where several vectors tie, the server's HNSW
    may pick another of them, so each pk is checked against its true distance instead."""
    listing = "items" if "items" in recorded else "results"
    assert {k: v for k, v in got.items() if k != listing} == {
        k: v for k, v in recorded.items() if k != listing
    }
    assert len(got[listing]) == len(recorded[listing])
    for ours, theirs in zip(got[listing], recorded[listing], strict=True):
        assert ours["distance"] == pytest.approx(theirs["distance"], abs=1e-6)
        assert ours["distance"] == pytest.approx(ref.distance(query, ours["pk"]), abs=1e-6)


def check_entry(entry: dict[str, Any], response: httpx.Response, ref: Reference) -> None:
    name, request, recorded = entry["name"], entry["request"], entry["response"]
    deviation = DEVIATIONS.get(name)
    expected_status = recorded["status"] if deviation is None else deviation.status
    assert response.status_code == expected_status, f"{name}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), name
    got = response.json()
    assert isinstance(got, dict), name

    if response.status_code >= 400:  # every error has the server's error shape
        if got.get("error") is True:
            assert set(got) == {"error", "message", "status_code"}, name
            assert got["status_code"] == response.status_code, name
        assert isinstance(got["message"], str), name
        assert got["message"], name
        if deviation is None:
            assert set(got) == set(recorded["body"]), name
        return
    if deviation is not None:
        if deviation.keys == "superset" and isinstance(recorded["body"], dict):
            assert set(got) >= set(recorded["body"]), name
        return

    body = recorded["body"]
    assert set(got) == set(body), f"{name}: keys {sorted(got)} != {sorted(body)}"
    path = request["path"]
    if path == "/stats":
        return  # counters and storage figures are this engine's own
    if path == "/vector/search":
        check_search(body, got, [float(x) for x in request["body"]["vector"]], ref)
        return
    if path.startswith("/vector/index/"):
        # exact search: themis-lite says hnswEnabled false; everything else is the server's
        assert got.pop("hnswEnabled") is False
        body = {k: v for k, v in body.items() if k != "hnswEnabled"}
    assert without_volatile(got) == without_volatile(body), name


async def test_replay_the_recorded_server(client: httpx.AsyncClient) -> None:
    entries = load_recording(AS_RELEASED)
    replayed = 0
    reference = Reference()
    for entry in entries:
        request = entry["request"]
        if request["path"].startswith(NOT_REPLAYED):
            continue
        body = request_body(request["body"])
        headers = {"content-type": "application/json"} if body is not None else {}
        response = await client.request(
            request["method"], request["path"], content=body, headers=headers
        )
        if request["path"] == "/vector/batch_insert" and response.status_code == 200:
            reference.record_insert(request["body"])
        check_entry(entry, response, reference)
        replayed += 1
    assert replayed == 77, "the recording changed: review DEVIATIONS and the count"
    assert set(DEVIATIONS) <= {entry["name"] for entry in entries}, "a deviation names no entry"


# --- what the recording does not cover ----------------------------------------------------


async def test_entities_keep_the_blob_verbatim(client: httpx.AsyncClient) -> None:
    blob = '{"name":  "Zoë",\n "n": 1.50}'
    put = await client.put("/entities/users:zoe", json={"blob": blob})
    assert put.status_code == 201
    assert put.json() == {"success": True, "key": "users:zoe", "blob_size": len(blob.encode())}
    got = await client.get("/entities/users:zoe")
    assert got.json() == {"key": "users:zoe", "blob": blob}
    decrypted = await client.get("/entities/users:zoe", params={"decrypt": "true"})
    assert decrypted.json()["entity"] == {"name": "Zoë", "n": 1.5}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ('{"blob": "[1, 2]"}', 400, "JSON object"),
        ('{"blob": 42}', 400, "must be a string"),
        ('{"key": 7, "blob": "{}"}', 400, "Field 'key'"),
        ("[1, 2]", 400, "must be a JSON object"),
        ('{"key": "users:", "blob": "{}"}', 400, "table:pk"),
    ],
)
async def test_bad_entity_writes(
    client: httpx.AsyncClient, body: str, status: int, message: str
) -> None:
    response = await client.put("/entities/users:x", content=body)
    assert response.status_code == status
    assert message in response.json()["message"]


async def test_entity_keys_with_a_slash_are_refused(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/entities/users:a%2Fb", json={"blob": "{}"})
        assert response.status_code == 400, method
        assert response.json()["message"] == "invalid entity key"


async def test_vector_pks_come_back_as_written(client: httpx.AsyncClient) -> None:
    items = [
        {"pk": "bare", "vector": [1, 0, 0, 0]},
        {"pk": "documents:x", "vector": [0.9, 0.1, 0, 0]},
        {"pk": "users:alice", "vector": [0.8, 0.2, 0, 0]},
        {"pk": "users:", "vector": [1, 0, 0, 0]},  # no key: an error, as a missing pk is
        {"pk": "nan", "vector": [1, 0, 0, 0], "fields": {"nested": {"a": 1}}},
    ]
    inserted = await client.post("/vector/batch_insert", json={"items": items})
    assert inserted.json() == {
        "inserted": 3,
        "errors": 2,
        "objectName": "documents",
        "dimension": 4,
    }
    found = await client.post("/vector/search", json={"vector": [1, 0, 0, 0], "k": 3})
    assert [hit["pk"] for hit in found.json()["results"]] == ["bare", "documents:x", "users:alice"]
    only_users = await client.post(
        "/vector/search", json={"vector": [1, 0, 0, 0], "k": 3, "collection": "users"}
    )
    assert [hit["pk"] for hit in only_users.json()["results"]] == ["users:alice"]


async def test_search_pages_to_the_end(client: httpx.AsyncClient) -> None:
    items = [{"pk": f"p{i}", "vector": [1, i, 0, 0]} for i in range(5)]
    await client.post("/vector/batch_insert", json={"items": items})
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        body = {"vector": [1, 0, 0, 0], "k": 2, "use_cursor": True, "cursor": cursor}
        page = (await client.post("/vector/search", json=body)).json()
        seen += [hit["pk"] for hit in page["items"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == [f"p{i}" for i in range(5)]
    odd = await client.post(
        "/vector/search", json={"vector": [1, 0, 0, 0], "use_cursor": True, "cursor": "x"}
    )
    assert odd.status_code == 400


async def test_delete_vectors_by_filter(client: httpx.AsyncClient) -> None:
    items = [{"pk": pk, "vector": [1, 0, 0, 0]} for pk in ("a1", "a2", "b1", "users:a3")]
    await client.post("/vector/batch_insert", json={"items": items})
    by_pks = await client.request("DELETE", "/vector/by-filter", json={"pks": ["a1", "zzz"]})
    assert by_pks.json() == {"deleted": 1, "method": "pks"}
    by_prefix = await client.request("DELETE", "/vector/by-filter", json={"prefix": "a"})
    assert by_prefix.json() == {"deleted": 1, "method": "prefix"}
    stats = await client.get("/vector/index/stats")
    assert stats.json()["vectorCount"] == 2
    nothing = await client.request("DELETE", "/vector/by-filter", json={"prefix": ""})
    assert nothing.status_code == 400


async def test_index_config(client: httpx.AsyncClient) -> None:
    changed = await client.put("/vector/index/config", json={"efSearch": 128})
    assert changed.status_code == 200
    assert changed.json()["efSearch"] == 128
    assert (await client.get("/vector/index/config")).json()["efSearch"] == 128
    assert (await client.put("/vector/index/config", json={"efSearch": 0})).status_code == 400
    assert (await client.put("/vector/index/config", json={"metric": "L2"})).status_code == 400


async def test_edges_and_traversal_options(client: httpx.AsyncClient) -> None:
    edge = {"id": "e1", "_from": "a", "_to": "b", "_type": "knows", "_weight": 2, "since": 2020}
    assert (await client.post("/graph/edge", json=edge)).json() == {"status": "ok", "edge_id": "e1"}
    generated = await client.post("/graph/edge", json={"_from": "c", "_to": "a"})
    assert generated.status_code == 201
    assert generated.json()["edge_id"]
    bad = await client.post("/graph/edge", json={"_from": "a"})
    assert bad.status_code == 400

    async def visited(**body: Any) -> list[str]:
        response = await client.post("/graph/traverse", json=body)
        assert response.status_code == 200, response.text
        result: list[str] = response.json()["visited"]
        return result

    assert await visited(start_vertex="a", max_depth=2) == ["a", "b"]
    assert await visited(start_vertex="a", max_depth=2, direction="any") == ["a", "b", "c"]
    assert await visited(start_vertex="a", max_depth=2, direction="INBOUND") == ["a", "c"]
    assert await visited(start_vertex="a", max_depth=2, min_depth=1) == ["b"]
    assert await visited(start_vertex="a", max_depth=2, edge_type="likes") == ["a"]
    deleted = await client.delete("/graph/edge/e1")
    assert deleted.json() == {"status": "ok", "edge_id": "e1"}
    assert await visited(start_vertex="a", max_depth=2) == ["a"]


async def test_content_import_refuses_chunks(client: httpx.AsyncClient) -> None:
    body = {"content": {"id": "c1"}, "chunks": [{"embedding": [1, 0, 0, 0]}]}
    response = await client.post("/content/import", json=body)
    assert response.status_code == 400
    assert "batch_insert" in response.json()["message"]


async def test_body_limit_is_one_mebibyte(client: httpx.AsyncClient) -> None:
    def body_of(size: int) -> bytes:
        head = b'{"blob": "{\\"pad\\": \\"'
        tail = b'\\"}"}'
        return head + b"p" * (size - len(head) - len(tail)) + tail

    fits = await client.put("/entities/big:one", content=body_of(MAX_BODY_BYTES))
    assert fits.status_code == 201
    too_big = await client.put("/entities/big:two", content=body_of(MAX_BODY_BYTES + 1))
    assert too_big.status_code == 413
    assert too_big.json()["status_code"] == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(17):
            yield b" " * 65536

    streamed = await client.put("/entities/big:three", content=chunks())
    assert streamed.status_code == 413


async def test_stats_count_requests_and_errors(client: httpx.AsyncClient) -> None:
    await client.get("/nope")
    await client.get("/entities/users:nobody")
    server = (await client.get("/stats")).json()["server"]
    assert server["total_requests"] == 2
    assert server["total_errors"] == 2
    assert set(server) == {
        "uptime_seconds",
        "total_requests",
        "total_errors",
        "queries_per_second",
        "threads",
    }


async def test_bearer_token(backend: EmbeddedBackend) -> None:
    app = create_lite_app(backend, token="s3cret")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lite"
    ) as client:
        assert (await client.get("/health")).status_code == 200
        missing = await client.get("/stats")
        assert missing.status_code == 401
        assert missing.json()["error"] == "missing_authorization"
        assert set(missing.json()) == {"error", "message"}
        wrong = await client.get("/", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_token"
        good = await client.get("/stats", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200


async def test_the_app_can_own_the_backend_lifespan() -> None:
    backend = EmbeddedBackend(ThemisSettings(path=":memory:"))
    app = create_lite_app(backend, manage_backend=True)
    async with AsyncTestClient(app=app) as client:
        assert (await client.put("/entities/a:b", json={"blob": "{}"})).status_code == 201
        assert (await client.get("/health")).json()["status"] == "healthy"
    with pytest.raises(ThemisUnavailable, match="not started"):  # the lifespan closed it
        await backend.health()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_lite_over_a_real_socket(tmp_path: Path) -> None:
    """Through uvicorn, an oversized upload gets its 413 instead of a connection reset."""
    port = free_port()
    code = (
        "import asyncio, sys\n"
        "from themisgate.themis.lite import serve_lite\n"
        "asyncio.run(serve_lite(sys.argv[1], '127.0.0.1', int(sys.argv[2]), 'tok',"
        " log_level='warning'))\n"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "lite.db"), str(port)],
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("themis-lite did not start listening")
        headers = {"Authorization": "Bearer tok"}
        with httpx.Client(base_url=base, headers=headers) as http:
            stored = http.put("/entities/users:alice", json={"blob": '{"name": "Alice"}'})
            assert stored.status_code == 201
            huge = http.put("/entities/users:huge", content=b'{"blob": "' + b"y" * 12_000_000)
            assert huge.status_code == 413
            assert huge.json()["error"] is True
            assert http.get("/entities/users:alice").json()["blob"] == '{"name": "Alice"}'
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal
    assert server.returncode in (0, -signal.SIGTERM), errors.decode()
    assert b"Traceback" not in errors, errors.decode()


async def test_what_themis_lite_stored_is_in_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "lite.db")
    async with EmbeddedBackend(ThemisSettings(path=path)) as backend:
        app = create_lite_app(backend)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lite") as client:
            await client.put("/entities/users:alice", json={"blob": '{"name": "Alice"}'})
            await client.post(
                "/vector/batch_insert", json={"items": [{"pk": "v1", "vector": [1, 0]}]}
            )
            await client.post("/graph/edge", json={"id": "e1", "_from": "a", "_to": "b"})
    async with EmbeddedBackend(ThemisSettings(path=path)) as reopened:
        assert await reopened.get_document("users", "alice") == {"name": "Alice"}
        assert [hit.key for hit in await reopened.search_vectors([1.0, 0.0], 1, "")] == ["v1"]
        assert (await reopened.stats())["storage"]["edges"] == 1
