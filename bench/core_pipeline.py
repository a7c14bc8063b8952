"""Per-request cost of the core pipeline with 0, 10 and 50 no-op plugins, relative to a
bare Litestar app serving the same handler, in process (no sockets).

    uv run python bench/core_pipeline.py [--requests 2000] [--rounds 7]

Target: 50 no-op plugins add at most 10 % over 0 plugins.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from asgi_driver import per_request_seconds, with_lifespan
from litestar import Litestar, get

from themisgate.testing import make_app


@get("/bench")
async def bench_handler() -> dict[str, str]:
    return {"status": "ok"}


class RoutePlugin:
    name = "bench"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [bench_handler]


class NoOpPlugin:
    """Implements the start-up hooks and answers nothing, like a plugin with nothing to add."""

    def __init__(self, index: int) -> None:
        self.name = f"noop{index}"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return []

    def themisgate_middleware(self, ctx: Any) -> list[Any]:
        return []

    def themisgate_status(self, ctx: Any) -> list[Any]:
        return []

    def themisgate_lifespan(self, ctx: Any) -> list[Any]:
        return []


def themisgate_app(plugins: int) -> Any:
    extra = [NoOpPlugin(i) for i in range(plugins)]
    return make_app(RoutePlugin(), *extra, settings={"core": {"access_log": False}})


async def measure(app: Any, requests: int, rounds: int) -> float:
    return float(
        await with_lifespan(app, lambda: per_request_seconds(app, "/bench", requests, rounds))
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--passes", type=int, default=5, help="interleaved passes; best kept")
    args = parser.parse_args()

    bare = Litestar([bench_handler])
    apps = {
        "bare litestar": bare,
        **{f"core + {n} no-op plugins": themisgate_app(n) for n in (0, 10, 50)},
    }
    results = {}
    for _ in range(args.passes):  # interleave, keep the best of each: noise only adds time
        for label, app in apps.items():
            seconds = await measure(app, args.requests, args.rounds)
            results[label] = min(results.get(label, seconds), seconds)
    base = results["bare litestar"]
    zero = results["core + 0 no-op plugins"]
    print(f"{'app':<28} {'µs/request':>11} {'vs bare':>8} {'vs 0 plugins':>13}")
    for label, seconds in results.items():
        print(
            f"{label:<28} {seconds * 1e6:>11.1f} {seconds / base:>7.2f}x {seconds / zero:>12.2f}x"
        )
    overhead = results["core + 50 no-op plugins"] / zero - 1
    print(f"\n50 no-op plugins add {overhead * 100:+.1f} % over 0 plugins (target <= +10 %)")


if __name__ == "__main__":
    asyncio.run(main())
