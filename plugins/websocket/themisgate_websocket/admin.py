"""HTTP endpoints for the server side of messaging (admin scope): what this instance
holds, and broadcasts or personal messages sent by the server (`"from": "server"`) to
clients on any instance."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get, post
from litestar.params import FromPath, JSONBody

from themisgate import Ctx, ProblemError
from themisgate import problem_responses as problems

from .hub import broadcast_frame, personal_frame
from .protocol import CLIENT_ID
from .runtime import runtime_for

SERVER = "server"


class Outgoing(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`message` is any JSON value; clients receive it unchanged."""

    message: Any


class Delivery(msgspec.Struct):
    # connections of this instance that took the frame; other instances get it via Redis
    delivered_here: int
    bus: str


class ConnectionFacts(msgspec.Struct):
    instance: str
    connections: int
    clients: int
    by_endpoint: dict[str, int]
    queued_frames: int
    dropped_slow_consumers: int
    delivered: int
    bus: str
    bus_ok: bool
    bus_detail: str
    log_subscribers: int


@get(
    "/api/v4/ws/connections",
    opt={"scope": "admin"},
    tags=["websocket"],
    responses=problems(401, 403, 429),
)
async def connections(ctx: Ctx) -> ConnectionFacts:
    """This instance's WebSocket connections, queues and slow consumers dropped."""
    runtime = runtime_for(ctx)
    bus = await runtime.bus.status()
    return ConnectionFacts(
        **runtime.hub.facts(),
        bus_ok=bus.ok,
        bus_detail=bus.detail,
        log_subscribers=len(runtime.logs.subscribers),
    )


@post(
    "/api/v4/ws/broadcast",
    opt={"scope": "admin"},
    tags=["websocket"],
    status_code=202,
    responses=problems(400, 401, 403, 413, 422, 429),
)
async def broadcast(ctx: Ctx, data: JSONBody[Outgoing]) -> Delivery:
    """Send `{"type": "broadcast", "from": "server", "message": …}` to every client of the
    search endpoint, on every instance."""
    runtime = runtime_for(ctx)
    frame = broadcast_frame(SERVER, _raw(data.message))
    delivered = await runtime.hub.broadcast(frame, "broadcast")
    return Delivery(delivered, runtime.bus.kind)


@post(
    "/api/v4/ws/clients/{client_id:str}/messages",
    opt={"scope": "admin"},
    tags=["websocket"],
    status_code=202,
    responses=problems(400, 401, 403, 413, 422, 429),
)
async def message_client(
    ctx: Ctx,
    client_id: FromPath[str],
    data: JSONBody[Outgoing],
) -> Delivery:
    """Send `{"type": "message", "from": "server", "message": …}` to every connection of
    `client_id`, on every instance."""
    if not CLIENT_ID.match(client_id):
        raise ProblemError(
            422, "client_id: 1-128 letters, digits and _ . : @ -", slug="validation-error"
        )
    runtime = runtime_for(ctx)
    frame = personal_frame(SERVER, _raw(data.message))
    delivered = await runtime.hub.send_to(client_id, frame, "message")
    return Delivery(delivered, runtime.bus.kind)


def _raw(message: Any) -> msgspec.Raw:
    return msgspec.Raw(msgspec.json.encode(message))


ROUTES = [connections, broadcast, message_client]
