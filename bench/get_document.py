"""GET one document through the full HTTP stack (uvicorn, the core pipeline, the embedded
backend; no plugins) relative to a bare Litestar handler returning a constant dict,
both under the same wrk load in the same run.

    uv run python bench/get_document.py [--seconds 5] [--connections 16]

Target: at least 0.5x the bare throughput.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx
from http_load import free_port, server, uvicorn_command, wrk

BARE_APP = """
from litestar import Litestar, get

@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}

@get("/doc")
async def doc() -> dict[str, object]:
    return {"collection": "docs", "key": "d1", "document": {"title": "A document", "year": 2024}}

app = Litestar([health, doc])
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    (work / "bare_app.py").write_text(BARE_APP)
    (work / "plugins.toml").write_text(
        '[core]\naccess_log = false\nlog_level = "warning"\n'
        f'[core.themis]\npath = "{work / "db.sqlite"}"\n'
    )

    port = free_port()
    with server(uvicorn_command("bare_app:app", port), port, work) as base:
        bare = wrk(f"{base}/doc", args.seconds, args.connections)

    port = free_port()
    command = [sys.executable, "-m", "themisgate", "serve", "--port", str(port)]
    with server(command, port, work) as base:
        doc = {"title": "A document", "year": 2024}
        httpx.put(f"{base}/api/v4/themis/documents/docs/d1", json=doc).raise_for_status()
        gate = wrk(f"{base}/api/v4/themis/documents/docs/d1", args.seconds, args.connections)

    print(f"{'server':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for label, result in (
        ("bare litestar, constant dict", bare),
        ("themisgate GET document", gate),
    ):
        print(f"{label:<34} {result.rps:>9.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f}")
    ratio, p99 = gate.rps / bare.rps, gate.p99_ms / bare.p99_ms
    print(f"\nthroughput ratio {ratio:.2f}x bare (target >= 0.5x); p99 ratio {p99:.2f}x")


if __name__ == "__main__":
    main()
