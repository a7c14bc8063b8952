"""What GraphQL costs over the v4 REST API, in process (no sockets), in the same run:

1. one document: `POST /graphql {document(id:)}` against `GET /api/v4/.../documents/{c}/{k}`,
   with the parse/validation cache on (the default) and off;
2. twenty documents: one GraphQL query with 20 aliases (one batched adapter call) against
   20 REST GETs;
3. checking a document whose fragments spread each other twice (16 levels): the plugin's
   linear limits against strawberry's QueryDepthLimiter + MaxAliasesLimiter.

    uv run python bench/graphql_overhead.py [--requests 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from asgi_driver import http_scope, per_request_seconds, with_lifespan
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

import themisgate_graphql
from themisgate.testing import make_app
from themisgate_graphql.limits import limits_rule


async def post(app: Any, path: str, body: bytes) -> int:
    status = 0
    scope = http_scope(path, "POST")
    scope["headers"] = [*scope["headers"], (b"content-type", b"application/json")]
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def timed(call: Callable[[], Awaitable[Any]], requests: int, rounds: int) -> float:
    await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(requests):
            await call()
        samples.append((time.perf_counter() - started) / requests)
    return statistics.median(samples)


def bomb(levels: int) -> str:
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Query {{ a: adapterStatus {{ name }} }}")
    return "query Bomb { ...F0 }\n" + "\n".join(fragments)


@strawberry.type(name="Query")
class Probe:
    @strawberry.field
    def adapter_status(self) -> Probe:
        return self

    name: str = "x"


class QuietSchema(strawberry.Schema):
    def process_errors(self, errors: Any, execution_context: Any = None) -> None:
        """Refusals are expected here; logging them would be timed too."""


async def check_seconds(extensions: list[Any], document: str, rounds: int) -> float:
    """Median seconds to parse, validate and refuse `document`."""
    schema = QuietSchema(query=Probe, extensions=extensions)
    await schema.execute(document)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await schema.execute(document)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def uncached_seconds(body: bytes, requests: int, rounds: int) -> float:
    settings = {"plugins": {"graphql": {"document_cache_size": 0}}}
    app = make_app(themisgate_graphql, settings=settings)

    async def run() -> float:
        await app.state["themisgate"].adapter.put_document("docs", "d0", {"title": "doc 0"})
        return await timed(lambda: post(app, "/graphql", body), requests, rounds)

    seconds: float = await with_lifespan(app, run)
    return seconds


async def main(requests: int, rounds: int) -> None:
    app = make_app(themisgate_graphql, settings={"plugins": {"graphql": {}}})
    adapter = app.state["themisgate"].adapter
    one_query = json.dumps({"query": '{ document(id: "docs:d0") }'}).encode()
    gql_uncached = await uncached_seconds(one_query, requests, rounds)

    async def body() -> None:
        for index in range(20):
            await adapter.put_document("docs", f"d{index}", {"title": f"doc {index}"})
        aliases = " ".join(f'd{i}: document(id: "docs:d{i}")' for i in range(20))
        twenty_query = json.dumps({"query": "{ " + aliases + " }"}).encode()
        rest_one = await per_request_seconds(
            app, "/api/v4/themis/documents/docs/d0", requests, rounds
        )
        gql_one = await timed(lambda: post(app, "/graphql", one_query), requests, rounds)
        rest_twenty = 20 * rest_one
        gql_twenty = await timed(lambda: post(app, "/graphql", twenty_query), requests, rounds)
        print(f"{'what':<50} {'µs':>9}")
        print(f"{'REST GET one document (baseline)':<50} {rest_one * 1e6:>9.0f}")
        print(f"{'GraphQL document(id:)':<50} {gql_one * 1e6:>9.0f}")
        print(
            f"{'GraphQL document(id:), no parse/validation cache':<50} {gql_uncached * 1e6:>9.0f}"
        )
        print(f"{'REST 20 GETs (baseline)':<50} {rest_twenty * 1e6:>9.0f}")
        print(f"{'GraphQL 20 aliased document(id:), one batch':<50} {gql_twenty * 1e6:>9.0f}")
        print(
            f"\none document: GraphQL {gql_one / rest_one:.2f}x REST "
            f"({gql_uncached / rest_one:.2f}x without the cache)"
        )
        print(f"twenty documents: GraphQL {gql_twenty / rest_twenty:.2f}x twenty REST GETs")

    await with_lifespan(app, body)

    document = bomb(16)
    ours = await check_seconds(
        [lambda: strawberry.extensions.AddValidationRules([limits_rule(10, 30)])], document, 5
    )
    theirs = await check_seconds(
        [lambda: QueryDepthLimiter(max_depth=10), lambda: MaxAliasesLimiter(max_alias_count=30)],
        document,
        3,
    )
    print(
        f"\nchecking 16 levels of doubly spread fragments: plugin {ours * 1e3:.2f} ms, "
        f"strawberry's limiters {theirs * 1e3:.1f} ms ({theirs / ours:.0f}x); each further "
        "level doubles strawberry's time"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
