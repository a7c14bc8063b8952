"""Shared helpers for benchmarks that load a real server over loopback with wrk (as
many requests as the server can take) or hey (a fixed rate).

Both come from Debian's packages of those names (`apt-get install wrk hey`). Every server
runs in its own process on 127.0.0.1; load is bounded in time and connections.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(
    command: list[str],
    port: int,
    cwd: Path,
    env: dict[str, str] | None = None,
    health: str = "/health",
) -> Iterator[tuple[str, int]]:
    """Start `command`, wait for `health` to answer 200, yield its base URL and pid, stop it."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited with {process.returncode}")
            try:
                if httpx.get(base + health, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start")
            time.sleep(0.05)
        yield base, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)


@contextlib.contextmanager
def server(command: list[str], port: int, cwd: Path, health: str = "/health") -> Iterator[str]:
    """`running`, when only the base URL matters."""
    with running(command, port, cwd, health=health) as (base, _):
        yield base


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def uvicorn_command(target: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]


class WrkResult:
    def __init__(self, rps: float, p50_ms: float, p99_ms: float) -> None:
        self.rps, self.p50_ms, self.p99_ms = rps, p50_ms, p99_ms


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match[1]) * _UNITS[match[2]]


def wrk(url: str, seconds: int = 5, connections: int = 16, threads: int = 1) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered non-2xx under load:\n{out}")
    return WrkResult(rps, p50, p99)


def hey(url: str, seconds: int, rate: int, workers: int = 10) -> WrkResult:
    """`rate` requests per second for `seconds`, from `workers` connections, each sending
    at its share of the rate: the latency of a server that is not saturated."""
    if shutil.which("hey") is None:
        raise SystemExit("hey is needed: apt-get install hey")
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(workers), "-q", str(max(1, rate // workers)), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    quantiles = {q: float(s) * 1000 for q, s in re.findall(r"(\d+)% in ([\d.]+) secs", out)}
    statuses = re.findall(r"^\s+\[(\d{3})\]\s+\d+ responses", out, re.M)
    if "Error distribution" in out or any(code != "200" for code in statuses):
        raise SystemExit(f"{url} failed or answered non-200 at {rate}/s:\n{out}")
    return WrkResult(rps, quantiles["50"], quantiles["99"])
