"""A write the API acknowledged survives a clean restart and a kill -9 of the server."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.support.processes import themisgate


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "kill-9"])
def test_acknowledged_writes_survive(tmp_path: Path, stop: signal.Signals) -> None:
    settings = f'[core.themis]\npath = "{tmp_path / "themis.sqlite"}"\n'
    server = themisgate(tmp_path, settings).start()
    acknowledged = []
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for i in range(25):
                response = client.put(f"/api/v4/themis/documents/notes/n{i}", json={"n": i})
                assert response.status_code == 200
                acknowledged.append(i)
            vectors = {"collection": "notes", "items": [{"key": "v1", "vector": [0.5, 0.5, 0.1]}]}
            assert client.post("/api/v4/themis/vectors", json=vectors).status_code == 200
    finally:
        server.stop(stop)

    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for i in acknowledged:
                response = client.get(f"/api/v4/themis/documents/notes/n{i}")
                assert response.status_code == 200, (i, response.text)
                assert response.json()["document"] == {"n": i}
            search = {"collection": "notes", "vector": [0.5, 0.5, 0.1], "top_k": 1}
            hits = client.post("/api/v4/themis/vectors/search", json=search).json()["results"]
            assert [h["id"] for h in hits] == ["v1"]
    finally:
        server.stop()
