"""Every log record of a traced request carries its trace id and the current span's id."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar import WebSocket, get, websocket
from opentelemetry.sdk.trace import ReadableSpan

from themisgate import Ctx
from themisgate.logs import configure_logging

from .support import TRACEPARENT, by_name, traced_client

log = structlog.get_logger("tests.tracing")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def ids(span: ReadableSpan) -> dict[str, str]:
    assert span.context is not None
    return {
        "trace_id": format(span.context.trace_id, "032x"),
        "span_id": format(span.context.span_id, "016x"),
    }


@get("/chatty")
async def chatty() -> dict[str, str]:
    log.info("handler says hello")
    logging.getLogger("tests.stdlib").warning("the standard library too")
    return {"ok": "yes"}


class Chatty:
    """Routes, and an adapter observer that logs inside the ThemisDB span."""

    name = "chatty"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [chatty]

    @contextlib.contextmanager
    def themisgate_adapter_call(self, operation: str, attributes: dict[str, Any]) -> Iterator[None]:
        log.info("inside the operation", operation=operation)
        yield


async def test_records_carry_the_trace_and_the_current_span(log_stream: io.StringIO) -> None:
    settings = {"core": {"access_log": True}}
    async with traced_client(Chatty(), settings=settings) as (client, spans):
        response = await client.get("/chatty", headers={"traceparent": TRACEPARENT})
        await client.get("/api/v4/themis/documents/books/b1")
        log.info("after the requests")
    assert response.status_code == 200
    found = by_name(spans)
    request = ids(found["GET /chatty"])
    assert request["trace_id"] == TRACEPARENT.split("-")[1] == response.headers["x-trace-id"]
    lines = records(log_stream)

    def one(event: str, **where: Any) -> dict[str, Any]:
        (line,) = [r for r in lines if r.get("event") == event and where.items() <= r.items()]
        return line

    assert request.items() <= one("handler says hello").items()
    assert request.items() <= one("the standard library too").items()
    assert request.items() <= one("request", path="/chatty").items()  # the access log
    inside = one("inside the operation", operation="get_document")
    assert ids(found["themis.get_document"]).items() <= inside.items()
    # the request's span again once the operation is over
    document_request = ids(found["GET /api/v4/themis/documents/{collection}/{key}"])
    assert (
        document_request.items() <= one("request", path="/api/v4/themis/documents/books/b1").items()
    )
    outside = one("after the requests")
    assert "trace_id" not in outside
    assert "span_id" not in outside


async def test_unsampled_requests_still_log_their_trace_id(log_stream: io.StringIO) -> None:
    settings = {"core": {"access_log": True}}
    async with traced_client(Chatty(), settings=settings, sampler="always_off") as (client, spans):
        response = await client.get("/chatty")
    assert spans.get_finished_spans() == ()
    (line,) = [r for r in records(log_stream) if r.get("event") == "handler says hello"]
    assert line["trace_id"] == response.headers["x-trace-id"]
    assert len(line["span_id"]) == 16


@websocket("/ws-chatty")
async def ws_chatty(ctx: Ctx, socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    message = await socket.receive_json()
    with ctx.operation("websocket", message["action"], {"websocket.endpoint": "/ws-chatty"}):
        log.info("handling a message")
    await socket.send_json({"type": "done"})
    await socket.close()


class WsChatty:
    name = "ws_chatty"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [ws_chatty]


async def test_a_websocket_message_logs_with_its_own_trace(log_stream: io.StringIO) -> None:
    async with traced_client(WsChatty()) as (client, spans):
        with await client.websocket_connect("/ws-chatty") as socket:
            socket.send_json({"action": "search"})
            assert socket.receive_json() == {"type": "done"}
    (line,) = [r for r in records(log_stream) if r.get("event") == "handling a message"]
    assert ids(by_name(spans)["websocket search"]).items() <= line.items()
