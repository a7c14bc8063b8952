"""themisgate plugin: GraphQL over ThemisDB, with batching, subscriptions and abuse protection.

    [plugins.graphql]
    path = "/graphql"
    graphiql = false        # in production

`POST`/`GET <path>` answers queries and mutations, `<path>` over WebSocket
(graphql-transport-ws) subscriptions, and a browser gets GraphiQL. Other plugins add
fields with `themisgate_graphql_fields` (see docs/graphql.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from themisgate import AppContext, hookimpl

from .config import Config
from .context import GraphQLContext
from .extending import collect_fields
from .loaders import DocumentLoader
from .schema import GatewaySchema, build_schema, sdl

__all__ = [
    "Config",
    "DocumentLoader",
    "GatewaySchema",
    "GraphQLContext",
    "build_schema",
    "sdl",
]


@hookimpl
def themisgate_routes(ctx: AppContext) -> Sequence[Any]:
    from .http import routes

    config: Config = ctx.config("graphql")
    schema = build_schema(config, collect_fields(ctx), ctx)
    return [routes(ctx, config, schema)]


@hookimpl
def themisgate_cli(cli: click.Group) -> None:
    from .cli import add_commands

    add_commands(cli)
