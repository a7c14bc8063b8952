"""The endpoint: strawberry's Litestar controller, answering as the GraphQL-over-HTTP
specification says and as the rest of themisgate does.

- Media type: `application/graphql-response+json` when the client's `Accept` names it,
  else `application/json`.
- Status: with `application/json` every well-formed request is answered 200, errors or
  not (what every GraphQL client expects); with `application/graphql-response+json` a
  request error (nothing executed: the document does not parse or validate, or is
  refused) is 400. Either way a rate-limited operation is 429 with `Retry-After`: the
  refusal is HTTP's business, so proxies and clients that know nothing of GraphQL back
  off too. A request error's response has no `data` entry, as the GraphQL spec says.
- Not GraphQL at all (a body that is not JSON, no query, a mutation over GET, batches):
  an RFC 9457 problem, like every other route, with a GraphQL-style `errors` member.
- WebSocket: graphql-transport-ws only (the legacy graphql-ws protocol is refused), at
  most `max_subscriptions_per_connection` operations at once.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar

import msgspec
from cross_web import HTTPException as StrawberryHTTPException
from graphql import GraphQLError
from litestar import Request, Response, Router, WebSocket, get, post, websocket
from litestar.background_tasks import BackgroundTasks
from litestar.di import NamedDependency, Provide
from litestar.types import Dependencies
from strawberry.http import GraphQLHTTPResponse
from strawberry.litestar.controller import GraphQLController
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from themisgate import AppContext, ProblemError

from .config import Config
from .context import GraphQLContext, context_factory
from .errors import RATE_LIMITED, shaped
from .graphiql import assets_router, page, page_response

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
SUB_RESPONSE = "themisgate_graphql_response"
IDE_OFF = "GraphiQL is switched off on this server; send a query (?query=… or POST)."


def negotiate(accept: str | None) -> str:
    """`application/graphql-response+json` if the client accepts it, else JSON."""
    if not accept or GRAPHQL_RESPONSE not in accept:
        return JSON
    for part in accept.split(","):
        media, *params = part.split(";")
        if media.strip().lower() != GRAPHQL_RESPONSE:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        return GRAPHQL_RESPONSE if quality > 0 else JSON
    return JSON


class SubResponse(Response[Any]):
    """The per-request response strawberry lets a handler adjust, carrying the media type
    negotiated for this request (the controller itself is shared by all requests)."""

    __slots__ = ("negotiated",)

    negotiated: str


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> ProblemError:
    return ProblemError(
        status,
        detail,
        slug="graphql-bad-request" if status == 400 else None,
        headers=headers,
        errors=[{"message": detail}],
    )


def _retry_after(response_data: GraphQLHTTPResponse) -> int | None:
    """`retryAfter` of a RATE_LIMITED error in a response, if there is one."""
    errors: list[dict[str, Any]] = response_data.get("errors") or []  # type: ignore[assignment]
    for error in errors:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == RATE_LIMITED:
            return int(extensions.get("retryAfter", 1))
    return None


def endpoint(
    app: AppContext, config: Config, schema: BaseSchema
) -> type[GraphQLController[GraphQLContext, None]]:
    """The controller class serving `config.path`, its settings fixed at start-up."""
    new_context = context_factory(app, config)
    ide_page = page(config.path)

    async def http_context(request: Request[Any, Any, Any]) -> GraphQLContext:
        response = SubResponse({}, background=BackgroundTasks([]))
        response.negotiated = negotiate(request.headers.get("accept"))
        request.scope.setdefault("state", {})[SUB_RESPONSE] = response
        context = await new_context(request, cache=True)
        context.request = request
        context.response = response
        return context

    async def socket_context(socket: WebSocket[Any, Any, Any]) -> GraphQLContext:
        # a connection lives long: its loader batches, but keeps nothing between ticks
        context = await new_context(socket, cache=False)
        context.websocket = socket
        return context

    class GraphQLEndpoint(GraphQLController[GraphQLContext, None]):
        path = config.path
        opt = {"scope": "read"}
        dependencies: ClassVar[Dependencies] = {  # type: ignore[misc]
            "graphql_context": Provide(http_context),
            "graphql_socket_context": Provide(socket_context),
        }
        allow_queries_via_get = config.allow_get
        graphql_ide = "graphiql" if config.graphiql else None
        protocols = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)
        connection_init_wait_timeout = timedelta(seconds=config.connection_init_timeout)
        max_subscriptions_per_connection = config.max_subscriptions_per_connection

        @get(raises=[ProblemError])
        async def handle_http_get(
            self,
            request: Request[Any, Any, Any],
            graphql_context: NamedDependency[GraphQLContext],
        ) -> Response[Any]:
            return await self.execute_request(request, graphql_context, None)

        @post(status_code=200, raises=[ProblemError])
        async def handle_http_post(
            self,
            request: Request[Any, Any, Any],
            graphql_context: NamedDependency[GraphQLContext],
        ) -> Response[Any]:
            return await self.execute_request(request, graphql_context, None)

        @websocket()
        async def websocket_endpoint(
            self,
            socket: WebSocket[Any, Any, Any],
            graphql_socket_context: NamedDependency[GraphQLContext],
        ) -> None:
            await self.run(request=socket, context=graphql_socket_context, root_value=None)

        async def get_sub_response(self, request: Request[Any, Any, Any]) -> Response[Any]:
            response: Response[Any] = request.scope["state"][SUB_RESPONSE]
            return response

        # --- JSON in and out: msgspec, and no 500 for absurdly nested input ---------------

        def decode_json(self, data: str | bytes) -> object:
            try:
                return msgspec.json.decode(data)
            except (msgspec.DecodeError, RecursionError) as exc:
                raise json.JSONDecodeError(str(exc), "", 0) from exc

        def encode_json(self, data: object) -> bytes:
            return msgspec.json.encode(data)

        # --- requests that are not GraphQL: problems ----------------------------------------

        async def execute_request(
            self, request: Request[Any, Any, Any], context: Any, root_value: Any
        ) -> Response[Any]:
            try:
                response: Response[Any] = await self.run(
                    request, context=context, root_value=root_value
                )
            except StrawberryHTTPException as exc:
                if exc.status_code == 404:
                    raise _problem(404, IDE_OFF) from exc
                raise _problem(exc.status_code, exc.reason) from exc
            return response

        async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
            try:
                result: ExecutionResult = await super().execute_single(*args, **kwargs)
            except StrawberryHTTPException as exc:
                cause = exc.__cause__
                if isinstance(cause, InvalidOperationTypeError):
                    # a mutation (or, with allow_get off, any operation) over GET
                    detail = f"{exc.reason}; send them with POST."
                    raise _problem(405, detail[0].upper() + detail[1:], {"Allow": "POST"}) from exc
                if isinstance(cause, CannotGetOperationTypeError):
                    # no such operation in the document: a GraphQL request error
                    return PreExecutionError(data=None, errors=[GraphQLError(exc.reason)])
                raise
            return result

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
            return page_response(ide_page)

        # --- GraphQL responses ---------------------------------------------------------------

        async def process_result(
            self, request: Request[Any, Any, Any], result: ExecutionResult
        ) -> GraphQLHTTPResponse:
            answer: GraphQLHTTPResponse = {}
            if not isinstance(result, PreExecutionError):
                answer["data"] = result.data
            if result.errors:
                answer["errors"] = [shaped(error).formatted for error in result.errors]
            if result.extensions:
                answer["extensions"] = result.extensions
            return answer

        def create_response(
            self,
            response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
            sub_response: Response[bytes],
        ) -> Response[bytes]:
            response: Response[bytes] = super().create_response(response_data, sub_response)
            media = getattr(sub_response, "negotiated", JSON)
            response.media_type = media
            if isinstance(response_data, dict) and "data" not in response_data:
                retry_after = _retry_after(response_data)
                if retry_after is not None:
                    response.status_code = 429
                    response.headers["Retry-After"] = str(retry_after)
                elif media == GRAPHQL_RESPONSE:
                    response.status_code = 400
            return response

    GraphQLEndpoint.schema = schema
    return GraphQLEndpoint


def routes(app: AppContext, config: Config, schema: BaseSchema) -> Router:
    """The endpoint and, with GraphiQL on, its assets. Mounted as a router so the core
    sees every path it claims."""
    handlers: list[Any] = [endpoint(app, config, schema)]
    if config.graphiql:
        handlers.append(assets_router(config.path))
    return Router("/", route_handlers=handlers)
