"""Bytecodes executed per request on `GET /api`, in process, for bare Litestar, the core,
each plugin alone and every plugin (tracing at 10 %, and at 100 %): a count that does
not depend on the machine's noise, to guide work on the hot path between the timed benchmarks.

    uv run python bench/bytecodes.py [--requests 1000] [--top 25] [--config "every plugin"]

Each configuration runs in its own process (so no two apps share a heap). The count is
what `sys.settrace` sees with opcode events on: Python-level work only. Work done in C —
msgspec, dict and string operations, contextvars, the OpenTelemetry SDK's locks — is not
in it, so a change that moves work into C counts as a saving it may not be; confirm with
`bench/plugin_costs.py`. Sampling draws from a seeded `random`, so tracing at 10 % counts
the same requests every run. `--top N` lists the functions that execute the most.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from asgi_driver import one_request, with_lifespan
from load import BARE_APP, CORE, ENDPOINT, plugin_tables

PLUGINS = plugin_tables("memory://", 0.1, "bench-bytecodes")
CONFIGURATIONS = {
    "bare litestar": None,
    "core only": "",
    **PLUGINS,
    "every plugin": "".join(PLUGINS.values()),
    "every plugin, 100 %": "".join(plugin_tables("memory://", 1.0, "bench-bytecodes").values()),
}


def build_app(label: str, work: Path) -> Any:
    tables = CONFIGURATIONS[label]
    if tables is None:
        (work / "bare_app.py").write_text(BARE_APP)
        sys.path.insert(0, str(work))
        import bare_app  # type: ignore[import-not-found]

        return bare_app.app
    from themisgate.app import create_app
    from themisgate.config import load_settings

    path = work / "plugins.toml"
    path.write_text(f'{CORE}[core.themis]\npath = ":memory:"\n{tables}')
    return create_app(load_settings(str(path)))


def where(code: CodeType) -> str:
    name = code.co_filename
    for marker in ("site-packages/", "/plugins/", "/core/", "/lib/python3"):
        if marker in name:
            name = name.split(marker, 1)[1]
            break
    return f"{code.co_qualname} ({name}:{code.co_firstlineno})"


def count(label: str, requests: int, top: int) -> dict[str, Any]:
    """Run in the child process: the counts for one configuration."""
    app = build_app(label, Path(tempfile.mkdtemp()))
    executed: collections.Counter[CodeType] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            executed[frame.f_code] += 1
        return tracer

    async def body() -> None:
        for _ in range(300):  # first requests build caches; they are not the steady state
            await one_request(app, ENDPOINT)
        random.seed(1)
        sys.settrace(tracer)
        try:
            for _ in range(requests):
                await one_request(app, ENDPOINT)
        finally:
            sys.settrace(None)

    asyncio.run(with_lifespan(app, body))
    return {
        "per_request": sum(executed.values()) / requests,
        "top": [(where(code), n / requests) for code, n in executed.most_common(top)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--config", choices=list(CONFIGURATIONS), action="append")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(count(args.child, args.requests, args.top)))
        return
    results = {}
    for label in args.config or list(CONFIGURATIONS):
        child = [sys.executable, __file__, "--child", label, "--requests", str(args.requests)]
        done = subprocess.run([*child, "--top", str(args.top)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{label}: {done.stderr}")
        results[label] = json.loads(done.stdout.splitlines()[-1])
    bare = results.get("bare litestar", {}).get("per_request")
    core = results.get("core only", {}).get("per_request")
    print(f"{'configuration':<20} {'bytecodes/request':>18} {'over core':>10} {'vs bare':>8}")
    for label, result in results.items():
        value = result["per_request"]
        over = f"{value - core:+10.0f}" if core else f"{'':>10}"
        ratio = f"{value / bare:7.2f}x" if bare else ""
        print(f"{label:<20} {value:>18.0f} {over} {ratio}")
        for name, n in result["top"]:
            print(f"    {n:8.1f}  {name}")


if __name__ == "__main__":
    main()
