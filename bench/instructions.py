"""Machine instructions executed per request on `GET /api`, in process, for bare Litestar,
the core, each plugin alone and every plugin (tracing at 10 %, and at 100 %): everything
the CPU does for a request — the interpreter, C extensions, allocation, OpenTelemetry's
and prometheus-client's C-level work — counted by valgrind, so neither this machine's
noise nor a neighbour's load can move it.

    uv run python bench/instructions.py [--config "every plugin"] [--jobs 2]

`bench/bytecodes.py` counts Python bytecodes only and is quick; this is the slower, whole
count (valgrind runs code about 50 times slower: a few minutes per configuration). Each
configuration runs twice under `valgrind --tool=callgrind`, with 100 and 600 requests after
the same warm-up, and the difference of the main thread's totals is divided by 500: start-up,
warm-up and shutdown cancel out, and other threads (OpenBLAS's pool, exporters) are not
counted. Hash seeds, the sampling draw and OpenBLAS's threads are fixed; what remains moves
a count by about 1 %. valgrind comes from Debian (`apt-get install valgrind`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from asgi_driver import one_request, with_lifespan
from bytecodes import CONFIGURATIONS, build_app
from load import ENDPOINT

FEW, MANY = 100, 600
WARM_UP = 300


def run_requests(label: str, requests: int) -> None:
    """In the child process under valgrind: warm up, then `requests` requests."""
    app = build_app(label, Path(tempfile.mkdtemp()))

    async def body() -> None:
        for _ in range(WARM_UP):  # caches built, as in a server that has run a while
            await one_request(app, ENDPOINT)
        random.seed(1)
        gc.collect()
        gc.freeze()
        for _ in range(requests):
            await one_request(app, ENDPOINT)

    asyncio.run(with_lifespan(app, body))


def main_thread_instructions(label: str, requests: int, work: Path) -> int:
    # valgrind expands % in file names: keep letters and digits
    out = work / f"{re.sub('[^a-z0-9]+', '-', label)}.{requests}.callgrind"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--child",
        label,
        "--requests",
        str(requests),
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{label}: valgrind failed:\n{done.stderr[-2000:]}")
    # with --separate-threads, the main thread's profile is the one ending in -01
    for line in Path(f"{out}-01").read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"{label}: no totals in {out}-01")


def per_request(label: str, work: Path) -> float:
    few = main_thread_instructions(label, FEW, work)
    many = main_thread_instructions(label, MANY, work)
    return (many - few) / (MANY - FEW)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", choices=list(CONFIGURATIONS), action="append")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=FEW, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_requests(args.child, args.requests)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    labels = args.config or list(CONFIGURATIONS)
    work = Path(tempfile.mkdtemp())
    with ThreadPoolExecutor(args.jobs) as pool:
        counts = dict(
            zip(labels, pool.map(lambda label: per_request(label, work), labels), strict=True)
        )
    shutil.rmtree(work, ignore_errors=True)
    bare, core = counts.get("bare litestar"), counts.get("core only")
    print(f"{'configuration':<20} {'instructions/request':>21} {'over core':>10} {'vs bare':>8}")
    for label, value in counts.items():
        over = f"{value - core:+10.0f}" if core else f"{'':>10}"
        ratio = f"{value / bare:7.2f}x" if bare else ""
        print(f"{label:<20} {value:>21.0f} {over} {ratio}")


if __name__ == "__main__":
    main()
