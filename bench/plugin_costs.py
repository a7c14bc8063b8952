"""What each first-party plugin costs a request: the server process's CPU time per request
(from /proc, so other load on the machine does not count) on `GET /api` under wrk, for
bare Litestar, the core alone, the core with each plugin alone, and every plugin at once.
Configurations are interleaved over passes and each keeps its cheapest.

    uv run python bench/plugin_costs.py [--seconds 4] [--connections 32] [--passes 2]

Settings are those of bench/load.py: the memory rate limiter with a limit no request
reaches, tracing at parent-based 10 % exporting nowhere.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from http_load import cpu_seconds, free_port, running, uvicorn_command, wrk
from load import BARE_APP, CORE, ENDPOINT, plugin_tables

PLUGINS = plugin_tables("memory://", 0.1, "bench-plugin-costs")


def cpu_per_request(command: list[str], port: int, work: Path, seconds: int, conns: int) -> float:
    """Server CPU µs per request under wrk."""
    with running(command, port, work) as (base, pid):
        wrk(base + ENDPOINT, 1, conns)  # warm up
        before = cpu_seconds(pid)
        result = wrk(base + ENDPOINT, seconds, conns)
        used = cpu_seconds(pid) - before
    return used / (result.rps * seconds) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    (work / "bare_app.py").write_text(BARE_APP)
    configurations = {"core only": "", **PLUGINS, "every plugin": "".join(PLUGINS.values())}
    best: dict[str, float] = {}

    def keep(label: str, value: float) -> None:
        best[label] = min(best.get(label, value), value)

    for _ in range(args.passes):
        port = free_port()
        bare = uvicorn_command("bare_app:app", port)
        keep("bare litestar", cpu_per_request(bare, port, work, args.seconds, args.connections))
        for label, tables in configurations.items():
            port = free_port()
            (work / "plugins.toml").write_text(
                f'{CORE}port = {port}\n[core.themis]\npath = "{work / "db.sqlite"}"\n{tables}'
            )
            command = [sys.executable, "-m", "themisgate", "serve"]
            keep(label, cpu_per_request(command, port, work, args.seconds, args.connections))
    bare, core = best["bare litestar"], best["core only"]
    print(f"{'configuration':<16} {'CPU µs/request':>15} {'over core':>10} {'vs bare':>8}")
    for label, value in best.items():
        print(f"{label:<16} {value:>15.1f} {value - core:>+10.1f} {value / bare:>7.2f}x")


if __name__ == "__main__":
    main()
