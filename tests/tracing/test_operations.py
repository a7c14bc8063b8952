"""GraphQL operations and WebSocket messages (`themisgate_operation`) as spans."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, post, websocket
from litestar.params import JSONBody
from opentelemetry.trace import SpanKind, StatusCode

from themisgate import Ctx

from .support import by_name, traced_client


@post("/graphql-like")
async def graphql_like(ctx: Ctx, data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    attributes = {
        "graphql.operation.type": "query",
        "graphql.operation.name": data["name"],
        "graphql.document": "query Search { search { id } }",
    }
    with ctx.operation("graphql", data["name"], attributes):
        await ctx.adapter.get_document("books", "b1")
        attributes["graphql.errors"] = 0
    return {"ok": True}


@websocket("/ws-like")
async def ws_like(ctx: Ctx, socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    while True:
        message = await socket.receive_json()
        attributes = {"websocket.endpoint": "/ws-like", "websocket.client_id": "c1"}
        try:
            with ctx.operation("websocket", message["action"], attributes):
                if message["action"] == "fail":
                    raise ValueError("cannot do that")
                await ctx.adapter.get_document("books", "b1")
                attributes["results.count"] = 1
        except ValueError:
            await socket.send_json({"type": "error"})
            continue
        await socket.send_json({"type": "result"})
        if message["action"] == "bye":
            break
    await socket.close()


class Surfaces:
    name = "surfaces"

    def themisgate_routes(self, ctx: Any) -> list[Any]:
        return [graphql_like, ws_like]


async def test_a_graphql_operation_is_a_span_inside_its_request() -> None:
    async with traced_client(Surfaces()) as (client, spans):
        response = await client.post("/graphql-like", json={"name": "Search"})
    assert response.status_code == 201
    found = by_name(spans)
    request, operation = found["POST /graphql-like"], found["query Search"]
    assert operation.kind is SpanKind.INTERNAL
    assert operation.parent is not None
    assert request.context is not None
    assert operation.parent.span_id == request.context.span_id
    assert (operation.attributes or {})["graphql.operation.name"] == "Search"
    assert (operation.attributes or {})["graphql.errors"] == 0
    read = found["themis.get_document"]
    assert read.parent is not None
    assert operation.context is not None
    assert read.parent.span_id == operation.context.span_id


async def test_each_websocket_message_is_a_trace_of_its_own() -> None:
    async with traced_client(Surfaces()) as (client, spans):
        with await client.websocket_connect("/ws-like") as socket:
            socket.send_json({"action": "search"})
            assert socket.receive_json() == {"type": "result"}
            socket.send_json({"action": "fail"})
            assert socket.receive_json() == {"type": "error"}
            socket.send_json({"action": "bye"})
            assert socket.receive_json() == {"type": "result"}
    messages = [s for s in spans.get_finished_spans() if s.name.startswith("websocket ")]
    assert sorted(s.name for s in messages) == [
        "websocket bye",
        "websocket fail",
        "websocket search",
    ]
    trace_ids = {s.context.trace_id for s in messages if s.context is not None}
    assert len(trace_ids) == 3
    for span in messages:
        assert span.kind is SpanKind.SERVER
        assert span.parent is None
        assert (span.attributes or {})["websocket.endpoint"] == "/ws-like"
    search = next(s for s in messages if s.name == "websocket search")
    assert (search.attributes or {})["results.count"] == 1
    failed = next(s for s in messages if s.name == "websocket fail")
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["error.type"] == "ValueError"
    reads = [s for s in spans.get_finished_spans() if s.name == "themis.get_document"]
    assert {r.parent.span_id for r in reads if r.parent} == {
        s.context.span_id for s in messages if s.context and s.name != "websocket fail"
    }
