"""The one-way WebSocket streams: the adapter's status (periodic, and at once on a change)
and the live log (records at or above a level, from structlog and the standard library,
secrets redacted, bounded per reader)."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
import structlog
from litestar import get
from litestar.params import FromQuery
from litestar.testing import TestClient

from themisgate.themis import ThemisUnavailable

from .support import closed_with, receive, websocket_app

STATUS = "/api/v4/ws/adapter/status"
LOGS = "/api/v4/ws/logs"


@get("/test/log-burst")
async def log_burst(count: FromQuery[int] = 1) -> dict[str, int]:
    """Log `count` warnings at once, on the server's event loop."""
    log = structlog.get_logger("test.burst")
    for n in range(count):
        log.warning("burst", n=n)
    return {"logged": count}


class Burst:
    name = "burst"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [log_burst]


def test_the_status_stream_starts_with_the_status_and_repeats_it() -> None:
    app = websocket_app(status_interval_seconds=0.2, status_poll_seconds=0.1)
    with TestClient(app) as client, client.websocket_connect(STATUS) as ws:
        assert receive(ws)["type"] == "connected"
        first = receive(ws)
        second = receive(ws)
    assert first["type"] == "status"
    assert first["reason"] == "initial"
    (adapter,) = first["adapters"]
    assert adapter["name"] == "embedded"
    assert adapter["available"] is True
    assert adapter["detail"] == "healthy"
    assert {"version", "query_count", "error_count", "avg_latency_ms"} <= set(adapter)
    assert second["reason"] == "interval"


def test_a_change_of_status_is_sent_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # an interval far longer than the test: only a change can explain a second frame
    app = websocket_app(status_interval_seconds=3600, status_poll_seconds=0.05)
    adapter = app.state["themisgate"].adapter

    async def unreachable() -> Any:
        raise ThemisUnavailable("ThemisDB does not answer")

    with TestClient(app) as client, client.websocket_connect(STATUS) as ws:
        receive(ws)
        assert receive(ws)["adapters"][0]["available"] is True
        monkeypatch.setattr(adapter, "health", unreachable)
        changed = receive(ws)
        monkeypatch.undo()
        recovered = receive(ws)
    assert changed["reason"] == "change"
    assert changed["adapters"][0]["available"] is False
    assert changed["adapters"][0]["detail"] == "ThemisDB does not answer"
    assert recovered["reason"] == "change"
    assert recovered["adapters"][0]["available"] is True


def test_the_log_stream_sends_records_at_or_above_its_level(logging_on: io.StringIO) -> None:
    with (
        TestClient(websocket_app(Burst())) as client,
        client.websocket_connect(f"{LOGS}?log_level=WARNING") as ws,
    ):
        assert receive(ws)["type"] == "connected"
        log = structlog.get_logger("test.levels")
        log.info("too quiet", marker="m1")
        log.warning("loud enough", marker="m2", api_token="s3cr3t-value")
        logging.getLogger("some.library").error("stdlib says %s", "hello")
        client.get("/test/log-burst?count=1")  # logged on the server's own loop
        records = [receive(ws) for _ in range(3)]
    assert [r["type"] for r in records] == ["log", "log", "log"]
    assert all(r["id"] for r in records)
    assert len({r["id"] for r in records}) == 3
    warning, stdlib, burst = (r["record"] for r in records)
    assert warning["event"] == "loud enough"
    assert warning["level"] == "warning"
    assert warning["marker"] == "m2"
    assert warning["api_token"] != "s3cr3t-value"  # redacted before any listener sees it
    assert "timestamp" in warning
    assert stdlib["event"] == "stdlib says hello"
    assert stdlib["level"] == "error"
    assert stdlib["logger"] == "some.library"
    assert burst["event"] == "burst"
    assert "s3cr3t-value" not in str(records)


def test_a_reader_that_falls_behind_loses_records_and_is_told_how_many(
    logging_on: io.StringIO,
) -> None:
    app = websocket_app(Burst(), log_queue_size=5)
    with TestClient(app) as client, client.websocket_connect(f"{LOGS}?log_level=warning") as ws:
        receive(ws)
        assert client.get("/test/log-burst?count=50").json() == {"logged": 50}
        frames = [receive(ws) for _ in range(6)]
    assert [f["record"]["n"] for f in frames[:5]] == [0, 1, 2, 3, 4]
    assert frames[5] == {"type": "logs_dropped", "dropped": 45}


def test_the_log_stream_resumes_after_the_last_record_seen(logging_on: io.StringIO) -> None:
    with TestClient(websocket_app(Burst())) as client:
        with client.websocket_connect(f"{LOGS}?log_level=warning") as ws:
            receive(ws)
            client.get("/test/log-burst?count=2")
            seen = [receive(ws), receive(ws)]
        client.get("/test/log-burst?count=3")  # logged while nobody watched
        last = seen[-1]["id"]
        with client.websocket_connect(f"{LOGS}?log_level=warning&last_event_id={last}") as ws:
            receive(ws)
            missed = [receive(ws) for _ in range(3)]
    assert [f["record"]["n"] for f in seen] == [0, 1]
    assert [f["record"]["n"] for f in missed] == [0, 1, 2]
    assert all(_seq(f["id"]) > _seq(last) for f in missed)


def _seq(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


def test_a_bad_log_level_is_refused() -> None:
    with (
        TestClient(websocket_app()) as client,
        client.websocket_connect(f"{LOGS}?log_level=LOUD") as ws,
    ):
        code, frames = closed_with(ws)
    assert code == 1008
    assert frames[0]["code"] == "invalid_field"
    assert frames[0]["field"] == "log_level"


def test_streams_answer_pings_and_refuse_other_actions() -> None:
    app = websocket_app(status_interval_seconds=3600)
    with TestClient(app) as client, client.websocket_connect(STATUS) as ws:
        receive(ws)
        ws.send_json({"action": "search", "query": "solar"})
        ws.send_json({"action": "ping", "id": 3})
        # the initial status comes first or in between; then the two answers, in order
        answers = [f for f in (receive(ws) for _ in range(3)) if f["type"] != "status"]
    assert answers[0]["type"] == "error"
    assert answers[0]["code"] == "unknown_action"
    assert answers[1] == {"type": "pong", "ts": answers[1]["ts"], "id": 3}
