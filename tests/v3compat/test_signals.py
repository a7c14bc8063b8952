"""Every v3 answer says, in standard and in legacy header fields, that v3 is deprecated,
when it goes away and where to go; after the sunset v3 is gone (or kept, if so set)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from themisgate import Identity

from .support import (
    DEPRECATION,
    PROBLEM,
    SUNSET,
    Plugin,
    api_keys,
    at,
    midnight,
    parse_deprecation,
    parse_links,
    parse_sunset,
    set_clock,
    v3_client,
)

SEARCH = {"query": "solar power"}


async def test_standard_fields_follow_their_rfcs() -> None:
    async with v3_client(now=at(2026, 11, 29)) as client:
        response = await client.post("/api/v3/vector/search", json=SEARCH)
    assert response.status_code == 200
    headers = response.headers
    assert parse_deprecation(headers["deprecation"]) == midnight(DEPRECATION)
    assert parse_sunset(headers["sunset"]) == midnight(SUNSET)
    links = parse_links(headers["link"])
    assert links["successor-version"] == ["/api/v4/themis/vectors/search"]
    assert links["deprecation"] == ["/api/v3/docs"]
    assert links["sunset"] == ["/api/v3/docs"]


async def test_legacy_fields_for_older_clients() -> None:
    async with v3_client(now=at(2026, 11, 29)) as client:
        response = await client.get("/api/v3/stats")
    assert response.headers["x-api-deprecation"] == "true"
    assert dt.date.fromisoformat(response.headers["x-api-sunset-date"]) == SUNSET


@pytest.mark.parametrize(
    ("path", "successor"),
    [
        ("/api/v3/vector/search", "/api/v4/themis/vectors/search"),
        ("/api/v3/aql/query", "/api/v4/themis/aql/query"),
        ("/api/v3/stats", "/api/v4/themis/stats"),
        ("/api/v3", "/api"),
        ("/api/v3/", "/api"),
        ("/api/v3/openapi.json", "/api/v4/openapi.json"),
        ("/api/v3/docs", "/api/v4/docs"),
        ("/api/v3/no/such/route", "/api/v4/docs"),
    ],
)
async def test_successor_is_the_v4_equivalent_of_each_route(path: str, successor: str) -> None:
    async with v3_client(now=at(2026, 11, 29)) as client:
        if path.endswith(("search", "query")):
            response = await client.post(path, json={"query": "q"})
        else:
            response = await client.get(path)
    assert parse_links(response.headers["link"])["successor-version"] == [successor]


async def test_errors_carry_the_signals_too() -> None:
    async with v3_client(api_keys(), now=at(2026, 11, 29)) as client:
        invalid = await client.post("/api/v3/vector/search", json={"query": ""})
        missing = await client.get("/api/v3/nothing/here")
        wrong_method = await client.delete("/api/v3/stats")
        refused = await client.get("/api/v3/stats", headers={"x-api-key": "bad"})
    for response, status in [(invalid, 422), (missing, 404), (wrong_method, 405), (refused, 401)]:
        assert response.status_code == status
        assert response.headers["content-type"].startswith(PROBLEM)
        assert parse_deprecation(response.headers["deprecation"]) == midnight(DEPRECATION)
        assert "successor-version" in parse_links(response.headers["link"])
        assert response.headers["x-api-sunset-days"] == "32"


async def test_other_paths_get_no_signals() -> None:
    async with v3_client(now=at(2026, 11, 29)) as client:
        v4 = await client.get("/api/v4/themis/stats")
        lookalike = await client.get("/api/v30")
    for response in (v4, lookalike):
        assert "deprecation" not in response.headers
        assert "sunset" not in response.headers
        assert "link" not in response.headers


async def test_more_than_90_days_before_the_sunset_no_countdown() -> None:
    async with v3_client(now=at(2026, 7, 1)) as client:
        response = await client.get("/api/v3/stats")
    assert response.status_code == 200
    assert "x-api-sunset-days" not in response.headers
    assert response.headers["x-api-deprecation"] == "true"


@pytest.mark.parametrize(
    ("now", "days"),
    [
        (at(2026, 10, 2), None),  # exactly 90 days left: not yet fewer than 90
        (at(2026, 10, 3, 0, 0, 0), "89"),
        (at(2026, 11, 29), "32"),
        (at(2026, 12, 30, 23, 59, 59), "1"),
    ],
)
async def test_within_90_days_the_countdown_is_sent(now: dt.datetime, days: str | None) -> None:
    async with v3_client(now=now) as client:
        response = await client.get("/api/v3/stats")
    assert response.status_code == 200
    assert response.headers.get("x-api-sunset-days") == days


async def test_countdown_follows_the_clock_day_by_day() -> None:
    async with v3_client(now=at(2026, 12, 1)) as client:
        first = await client.get("/api/v3/stats")
        set_clock(client, at(2026, 12, 2))
        second = await client.get("/api/v3/stats")
    assert first.headers["x-api-sunset-days"] == "30"
    assert second.headers["x-api-sunset-days"] == "29"


async def test_after_the_sunset_v3_is_gone_pointing_to_v4() -> None:
    async with v3_client(now=midnight(SUNSET)) as client:
        search = await client.post("/api/v3/vector/search", json=SEARCH)
        stats = await client.get("/api/v3/stats")
        index = await client.get("/api/v3/")
        v4 = await client.get("/api/v4/themis/stats")
    assert search.status_code == 410
    assert search.headers["content-type"].startswith(PROBLEM)
    body = search.json()
    assert body["type"] == "urn:themisgate:problem:api-version-gone"
    assert body["successor"] == "/api/v4/themis/vectors/search"
    assert body["sunset_date"] == "2026-12-31"
    assert body["migration_guide"] == "/api/v3/docs"
    assert "POST /api/v4/themis/vectors/search" in body["detail"]
    assert body["request_id"] == search.headers["x-request-id"]
    assert parse_links(search.headers["link"])["successor-version"] == [body["successor"]]
    assert search.headers["x-api-sunset-days"] == "0"
    assert stats.status_code == 410
    assert stats.json()["successor"] == "/api/v4/themis/stats"
    assert index.status_code == 410
    assert v4.status_code == 200


async def test_one_second_before_the_sunset_v3_still_answers() -> None:
    async with v3_client(now=midnight(SUNSET) - dt.timedelta(seconds=1)) as client:
        response = await client.get("/api/v3/stats")
    assert response.status_code == 200


async def test_after_the_sunset_the_docs_still_explain_v3() -> None:
    async with v3_client(now=at(2027, 3, 1)) as client:
        document = await client.get("/api/v3/openapi.json")
        page = await client.get("/api/v3/docs")
    assert document.status_code == 200
    assert page.status_code == 200
    assert parse_sunset(document.headers["sunset"]) == midnight(SUNSET)


async def test_serve_keeps_answering_after_the_sunset() -> None:
    settings = {"after_sunset": "serve"}
    async with v3_client(settings=settings, now=at(2027, 3, 1)) as client:
        response = await client.post("/api/v3/vector/search", json=SEARCH)
    assert response.status_code == 200
    assert response.json() == {"results": []}
    assert parse_sunset(response.headers["sunset"]) == midnight(SUNSET)
    assert response.headers["x-api-sunset-days"] == "0"


async def test_dates_and_guide_come_from_the_settings() -> None:
    settings = {
        "deprecation_date": "2025-01-15",
        "sunset_date": "2027-06-30",
        "migration_guide": "https://docs.example.com/themisgate/migrate?from=v3",
        "sunset_warning_days": 30,
    }
    async with v3_client(settings=settings, now=at(2027, 5, 1)) as client:
        early = await client.get("/api/v3/stats")
        set_clock(client, at(2027, 6, 1))
        late = await client.get("/api/v3/stats")
    assert parse_deprecation(early.headers["deprecation"]) == midnight(dt.date(2025, 1, 15))
    assert parse_sunset(early.headers["sunset"]) == midnight(dt.date(2027, 6, 30))
    assert parse_links(early.headers["link"])["deprecation"] == [
        "https://docs.example.com/themisgate/migrate?from=v3"
    ]
    assert "x-api-sunset-days" not in early.headers  # 60 days left, warning from 30
    assert late.headers["x-api-sunset-days"] == "29"


def members_only() -> Plugin:
    """Anonymous callers hold no scope at all: every v3 data route needs credentials."""

    def themisgate_identify(request: Any) -> Identity:
        return Identity("ip", "anonymous", "free", frozenset())

    return Plugin("members", themisgate_identify=themisgate_identify)


async def test_gone_is_said_before_credentials_are_asked_for() -> None:
    async with v3_client(members_only(), now=at(2026, 11, 29)) as client:
        before = await client.get("/api/v3/stats")
        set_clock(client, midnight(SUNSET))
        after = await client.get("/api/v3/stats")
    assert before.status_code == 401
    assert parse_sunset(before.headers["sunset"]) == midnight(SUNSET)
    assert after.status_code == 410
    assert after.json()["successor"] == "/api/v4/themis/stats"
