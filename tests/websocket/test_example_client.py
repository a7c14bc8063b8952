"""examples/ws_client.py against a real server: a search prints each result as it comes,
and a broadcast it sends reaches another client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import websockets

from tests.support.processes import running

from .support import DOCUMENTS, websocket_server

CLIENT = Path(__file__).parents[2] / "examples" / "ws_client.py"


def run_client(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], capture_output=True, text=True, timeout=60
    )


async def test_the_example_client_searches_and_broadcasts(tmp_path: Path) -> None:
    with running(websocket_server(tmp_path, {})) as server:
        items = [{"key": key, "text": text} for key, text in DOCUMENTS]
        async with httpx.AsyncClient() as http:
            seeded = await http.post(
                f"{server.url}/api/v4/themis/vectors",
                json={"collection": "documents", "items": items},
            )
        assert seeded.status_code == 200

        searched = run_client("--url", server.url, "search", "solar", "--top-k", "3")
        assert searched.returncode == 0, searched.stderr
        lines = searched.stdout.splitlines()
        assert [line.split()[0] for line in lines[:3]] == ["1/3", "2/3", "3/3"]
        assert lines[-1] == "3 results"

        listen_url = server.url.replace("http://", "ws://") + "/api/v4/ws/search?client_id=ear"
        async with websockets.connect(listen_url) as ear:
            await ear.recv()  # connected
            sent = run_client(
                "--url", server.url, "--client-id", "mouth", "broadcast", '{"text": "hi"}'
            )
            assert sent.returncode == 0, sent.stderr
            while (frame := json.loads(await ear.recv()))["type"] != "broadcast":
                pass
        assert frame == {"type": "broadcast", "from": "mouth", "message": {"text": "hi"}}
