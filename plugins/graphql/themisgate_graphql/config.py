"""`[plugins.graphql]`: where the endpoint lives and how much one operation may ask for."""

from __future__ import annotations

from typing import Annotated

import msgspec

Path = Annotated[str, msgspec.Meta(pattern=r"^/[A-Za-z0-9_.~-]+(/[A-Za-z0-9_.~-]+)*$")]
Field = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # the endpoint: queries over GET and POST, subscriptions over WebSocket, GraphiQL
    path: Path = "/graphql"
    # the in-browser IDE on GET <path> with Accept: text/html; off in production
    graphiql: bool = True
    # queries (never mutations) over GET ?query=…; POST always works
    allow_get: bool = True
    # answer __schema/__type queries; GraphiQL needs it to show the schema
    introspection: bool = True
    # rejected before execution: deeper selections, more aliases, longer documents
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    max_aliases: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 30
    max_tokens: Annotated[int, msgspec.Meta(ge=100, le=1_000_000)] = 2_000
    # the estimated cost an operation may have at most (see docs/graphql.md)
    max_cost: Annotated[int, msgspec.Meta(ge=1)] = 1_000
    # vectorSearch topK above this is refused
    max_top_k: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    # distinct documents whose parse and validation are remembered (clients repeat theirs)
    document_cache_size: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 512
    # the rate-limit key operations are charged to (`await ctx.rate_limit(who, key, cost)`)
    rate_limit_key: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "graphql"
    # graphql-transport-ws: operations running at once on one connection
    max_subscriptions_per_connection: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 10
    # seconds a client has to send connection_init after opening the socket
    connection_init_timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    # seconds between two `adapterStatus` subscription updates
    status_interval: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # the document field a VectorSearchResult's `content` comes from (the rest is `metadata`),
    # and the field insertDocument embeds to make a document searchable
    content_field: Field = "text"
