"""An example third-party themisgate plugin: copy this folder to start your own.

It shows the three things most plugins do: take typed settings from `plugins.toml`
(`Config`), serve a route (`themisgate_routes`), and add a CLI command (`themisgate_cli`).
Enable it with:

    [plugins.hello]
    greeting = "Hello"
"""

from __future__ import annotations

from typing import Any

import click
import msgspec
from litestar import get
from litestar.params import FromPath

from themisgate import AppContext, Ctx, hookimpl


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    greeting: str = "Hello"
    punctuation: str = "!"


@get("/hello/{name:str}", opt={"scope": "read"})
async def hello(ctx: Ctx, name: FromPath[str]) -> dict[str, Any]:
    config: Config = ctx.config("hello")
    return {"message": f"{config.greeting}, {name}{config.punctuation}"}


@hookimpl
def themisgate_routes(ctx: AppContext) -> list[Any]:
    return [hello]


@hookimpl
def themisgate_cli(cli: click.Group) -> None:
    @cli.command("hello")
    @click.argument("name")
    def hello_command(name: str) -> None:
        """Greet NAME (from the hello example plugin)."""
        click.echo(f"Hello, {name}!")
