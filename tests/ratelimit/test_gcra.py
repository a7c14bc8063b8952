"""GCRA in the memory store, on a hand-driven clock: bursts, the steady rate, no double
burst at a window boundary, all-or-nothing across policies, bounded memory."""

from __future__ import annotations

import random
import tracemalloc

from themisgate_ratelimit import MemoryStore, Policy, parse_rate
from themisgate_ratelimit.responses import allowed_field, ratelimit_field

from .conftest import ManualClock

SECOND = 1_000_000


def policy(text: str, name: str = "p") -> Policy:
    return Policy.build(name, f"k:{name}", parse_rate(text))


def allowed_now(store: MemoryStore, policies: list[Policy], caller: str = "ip:1") -> bool:
    return store.charge(caller, policies).allowed


def test_a_full_burst_then_exactly_the_steady_rate(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    ten_a_minute = [policy("10/minute")]
    assert [allowed_now(store, ten_a_minute) for _ in range(11)] == [True] * 10 + [False]
    for _ in range(5):  # then one every 6 s, and not a request more
        clock.advance(6)
        assert allowed_now(store, ten_a_minute)
        assert not allowed_now(store, ten_a_minute)


def test_an_explicit_burst_is_allowed_at_once_and_refills_at_the_rate(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    bursty = [policy("60/minute burst 20")]
    assert sum(allowed_now(store, bursty) for _ in range(25)) == 20
    clock.advance(5)  # 5 s at one per second: 5 more
    assert sum(allowed_now(store, bursty) for _ in range(25)) == 5


def test_no_double_burst_at_a_window_boundary(clock: ManualClock) -> None:
    """A fixed window would allow 10 just before the minute and 10 just after it."""
    store = MemoryStore(1000, clock)
    ten_a_minute = [policy("10/minute")]
    clock.advance(59.9)
    before = sum(allowed_now(store, ten_a_minute) for _ in range(10))
    clock.advance(0.2)  # across the boundary of a clock-aligned minute
    after = sum(allowed_now(store, ten_a_minute) for _ in range(10))
    assert (before, after) == (10, 0)


def test_no_window_ever_holds_more_than_the_burst_plus_the_rate(clock: ManualClock) -> None:
    """Under random hammering, any interval of w seconds admits at most
    burst + w / interval requests, and the long-run rate is exactly the policy's."""
    store = MemoryStore(1000, clock)
    ten_a_minute = [policy("10/minute")]
    rng = random.Random(6)
    admitted: list[int] = []
    start = clock.now
    while clock.now - start < 600 * SECOND:
        clock.advance(rng.expovariate(2.0))  # two attempts a second, twelve times the rate
        if allowed_now(store, ten_a_minute):
            admitted.append(clock.now)
    elapsed = (clock.now - start) / SECOND
    assert len(admitted) == 10 + int(elapsed // 6)  # the burst, then one every 6 s
    for window in (1, 6, 30, 60, 300):
        most = max(
            sum(1 for t in admitted[i:] if t < first + window * SECOND)
            for i, first in enumerate(admitted)
        )
        assert most <= 10 + window // 6, (window, most)


def test_a_refused_request_is_told_exactly_when_to_come_back(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    ten_a_minute = [policy("10/minute")]
    for _ in range(10):
        store.charge("ip:1", ten_a_minute)
    clock.advance(2)
    refused = store.charge("ip:1", ten_a_minute)
    assert not refused.allowed
    assert refused.retry_after == 4 * SECOND
    clock.advance(4 - 1e-6)
    assert not allowed_now(store, ten_a_minute)
    clock.advance(1e-6)
    assert allowed_now(store, ten_a_minute)


def test_remaining_and_next_unit_follow_the_charges(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    ten_a_minute = [policy("10/minute")]
    first = store.charge("ip:1", ten_a_minute)
    assert (first.states[0].remaining, first.states[0].next_unit) == (9, 6 * SECOND)
    clock.advance(1)
    second = store.charge("ip:1", ten_a_minute)
    assert (second.states[0].remaining, second.states[0].next_unit) == (8, 5 * SECOND)


def test_all_policies_are_charged_or_none(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    per_second, per_minute = policy("3/second", "s"), policy("5/minute", "m")
    both = [per_second, per_minute]
    assert [allowed_now(store, both) for _ in range(4)] == [True, True, True, False]
    refused = store.charge("ip:1", both)
    assert [s.policy.name for s in refused.violated] == ["s"]
    # the per-minute policy was not charged for the refused requests: 2 of 5 are left
    assert refused.states[1].remaining == 2
    clock.advance(1)
    assert [allowed_now(store, both) for _ in range(3)] == [True, True, False]
    minute_refusal = store.charge("ip:1", both)
    assert [s.policy.name for s in minute_refusal.violated] == ["m"]


def test_callers_have_separate_allowances(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    one = [policy("1/minute")]
    assert allowed_now(store, one, "ip:1")
    assert allowed_now(store, one, "ip:2")
    assert not allowed_now(store, one, "ip:1")


def test_a_cost_takes_that_many_units(clock: ManualClock) -> None:
    store = MemoryStore(1000, clock)
    ten = [policy("10/minute")]
    assert store.charge("ip:1", ten, cost=7).allowed
    assert not store.charge("ip:1", ten, cost=4).allowed
    peek = store.charge("ip:1", ten, cost=0)
    assert peek.allowed
    assert peek.states[0].remaining == 3
    assert store.charge("ip:1", ten, cost=3).allowed


def test_expired_entries_are_dropped_as_new_ones_come(clock: ManualClock) -> None:
    store = MemoryStore(1_000_000, clock)
    quick = [policy("10/second")]
    for i in range(1000):
        store.charge(f"ip:{i}", quick)
    assert len(store) == 1000
    clock.advance(1)  # every entry has expired: each new caller clears two old ones
    for i in range(1000, 1600):
        store.charge(f"ip:{i}", quick)
    assert len(store) == 600
    assert store.evicted == 0  # nothing live was lost


def test_memory_stays_bounded_with_100000_distinct_callers(clock: ManualClock) -> None:
    max_keys = 10_000
    store = MemoryStore(max_keys, clock)
    hourly = [policy("100/hour")]  # nothing expires during the test
    callers = [f"ip:10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(100_000)]
    tracemalloc.start()
    try:
        for caller in callers[:max_keys]:
            store.charge(caller, hourly)
        at_max, _ = tracemalloc.get_traced_memory()
        for caller in callers[max_keys:]:
            store.charge(caller, hourly)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(store) == max_keys
    assert store.evicted == 100_000 - max_keys
    # ten times the callers, about the same memory (a dict's table size varies a little)
    assert after < at_max * 1.5, (at_max, after)
    # the most recent callers are the ones kept, the oldest went
    assert not store.charge(callers[-1], hourly, cost=100).allowed  # it has spent one
    assert store.charge(callers[0], hourly, cost=100).allowed  # forgotten: a fresh start


def test_the_fast_header_of_allowed_requests_matches_the_policy_states(
    clock: ManualClock,
) -> None:
    store = MemoryStore(1000, clock)
    policies = [
        policy("10/second", "s"),
        policy("100/minute burst 30", "m"),
        policy("1000/day", "d"),
    ]
    rng = random.Random(3)
    compared = 0
    for _ in range(300):
        clock.advance(rng.random() * 2)
        verdict = store.charge("ip:1", policies)
        if verdict.allowed:
            assert allowed_field(verdict).decode() == ratelimit_field(verdict.states)
            compared += 1
    assert compared > 100


def test_fewest_remaining_of_an_allowed_request_is_what_tightest_reports(
    clock: ManualClock,
) -> None:
    """The `rate_limit_checked` event reads it on every allowed request."""
    store = MemoryStore(1000, clock)
    policies = [policy("20/second", "s"), policy("200/minute", "m"), policy("40/minute", "b")]
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        clock.advance(rng.choice([0, 0, 0.05, 0.5, 3]))
        verdict = store.charge("ip:1", policies, rng.choice([1, 1, 2]))
        if not verdict.allowed:
            continue
        tightest = verdict.tightest
        assert tightest is not None
        assert verdict.fewest_remaining() == (tightest.policy, tightest.remaining)
        checked += 1
    assert checked > 50
