"""What identifying the caller costs per request, relative to an anonymous request to the
same scoped route, in process (no sockets): an API key (one SHA-256 and a dictionary
lookup), JWTs signed HS256, RS256 and ES256 with and without the decoded-token cache.

    uv run python bench/auth_identify.py [--requests 500] [--rounds 20]

Every request is a fresh connection, so `ctx.identify` runs for each one (its per-
connection memo never hides the work). A second table times `Authenticator.identify`
alone, without the framework around it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
from asgi_driver import http_scope, with_lifespan
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar import get

import themisgate_auth
from themisgate.logs import configure_logging
from themisgate.testing import make_app
from themisgate_auth import authenticator_for, hash_key, new_key

SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
ISSUER, AUDIENCE = "https://idp.bench/", "themisgate"
QUIET: dict[str, Any] = {"core": {"access_log": False}}


@get("/bench", opt={"scope": "read"})
async def bench_handler() -> dict[str, str]:
    return {"status": "ok"}


class RoutePlugin:
    name = "bench"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [bench_handler]


def pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )


def token(key: Any, algorithm: str) -> str:
    now = int(time.time())
    claims = {"sub": "bench-user", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600}
    claims |= {"tier": "premium", "scope": "read write"}
    return jwt.encode(claims, key, algorithm=algorithm)


def auth_app(api_key: str, jwt_settings: dict[str, Any] | None = None) -> Any:
    auth: dict[str, Any] = {
        "api_keys": [{"id": "bench", "hash": hash_key(api_key), "tier": "premium"}]
        + [{"id": f"k{i}", "hash": hash_key(new_key()), "tier": "free"} for i in range(999)],
    }
    if jwt_settings:
        auth["jwt"] = {"issuer": ISSUER, "audience": AUDIENCE, **jwt_settings}
    settings = {**QUIET, "plugins": {"auth": auth}}
    return make_app(themisgate_auth, RoutePlugin(), settings=settings)


async def request(app: Any, headers: list[tuple[bytes, bytes]]) -> int:
    status = 0
    scope = http_scope("/bench")
    scope["headers"] = [*scope["headers"], *headers]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def block_seconds(app: Any, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """Mean time of `n` sequential requests."""
    started = time.perf_counter()
    for _ in range(n):
        await request(app, headers)
    return (time.perf_counter() - started) / n


async def per_request(
    cases: dict[str, tuple[Any, list[tuple[bytes, bytes]]]], n: int, rounds: int
) -> dict[str, float]:
    """Every case's best block over `rounds`, the cases interleaved block by block, so a
    busy neighbour on the machine slows all cases alike and the minimum sheds it."""
    best: dict[str, float] = {}
    stack = contextlib.AsyncExitStack()
    async with stack:
        for label, (app, headers) in cases.items():
            await stack.enter_async_context(started(app))
            status = await request(app, headers)
            if status != 200:
                raise SystemExit(f"{label}: the bench request answered {status}, not 200")
        for _ in range(rounds):
            for label, (app, headers) in cases.items():
                seconds = await block_seconds(app, headers, n)
                best[label] = min(best.get(label, seconds), seconds)
    return best


@contextlib.asynccontextmanager
async def started(app: Any) -> AsyncIterator[None]:
    """`app` with its lifespan running (the adapter started) until the block ends."""
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def hold() -> None:
        entered.set()
        await leave.wait()

    task = asyncio.create_task(with_lifespan(app, hold))
    await entered.wait()
    try:
        yield
    finally:
        leave.set()
        await task


class Connection:
    """Just what `identify` reads off a Litestar connection."""

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.scope = {"headers": headers, "client": ("127.0.0.1", 50000)}


def identify_seconds(app: Any, headers: list[tuple[bytes, bytes]], n: int) -> float:
    auth = authenticator_for(app.state["themisgate"])
    connection: Any = Connection(headers)
    auth.identify(connection)
    started = time.perf_counter()
    for _ in range(n):
        auth.identify(connection)
    return (time.perf_counter() - started) / n


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500, help="requests per block")
    parser.add_argument("--rounds", type=int, default=20, help="blocks per case")
    args = parser.parse_args()
    configure_logging("warning")

    api_key = new_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    hs = {"algorithms": ["HS256"], "secret": SECRET}
    rs = {"algorithms": ["RS256"], "public_key": pem(rsa_key)}
    es = {"algorithms": ["ES256"], "public_key": pem(ec_key)}
    no_cache = {"cache_size": 0}
    bearer = {
        "HS256": token(SECRET, "HS256"),
        "RS256": token(rsa_key, "RS256"),
        "ES256": token(ec_key, "ES256"),
    }

    def auth_header(value: str) -> list[tuple[bytes, bytes]]:
        return [(b"authorization", f"Bearer {value}".encode())]

    cases: dict[str, tuple[Any, list[tuple[bytes, bytes]]]] = {
        "no auth plugin": (make_app(RoutePlugin(), settings=QUIET), []),
        "anonymous (baseline)": (auth_app(api_key), []),
        "API key (X-API-Key)": (auth_app(api_key), [(b"x-api-key", api_key.encode())]),
        "JWT HS256, cached": (auth_app(api_key, hs), auth_header(bearer["HS256"])),
        "JWT HS256, no cache": (auth_app(api_key, hs | no_cache), auth_header(bearer["HS256"])),
        "JWT RS256, cached": (auth_app(api_key, rs), auth_header(bearer["RS256"])),
        "JWT RS256, no cache": (auth_app(api_key, rs | no_cache), auth_header(bearer["RS256"])),
        "JWT ES256, cached": (auth_app(api_key, es), auth_header(bearer["ES256"])),
        "JWT ES256, no cache": (auth_app(api_key, es | no_cache), auth_header(bearer["ES256"])),
    }
    results = await per_request(cases, args.requests, args.rounds)

    base = results["anonymous (baseline)"]
    print(f"{'per request, in process':<24} {'µs/request':>11} {'vs anonymous':>13} {'+µs':>8}")
    for label, seconds in results.items():
        extra = (seconds - base) * 1e6
        print(f"{label:<24} {seconds * 1e6:>11.1f} {seconds / base:>12.2f}x {extra:>+8.1f}")

    print(f"\n{'identify() alone':<24} {'µs/call':>11} {'vs anonymous':>13}")
    alone = {
        label: min(identify_seconds(app, headers, args.requests * 4) for _ in range(5))
        for label, (app, headers) in cases.items()
        if label != "no auth plugin"
    }
    anonymous = alone["anonymous (baseline)"]
    for label, seconds in alone.items():
        print(f"{label:<24} {seconds * 1e6:>11.2f} {seconds / anonymous:>12.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
