"""Redis dies and comes back: requests keep being answered per `fail_open`, `/ready` says
degraded, events say down and up, and limits resume from Redis once it returns — all
against a `redis-server` of the test's own, killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from themisgate.testing import plugin_client
from themisgate_ratelimit import CircuitBreaker, runtime_for

from .conftest import Events, RedisServer
from .plugins import plugins, settings

KEY = "d:3600"


def outage_settings(server: RedisServer, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "storage": server.url,
        "key_prefix": "outage",
        "default": "5/hour",
        "breaker_threshold": 2,
        # unless a test says otherwise the breaker stays open: readiness probes close it
        "breaker_reset_seconds": 30,
    }
    return settings(**(config | extra))


async def statuses(client: Any, count: int) -> list[int]:
    return [(await client.get("/ping")).status_code for _ in range(count)]


async def ratelimit_check(client: Any) -> tuple[str, dict[str, Any]]:
    ready = (await client.get("/ready")).json()
    (check,) = [c for c in ready["checks"] if c["name"] == "ratelimit"]
    return ready["status"], check


async def test_fail_open_keeps_answering_with_a_per_process_limit_and_recovers(
    redis_server: RedisServer, events: Events
) -> None:
    async with plugin_client(*plugins(events), settings=outage_settings(redis_server)) as c:
        assert await statuses(c, 2) == [200, 200]
        assert redis_server.client().exists(f"outage:{{ip:testclient}}:{KEY}")

        redis_server.kill()
        # still answered; the fallback in this process counts from zero but still limits
        during = await statuses(c, 6)
        status, check = await ratelimit_check(c)

        redis_server.start()  # same port, empty: Redis lost its state with the crash
        after_status, after_check = await ratelimit_check(c)  # the probe closes the breaker
        after = await statuses(c, 6)

    assert during == [200] * 5 + [429]
    assert (status, check["ok"], check["required"]) == ("degraded", False, False)
    assert check["facts"]["breaker"] == "open"
    assert "limiting per process" in check["detail"]
    (down,) = events.named("ratelimit_backend_down")
    assert down["backend"] == "redis"
    assert down["fail_open"] is True
    assert "Error" in down["error"]
    assert (after_status, after_check["ok"]) == ("ready", True)
    (up,) = events.named("ratelimit_backend_up")
    assert up["backend"] == "redis"
    assert isinstance(up["down_seconds"], float)
    # Redis decides again: the restarted Redis holds the caller's TAT, and 5/hour holds
    assert after == [200] * 5 + [429]
    assert redis_server.client().exists(f"outage:{{ip:testclient}}:{KEY}")


async def test_fail_closed_answers_503_until_redis_returns(
    redis_server: RedisServer, events: Events
) -> None:
    config = outage_settings(redis_server, fail_open=False)
    async with plugin_client(*plugins(events), settings=config) as c:
        assert await statuses(c, 1) == [200]
        redis_server.kill()
        refused = [await c.get("/ping") for _ in range(3)]
        exempt = await c.get("/health")
        status, _ = await ratelimit_check(c)
        redis_server.start()
        await ratelimit_check(c)
        after = await statuses(c, 2)
    assert [r.status_code for r in refused] == [503] * 3
    body = refused[-1].json()
    assert body["type"] == "urn:themisgate:problem:ratelimit-unavailable"
    assert int(refused[-1].headers["retry-after"]) >= 1
    assert exempt.status_code == 200
    assert status == "degraded"
    assert events.named("ratelimit_backend_down")[0]["fail_open"] is False
    assert after == [200, 200]


async def test_a_dead_redis_is_not_waited_on_once_the_breaker_opens(
    redis_server: RedisServer,
) -> None:
    """With the breaker open no decision goes to Redis: the fallback answers at once."""
    config = outage_settings(redis_server)
    async with plugin_client(*plugins(), settings=config) as c:
        await statuses(c, 1)
        redis_server.kill()
        await statuses(c, 2)  # two failures open the breaker
        runtime = runtime_for(c.app.state["themisgate"]).limiter
        assert runtime.breaker.state == "open"
        failures = runtime.breaker.failures
        await statuses(c, 3)
    assert runtime.breaker.failures == failures  # Redis was not tried again


async def test_it_recovers_by_itself_when_redis_returns(
    redis_server: RedisServer, events: Events
) -> None:
    """No readiness probe here: after the cooldown a request starts a background probe,
    which closes the breaker; no request waits for it."""
    config = outage_settings(redis_server, breaker_reset_seconds=0.1)
    async with plugin_client(*plugins(events), settings=config) as c:
        limiter = runtime_for(c.app.state["themisgate"]).limiter
        await statuses(c, 1)
        redis_server.kill()
        await statuses(c, 2)
        assert limiter.breaker.state == "open"
        redis_server.start()
        deadline = time.monotonic() + 10
        while limiter.breaker.state != "closed":
            assert time.monotonic() < deadline, "the breaker never closed"
            assert (await c.get("/ping")).status_code in (200, 429)
            await asyncio.sleep(0.05)
        decided_by_redis = await c.get("/ping", headers={"x-caller": "fresh/free"})
    assert decided_by_redis.status_code == 200
    assert redis_server.client().exists(f"outage:{{api_key:fresh}}:{KEY}")
    assert len(events.named("ratelimit_backend_up")) == 1


def test_the_breaker_opens_probes_once_per_cooldown_and_closes() -> None:
    now = [100.0]
    breaker = CircuitBreaker(threshold=3, cooldown=2.0, clock=lambda: now[0])
    assert [breaker.failed() for _ in range(3)] == [False, False, True]  # opened once
    assert not breaker.closed
    assert not breaker.probe_due()
    now[0] += 2.0
    assert breaker.probe_due()
    assert not breaker.probe_due()  # one probe at a time
    breaker.failed()  # the probe failed: open for another cooldown
    assert breaker.retry_in() == 2.0
    now[0] += 2.0
    assert breaker.probe_due()
    now[0] += 0.5
    assert breaker.succeeded() == 4.5  # down since it opened
    assert breaker.closed
    assert breaker.succeeded() is None


async def test_a_store_answering_nonsense_is_treated_as_down(redis_server: RedisServer) -> None:
    async with plugin_client(*plugins(), settings=outage_settings(redis_server)) as c:
        limiter = runtime_for(c.app.state["themisgate"]).limiter

        async def broken(*args: Any) -> Any:
            raise TypeError("a reply of the wrong shape")

        assert limiter.redis is not None
        limiter.redis.charge = broken  # type: ignore[method-assign]
        answers = await statuses(c, 3)
    assert answers == [200, 200, 200]  # the fallback answered; never a 500
    assert limiter.breaker.state == "open"
