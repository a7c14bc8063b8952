"""What the v3 compatibility layer costs, measured in process (no sockets) against
baselines from the same run:

1. a v3 search (`POST /api/v3/vector/search`: signals, gate, translation both ways)
   against the same search through v4 (`POST /api/v4/themis/vectors/search`), same data,
   same app;
2. `GET /api/v3/stats` against `GET /api/v4/themis/stats`;
3. a request that is not v3 (`GET /api/v4/themis/capabilities`) on an app with the
   plugin against one without it: what everyone else pays for its two middleware, on the
   core alone and beside an identifying plugin (as with auth, which brings the core's
   route-stage scope check: Litestar then wraps every route in middleware anyway).

    uv run python bench/v3compat_translation.py [--requests 2000] [--rounds 5]

Figures are CPU seconds per request (process time, so other load on the machine does not
count); rounds are interleaved and the median of each kept.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from asgi_driver import with_lifespan

import themisgate_v3compat
from themisgate.testing import make_app

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

DOCUMENTS = 200
TOP_K = 10
QUERY = "solar panels turn sunlight into electricity"


def scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"accept", b"application/json"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: ASGIApp, method: str, path: str, body: bytes = b"") -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope(method, path), receive, send)
    return status


Request = tuple[str, str, bytes]


async def cpu_per_request(app: ASGIApp, request: Request, requests: int) -> float:
    started = time.process_time()
    for _ in range(requests):
        await call(app, *request)
    return (time.process_time() - started) / requests


async def compare(
    pairs: dict[str, tuple[ASGIApp, Request]], requests: int, rounds: int
) -> dict[str, float]:
    for name, (app, request) in pairs.items():
        status = await call(app, *request)
        if status != 200:
            raise SystemExit(f"{name}: {request[0]} {request[1]} answered {status}")
    samples: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(rounds):
        for name, (app, request) in pairs.items():
            samples[name].append(await cpu_per_request(app, request, requests))
    return {name: statistics.median(values) for name, values in samples.items()}


async def fill(app: ASGIApp) -> None:
    items = [
        {"key": f"d{i}", "text": f"{QUERY} number {i}", "document": {"text": f"doc {i}", "n": i}}
        for i in range(DOCUMENTS)
    ]
    body = msgspec.json.encode({"collection": "documents", "items": items})
    status = await call(app, "POST", "/api/v4/themis/vectors", body)
    if status != 200:
        raise SystemExit(f"storing the documents answered {status}")


def report(title: str, figures: dict[str, float], baseline: str) -> None:
    print(f"\n{title}")
    base = figures[baseline]
    for name, seconds in figures.items():
        print(f"  {name:<34} {seconds * 1e6:9.1f} µs/request  x{seconds / base:.3f}")


class Identifying:
    """Identifies nobody, like an auth plugin facing anonymous callers."""

    name = "identifying"

    @staticmethod
    def themisgate_identify(request: Any) -> None:
        return None


async def main(requests: int, rounds: int) -> None:
    settings = {"core": {"access_log": False}}
    with_v3 = make_app(themisgate_v3compat, settings=settings)
    without = make_app(settings=settings)
    auth_with_v3 = make_app(themisgate_v3compat, Identifying(), settings=settings)
    auth_without = make_app(Identifying(), settings=settings)

    async def run() -> None:
        await fill(with_v3)
        v3_search = msgspec.json.encode({"query": QUERY, "top_k": TOP_K})
        v4_search = msgspec.json.encode({"query": QUERY, "top_k": TOP_K, "collection": "documents"})
        search = await compare(
            {
                "v4 search (baseline)": (
                    with_v3,
                    ("POST", "/api/v4/themis/vectors/search", v4_search),
                ),
                "v3 search": (with_v3, ("POST", "/api/v3/vector/search", v3_search)),
            },
            requests // 4,
            rounds,
        )
        report(f"search, top_k={TOP_K} of {DOCUMENTS} documents", search, "v4 search (baseline)")
        stats = await compare(
            {
                "v4 stats (baseline)": (with_v3, ("GET", "/api/v4/themis/stats", b"")),
                "v3 stats": (with_v3, ("GET", "/api/v3/stats", b"")),
            },
            requests,
            rounds,
        )
        report("stats", stats, "v4 stats (baseline)")
        other = ("GET", "/api/v4/themis/capabilities", b"")
        alone = await compare(
            {"without v3compat (baseline)": (without, other), "with v3compat": (with_v3, other)},
            requests,
            rounds,
        )
        report("a route that is not v3, core alone", alone, "without v3compat (baseline)")
        beside = await compare(
            {
                "without v3compat (baseline)": (auth_without, other),
                "with v3compat": (auth_with_v3, other),
            },
            requests,
            rounds,
        )
        report(
            "a route that is not v3, beside an identifying plugin",
            beside,
            "without v3compat (baseline)",
        )

    async def started(apps: list[Any]) -> None:
        if not apps:
            await run()
            return
        await with_lifespan(apps[0], lambda: started(apps[1:]))

    await started([without, with_v3, auth_without, auth_with_v3])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
