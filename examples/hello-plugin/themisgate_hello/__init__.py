"""An example third-party themisgate plugin: copy this folder to start your own.

It shows what most plugins do: take typed settings from `plugins.toml` (`Config`), serve
a route (`themisgate_routes`), add a CLI command (`themisgate_cli`), and add a field to
the GraphQL schema when the graphql plugin is on (`themisgate_graphql_fields`: plain
Python, so this plugin needs neither strawberry nor the graphql plugin). Enable it with:

    [plugins.hello]
    greeting = "Hello"
"""

from __future__ import annotations

from typing import Any

import click
import msgspec
from litestar import get
from litestar.params import FromPath

from themisgate import AppContext, Ctx, GraphQLField, hookimpl


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    greeting: str = "Hello"
    punctuation: str = "!"


def greet(config: Config, name: str) -> str:
    return f"{config.greeting}, {name}{config.punctuation}"


@get("/hello/{name:str}", opt={"scope": "read"})
async def hello(ctx: Ctx, name: FromPath[str]) -> dict[str, Any]:
    return {"message": greet(ctx.config("hello"), name)}


@hookimpl
def themisgate_routes(ctx: AppContext) -> list[Any]:
    return [hello]


@hookimpl
def themisgate_graphql_fields(ctx: AppContext) -> list[GraphQLField]:
    """`hello(name: String!): String!` on the GraphQL `Query` type."""
    config: Config = ctx.config("hello")

    def hello(name: str) -> str:
        return greet(config, name)

    return [GraphQLField(name="hello", resolver=hello, description="A greeting for `name`.")]


@hookimpl
def themisgate_cli(cli: click.Group) -> None:
    @cli.command("hello")
    @click.argument("name")
    def hello_command(name: str) -> None:
        """Greet NAME (from the hello example plugin)."""
        click.echo(f"Hello, {name}!")
