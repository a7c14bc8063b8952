"""The Redis store: one round trip per decision, all policies or none, keys that expire
and share one Cluster slot per caller, and recovery from a flushed script cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from redis.crc import key_slot

from themisgate_ratelimit import Config, Policy, RedisStore, parse_rate

from .conftest import RedisCluster, RedisServer


def policy(text: str, name: str) -> Policy:
    return Policy.build(name, f"k:{name}", parse_rate(text))


@pytest.fixture
async def store(prefix: str) -> AsyncIterator[RedisStore]:
    store = RedisStore(Config(storage="redis://127.0.0.1:6379/0", key_prefix=prefix))
    await store.start()
    yield store
    await store.stop()


async def test_keys_share_the_callers_slot_and_expire_with_their_tat(
    store: RedisStore, shared_redis: redis.Redis, prefix: str
) -> None:
    policies = [policy("10/second", "s"), policy("100/hour", "h"), policy("5/minute", "m")]
    verdict = await store.charge("user:alice", policies)
    assert verdict.allowed
    keys = store.keys("user:alice", policies)
    assert keys[0] == f"{prefix}:{{user:alice}}:k:s"
    assert len({key_slot(key.encode()) for key in keys}) == 1  # one slot: Cluster works
    ttls = [shared_redis.pttl(key) for key in keys]
    # each key lives until its TAT passes: one interval after one request
    assert 0 < ttls[0] <= 100
    assert 35_000 < ttls[1] <= 36_000
    assert 11_000 < ttls[2] <= 12_000


async def test_a_refusal_by_one_policy_charges_none(
    store: RedisStore, shared_redis: redis.Redis
) -> None:
    roomy, tight = policy("100/minute", "roomy"), policy("2/minute", "tight")
    answers = [(await store.charge("ip:1", [roomy, tight])).allowed for _ in range(4)]
    assert answers == [True, True, False, False]
    roomy_tat = int(shared_redis.get(store.keys("ip:1", [roomy])[0]) or 0)
    refused = await store.charge("ip:1", [roomy, tight])
    assert int(shared_redis.get(store.keys("ip:1", [roomy])[0]) or 0) == roomy_tat
    assert refused.states[0].remaining == 98  # two charged, the refusals not
    assert [s.policy.name for s in refused.violated] == ["tight"]
    assert refused.source == "redis"


async def test_the_redis_clock_decides(store: RedisStore, shared_redis: redis.Redis) -> None:
    seconds, micros = shared_redis.time()
    verdict = await store.charge("ip:2", [policy("1/minute", "one")])
    assert abs(verdict.now - (seconds * 1_000_000 + micros)) < 5_000_000


async def test_one_round_trip_per_decision_whatever_the_policies(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    store = RedisStore(Config(storage=redis_server.url, key_prefix="rt"))
    policies = [policy("10/second", "s"), policy("1000/hour", "h"), policy("50/minute", "m")]
    await store.charge("ip:warm", policies)  # connection set-up and script cache
    with redis_server.monitor(tmp_path / "monitor.log") as seen:
        for n in range(200):
            await store.charge(f"ip:{n % 7}", policies)
    await store.stop()
    sent = [line for line in seen() if "[0 lua]" not in line]  # what clients sent
    run_by_scripts = [line for line in seen() if "[0 lua]" in line]
    assert len(sent) == 200
    assert all('"EVALSHA"' in line for line in sent)
    # inside each script call: TIME, MGET, and a SET per policy when allowed
    assert {line.split('"')[1] for line in run_by_scripts} == {"TIME", "MGET", "SET"}


async def test_a_flushed_script_cache_costs_one_eval(redis_server: RedisServer) -> None:
    store = RedisStore(Config(storage=redis_server.url, key_prefix="ns"))
    one = [policy("5/minute", "five")]
    assert (await store.charge("ip:1", one)).allowed
    watcher = redis_server.client()
    watcher.script_flush()
    watcher.config_resetstat()
    answers = [(await store.charge("ip:1", one)).allowed for _ in range(5)]
    stats = watcher.info("commandstats")
    await store.stop()
    assert answers == [True, True, True, True, False]
    assert stats["cmdstat_eval"]["calls"] == 1
    assert stats["cmdstat_evalsha"]["calls"] == 5  # the first one failed with NOSCRIPT


async def test_redis_cluster_decides_each_caller_in_one_slot(redis_cluster: RedisCluster) -> None:
    store = RedisStore(Config(storage=redis_cluster.url, key_prefix="cl"))
    policies = [policy("3/minute", "m"), policy("100/hour", "h")]
    try:
        for n in range(30):  # callers spread over the three masters
            assert (await store.charge(f"ip:10.0.0.{n}", policies)).allowed
        answers = [(await store.charge("ip:10.0.0.1", policies)).allowed for _ in range(3)]
    finally:
        await store.stop()
    assert answers == [True, True, False]
    sizes = [node.client().dbsize() for node in redis_cluster.nodes]
    assert sum(sizes) == 60
    assert all(size > 0 for size in sizes)  # no single node holds every caller
