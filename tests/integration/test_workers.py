"""`themisgate serve --workers 2` on one embedded SQLite file: whichever worker a write
went through, every worker's searches and traversals see it at once — and so do they see
what `themisgate load` writes while the server runs."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import THEMISGATE, ServerProcess, themisgate

DIMENSION = 16
MIN_ROUNDS = 8


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    settings = f'[core.themis]\npath = "{tmp_path / "themis.sqlite"}"\n'
    process = themisgate(tmp_path, settings)
    process.command = [*process.command, "--workers", "2"]
    process.start()
    try:
        yield process
    finally:
        process.stop()


def fresh(server: ServerProcess) -> httpx.Client:
    """A client on a new TCP connection: the kernel may hand it to either worker."""
    return httpx.Client(base_url=server.url, timeout=10)


def one_hot(i: int) -> list[float]:
    return [1.0 if j == i else 0.0 for j in range(DIMENSION)]


def test_every_worker_finds_what_any_worker_wrote(server: ServerProcess) -> None:
    pids: set[int] = set()
    cross_worker_reads = 0
    rounds = 0
    deadline = time.monotonic() + 60
    # a few rounds at least, and on until both workers have answered and at least one read
    # was served by a worker other than the one the write went through
    while rounds < MIN_ROUNDS or len(pids) < 2 or cross_worker_reads == 0:
        assert time.monotonic() < deadline, (pids, cross_worker_reads, server.output())
        i = rounds % DIMENSION
        key = f"v{rounds}"
        with fresh(server) as client:
            writer = client.get("/health").json()["pid"]
            body = {"collection": "notes", "items": [{"key": key, "vector": one_hot(i)}]}
            assert client.post("/api/v4/themis/vectors", json=body).status_code == 200
            edge = {"id": f"e{rounds}", "from": f"n{rounds}", "to": f"n{rounds + 1}"}
            assert client.post("/api/v4/themis/graph/edges", json=edge).status_code == 201

        for _ in range(6):
            with fresh(server) as client:
                reader = client.get("/health").json()["pid"]
                search = {"collection": "notes", "vector": one_hot(i), "top_k": 1}
                response = client.post("/api/v4/themis/vectors/search", json=search)
                assert response.status_code == 200, response.text
                hits = response.json()["results"]
                assert [h["id"] for h in hits] == [key], (writer, reader, hits)
                walk = client.post(
                    "/api/v4/themis/graph/traverse",
                    json={"start": f"n{rounds}", "max_depth": 1},
                )
                assert walk.json()["vertices"] == [f"n{rounds}", f"n{rounds + 1}"]
            pids.add(reader)
            cross_worker_reads += reader != writer
        rounds += 1

    assert len(pids) == 2
    assert server.process is not None
    assert server.process.pid not in pids  # the supervisor does not serve; its workers do


def test_workers_see_what_themisgate_load_writes_meanwhile(
    server: ServerProcess, tmp_path: Path
) -> None:
    lines = [{"id": f"d{n}", "text": f"document number {n} about topic {n * 7}"} for n in range(40)]
    data = tmp_path / "docs.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))

    # both workers have built their indexes (from an empty file) before the load runs
    pids: set[int] = set()
    deadline = time.monotonic() + 30
    while len(pids) < 2:
        assert time.monotonic() < deadline, pids
        with fresh(server) as client:
            pids.add(client.get("/health").json()["pid"])
            probe = {"collection": "docs", "query": "anything", "top_k": 1}
            assert client.post("/api/v4/themis/vectors/search", json=probe).status_code == 200

    done = subprocess.run(
        [*THEMISGATE, "load", str(data), "--collection", "docs", "--batch-size", "16"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    answered: set[int] = set()
    for n in range(0, 40, 2):
        with fresh(server) as client:
            answered.add(client.get("/health").json()["pid"])
            search = {"collection": "docs", "query": lines[n]["text"], "top_k": 1}
            response = client.post("/api/v4/themis/vectors/search", json=search)
            assert response.status_code == 200, response.text
            assert [h["id"] for h in response.json()["results"]] == [f"d{n}"]
    # the same two workers, not a restarted one that would have loaded everything afresh
    assert answered <= pids
