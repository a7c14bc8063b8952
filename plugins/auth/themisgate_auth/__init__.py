"""themisgate plugin: API keys and JWT identities, scopes, trusted proxies.

It answers `themisgate_identify`: an API key (`X-API-Key` or `Authorization: Bearer`), a
bearer JWT, or — without credentials — the client address behind any trusted proxies,
each with a tier and scopes. Once it is enabled the core enforces every route's
`opt={"scope": ...}` against those scopes. Operator guide: docs/auth.md.

    [plugins.auth]
    [[plugins.auth.api_keys]]
    id = "ci"
    hash = "sha256:…"      # `themisgate auth new-key --tier premium --scopes read,write`
    tier = "premium"
    scopes = ["read", "write"]
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection

from themisgate import AppContext, Identity, StatusCheck, hookimpl

from .apikeys import KeyRing, hash_key, new_key
from .authenticator import Authenticator
from .clientip import ClientAddress, parse_address
from .config import ApiKey, Config, JwtSettings
from .tokens import TokenRejected, TokenVerifier

if TYPE_CHECKING:
    import click

__all__ = [
    "ApiKey",
    "Authenticator",
    "ClientAddress",
    "Config",
    "JwtSettings",
    "KeyRing",
    "TokenRejected",
    "TokenVerifier",
    "authenticator_for",
    "hash_key",
    "new_key",
    "parse_address",
]

# start before plugins that ask for identities (rate limits) and answer identify first
priority = 800


def _own_name(ctx: AppContext) -> str:
    """The name this plugin is enabled under (its entry point: `auth`)."""
    this = __name__
    for name, info in ctx.plugins.items():
        module = info.module
        if isinstance(module, types.ModuleType) and module.__name__ == this:
            return name
    return "auth"


def authenticator_for(ctx: AppContext) -> Authenticator:
    """The app's authenticator, built from its settings on first use (at start-up)."""
    return ctx.plugin_state(__name__, lambda: Authenticator(ctx, ctx.config(_own_name(ctx))))


@hookimpl
def themisgate_identify(
    request: ASGIConnection[Any, Any, Any, Any], ctx: AppContext
) -> Identity | Awaitable[Identity]:
    return authenticator_for(ctx).identify(request)


@hookimpl
def themisgate_lifespan(ctx: AppContext) -> Sequence[Any]:
    tokens = authenticator_for(ctx).tokens
    if tokens is None or tokens.jwks is None:
        return []
    return [tokens.jwks.running]


@hookimpl
def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    auth = authenticator_for(ctx)
    if auth.tokens is None or auth.tokens.jwks is None:
        return []
    jwks = auth.tokens.jwks
    return [StatusCheck("jwks", jwks.status, required=False, timeout=1.0)]


@hookimpl
def themisgate_cli(cli: click.Group) -> None:
    from .cli import auth

    cli.add_command(auth)
