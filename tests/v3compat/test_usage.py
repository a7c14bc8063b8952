"""Who still calls v3: one event per request, and the heaviest identified callers in the
status facts."""

from __future__ import annotations

from typing import Any

from themisgate_v3compat.usage import TopCounter

from .support import SUNSET, api_keys, at, event_recorder, midnight, set_clock, v3_client

NOW = at(2026, 11, 29)


def v3_events(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [payload for name, payload in events if name == "v3_request"]


async def test_each_v3_request_is_an_event_with_route_identity_kind_and_tier() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    async with v3_client(event_recorder(events), api_keys(), now=NOW) as client:
        await client.post("/api/v3/vector/search", json={"query": "q"}, headers={"x-api-key": "k1"})
        await client.get("/api/v3/stats")
        await client.get("/api/v3/")
        await client.post("/api/v3/vector/search", json={"query": ""})
        await client.get("/api/v3/stats", headers={"x-api-key": "bad"})
        await client.get("/api/v4/themis/stats", headers={"x-api-key": "k1"})
    assert v3_events(events) == [
        {
            "route": "/api/v3/vector/search",
            "identity_kind": "api_key",
            "tier": "premium",
            "status": 200,
        },
        {"route": "/api/v3/stats", "identity_kind": "ip", "tier": "free", "status": 200},
        {"route": "/api/v3", "identity_kind": "ip", "tier": "free", "status": 200},
        {"route": "/api/v3/vector/search", "identity_kind": "ip", "tier": "free", "status": 422},
        {"route": "/api/v3/stats", "identity_kind": "unknown", "tier": "unknown", "status": 401},
    ]


async def test_requests_after_a_gone_sunset_are_counted_as_410s() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    async with v3_client(event_recorder(events), now=midnight(SUNSET)) as client:
        await client.get("/api/v3/stats")
    assert v3_events(events) == [
        {"route": "/api/v3/stats", "identity_kind": "ip", "tier": "free", "status": 410}
    ]


async def test_the_docs_are_not_counted_as_v3_use() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    async with v3_client(event_recorder(events), now=NOW) as client:
        await client.get("/api/v3/openapi.json")
        await client.get("/api/v3/docs")
    assert v3_events(events) == []


async def test_status_lists_the_heaviest_identified_callers_never_ip_addresses() -> None:
    async with v3_client(api_keys(), settings={"top_clients": 2}, now=NOW) as client:
        for key, calls in [("k1", 3), ("k2", 5), ("k3", 1)]:
            for _ in range(calls):
                await client.get("/api/v3/stats", headers={"x-api-key": key})
        await client.get("/api/v3/stats")
        await client.get("/api/v3/stats")
        ready = (await client.get("/ready")).json()
    check = next(c for c in ready["checks"] if c["name"] == "v3compat")
    assert check["ok"] is True
    assert check["required"] is False
    facts = check["facts"]
    assert facts["requests"] == 11
    assert facts["anonymous_requests"] == 2
    assert facts["top_clients"] == [
        {"client": "api_key:k2", "requests": 5},
        {"client": "api_key:k1", "requests": 3},
    ]
    assert "testclient" not in str(facts)
    assert facts["phase"] == "sunset-soon"
    assert facts["days_left"] == 32
    assert facts["sunset_date"] == "2026-12-31"


async def test_status_phase_follows_the_clock() -> None:
    async with v3_client(now=at(2026, 7, 1)) as client:
        early = (await client.get("/ready")).json()
        set_clock(client, at(2027, 1, 2))
        late = (await client.get("/ready")).json()
    phase = [
        next(c for c in body["checks"] if c["name"] == "v3compat")["facts"]["phase"]
        for body in (early, late)
    ]
    assert phase == ["deprecated", "gone"]


def test_the_tally_stays_bounded_and_keeps_a_heavy_caller() -> None:
    counter = TopCounter(capacity=8)
    for i in range(1000):
        counter.add(f"one-off-{i}")
        if i % 4 == 0:
            counter.add("heavy")
    assert len(counter.counts) == 8
    assert counter.top(1)[0][0] == "heavy"
    assert counter.top(1)[0][1] >= 250


def test_a_tally_of_no_callers_counts_nothing() -> None:
    counter = TopCounter(capacity=0)
    counter.add("k1")
    assert counter.top(5) == []
