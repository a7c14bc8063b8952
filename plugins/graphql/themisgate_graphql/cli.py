"""`themisgate graphql sdl`: the schema in SDL, for clients, code generators and the
checked-in `docs/graphql/schema.graphql` (a test fails when that file is out of date)."""

from __future__ import annotations

import click

from themisgate import ConfigError, create_app, load_settings

from .config import Config
from .extending import collect_fields
from .schema import build_schema, sdl


def add_commands(cli: click.Group) -> None:
    @cli.group("graphql")
    def graphql() -> None:
        """The GraphQL endpoint (plugin graphql)."""

    @graphql.command("sdl")
    @click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False),
        default=None,
        help="Settings file (default: $THEMISGATE_CONFIG or ./plugins.toml).",
    )
    @click.option(
        "--builtin-only",
        is_flag=True,
        help="Leave out fields other plugins add (what docs/graphql/schema.graphql holds).",
    )
    def sdl_command(config: str | None, builtin_only: bool) -> None:
        """Print the schema this server serves, in SDL."""
        if builtin_only:
            click.echo(sdl(build_schema(Config())), nl=False)
            return
        try:
            app = create_app(load_settings(config))
        except ConfigError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            raise SystemExit(1) from error
        ctx = app.state["themisgate"]
        schema = build_schema(ctx.config("graphql"), collect_fields(ctx))
        click.echo(sdl(schema), nl=False)
