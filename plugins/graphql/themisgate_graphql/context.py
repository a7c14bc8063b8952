"""What every resolver finds in `info.context`: the app, the caller, the document loader.

One is made per HTTP request and one per WebSocket connection; making it costs an
identity lookup (cached per connection by the core) and a loader object, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from strawberry.litestar.controller import BaseContext
from strawberry.types import Info

from themisgate import AppContext, Identity

from .config import Config
from .errors import FORBIDDEN, UNAUTHENTICATED, user_error
from .loaders import DocumentLoader


class GraphQLContext(BaseContext, kw_only=True):
    """`request` or `websocket` (set by strawberry), plus ours."""

    app: AppContext
    config: Config
    identity: Identity
    documents: DocumentLoader


ContextFactory = Callable[..., Awaitable[GraphQLContext]]


def context_factory(app: AppContext, config: Config) -> ContextFactory:
    """Makes the context for a request or a socket; everything it can, it fixes now."""
    adapter = app.adapter

    async def new_context(
        connection: ASGIConnection[Any, Any, Any, Any], *, cache: bool
    ) -> GraphQLContext:
        return GraphQLContext(
            app=app,
            config=config,
            identity=await app.identify(connection),
            documents=DocumentLoader(adapter, cache=cache),
        )

    return new_context


def context_of(info: Info[Any, Any]) -> GraphQLContext:
    context: GraphQLContext = info.context
    return context


def require_scope(info: Info[Any, Any], scope: str) -> GraphQLContext:
    """The context, if the caller holds `scope`; a GraphQL error otherwise."""
    context: GraphQLContext = info.context
    identity = context.identity
    if identity.allows(scope):
        return context
    if identity.anonymous:
        raise user_error(
            f"{info.field_name} needs the {scope!r} scope; send credentials.",
            UNAUTHENTICATED,
            requiredScope=scope,
        )
    raise user_error(
        f"{identity.kind} {identity.id!r} lacks the {scope!r} scope {info.field_name} needs.",
        FORBIDDEN,
        requiredScope=scope,
    )
