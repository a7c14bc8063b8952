"""Public keys from a JWKS URL: fetched in the background, served from memory.

The request path never waits for the identity provider, except when a token names a key
id (`kid`) nobody has seen — the provider rotated its keys — and then at most once per
`jwks_min_refresh_seconds`, with concurrent requests sharing the one fetch. When the
provider is down the keys already fetched stay in use (tokens signed with them keep
working), unknown key ids are refused, the status check says so, and the background loop
keeps trying until it answers again: no restart needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from themisgate import StatusReport

from .algorithms import ASYMMETRIC_ALGORITHMS, MIN_RSA_BITS, VerificationKey, algorithms_for

log = structlog.get_logger("themisgate.auth")

MAX_JWKS_BYTES = 1024 * 1024
# secrets ("oct") are never taken from a URL: anyone who can read it could sign
_PUBLIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})


class JwksError(Exception):
    """The JWKS could not be fetched or used; the message is safe to show."""


class KeySet:
    """One fetched set: keys by `kid`, and those without one."""

    def __init__(self, keys: Iterable[VerificationKey] = (), skipped: int = 0) -> None:
        self.keys = list(keys)
        self.by_kid = {k.kid: k for k in self.keys if k.kid is not None}
        self.skipped = skipped

    def find(self, kid: str | None) -> VerificationKey | None:
        if kid is not None:
            return self.by_kid.get(kid)
        # a token without `kid` is only unambiguous against a set of one
        return self.keys[0] if len(self.keys) == 1 else None


def parse_jwks(body: bytes, configured: Iterable[str]) -> KeySet:
    """The signing keys of a JWK set (RFC 7517) usable with the configured algorithms."""
    allowed = [a for a in configured if a in ASYMMETRIC_ALGORITHMS]
    try:
        data = json.loads(body)
    except ValueError:
        raise JwksError("the answer is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksError('the answer is not a JWK set (no "keys" list)')
    keys: list[VerificationKey] = []
    skipped = 0
    for jwk in data["keys"]:
        key = _signing_key(jwk, allowed)
        if key is None:
            skipped += 1
        else:
            keys.append(key)
    if not keys:
        raise JwksError(
            f"none of its {len(data['keys'])} keys can verify {', '.join(allowed)} signatures"
        )
    return KeySet(keys, skipped)


def _signing_key(jwk: Any, allowed: list[str]) -> VerificationKey | None:
    if not isinstance(jwk, dict) or jwk.get("kty") not in _PUBLIC_KEY_TYPES:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    declared = jwk.get("alg")
    if declared is not None and declared not in allowed:
        return None
    kid = jwk.get("kid")
    try:
        key = PyJWK(jwk, algorithm=declared).key
    except (PyJWTError, ValueError, TypeError):
        return None
    if getattr(key, "key_size", MIN_RSA_BITS) < MIN_RSA_BITS and jwk["kty"] == "RSA":
        return None
    algorithms = algorithms_for(key, [declared] if declared else allowed)
    if not algorithms:
        return None
    return VerificationKey(key, algorithms, kid if isinstance(kid, str) else None)


def _shown(url: str) -> str:
    """The URL without credentials or query, for listings."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class JwksKeys:
    def __init__(
        self,
        url: str,
        algorithms: Iterable[str],
        *,
        timeout: float,
        refresh_seconds: float,
        min_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.algorithms = tuple(algorithms)
        self.timeout = timeout
        self.refresh_seconds = refresh_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._clock = clock
        self.current = KeySet()
        self.fetched_at: float | None = None
        self.last_attempt: float | None = None
        self.last_error: str | None = None
        self.fetches = 0
        self._inflight: asyncio.Task[bool] | None = None
        self._client: httpx.AsyncClient | None = None

    def find(self, kid: str | None) -> VerificationKey | None:
        return self.current.find(kid)

    def may_refresh(self) -> bool:
        """Whether a token with an unknown `kid` may make us ask the provider now."""
        if self._inflight is not None and not self._inflight.done():
            return True
        last = self.last_attempt
        return last is None or self._clock() - last >= self.min_refresh_seconds

    async def refresh(self) -> bool:
        """Fetch the set now, sharing a fetch already under way; True when it worked."""
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._inflight)

    async def _refresh(self) -> bool:
        self.last_attempt = self._clock()
        self.fetches += 1
        try:
            keys = await self._fetch()
        except Exception as exc:  # whatever happens, keep the cached keys and retry later
            self.last_error = str(exc) if isinstance(exc, JwksError) else repr(exc)
            log.warning(
                "jwks refresh failed",
                url=_shown(self.url),
                error=self.last_error,
                cached_keys=len(self.current.keys),
            )
            return False
        changed = set(keys.by_kid) != set(self.current.by_kid)
        self.current = keys
        self.fetched_at = self._clock()
        if self.last_error is not None or changed:
            log.info("jwks keys loaded", url=_shown(self.url), kids=sorted(keys.by_kid))
        self.last_error = None
        return True

    async def _fetch(self) -> KeySet:
        client = self._client
        own = client is None
        if client is None:
            client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        try:
            body = await self._get(client)
        finally:
            if own:
                await client.aclose()
        return parse_jwks(body, self.algorithms)

    async def _get(self, client: httpx.AsyncClient) -> bytes:
        try:
            async with client.stream(
                "GET", self.url, headers={"accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise JwksError(f"the provider answered HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError(f"the answer is larger than {MAX_JWKS_BYTES} bytes")
                return bytes(body)
        except httpx.TimeoutException:
            raise JwksError(f"no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise JwksError(f"{type(exc).__name__}: {exc}") from None

    async def _keep_fresh(self) -> None:
        retry = max(1.0, self.min_refresh_seconds)
        while True:
            ok = await self.refresh()
            await asyncio.sleep(self.refresh_seconds if ok else retry)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """While the app runs: one HTTP client, and a task keeping the keys fresh (its
        first fetch starts at once; tokens arriving before it ends wait for it)."""
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        task = asyncio.create_task(self._keep_fresh(), name="themisgate-auth-jwks")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if self._inflight is not None and not self._inflight.done():
                self._inflight.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._inflight
            await self._client.aclose()
            self._client = None

    async def status(self) -> StatusReport:
        keys = self.current.keys
        age = None if self.fetched_at is None else round(self._clock() - self.fetched_at, 1)
        facts: dict[str, Any] = {
            "url": _shown(self.url),
            "keys": len(keys),
            "kids": sorted(self.current.by_kid),
            "age_seconds": age,
            "fetches": self.fetches,
            "last_error": self.last_error,
        }
        if not keys:
            reason = self.last_error or "not fetched yet"
            return StatusReport(ok=False, detail=f"no keys: {reason}", facts=facts)
        if self.last_error is not None:
            detail = f"refresh failing ({self.last_error}); using {len(keys)} cached keys"
            return StatusReport(ok=False, detail=detail, facts=facts)
        return StatusReport(ok=True, detail=f"{len(keys)} keys", facts=facts)
