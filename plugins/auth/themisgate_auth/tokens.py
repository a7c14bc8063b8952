"""Bearer JWTs → identities, with PyJWT.

The token's header only *selects* a key (by `alg` family and `kid`); the algorithms
passed to PyJWT are the ones that key was configured for (see algorithms.py), so `alg:
none` and algorithm confusion fail before any signature is computed. Issuer, audience,
expiry and not-before are checked with the configured leeway; `sub` is the identity, the
tier and scopes come from configurable claims.

`verify()` answers synchronously whenever it can; it returns an awaitable only when a
JWKS refresh is needed for an unknown `kid`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Awaitable
from typing import Any

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from themisgate import Identity

from .algorithms import HMAC_ALGORITHMS, VerificationKey, load_public_key
from .config import JwtSettings
from .jwks import JwksKeys
from .tokencache import TokenCache

_TIER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MAX_HEADER_BYTES = 2048


def peek_header(token: bytes) -> dict[str, Any] | None:
    """The token's JOSE header, read only to *choose* a key: PyJWT parses the whole token
    again, strictly, and verifies it. (Its own unverified-header reader costs ~25 µs
    because of a per-character alphabet check; this costs ~2 µs.)"""
    segment = token.partition(b".")[0]
    if len(segment) > _MAX_HEADER_BYTES:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return header if isinstance(header, dict) else None


class TokenRejected(Exception):
    """A token that proves nothing. `reason` is the `auth_failed` reason; `description`
    is safe to send to the client (it never repeats the token or anything from it)."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


def _rejected(description: str) -> TokenRejected:
    return TokenRejected("invalid_token", description)


def _unknown_key(kid: str | None) -> TokenRejected:
    if kid is None:
        return _rejected("the token names no key id (kid) and several keys could have signed it")
    return _rejected("the token's key id (kid) is unknown")


class TokenVerifier:
    def __init__(self, settings: JwtSettings, default_tier: str) -> None:
        configured = list(settings.algorithms)
        self.algorithms = frozenset(configured)
        hmac_algs = tuple(a for a in configured if a in HMAC_ALGORITHMS)
        self._hmac = (
            VerificationKey(settings.secret.reveal().encode(), hmac_algs)
            if settings.secret is not None and hmac_algs
            else None
        )
        self._static = (
            load_public_key(settings.public_key.reveal().encode(), configured)
            if settings.public_key is not None
            else None
        )
        self.jwks = (
            JwksKeys(
                settings.jwks_url,
                configured,
                timeout=settings.jwks_timeout_seconds,
                refresh_seconds=settings.jwks_refresh_seconds,
                min_refresh_seconds=settings.jwks_min_refresh_seconds,
            )
            if settings.jwks_url is not None
            else None
        )
        required = ["sub", *settings.required_claims]
        if settings.issuer is not None:
            required.append("iss")
        if settings.audience is not None:
            required.append("aud")
        self._jwt = jwt.PyJWT(
            options={"require": list(dict.fromkeys(required)), "enforce_minimum_key_length": True}
        )
        self._issuer = settings.issuer
        self._audience = settings.audience
        self._leeway = settings.leeway_seconds
        self._max_bytes = settings.max_token_bytes
        self._tier_claim = settings.tier_claim
        self._scopes_claim = settings.scopes_claim
        self._prefix = settings.scope_prefix
        self._default_tier = settings.default_tier or default_tier
        self._default_scopes = frozenset(settings.default_scopes)
        self.cache = TokenCache(settings.cache_size, settings.cache_seconds)

    def verify(self, token: bytes) -> Identity | Awaitable[Identity]:
        if len(token) > self._max_bytes:
            raise _rejected(f"the token is larger than {self._max_bytes} bytes")
        now = time.time()
        digest = None
        if self.cache.enabled:
            digest = hashlib.sha256(token).digest()
            cached = self.cache.get(digest, now)
            if cached is not None:
                return cached
        header = peek_header(token)
        if header is None:
            raise _rejected("the token is not a well-formed JWT")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            accepted = ", ".join(sorted(self.algorithms))
            raise _rejected(f"the token's algorithm is not accepted (accepted: {accepted})")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _rejected("the token's key id (kid) is not a string")
        key = self._key_for(alg, kid)
        if key is None:
            if self.jwks is not None and self.jwks.may_refresh():
                return self._verify_after_refresh(token, kid, digest)
            raise _unknown_key(kid)
        return self._verify_with(token, key, digest, now)

    def _key_for(self, alg: str, kid: str | None) -> VerificationKey | None:
        if alg in HMAC_ALGORITHMS:
            return self._hmac
        if self._static is not None:
            return self._static
        return self.jwks.find(kid) if self.jwks is not None else None

    async def _verify_after_refresh(
        self, token: bytes, kid: str | None, digest: bytes | None
    ) -> Identity:
        assert self.jwks is not None
        await self.jwks.refresh()
        key = self.jwks.find(kid)
        if key is None:
            raise _unknown_key(kid)
        return self._verify_with(token, key, digest, time.time())

    def _verify_with(
        self, token: bytes, key: VerificationKey, digest: bytes | None, now: float
    ) -> Identity:
        claims = self._decode(token, key)
        identity = self._identity(claims)
        if digest is not None:
            exp = claims.get("exp")
            expires = float(exp) + self._leeway if isinstance(exp, int | float) else None
            self.cache.put(digest, identity, now, expires)
        return identity

    def _decode(self, token: bytes, key: VerificationKey) -> dict[str, Any]:
        try:
            return self._jwt.decode(
                token,
                key.key,
                algorithms=list(key.algorithms),
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except ExpiredSignatureError:
            raise TokenRejected("expired_token", "the token has expired") from None
        except ImmatureSignatureError:
            raise _rejected("the token is not valid yet (nbf or iat in the future)") from None
        except InvalidIssuerError:
            raise _rejected("the token's issuer (iss) is not accepted") from None
        except InvalidAudienceError:
            expected = "" if self._audience is not None else " (this server expects none)"
            raise _rejected(f"the token's audience (aud) is not accepted{expected}") from None
        except MissingRequiredClaimError as exc:
            raise _rejected(f"the token lacks the required {exc.claim} claim") from None
        except InvalidSignatureError:
            raise _rejected("the token's signature does not verify") from None
        except InvalidAlgorithmError:
            raise _rejected("the token's algorithm does not fit its key") from None
        except PyJWTError:
            raise _rejected("the token is not a well-formed JWT") from None

    def _identity(self, claims: dict[str, Any]) -> Identity:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _rejected("the token has no subject (sub)")
        tier = claims.get(self._tier_claim, self._default_tier)
        if not isinstance(tier, str) or not _TIER.match(tier):
            raise _rejected("the token's tier claim is not a tier name")
        return Identity("user", subject, tier, self._scopes(claims.get(self._scopes_claim)))

    def _scopes(self, raw: Any) -> frozenset[str]:
        if raw is None:
            return self._default_scopes
        if isinstance(raw, str):
            names = raw.split()
        elif isinstance(raw, list) and all(isinstance(name, str) for name in raw):
            names = raw
        else:
            raise _rejected("the token's scope claim is neither a string nor a list of strings")
        prefix = self._prefix
        if prefix:
            names = [n[len(prefix) :] for n in names if n.startswith(prefix)]
        return frozenset(names)
