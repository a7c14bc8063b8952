"""One app's answer to "who is calling?": an API key, a bearer JWT, or an address.

Built once per app from its settings; per request it makes one pass over the raw ASGI
headers (no header object is built), then does a dictionary lookup (API key), a cache
lookup or a signature check (JWT), or an address lookup (anonymous). Credentials that
prove nothing are a 401 — never an anonymous identity, or anyone could mint fresh
rate-limit buckets by inventing keys — sent as an `auth_failed` event and logged without
the credential.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Sequence
from typing import Any, NoReturn

import structlog
from litestar.connection import ASGIConnection

from themisgate import AppContext, Identity

from .apikeys import KeyRing
from .challenges import unauthorized
from .clientip import ClientAddress
from .config import Config
from .tokens import TokenRejected, TokenVerifier

log = structlog.get_logger("themisgate.auth")

_ANONYMOUS_CACHE = 8192


class Authenticator:
    def __init__(self, ctx: AppContext, config: Config) -> None:
        self._emit = ctx.emit
        self._listening = bool(ctx.hooks.themisgate_event.get_hookimpls())
        self.config = config
        self.keys = KeyRing(config.api_keys)
        self.addresses = ClientAddress(
            config.trusted_proxies, config.client_ip_header, config.anonymous_ipv6_prefix
        )
        self.anonymous_tier = config.anonymous_tier or ctx.settings.core.default_tier
        self.anonymous_scopes = config.effective_anonymous_scopes()
        self.tokens = TokenVerifier(config.jwt, self.anonymous_tier) if config.jwt.enabled else None
        self._api_key_header = config.api_key_header.lower().encode("latin-1")
        self._anonymous = functools.lru_cache(_ANONYMOUS_CACHE)(self._new_anonymous)

    # --- the hook ------------------------------------------------------------------------

    def identify(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Identity | Awaitable[Identity]:
        scope = connection.scope
        authorization: bytes | None = None
        api_key: bytes | None = None
        forwarded: list[bytes] = []
        api_key_header = self._api_key_header
        ip_header = self.addresses.header
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name == api_key_header:
                if api_key is None:
                    api_key = value
            elif name == ip_header:
                forwarded.append(value)
        if api_key is not None:
            if authorization is not None:
                self._fail(
                    scope,
                    forwarded,
                    "invalid_token",
                    "api_key",
                    f"send one credential: {self.config.api_key_header} or Authorization, not both",
                    error="invalid_request",
                )
            return self._by_key(api_key.strip(), scope, forwarded)
        if authorization is not None:
            return self._by_authorization(authorization, scope, forwarded)
        return self._anonymous(self.client_of(scope, forwarded))

    def client_of(self, scope: Any, forwarded: Sequence[bytes]) -> str:
        client = scope.get("client")
        return self.addresses.client(client[0] if client else None, forwarded)

    # --- each kind of caller --------------------------------------------------------------

    def _new_anonymous(self, client: str) -> Identity:
        return Identity("ip", client, self.anonymous_tier, self.anonymous_scopes)

    def _by_key(self, presented: bytes, scope: Any, forwarded: list[bytes]) -> Identity:
        known = self.keys.lookup(presented)
        if known is None:
            self._fail(scope, forwarded, "unknown_key", "api_key", "the API key is not valid")
        if known.revoked:
            self._fail(
                scope,
                forwarded,
                "revoked_key",
                "api_key",
                "the API key has been revoked",
                key_id=known.id,
            )
        return self._succeeded(known.identity, "api_key")

    def _by_authorization(
        self, value: bytes, scope: Any, forwarded: list[bytes]
    ) -> Identity | Awaitable[Identity]:
        scheme, _, credentials = value.partition(b" ")
        credentials = credentials.strip()
        if scheme.lower() != b"bearer" or not credentials:
            self._fail(
                scope,
                forwarded,
                "invalid_token",
                "none",
                "use 'Authorization: Bearer <API key or JWT>'",
                error="invalid_request",
            )
        if credentials.count(b".") != 2:  # a JWT has three parts; our keys have none
            return self._by_key(credentials, scope, forwarded)
        if self.tokens is None:
            self._fail(
                scope, forwarded, "invalid_token", "jwt", "JWT bearer tokens are not accepted here"
            )
        try:
            answer = self.tokens.verify(credentials)
        except TokenRejected as rejected:
            self._fail(scope, forwarded, rejected.reason, "jwt", rejected.description)
        if isinstance(answer, Identity):
            return self._succeeded(answer, "jwt")
        return self._token_after_refresh(answer, scope, forwarded)

    async def _token_after_refresh(
        self, pending: Awaitable[Identity], scope: Any, forwarded: list[bytes]
    ) -> Identity:
        try:
            identity = await pending
        except TokenRejected as rejected:
            self._fail(scope, forwarded, rejected.reason, "jwt", rejected.description)
        return self._succeeded(identity, "jwt")

    # --- outcomes ---------------------------------------------------------------------------

    def _succeeded(self, identity: Identity, scheme: str) -> Identity:
        if self._listening:
            self._emit("auth_succeeded", {"scheme": scheme, "tier": identity.tier})
        return identity

    def _fail(
        self,
        scope: Any,
        forwarded: Sequence[bytes],
        reason: str,
        scheme: str,
        description: str,
        *,
        error: str = "invalid_token",
        key_id: str | None = None,
    ) -> NoReturn:
        """Refuse the request: an `auth_failed` event, a log line, a 401 problem. None of
        them carries the credential."""
        if self._listening:
            self._emit("auth_failed", {"reason": reason, "scheme": scheme})
        log.info(
            "authentication failed",
            reason=reason,
            scheme=scheme,
            detail=description,
            client=self.client_of(scope, forwarded),
            path=scope.get("path"),
            **({"key_id": key_id} if key_id else {}),
        )
        raise unauthorized(f"Authentication failed: {description}.", description, error)
