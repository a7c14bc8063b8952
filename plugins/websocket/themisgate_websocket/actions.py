"""What happens to one client message: decode it into its Struct (or classify why not),
charge it to the rate limiter, check the scope its action needs, and run the action
inside `ctx.operation("websocket", action, ...)` so metrics and tracing observe it.

Whatever goes wrong with one message is answered with an error frame and the connection
stays open; only the transport (size, slowness, idleness) closes connections.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Mapping
from typing import Any

import msgspec
import structlog

from themisgate import SearchQuery, WebSocketAction
from themisgate.themis import (
    ThemisBadRequest,
    ThemisError,
    ThemisNotFound,
    ThemisUnavailable,
)

from .connection import Connection
from .hub import broadcast_frame, personal_frame
from .protocol import (
    BAD_REQUEST,
    BUSY,
    FORBIDDEN,
    INTERNAL_ERROR,
    INVALID_FIELD,
    NOT_FOUND,
    RATE_LIMITED,
    SEARCH_FAILED,
    UNAVAILABLE,
    UNKNOWN_ACTION,
    Broadcast,
    Error,
    Inbound,
    Ping,
    Pong,
    Rejected,
    RequestId,
    Result,
    Search,
    SearchComplete,
    SearchStarted,
    Send,
    classify,
    encode,
    error_frame,
)
from .runtime import WebSocketRuntime

log = structlog.get_logger("themisgate.websocket")

_decode_any = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class Dispatcher:
    """Built once per endpoint kind: the messaging endpoint takes every action, the
    streams only `ping` (and whatever other plugins added)."""

    def __init__(self, runtime: WebSocketRuntime, endpoint: str, *, streams: bool) -> None:
        self.runtime = runtime
        self.ctx = runtime.ctx
        self.config = runtime.config
        self.endpoint = endpoint
        self.hub = runtime.hub
        self.extensions: Mapping[str, WebSocketAction] = runtime.actions
        self._decode = msgspec.json.Decoder(Inbound).decode
        self._streams = streams
        self._listening = runtime.listening

    # --- one message ----------------------------------------------------------------------

    async def handle(self, connection: Connection, data: str | bytes) -> None:
        request_id: RequestId | None = None
        try:
            try:
                message = self._decode(data)
            except msgspec.DecodeError as exc:
                rejected = classify(exc)
                if rejected.code == UNKNOWN_ACTION and self.extensions:
                    extension = self._extension(data)
                    if extension is not None:
                        await self._run_extension(connection, *extension)
                        return
                self._received(connection, "invalid")
                raise rejected from None
            request_id = message.id
            action = type(message).__struct_config__.tag
            assert isinstance(action, str)
            if self._streams and not isinstance(message, Ping):
                self._received(connection, "invalid")
                accepted = ", ".join(["ping", *self.extensions])
                raise Rejected(
                    UNKNOWN_ACTION, f"this stream accepts only: {accepted}", field="action"
                )
            self._received(connection, action)
            cost = (
                self.config.search_cost if isinstance(message, Search) else self.config.message_cost
            )
            await self._charge(connection, action, cost)
            await self._run(connection, action, message)
        except Rejected as rejected:
            await connection.put("error", encode(error_frame(rejected, request_id)))
        except Exception:
            log.exception("websocket message failed", endpoint=self.endpoint)
            frame = Error(code=INTERNAL_ERROR, message="the server failed on this message")
            await connection.put("error", encode(frame))

    def _received(self, connection: Connection, action: str) -> None:
        if self._listening:
            self.ctx.emit(
                "ws_message", {"endpoint": self.endpoint, "direction": "in", "type": action}
            )

    async def _charge(self, connection: Connection, action: str, cost: int) -> None:
        decision = await self.ctx.rate_limit(connection.identity, f"websocket:{action}", cost)
        if not decision.allowed:
            retry_after = round(max(decision.retry_after, 0.0), 3)
            raise Rejected(
                RATE_LIMITED,
                f"too many messages; retry in {retry_after:g}s",
                retry_after=retry_after,
            )

    def _require(self, connection: Connection, scope: str, action: str) -> None:
        if not connection.identity.allows(scope):
            raise Rejected(FORBIDDEN, f"the {action!r} action needs the {scope!r} scope")

    async def _run(self, connection: Connection, action: str, message: Inbound) -> None:
        attributes: dict[str, Any] = {
            "websocket.endpoint": self.endpoint,
            "websocket.client_id": connection.client_id,
        }
        if isinstance(message, Ping):
            with self.ctx.operation("websocket", action, attributes):
                pong = Pong(ts=round(time.time(), 3), id=message.id)
                await connection.put("pong", encode(pong))
        elif isinstance(message, Search):
            self._start_search(connection, message, attributes)
        elif isinstance(message, Broadcast):
            self._require(connection, self.config.messaging_scope, action)
            with self.ctx.operation("websocket", action, attributes):
                frame = broadcast_frame(connection.client_id, message.message)
                attributes["results.count"] = await self.hub.broadcast(frame, "broadcast")
        elif isinstance(message, Send):
            self._require(connection, self.config.messaging_scope, action)
            with self.ctx.operation("websocket", action, attributes):
                personal = personal_frame(connection.client_id, message.message)
                attributes["results.count"] = await self.hub.send_to(
                    message.to, personal, "message"
                )

    # --- search -----------------------------------------------------------------------------

    def _start_search(
        self, connection: Connection, message: Search, attributes: dict[str, Any]
    ) -> None:
        """Searches run beside the reader, so pings and other searches are answered while
        one streams; at most `max_concurrent_searches` per connection."""
        if len(connection.tasks) >= self.config.max_concurrent_searches:
            raise Rejected(
                BUSY,
                f"at most {self.config.max_concurrent_searches} searches at once per "
                "connection; wait for search_complete",
            )
        if message.query is None and message.vector is None:
            raise Rejected(INVALID_FIELD, "query: give `query` (text) or `vector`", field="query")
        if message.top_k > self.config.max_top_k:
            raise Rejected(
                INVALID_FIELD,
                f"top_k: at most {self.config.max_top_k} on this server",
                field="top_k",
            )
        task = asyncio.create_task(self._search(connection, message, attributes))
        connection.tasks.add(task)
        task.add_done_callback(connection.tasks.discard)

    async def _search(
        self, connection: Connection, message: Search, attributes: dict[str, Any]
    ) -> None:
        request_id = message.id
        query = SearchQuery(
            collection=message.collection or self.config.default_collection,
            query=message.query,
            vector=message.vector,
            top_k=message.top_k,
            threshold=message.threshold,
            filters=message.filters,
            include_documents=message.include_documents,
        )
        put = connection.put
        try:
            with self.ctx.operation("websocket", "search", attributes):
                await put(
                    "search_started", encode(SearchStarted(query=message.query, id=request_id))
                )
                outcome = await self.ctx.adapter.search(query)
                results = outcome.results
                total = len(results)
                attributes["results.count"] = total
                for index, match in enumerate(results):
                    frame = Result(data=match, index=index, total=total, id=request_id)
                    await put("result", encode(frame))
                await put(
                    "search_complete", encode(SearchComplete(total_results=total, id=request_id))
                )
        except ThemisError as exc:
            await put("error", encode(_search_error(exc, request_id)))
        except Exception:
            log.exception("websocket search failed", endpoint=self.endpoint)
            failed = Error(code=INTERNAL_ERROR, message="the search failed", id=request_id)
            await put("error", encode(failed))

    # --- actions of other plugins -----------------------------------------------------------

    def _extension(self, data: str | bytes) -> tuple[WebSocketAction, dict[str, Any]] | None:
        try:
            payload = _decode_any(data)
        except msgspec.DecodeError:
            return None
        if not isinstance(payload, dict):
            return None
        action = self.extensions.get(payload.get("action"))  # type: ignore[arg-type]
        return (action, payload) if action is not None else None

    async def _run_extension(
        self, connection: Connection, action: WebSocketAction, payload: dict[str, Any]
    ) -> None:
        request_id = payload.get("id") if isinstance(payload.get("id"), str | int) else None
        self._received(connection, action.name)
        try:
            await self._charge(connection, action.name, action.cost)
            self._require(connection, action.scope, action.name)
            attributes: dict[str, Any] = {
                "websocket.endpoint": self.endpoint,
                "websocket.client_id": connection.client_id,
            }
            with self.ctx.operation("websocket", action.name, attributes):
                answer = action.handler(payload, connection.identity)
                if inspect.isasyncgen(answer):
                    async for frame in answer:
                        await self._put_frame(connection, frame)
                elif inspect.isawaitable(answer):
                    await self._put_frame(connection, await answer)
                else:
                    await self._put_frame(connection, answer)
        except ValueError as exc:
            rejected = Rejected(INVALID_FIELD, str(exc))
            await connection.put("error", encode(error_frame(rejected, request_id)))
        except Rejected as rejected:
            await connection.put("error", encode(error_frame(rejected, request_id)))

    async def _put_frame(self, connection: Connection, frame: Any) -> None:
        if frame is None:
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise TypeError(f"an action must answer dicts with a 'type', not {frame!r:.80}")
        await connection.put(frame["type"], _encode(frame).decode())


def _search_error(exc: ThemisError, request_id: RequestId | None) -> Error:
    if isinstance(exc, ThemisUnavailable):
        retry = exc.retry_after if exc.retry_after is not None else 5.0
        return Error(
            code=UNAVAILABLE,
            message=exc.message,
            problem=exc.problem,
            retry_after=retry,
            id=request_id,
        )
    code = SEARCH_FAILED
    if isinstance(exc, ThemisNotFound):
        code = NOT_FOUND
    elif isinstance(exc, ThemisBadRequest):
        code = BAD_REQUEST
    return Error(code=code, message=exc.message, problem=exc.problem, id=request_id)
