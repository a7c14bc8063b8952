"""Soak: the assembled server under a fixed request rate for minutes, sampling its memory
(RSS) and open file descriptors, reporting growth. Not part of CI.

    uv run python bench/soak.py [--minutes 5] [--rate 200] [--plugins all|none]

A healthy server levels off: RSS grows in the first minute (caches, pools, allocator
arenas) and then stays within a few percent; file descriptors stay flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx
from http_load import free_port, server

PATHS = [
    ("GET", "/health", None),
    ("GET", "/api/v4/themis/documents/soak/d1", None),
    (
        "POST",
        "/api/v4/themis/vectors/search",
        {"collection": "soak", "query": "solar power", "top_k": 5},
    ),
    ("GET", "/no/such/route", None),
]


# every request is charged and traced, none refused: the soak watches the normal path
SETTINGS = {
    "auth": 'anonymous_scopes = ["read", "write"]\n',
    "ratelimit": 'default = "1000000/minute"\n',
    "tracing": 'exporter = "none"\nsampler = "parentbased_traceidratio"\nsampler_ratio = 0.1\n',
}


def process_tree(pid: int) -> list[int]:
    """The server and its worker processes."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # the command name may hold spaces and parentheses: fields start after the last ')'
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            if parent == pid:
                pids.append(int(entry.name))
    return pids


def sample(pid: int) -> tuple[float, int]:
    rss_kib, fds = 0, 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kib += int(line.split()[1])
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            continue
    return rss_kib / 1024, fds


async def drive(base: str, rate: float, seconds: float, server_pid: int) -> None:
    interval = 1.0 / rate
    samples: list[tuple[float, float, int]] = []
    errors = 0
    sent = 0
    started = time.monotonic()
    next_sample = started
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        while (now := time.monotonic()) - started < seconds:
            if now >= next_sample:
                rss, fds = sample(server_pid)
                samples.append((now - started, rss, fds))
                next_sample += 5
            method, path, body = PATHS[sent % len(PATHS)]
            try:
                response = await client.request(method, path, json=body)
                errors += response.status_code >= 500
            except httpx.HTTPError:
                errors += 1
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * interval - time.monotonic()))
    report(samples, sent, errors, seconds)


def report(samples: list[tuple[float, float, int]], sent: int, errors: int, seconds: float) -> None:
    print(f"{'t (s)':>7} {'RSS MiB':>9} {'fds':>5}")
    for t, rss, fds in samples:
        print(f"{t:>7.0f} {rss:>9.1f} {fds:>5}")
    warm = [s for s in samples if s[0] >= 60] or samples[len(samples) // 2 :]
    first, last = warm[0], warm[-1]
    growth = (last[1] - first[1]) / first[1] * 100 if first[1] else 0.0
    median_rss = statistics.median(s[1] for s in samples)
    print(
        f"\n{sent} requests in {seconds:.0f}s ({sent / seconds:.0f}/s), {errors} 5xx or failures\n"
        f"RSS after warm-up: {first[1]:.1f} -> {last[1]:.1f} MiB ({growth:+.1f} %); "
        f"fds {first[2]} -> {last[2]}; median RSS {median_rss:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--plugins", choices=["all", "none"], default="all")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    tables = ""
    if args.plugins == "all":
        tables = "".join(
            f"[plugins.{ep.name}]\n{SETTINGS.get(ep.name, '')}"
            for ep in entry_points(group="themisgate")
        )
    port = free_port()
    (work / "plugins.toml").write_text(
        f'[core]\nport = {port}\naccess_log = false\nlog_level = "warning"\n'
        f'[core.themis]\npath = "{work / "db.sqlite"}"\n{tables}'
    )
    command = [sys.executable, "-m", "themisgate", "serve"]
    with server(command, port, work) as base:
        httpx.put(
            f"{base}/api/v4/themis/documents/soak/d1", json={"text": "sun"}
        ).raise_for_status()
        items = [{"key": f"k{i}", "text": f"solar power plant number {i}"} for i in range(200)]
        httpx.post(
            f"{base}/api/v4/themis/vectors", json={"collection": "soak", "items": items}
        ).raise_for_status()
        pid = server_pid(port)
        asyncio.run(drive(base, args.rate, args.minutes * 60, pid))


def server_pid(port: int) -> int:
    """The process listening on `port` (the supervisor when there are workers)."""
    inode_port = f":{port:04X}"
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(inode_port) and fields[3] == "0A":
            inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(entry.name)
        except OSError:
            continue
    raise SystemExit(f"no process listens on {port}")


if __name__ == "__main__":
    main()
