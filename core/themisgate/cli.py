"""The `themisgate` command line: serve, inspect plugins, check and show settings, run
`themis-lite`. Enabled plugins add commands through `themisgate_cli`.

Every command takes `--config PATH` (else `$THEMISGATE_CONFIG`, else ./plugins.toml).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from .config import CONFIG_ENV, Settings, find_config_file, load_settings, redacted
from .validation import ConfigError


def _fail(error: ConfigError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    sys.exit(1)


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as error:
        _fail(error)
        raise  # unreachable; keeps type checkers content


config_option = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Settings file (default: ${CONFIG_ENV} or ./plugins.toml).",
)


@click.group()
@click.version_option(package_name="themisgate")
def cli() -> None:
    """themisgate: a plugin-based API server for ThemisDB."""


@cli.command()
@config_option
@click.option("--host", default=None, help="Interface to bind (default: [core] host).")
@click.option("--port", type=int, default=None, help="Port (default: [core] port).")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: [core] workers)."
)
@click.option("--reload", is_flag=True, help="Restart when code changes (development).")
def serve(
    config: str | None, host: str | None, port: int | None, workers: int | None, reload: bool
) -> None:
    """Run the API server."""
    import uvicorn
    from litestar import Litestar

    from .app import create_app

    settings = _settings(config)
    path = find_config_file(config)
    if path is not None:
        # workers (separate processes) read the same file through the environment
        os.environ[CONFIG_ENV] = str(path.resolve())
    try:  # check everything in this process first, so a mistake is reported once
        app = create_app(settings)
    except ConfigError as error:
        _fail(error)
    core = settings.core
    workers = workers or core.workers
    # one process serves the app just built; workers and --reload import it themselves
    target: Any = app if workers == 1 and not reload else "themisgate.app:create_app_from_env"
    uvicorn.run(
        target,
        factory=not isinstance(target, Litestar),
        host=host or core.host,
        port=port or core.port,
        workers=None if reload else workers,
        reload=reload,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )


@cli.group()
def plugins() -> None:
    """Installed and enabled plugins."""


@plugins.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_list(config: str | None, as_json: bool) -> None:
    """Every installed plugin: enabled or not, distribution and version."""
    from .plugins import distribution_of, installed_plugins

    settings = _settings(config)
    rows: list[dict[str, Any]] = []
    installed = installed_plugins()
    for name, ep in sorted(installed.items()):
        dist, version = distribution_of(ep)
        table = settings.plugins.get(name)
        rows.append(
            {
                "name": name,
                "enabled": bool(table and table.enabled),
                "optional": bool(table and table.optional),
                "distribution": dist,
                "version": version,
                "installed": True,
            }
        )
    for name, table in sorted(settings.plugins.items()):
        if name not in installed:
            rows.append(
                {
                    "name": name,
                    "enabled": table.enabled,
                    "optional": table.optional,
                    "distribution": None,
                    "version": None,
                    "installed": False,
                }
            )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    header = f"{'NAME':<16} {'ENABLED':<8} {'DISTRIBUTION':<28} VERSION"
    click.echo(header)
    for row in rows:
        enabled = "yes" if row["enabled"] else "no"
        dist = row["distribution"] or "(not installed)"
        click.echo(f"{row['name']:<16} {enabled:<8} {dist:<28} {row['version'] or '-'}")


@cli.group("config")
def config_group() -> None:
    """Check and show settings."""


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@config_option
def config_check(file: str | None, config: str | None) -> None:
    """Validate settings and every enabled plugin's table; exit 1 listing each problem."""
    from .app import BUILTINS
    from .plugins import load_plugins

    settings = _settings(file or config)
    try:
        loaded = load_plugins(settings, builtins=BUILTINS)
    except ConfigError as error:
        _fail(error)
    for skipped in loaded.skipped:
        click.echo(f"note: optional plugin {skipped.name!r} will be skipped: {skipped.reason}")
    names = ", ".join(p.name for p in loaded.ordered if not p.builtin) or "none"
    click.echo(f"{settings.source}: OK (plugins: {names})")


