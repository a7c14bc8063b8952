"""Rate-limit decisions: themisgate's GCRA against the `limits` library's moving window
and sliding window counter, on the same storage, measured in one run.

    uv run python bench/ratelimit_decisions.py [--callers 100] [--hits 500] [--rounds 5]

1. Decision cost in memory: `MemoryStore.charge` against `limits` (sync MemoryStorage).
2. Decision cost in Redis: `RedisStore.charge` against `limits` (async RedisStorage, the
   same redis-py client), sequential (latency) and 64 at a time (throughput).
3. Redis round trips per decision, counted with MONITOR (commands sent by clients,
   not the ones scripts run), and Redis CPU per decision (INFO commandstats).
4. Redis bytes per caller (`MEMORY USAGE`) at 1000/minute after 10, 100 and 1000 hits.
5. What the plugin adds to one HTTP request, in process, with each store.

Redis runs as a `redis-server` of the benchmark's own on a free port (nothing shared is
touched), and themisgate's stores get a 1 s timeout instead of 50 ms, so that a busy host
measures the cost of decisions rather than of fallbacks. Every policy is 1000/minute, so
every decision measured is an allowed one. Contenders run interleaved, round by round.
Targets: GCRA faster than both `limits` strategies on each storage; exactly 1 round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import redis
from asgi_driver import per_request_seconds, with_lifespan
from limits import RateLimitItemPerMinute
from limits import strategies as sync_strategies
from limits.aio import storage as aio_storage
from limits.aio import strategies as aio_strategies
from limits.storage import MemoryStorage
from litestar import get

import themisgate_ratelimit
from themisgate.testing import make_app
from themisgate_ratelimit import Config, Limiter, MemoryStore, Policy, RedisStore, parse_rate

RATE = "1000/minute"
ITEM = RateLimitItemPerMinute(1000)
CONCURRENCY = 64


def gcra_policy() -> Policy:
    return Policy.build("default", "d:60", parse_rate(RATE))


# --- 1. memory -------------------------------------------------------------------------


def memory_costs(callers: list[str], hits: int, rounds: int) -> dict[str, float]:
    decisions = len(callers) * hits
    policies = [gcra_policy()]

    def gcra() -> float:
        store = MemoryStore(1_000_000)
        started = time.perf_counter()
        for _ in range(hits):
            for caller in callers:
                store.charge(caller, policies)
        return (time.perf_counter() - started) / decisions

    def limits_strategy(kind: type[Any]) -> Callable[[], float]:
        def run() -> float:
            limiter = kind(MemoryStorage())
            started = time.perf_counter()
            for _ in range(hits):
                for caller in callers:
                    limiter.hit(ITEM, caller)
            return (time.perf_counter() - started) / decisions

        return run

    contenders = {
        "gcra": gcra,
        "moving window": limits_strategy(sync_strategies.MovingWindowRateLimiter),
        "sliding window counter": limits_strategy(sync_strategies.SlidingWindowCounterRateLimiter),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):  # interleaved, so a busy moment hurts every contender alike
        for name, run in contenders.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


# --- Redis of our own --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", workdir]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        try:
            for _ in range(500):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.01)
            yield port
        finally:
            client.close()
            process.terminate()
            process.wait()


Decide = Callable[[str], Awaitable[Any]]


async def gcra_redis(port: int, prefix: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
    store = RedisStore(
        Config(storage=f"redis://127.0.0.1:{port}/0", key_prefix=prefix, decision_timeout_ms=1000)
    )
    await store.start()
    policies = [gcra_policy()]

    async def decide(caller: str) -> Any:
        return await store.charge(caller, policies)

    return decide, store.stop


async def gcra_limiter(port: int, prefix: str) -> tuple[Decide, Callable[[], Awaitable[None]]]:
    """The store behind what a request really goes through: breaker, timeout, fallback.
    The timeout is raised to 1 s here: on a busy benchmark host a 50 ms stall would send
    decisions to the in-process fallback, which is what it is for, but not what is timed."""
    config = Config(
        storage=f"redis://127.0.0.1:{port}/0", key_prefix=prefix, decision_timeout_ms=1000
    )
    limiter = Limiter(config, lambda name, payload: None)
    await limiter.start()
    policies = [gcra_policy()]

    async def decide(caller: str) -> Any:
        return await limiter.charge(caller, policies, 1)

    return decide, limiter.stop


async def limits_redis(
    port: int, prefix: str, kind: type[Any]
) -> tuple[Decide, Callable[[], Awaitable[None]]]:
    storage = aio_storage.RedisStorage(
        f"async+redis://127.0.0.1:{port}/0", implementation="redispy", key_prefix=prefix
    )
    limiter = kind(storage)

    async def decide(caller: str) -> Any:
        return await limiter.hit(ITEM, caller)

    async def close() -> None:
        with contextlib.suppress(Exception):
            await storage.bridge.storage.aclose()

    return decide, close


def redis_contenders(port: int) -> dict[str, Callable[[str], Awaitable[Any]]]:
    return {
        "gcra": lambda prefix: gcra_redis(port, prefix),
        "gcra + breaker, timeout": lambda prefix: gcra_limiter(port, prefix),
        "moving window": lambda prefix: limits_redis(
            port, prefix, aio_strategies.MovingWindowRateLimiter
        ),
        "sliding window counter": lambda prefix: limits_redis(
            port, prefix, aio_strategies.SlidingWindowCounterRateLimiter
        ),
    }


async def redis_costs(
    port: int, callers: list[str], batches: int, batch: int
) -> dict[str, tuple[float, float]]:
    """Per contender: µs per decision one at a time, and 64 at a time. Every contender
    runs a batch in turn, `batches` times, so that the host's load (this machine is
    shared) falls on all alike; the median batch counts."""
    contenders = {}
    for name, make in redis_contenders(port).items():
        decide, close = await make(f"b{uuid.uuid4().hex[:6]}")
        await decide("warm-up")
        contenders[name] = (decide, close)
    sequential: dict[str, list[float]] = {name: [] for name in contenders}
    concurrent: dict[str, list[float]] = {name: [] for name in contenders}
    queue = [callers[n % len(callers)] for n in range(batch)]
    for _ in range(batches):
        for name, (decide, _) in contenders.items():
            started = time.perf_counter()
            for caller in queue:
                await decide(caller)
            sequential[name].append((time.perf_counter() - started) / batch)

            async def worker(share: list[str], decide: Decide = decide) -> None:
                for caller in share:
                    await decide(caller)

            started = time.perf_counter()
            await asyncio.gather(*(worker(queue[i::CONCURRENCY]) for i in range(CONCURRENCY)))
            concurrent[name].append((time.perf_counter() - started) / batch)
    for _, close in contenders.values():
        await close()
    return {
        name: (statistics.median(sequential[name]), statistics.median(concurrent[name]))
        for name in contenders
    }


# --- 3. round trips ----------------------------------------------------------------------


@contextlib.contextmanager
def monitored(port: int) -> Iterator[list[str]]:
    """The commands clients send while the block runs (MONITOR; script calls and the
    monitor's own marker left out)."""
    sent: list[str] = []
    with tempfile.NamedTemporaryFile("w+b", suffix=".log") as log:
        path = Path(log.name)
        watcher = subprocess.Popen(["redis-cli", "-p", str(port), "monitor"], stdout=log)
        while not path.read_bytes().startswith(b"OK"):
            time.sleep(0.01)
        yield sent
        marker = f"end-{uuid.uuid4().hex}"
        redis.Redis(port=port).echo(marker)
        while marker.encode() not in path.read_bytes():
            time.sleep(0.01)
        watcher.terminate()
        watcher.wait()
        lines = path.read_text().splitlines()[1:]
    marker_line = next(line for line in lines if marker in line)
    own = marker_line.split("]", 1)[0].split("[", 1)[1]  # the marker client's address
    sent.extend(line for line in lines if "[0 lua]" not in line and f"[{own}]" not in line)


async def round_trips(port: int, decisions: int) -> dict[str, tuple[float, float]]:
    """Per contender: round trips per decision, and Redis CPU µs per decision (INFO
    commandstats, scripts included)."""
    found = {}
    stats = redis.Redis(port=port)
    for name, make in redis_contenders(port).items():
        decide, close = await make(f"rt{uuid.uuid4().hex[:6]}")
        await decide("warm-up")
        stats.config_resetstat()
        with monitored(port) as sent:
            for n in range(decisions):
                await decide(f"ip:{n % 10}")
        spent = sum(
            values["usec"]
            for command, values in stats.info("commandstats").items()
            if command.startswith("cmdstat_eval")
        )
        found[name] = (len(sent) / decisions, spent / decisions)
        await close()
    stats.close()
    return found


# --- 4. bytes per caller -----------------------------------------------------------------


async def bytes_per_caller(port: int, callers: int, hits: int) -> dict[str, float]:
    client = redis.Redis(port=port)
    found = {}
    for name, make in redis_contenders(port).items():
        client.flushdb()
        decide, close = await make(f"m{uuid.uuid4().hex[:6]}")
        for n in range(callers):
            for _ in range(hits):
                await decide(f"ip:10.0.0.{n}")
        total = sum(client.memory_usage(key, samples=0) or 0 for key in client.scan_iter())
        found[name] = total / callers
        await close()
    client.close()
    return found


# --- 5. HTTP overhead ------------------------------------------------------------------


@get("/bench")
async def bench_handler() -> dict[str, str]:
    return {"status": "ok"}


class RoutePlugin:
    name = "bench"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [bench_handler]


async def http_overhead(requests: int, rounds: int, port: int) -> dict[str, float]:
    def limited(storage: str) -> Any:
        table = {
            "default": "1000000/second",
            "storage": storage,
            "key_prefix": "http",
            "decision_timeout_ms": 1000,
        }
        return make_app(
            RoutePlugin(), themisgate_ratelimit, settings={"plugins": {"ratelimit": table}}
        )

    apps = {
        "without the plugin": make_app(RoutePlugin()),
        "memory store": limited("memory://"),
        "redis store": limited(f"redis://127.0.0.1:{port}/0"),
    }
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(rounds):
        for name, app in apps.items():
            cost = await with_lifespan(
                app, lambda app=app: per_request_seconds(app, "/bench", requests, 1)
            )
            samples[name].append(float(cost))
    return {name: min(values) for name, values in samples.items()}


# --- report ------------------------------------------------------------------------------


def us(seconds: float) -> str:
    return f"{seconds * 1e6:8.2f} µs"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--hits", type=int, default=500, help="decisions per caller")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    callers = [f"ip:10.0.{n // 256}.{n % 256}" for n in range(args.callers)]

    print(f"policy {RATE}; {args.callers} callers x {args.hits} decisions; median of rounds\n")
    memory = memory_costs(callers, args.hits, args.rounds)
    print("1. decision cost, in memory (one process)")
    for name, cost in memory.items():
        print(f"   {name:24} {us(cost)}   gcra is {cost / memory['gcra']:5.2f}x faster")

    with redis_server() as port:
        batches = 4 * args.rounds
        costs = await redis_costs(port, callers, batches, 256)
        print(f"\n2. decision cost, Redis ({batches} batches of 256 decisions, interleaved)")
        print(
            f"   {'':24} {'one at a time':>14} {'ratio':>7} {CONCURRENCY:>10} at once {'ratio':>7}"
        )
        base_seq, base_con = costs["gcra"]
        for name, (seq, con) in costs.items():
            print(
                f"   {name:24} {us(seq):>14} {seq / base_seq:6.2f}x {us(con):>18} "
                f"{con / base_con:6.2f}x"
            )

        trips = await round_trips(port, 300)
        print("\n3. per decision: Redis round trips (MONITOR) and Redis CPU (commandstats)")
        for name, (count, cpu) in trips.items():
            print(f"   {name:24} {count:5.2f} round trips  {cpu:6.1f} µs of Redis CPU")

        print("\n4. Redis bytes per caller at 1000/minute (MEMORY USAGE, all keys)")
        print(f"   {'hits per caller':24} {'10':>8} {'100':>8} {'1000':>8}")
        table: dict[str, list[float]] = {}
        for hits_each in (10, 100, 1000):
            for name, size in (await bytes_per_caller(port, 20, hits_each)).items():
                table.setdefault(name, []).append(size)
        for name, sizes in table.items():
            cells = " ".join(f"{size:8.0f}" for size in sizes)
            ratio = sizes[-1] / table["gcra"][-1]
            print(f"   {name:24} {cells}   at 1000: {ratio:6.1f}x gcra")

        http = await http_overhead(2000, 2 * args.rounds, port)
    plain = http.pop("without the plugin")
    print("\n5. one HTTP request in process (one policy, headers on; best round)")
    print(f"   {'without the plugin':24} {us(plain)}")
    for name, cost in http.items():
        print(f"   {name:24} {us(cost)}   +{us(cost - plain)}")


if __name__ == "__main__":
    asyncio.run(main())
