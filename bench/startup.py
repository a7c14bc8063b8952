"""Start-up: `themisgate serve` to the first 200 on /health, with every plugin that is
installed enabled, relative to uvicorn serving a bare Litestar app, in the same run.

    uv run python bench/startup.py [--runs 5]

Target: at most 1.5 s for themisgate with all first-party plugins.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx
from http_load import free_port

BARE_APP = """
from litestar import Litestar, get

@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}

app = Litestar([health])
"""


def time_to_first_200(command: list[str], port: int, cwd: Path) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/health"
        while time.perf_counter() - started < 30:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(url, timeout=0.5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.01)
        raise SystemExit(f"{command} did not answer within 30 s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


def compile_bytecode() -> None:
    """Deployments run from compiled bytecode (the Dockerfile sets UV_COMPILE_BYTECODE); an
    environment with PYTHONDONTWRITEBYTECODE would otherwise compile every module at every
    start and measure the compiler, not the server."""
    roots = [p for p in sys.path if p.endswith("site-packages")]
    roots += [str(Path(__file__).resolve().parents[1] / d) for d in ("core", "plugins", "examples")]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *roots],
        stdout=subprocess.DEVNULL,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compile_bytecode()
    workdir = Path(tempfile.mkdtemp())
    (workdir / "bare_app.py").write_text(BARE_APP)
    plugins = sorted(ep.name for ep in entry_points(group="themisgate"))
    tables = "".join(f"[plugins.{name}]\n" for name in plugins)

    bare, gate = [], []
    for _ in range(args.runs):
        port = free_port()
        bare.append(
            time_to_first_200(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bare_app:app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                port,
                workdir,
            )
        )
        port = free_port()
        (workdir / "plugins.toml").write_text(
            f'[core]\nport = {port}\n[core.themis]\npath = "{workdir / "db.sqlite"}"\n{tables}'
        )
        gate.append(time_to_first_200([sys.executable, "-m", "themisgate", "serve"], port, workdir))

    bare_s, gate_s = statistics.median(bare), statistics.median(gate)
    print(f"plugins enabled: {', '.join(plugins) or 'none'}")
    print(f"bare litestar + uvicorn : {bare_s:.3f} s (median of {args.runs})")
    print(
        f"themisgate serve        : {gate_s:.3f} s ({gate_s / bare_s:.2f}x bare; target <= 1.5 s)"
    )


if __name__ == "__main__":
    main()
