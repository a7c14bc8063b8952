"""How many WebSocket connections one themisgate process holds, and how long a broadcast
takes to reach 1,000 of them, relative to a bare Litestar WebSocket app measured in the
same run.

1. connections: open N connections (default 1000, then 2000, 4000) to each server, check
   every one is alive (a broadcast must reach them all), and report the time to open
   them and the server's resident memory per connection;
2. broadcast latency: one client sends a broadcast; the time until each of the 1,000
   receivers has it (one clock: all clients live in this process), p50 and p99 over
   every receiver of every round.

The baseline is a bare Litestar app: a WebSocket route that echoes, and fans a message
out to every connected socket with a plain loop (no queues, limits, identity, events or
Redis). themisgate runs with the websocket plugin on its defaults (in memory), limits
raised so one client address may hold every connection. Both run under uvicorn (uvloop,
httptools) in their own process; the clients share this one, so on a 2-core machine
client and server compete for the CPU alike for both.

    uv run python bench/websocket_broadcast.py [--connections 1000,2000,4000] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import websockets
from http_load import free_port, uvicorn_command
from websockets.asyncio.client import ClientConnection

BASELINE_APP = """
from litestar import Litestar, WebSocket, get, websocket

clients: set[WebSocket] = set()


@websocket("/ws")
async def socket(socket: WebSocket) -> None:
    await socket.accept()
    clients.add(socket)
    try:
        while True:
            text = await socket.receive_text()
            if text.startswith('{"broadcast"'):
                for other in tuple(clients):
                    await other.send_text(text)
            else:
                await socket.send_text(text)
    except Exception:
        pass
    finally:
        clients.discard(socket)


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([socket, health])
"""

THEMISGATE_SETTINGS = """
[core]
access_log = false
log_level = "warning"
[core.themis]
backend = "embedded"
path = ":memory:"
[plugins.websocket]
max_connections_per_identity = 100000
idle_timeout_seconds = 0
# the bench closes thousands of clients at once; announcing each departure to every
# other client is N² frames the bare app does not send
announce_disconnects = false
"""


def raise_open_files(wanted: int = 65536) -> int:
    """Sockets are files: lift the soft limit as far as the hard one allows (children
    inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def started(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = int(command[command.index("--port") + 1])
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command} exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{command} did not start")
            time.sleep(0.05)
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


class Server:
    """How to talk to one of the two servers."""

    def __init__(self, label: str, url: str, pid: int, themisgate: bool) -> None:
        self.label, self.url, self.pid, self.themisgate = label, url, pid, themisgate

    def socket_url(self, n: int) -> str:
        if self.themisgate:
            return f"{self.url}/api/v4/ws/search?client_id=c{n}"
        return f"{self.url}/ws"

    def broadcast(self, round_: int) -> str:
        if self.themisgate:
            return json.dumps({"action": "broadcast", "message": {"round": round_}})
        return json.dumps({"broadcast": True, "round": round_})

    @staticmethod
    def round_of(text: str | bytes) -> int | None:
        frame = json.loads(text)
        if frame.get("type") == "broadcast":
            return int(frame["message"]["round"])
        if frame.get("broadcast"):
            return int(frame["round"])
        return None


class Round:
    """One broadcast in flight: when it was sent, and when the last receiver had it."""

    def __init__(self, number: int, receivers: int) -> None:
        self.number = number
        self.waiting = receivers
        self.done = asyncio.Event()


class Receiver:
    def __init__(self, ws: ClientConnection, rounds: dict[int, Round]) -> None:
        self.ws = ws
        self.rounds = rounds
        self.arrivals: dict[int, float] = {}
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in self.ws:
                arrived = time.perf_counter()
                number = Server.round_of(message)
                if number is None:
                    continue
                self.arrivals[number] = arrived
                pending = self.rounds.get(number)
                if pending is not None:
                    pending.waiting -= 1
                    if pending.waiting == 0:
                        pending.done.set()


@contextlib.asynccontextmanager
async def connected(server: Server, count: int) -> AsyncIterator[tuple[list[Receiver], float]]:
    """`count` open connections (opened 100 at a time) and the seconds it took."""
    async with contextlib.AsyncExitStack() as stack:
        sockets: list[ClientConnection] = []
        began = time.perf_counter()
        for first in range(0, count, 100):
            batch = await asyncio.gather(
                *(
                    stack.enter_async_context(
                        websockets.connect(
                            server.socket_url(n),
                            open_timeout=60,
                            ping_interval=None,
                            compression=None,
                        )
                    )
                    for n in range(first, min(count, first + 100))
                )
            )
            sockets.extend(batch)
        opened = time.perf_counter() - began
        rounds: dict[int, Round] = {}
        receivers = [Receiver(ws, rounds) for ws in sockets]
        try:
            yield receivers, opened
        finally:
            # close while the receivers still read, so no close waits behind unread frames
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            for receiver in receivers:
                receiver.task.cancel()


async def broadcast_round(
    sender: ClientConnection, server: Server, receivers: list[Receiver], number: int
) -> list[float]:
    """Send one broadcast; each receiver's latency in seconds (fails if one misses it)."""
    pending = Round(number, len(receivers))
    receivers[0].rounds[number] = pending
    sent = time.perf_counter()
    await sender.send(server.broadcast(number))
    try:
        async with asyncio.timeout(30):
            await pending.done.wait()
    except TimeoutError:
        raise SystemExit(
            f"{server.label}: {pending.waiting} receivers missed round {number}"
        ) from None
    finally:
        del receivers[0].rounds[number]
    return [r.arrivals.pop(number) - sent for r in receivers]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


async def holding(server: Server, counts: list[int]) -> dict[int, dict[str, float]]:
    """For each count: open that many connections, check each is alive (a broadcast
    reaches them all), note the time to open them and the server's memory."""
    found = {}
    idle_rss = rss_mib(server.pid)
    for count in counts:
        async with connected(server, count) as (receivers, opened):
            await broadcast_round(receivers[0].ws, server, receivers, -count)
            rss = rss_mib(server.pid)
            found[count] = {
                "open_seconds": opened,
                "rss_mib": rss,
                "kib_per_connection": (rss - idle_rss) * 1024 / count,
            }
        await asyncio.sleep(1)  # let the server forget the closed connections
    return found


async def latency(servers: list[Server], count: int, rounds: int) -> dict[str, dict[str, float]]:
    """Broadcast latency to `count` clients of each server, rounds interleaved so a noisy
    neighbour hurts both alike."""
    samples: dict[str, list[float]] = {s.label: [] for s in servers}
    cpu: dict[str, float] = {s.label: 0.0 for s in servers}
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(connected(s, count)) for s in servers]
        for number in range(rounds + 3):
            for server, (receivers, _) in zip(servers, clients, strict=True):
                before = cpu_seconds(server.pid)
                latencies = await broadcast_round(receivers[0].ws, server, receivers, number)
                if number >= 3:  # the first rounds warm up
                    samples[server.label] += latencies
                    cpu[server.label] += cpu_seconds(server.pid) - before
                await asyncio.sleep(0.01)
    return {
        label: {
            "p50_ms": percentile(values, 0.5) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000,
            "samples": len(values),
            # the server's own cost (the clients' share of the CPU is not in it)
            "server_cpu_ms": cpu[label] / rounds * 1000,
        }
        for label, values in samples.items()
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", default="1000,2000,4000")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    counts = [int(c) for c in args.connections.split(",")]
    limit = raise_open_files()
    print(f"open files allowed: {limit}; connections: {counts}; latency at {counts[0]}")

    holds: dict[str, dict[int, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as work, contextlib.ExitStack() as stack:
        folder = Path(work)
        (folder / "bare_litestar.py").write_text(BASELINE_APP)
        (folder / "plugins.toml").write_text(THEMISGATE_SETTINGS)
        env = {**os.environ, "THEMISGATE_CONFIG": str(folder / "plugins.toml")}
        servers = []
        for label, target, is_themisgate in (
            ("bare litestar", ["bare_litestar:app"], False),
            ("themisgate", ["themisgate.app:create_app_from_env", "--factory"], True),
        ):
            command = uvicorn_command(target[0], free_port()) + target[1:]
            base, pid = stack.enter_context(started(command, folder, env))
            servers.append(Server(label, base.replace("http://", "ws://"), pid, is_themisgate))
        for server in servers:
            holds[server.label] = await holding(server, counts)
        latencies = await latency(servers, counts[0], args.rounds)

    print("\nconnections held        open s   server RSS MiB   KiB/connection")
    for label, found in holds.items():
        for count, held in found.items():
            print(
                f"  {label:<14} {count:>6} {held['open_seconds']:>8.2f} {held['rss_mib']:>14.1f}"
                f" {held['kib_per_connection']:>14.1f}"
            )
    print(
        f"\nbroadcast to {counts[0]} clients   p50 ms    p99 ms   samples   server CPU ms/broadcast"
    )
    for label, found_latency in latencies.items():
        print(
            f"  {label:<22} {found_latency['p50_ms']:>8.2f} {found_latency['p99_ms']:>9.2f}"
            f" {found_latency['samples']:>9} {found_latency['server_cpu_ms']:>12.2f}"
        )
    bare, ours = latencies["bare litestar"], latencies["themisgate"]
    print("\nthemisgate relative to bare litestar")
    print(f"  broadcast p50   x{ours['p50_ms'] / bare['p50_ms']:.2f}")
    print(f"  broadcast p99   x{ours['p99_ms'] / bare['p99_ms']:.2f}")
    print(f"  server CPU per broadcast   x{ours['server_cpu_ms'] / bare['server_cpu_ms']:.2f}")
    for count in counts:
        ours_kib = holds["themisgate"][count]["kib_per_connection"]
        bare_kib = holds["bare litestar"][count]["kib_per_connection"]
        print(f"  memory per connection at {count}: x{ours_kib / max(bare_kib, 0.001):.2f}")
    print(f"\nheld {max(holds['themisgate'])} connections in one themisgate process")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
