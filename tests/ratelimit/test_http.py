"""Rate limits as an HTTP client meets them: real requests through apps built by
`themisgate.testing`, on the memory store and on the shared Redis."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from themisgate.testing import make_app, plugin_client
from themisgate_ratelimit import runtime_for

from .conftest import Events, ManualClock
from .plugins import plugins, settings

STORAGES = ["memory", "redis"]


def storage_settings(storage: str, prefix: str) -> dict[str, Any]:
    if storage == "memory":
        return {"storage": "memory://"}
    return {"storage": "redis://127.0.0.1:6379/0", "key_prefix": prefix}


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest, prefix: str) -> dict[str, Any]:
    return storage_settings(request.param, prefix)


def use_clock(client: Any, clock: ManualClock) -> None:
    """Drive the memory store of the app behind `client` by hand."""
    runtime_for(client.app.state["themisgate"]).limiter.memory.clock = clock


async def test_the_11th_request_of_10_a_minute_is_a_429_problem(storage: dict[str, Any]) -> None:
    async with plugin_client(*plugins(), settings=settings(default="10/minute", **storage)) as c:
        answers = [await c.get("/ping") for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert [a.headers["ratelimit"] for a in answers[:10]] == [
        f'"default";r={left};t=6' for left in range(9, -1, -1)
    ]
    assert answers[0].headers["ratelimit-policy"] == '"default";q=10;w=60'
    refused = answers[10]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "6"
    assert refused.headers["ratelimit"] == '"default";r=0;t=6'
    body = refused.json()
    assert body["type"] == "urn:themisgate:problem:quota-exceeded"
    assert body["status"] == 429
    assert body["error"] == "rate_limit_exceeded"
    assert body["retry_after"] == 6
    assert body["limit"] == 10
    assert body["violated-policies"] == ["default"]
    assert body["message"] == body["detail"]
    assert "10 per minute" in body["message"]
    assert body["instance"] == "/ping"


async def test_a_burst_is_allowed_then_the_steady_rate_holds(clock: ManualClock) -> None:
    config = settings(default="60/minute burst 5")
    async with plugin_client(*plugins(), settings=config) as c:
        use_clock(c, clock)
        burst = [(await c.get("/ping")).status_code for _ in range(6)]
        steady = []
        for _ in range(10):  # one a second is the rate: every second one more, no more
            clock.advance(1)
            steady.append([(await c.get("/ping")).status_code for _ in range(2)])
    assert burst == [200] * 5 + [429]
    assert steady == [[200, 429]] * 10


async def test_no_double_burst_at_a_window_boundary(clock: ManualClock) -> None:
    async with plugin_client(*plugins(), settings=settings(default="10/minute")) as c:
        use_clock(c, clock)
        clock.advance(59.5)
        before = [(await c.get("/ping")).status_code for _ in range(10)]
        clock.advance(1)  # a new clock minute: a fixed window would allow 10 more
        after = [(await c.get("/ping")).status_code for _ in range(10)]
    assert before == [200] * 10
    assert after == [429] * 10


async def test_tiers_get_their_own_policies(storage: dict[str, Any]) -> None:
    config = settings(
        default="1/minute", tiers={"free": "2/minute", "premium": "4/minute"}, **storage
    )

    async def count(client: Any, caller: str) -> int:
        headers = {"x-caller": caller}
        codes = [(await client.get("/ping", headers=headers)).status_code for _ in range(6)]
        return codes.count(200)

    async with plugin_client(*plugins(), settings=config) as c:
        counts = {
            "free": await count(c, "alice/free"),
            "premium": await count(c, "bob/premium"),
            "other premium caller": await count(c, "carol/premium"),
            "unlisted tier": await count(c, "dave/gold"),
        }
        premium = await c.get("/ping", headers={"x-caller": "erin/premium"})
    assert counts == {"free": 2, "premium": 4, "other premium caller": 4, "unlisted tier": 1}
    assert premium.headers["ratelimit-policy"] == '"premium";q=4;w=60'


async def test_a_route_policy_applies_on_that_route_only(storage: dict[str, Any]) -> None:
    config = settings(
        default="100/minute",
        routes=[{"route": "/items/{name}", "limits": "2/minute", "methods": ["PUT"]}],
        **storage,
    )
    async with plugin_client(*plugins(), settings=config) as c:
        # the template, not the path: every item shares the route's allowance
        writes = [(await c.put(f"/items/i{n}")).status_code for n in range(3)]
        reads = [(await c.get(f"/items/i{n}")).status_code for n in range(3)]
        other = await c.get("/ping")
        refused = await c.put("/items/i9")
    assert writes == [200, 200, 429]
    assert reads == [200, 200, 200]
    assert other.status_code == 200
    assert refused.json()["violated-policies"] == ["/items/{name}:PUT"]
    assert refused.headers["ratelimit-policy"] == (
        '"default";q=100;w=60, "/items/{name}:PUT";q=2;w=60'
    )
    assert refused.headers["ratelimit"] == '"/items/{name}:PUT";r=0;t=30'
    # the caller's overall budget counted every request that was let through
    assert other.headers["ratelimit"].startswith('"default";r=94;')


async def test_entries_for_other_methods_of_a_route_keep_apart() -> None:
    config = settings(
        default="100/minute",
        routes=[
            {"route": "/items/{name}", "limits": "5/minute", "methods": ["GET"]},
            {"route": "/items/{name:str}", "limits": "1/minute", "methods": ["PUT"]},
        ],
    )
    async with plugin_client(*plugins(), settings=config) as c:
        writes = [(await c.put("/items/a")).status_code for _ in range(2)]
        reads = [(await c.get("/items/a")).status_code for _ in range(6)]
    assert writes == [200, 429]
    assert reads == [200] * 5 + [429]  # the write did not spend the reads' allowance


async def test_several_windows_on_one_route_are_checked_together(clock: ManualClock) -> None:
    config = settings(
        default="1000/minute",
        routes=[{"route": "/ping", "name": "ping", "limits": ["3/second", "5/minute"]}],
    )
    async with plugin_client(*plugins(), settings=config) as c:
        use_clock(c, clock)
        first_second = [(await c.get("/ping")).status_code for _ in range(4)]
        clock.advance(1)
        second_second = [(await c.get("/ping")).status_code for _ in range(3)]
        refused = await c.get("/ping")
    assert first_second == [200, 200, 200, 429]
    assert second_second == [200, 200, 429]
    assert refused.json()["violated-policies"] == ["ping-1m"]
    assert refused.headers["ratelimit-policy"] == (
        '"default";q=1000;w=60, "ping-1s";q=3;w=1, "ping-1m";q=5;w=60'
    )


async def test_route_tiers_override_and_apply_tier_false() -> None:
    config = settings(
        default="1/minute",
        routes=[
            {
                "route": "/ping",
                "limits": "2/minute",
                "tiers": {"premium": "5/minute"},
                "apply_tier": False,
            }
        ],
    )
    async with plugin_client(*plugins(), settings=config) as c:
        anonymous = [(await c.get("/ping")).status_code for _ in range(3)]
        premium = [
            (await c.get("/ping", headers={"x-caller": "p/premium"})).status_code for _ in range(6)
        ]
    # the default (1/minute) does not apply here: only the route's 2, or 5 for premium
    assert anonymous == [200, 200, 429]
    assert premium == [200] * 5 + [429]


async def test_exempt_paths_and_routes_are_never_limited() -> None:
    config = settings(default="1/minute", exempt_paths=["/health", "/ready", "/items/*"])
    async with plugin_client(*plugins(), settings=config) as c:
        codes = {
            path: [(await c.get(path)).status_code for _ in range(3)]
            for path in ["/health", "/ready", "/items/a", "/internal/metrics-like", "/ping"]
        }
        health = await c.get("/health")
    assert codes == {
        "/health": [200] * 3,
        "/ready": [200] * 3,
        "/items/a": [200] * 3,
        "/internal/metrics-like": [200] * 3,  # the handler says opt={"exempt": True}
        "/ping": [200, 429, 429],
    }
    assert "ratelimit" not in health.headers


async def test_allow_listed_identities_are_never_limited() -> None:
    config = settings(default="1/minute", allow_identities=["api_key:ops"])
    async with plugin_client(*plugins(), settings=config) as c:
        ops = [
            (await c.get("/ping", headers={"x-caller": "ops/free"})).status_code for _ in range(3)
        ]
        other = [
            (await c.get("/ping", headers={"x-caller": "dev/free"})).status_code for _ in range(3)
        ]
    assert ops == [200] * 3
    assert other == [200, 429, 429]


async def test_allow_listed_networks_are_never_limited() -> None:
    app = make_app(*plugins(), settings=settings(default="1/minute", allow_cidrs=["10.0.0.0/8"]))

    async def codes(host: str) -> list[int]:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.get("/ping")).status_code for _ in range(3)]

    assert await codes("10.1.2.3") == [200] * 3
    assert await codes("192.0.2.7") == [200, 429, 429]
    assert await codes("192.0.2.8") == [200, 429, 429]  # each IP its own allowance


async def test_allow_listed_networks_match_the_resolved_address_of_anonymous_callers() -> None:
    config = settings(default="1/minute", allow_cidrs=["10.0.0.0/8", "2001:db8::/32"])

    async def codes(client: Any, address: str) -> list[int]:
        headers = {"x-client-ip": address}
        return [(await client.get("/ping", headers=headers)).status_code for _ in range(2)]

    async with plugin_client(*plugins(), settings=config) as c:
        behind_proxy = await codes(c, "10.9.8.7")
        anonymised_v6 = await codes(c, "2001:db8:1:2::/64")
        outside = await codes(c, "192.0.2.1")
    assert behind_proxy == [200, 200]
    assert anonymised_v6 == [200, 200]
    assert outside == [200, 429]


async def test_refused_credentials_are_charged_to_the_address() -> None:
    async with plugin_client(*plugins(), settings=settings(default="3/minute")) as c:
        guesses = [await c.get("/ping", headers={"x-caller": "forged"}) for _ in range(4)]
        honest = await c.get("/ping", headers={"x-caller": "k1/free"})
    assert [g.status_code for g in guesses] == [401, 401, 401, 429]
    assert guesses[-1].headers["retry-after"] == "20"
    assert honest.status_code == 200  # a real key has its own allowance


async def test_cors_preflights_are_not_charged() -> None:
    async with plugin_client(*plugins(), settings=settings(default="2/minute")) as c:
        for _ in range(5):
            await c.options("/ping")
        codes = [(await c.get("/ping")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_headers_can_be_left_off_allowed_responses_but_not_429s() -> None:
    async with plugin_client(*plugins(), settings=settings(default="1/minute", headers=False)) as c:
        allowed = await c.get("/ping")
        refused = await c.get("/ping")
    assert "ratelimit" not in allowed.headers
    assert refused.status_code == 429
    assert refused.headers["ratelimit"] == '"default";r=0;t=60'
    assert refused.headers["retry-after"] == "60"


async def test_handler_errors_still_carry_the_rate_limit_headers() -> None:
    async with plugin_client(*plugins(), settings=settings(default="10/minute")) as c:
        missing = await c.get("/api/v4/themis/documents/books/none")
    assert missing.status_code == 404
    assert missing.headers["ratelimit"] == '"default";r=9;t=6'


async def test_events_follow_the_contract(events: Events, clock: ManualClock) -> None:
    async with plugin_client(*plugins(events), settings=settings(default="2/minute")) as c:
        use_clock(c, clock)
        for _ in range(3):
            await c.get("/ping", headers={"x-caller": "k1/free"})
    assert events.named("rate_limit_checked") == [
        {"route": "/ping", "tier": "free", "limit": 2, "remaining": 1},
        {"route": "/ping", "tier": "free", "limit": 2, "remaining": 0},
        {"route": "/ping", "tier": "free", "limit": 2, "remaining": 0},
    ]
    (limited,) = events.named("rate_limited")
    assert limited == {
        "route": "/ping",
        "tier": "free",
        "identity_kind": "api_key",
        "policy": "2/minute",
        "retry_after": 30.0,
    }


async def test_other_surfaces_are_charged_through_the_hook(storage: dict[str, Any]) -> None:
    config = settings(
        default="5/minute", surfaces={"graphql": "3/minute", "ws": "2/minute"}, **storage
    )

    async def charge(client: Any, key: str, cost: int = 1) -> dict[str, Any]:
        answer = await client.post(f"/surface/{key}", params={"cost": cost})
        assert answer.status_code == 200
        return dict(answer.json())

    async with plugin_client(*plugins(), settings=config) as c:
        graphql = [await charge(c, "graphql", 2), await charge(c, "graphql", 2)]
        graphql.append(await charge(c, "graphql", 1))
        ws = [(await charge(c, "ws:search"))["allowed"] for _ in range(3)]
        await c.get("/ping")  # HTTP spends the tier policy (default: 5/minute)
        unlisted = await charge(c, "sse")  # a key with no policy spends it too
        too_big = await charge(c, "graphql", 4)
    assert [(g["allowed"], g["remaining"]) for g in graphql] == [(True, 1), (False, 1), (True, 0)]
    assert graphql[1]["retry_after"] == pytest.approx(20.0, abs=0.5)
    assert graphql[1]["policy"] == "graphql"
    assert ws == [True, True, False]  # "ws:search" falls back to the "ws" family
    assert (unlisted["policy"], unlisted["remaining"]) == ("default", 3)
    assert too_big["allowed"] is False  # more than the burst can ever be: refused
    assert too_big["retry_after"] == 60.0


async def test_each_app_has_its_own_limiter() -> None:
    async with (
        plugin_client(*plugins(), settings=settings(default="1/minute")) as strict,
        plugin_client(*plugins(), settings=settings(default="3/minute")) as lenient,
    ):
        strict_codes = [(await strict.get("/ping")).status_code for _ in range(2)]
        lenient_codes = [(await lenient.get("/ping")).status_code for _ in range(4)]
        strict_hook = (await strict.post("/surface/graphql")).json()
        lenient_hook = (await lenient.post("/surface/graphql")).json()
    assert strict_codes == [200, 429]
    assert lenient_codes == [200, 200, 200, 429]
    assert (strict_hook["limit"], lenient_hook["limit"]) == (1, 3)


async def test_readiness_shows_the_store() -> None:
    async with plugin_client(*plugins(), settings=settings(max_keys=500)) as c:
        await c.get("/ping")
        ready = (await c.get("/ready")).json()
    (check,) = [check for check in ready["checks"] if check["name"] == "ratelimit"]
    assert ready["status"] == "ready"
    assert check["ok"]
    assert not check["required"]
    assert check["facts"] == {"keys": 1, "max_keys": 500, "evicted": 0}


async def test_a_route_that_matches_nothing_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    config = settings(routes=[{"route": "/api/v4/themis/vector/search", "limits": "1/minute"}])
    with caplog.at_level(logging.WARNING, logger="themisgate.ratelimit"):
        async with plugin_client(*plugins(), settings=config) as c:
            await c.get("/ping")
    assert "'/api/v4/themis/vector/search' matches no route" in caplog.text
