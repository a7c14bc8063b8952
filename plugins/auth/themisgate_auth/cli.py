"""`themisgate auth new-key | hash-key`: make API keys and the settings lines for them.

The key is printed once and never stored; what goes into `plugins.toml` is its hash.
`hash-key` reads an existing key from standard input (never from the command line, where
shell history and `ps` would keep it).
"""

from __future__ import annotations

import json
import re
import secrets
import sys

import click

from .apikeys import MIN_KEY_LENGTH, hash_key, new_key
from .config import SCOPES, scope_problems

_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_TIER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _key_id(value: str | None) -> str:
    if value is None:
        return f"key-{secrets.token_hex(4)}"
    if not _ID.match(value):
        raise click.BadParameter("letters, digits and _ . @ - only, at most 64", param_hint="--id")
    return value


def _tier(value: str) -> str:
    if not _TIER.match(value):
        raise click.BadParameter("letters, digits and _ . - only, at most 64", param_hint="--tier")
    return value


def _scopes(value: str) -> list[str]:
    scopes = [s.strip() for s in value.split(",") if s.strip()]
    problems = scope_problems(scopes, "--scopes")
    if problems or not scopes:
        raise click.BadParameter(
            f"a comma-separated list of {', '.join(SCOPES)}", param_hint="--scopes"
        )
    return list(dict.fromkeys(scopes))


def settings_table(key_id: str, hashed: str, tier: str, scopes: list[str]) -> str:
    """The `[[plugins.auth.api_keys]]` entry to paste into plugins.toml."""
    return (
        "[[plugins.auth.api_keys]]\n"
        f"id = {json.dumps(key_id)}\n"
        f"hash = {json.dumps(hashed)}\n"
        f"tier = {json.dumps(tier)}\n"
        f"scopes = {json.dumps(scopes)}\n"
    )


tier_option = click.option(
    "--tier", required=True, help="Rate-limit tier of the key, e.g. free, premium, enterprise."
)
scopes_option = click.option(
    "--scopes",
    default="read",
    show_default=True,
    help=f"Comma-separated scopes ({', '.join(SCOPES)}).",
)
id_option = click.option("--id", "key_id", default=None, help="Name of the key (default: random).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group("auth")
def auth() -> None:
    """API keys for the auth plugin."""


@auth.command("new-key")
@tier_option
@scopes_option
@id_option
@json_option
def new_key_command(tier: str, scopes: str, key_id: str | None, as_json: bool) -> None:
    """Make a new API key: print it once, and the settings entry holding its hash."""
    key_id, tier, scope_list = _key_id(key_id), _tier(tier), _scopes(scopes)
    key = new_key()
    hashed = hash_key(key)
    table = settings_table(key_id, hashed, tier, scope_list)
    if as_json:
        click.echo(json.dumps({"id": key_id, "key": key, "hash": hashed, "settings": table}))
        return
    click.echo(f"API key {key_id!r} (shown only now; the server keeps only its hash):\n")
    click.echo(f"    {key}\n")
    click.echo("Add this to plugins.toml and restart the server:\n")
    click.echo(table, nl=False)


@auth.command("hash-key")
@tier_option
@scopes_option
@id_option
def hash_key_command(tier: str, scopes: str, key_id: str | None) -> None:
    """Print the settings entry for an existing key, read from standard input."""
    key_id, tier, scope_list = _key_id(key_id), _tier(tier), _scopes(scopes)
    typed = sys.stdin.isatty()
    key = click.prompt("API key", hide_input=True) if typed else sys.stdin.readline()
    key = key.strip()
    if len(key) < MIN_KEY_LENGTH:
        raise click.UsageError(
            f"the key has {len(key)} characters; keys are hashed with plain SHA-256, which "
            f"is safe only for random keys of at least {MIN_KEY_LENGTH} characters "
            "(use `themisgate auth new-key`)"
        )
    if key.count(".") == 2:
        click.echo(
            "note: this key looks like a JWT; send it in X-API-Key, not Authorization",
            err=True,
        )
    click.echo(settings_table(key_id, hash_key(key), tier, scope_list), nl=False)