@config_group.command("show")
@config_option
def config_show(config: str | None) -> None:
    """The effective settings (file + environment + defaults), secrets redacted."""
    from .app import BUILTINS
    from .plugins import load_plugins

    settings = _settings(config)
    try:
        loaded = load_plugins(settings, builtins=BUILTINS)
    except ConfigError as error:
        _fail(error)
    shown: dict[str, Any] = {
        "source": settings.source,
        "core": redacted(settings.core),
        "plugins": {},
    }
    for info in loaded.ordered:
        if not info.builtin:
            shown["plugins"][info.name] = redacted(info.config) if info.config is not None else {}
    click.echo(json.dumps(shown, indent=2, default=str))


@cli.command("themis-lite")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--path", default=None, help="SQLite file (default: [core.themis] path).")
@click.option("--token-env", default=None, help="Environment variable holding a bearer token.")
def themis_lite(
    config: str | None, host: str, port: int, path: str | None, token_env: str | None
) -> None:
    """Serve the embedded engine over ThemisDB's wire API (for clients and tests)."""
    import asyncio

    from .themis.lite import serve_lite

    settings = _settings(config)
    token = os.environ.get(token_env) if token_env else None
    if token_env and not token:
        raise click.UsageError(f"environment variable {token_env} is not set")
    asyncio.run(serve_lite(path or settings.core.themis.path, host=host, port=port, token=token))


@cli.command("load")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", required=True, help="Collection to load into.")
@click.option("--key-field", default="id", show_default=True, help="Field holding each key.")
@click.option("--text-field", default="text", show_default=True, help="Field to embed.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--on-error",
    type=click.Choice(["skip", "abort"]),
    default="skip",
    show_default=True,
    help="What a bad line does: reported and skipped, or stops the load.",
)
def load(
    config: str | None,
    file: Path,
    collection: str,
    key_field: str,
    text_field: str,
    batch_size: int,
    on_error: str,
) -> None:
    """Import documents from a JSON Lines FILE, embedding their text, in batches."""
    import asyncio

    from .app import create_app
    from .loader import LoadAborted, load_jsonl

    settings = _settings(config)
    try:
        adapter = create_app(settings).state["themisgate"].adapter
    except ConfigError as error:
        _fail(error)

    size = file.stat().st_size

    async def run() -> Any:
        await adapter.start()
        try:
            with click.progressbar(length=size, label=f"loading {file.name}") as bar:
                return await load_jsonl(
                    adapter,
                    file,
                    collection,
                    key_field=key_field,
                    text_field=text_field,
                    batch_size=batch_size,
                    on_error="abort" if on_error == "abort" else "skip",
                    progress=bar.update,
                )
        finally:
            await adapter.close()

    try:
        summary = asyncio.run(run())
    except LoadAborted as aborted:
        click.echo(f"{file}:{aborted.bad.line}: {aborted.bad.reason} (load stopped)", err=True)
        sys.exit(1)
    for bad in summary.skipped:
        click.echo(f"{file}:{bad.line}: skipped: {bad.reason}", err=True)
    click.echo(
        f"loaded {summary.loaded} documents into {collection!r} in {summary.seconds:.2f}s; "
        f"skipped {len(summary.skipped)} bad lines"
    )


def _config_from_argv(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _add_plugin_commands(argv: list[str]) -> None:
    """Let enabled plugins add commands. Settings that do not load are reported by the
    command that needs them, so `config check` still works on a broken file."""
    from .app import BUILTINS
    from .plugins import load_plugins, new_plugin_manager, register_plugins

    try:
        settings = load_settings(_config_from_argv(argv))
        loaded = load_plugins(settings, builtins=BUILTINS)
    except ConfigError:
        return
    pm = new_plugin_manager()
    register_plugins(pm, loaded)
    pm.hook.themisgate_cli(cli=cli)


def main() -> None:
    _add_plugin_commands(sys.argv[1:])
    cli()
