"""Settings: `[plugins.auth]`, its `[[plugins.auth.api_keys]]` and `[plugins.auth.jwt]`.

Everything that can be checked without a request is checked here, so a mistake stops
start-up with a line naming the table and the key instead of turning into 401s later:
hash formats, scopes, CIDRs, algorithm/key combinations, PEM keys, JWKS URLs.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from themisgate import Secret

from .algorithms import (
    ASYMMETRIC_ALGORITHMS,
    HMAC_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    PublicKeyError,
    load_public_key,
)

SCOPES = ("read", "write", "admin")
HASH_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")
# a header name as RFC 9110 allows it
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
CHECKABLE_CLAIMS = ("exp", "nbf", "iat", "iss", "aud", "sub", "jti")

Tier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
KeyId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
Seconds = Annotated[float, msgspec.Meta(ge=0)]


def scope_problems(scopes: list[str], where: str) -> list[str]:
    return [
        f"{where}: unknown scope {scope!r}; scopes are {', '.join(SCOPES)}"
        for scope in scopes
        if scope not in SCOPES
    ]


def _raise(problems: list[str]) -> None:
    if problems:
        raise ValueError("; ".join(problems))


class ApiKey(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One `[[plugins.auth.api_keys]]` entry. The key itself is never stored, only
    `hash = "sha256:<hex>"` as `themisgate auth new-key` prints it."""

    id: KeyId
    hash: str
    tier: Tier
    scopes: list[str] = msgspec.field(default_factory=lambda: ["read"])
    revoked: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not HASH_PATTERN.match(self.hash):
            problems.append(
                f"api key {self.id!r}: hash must be 'sha256:' and 64 lowercase hex digits, "
                "as `themisgate auth new-key` or `themisgate auth hash-key` print it "
                "(never the key itself)"
            )
        problems.extend(scope_problems(self.scopes, f"api key {self.id!r}"))
        _raise(problems)


class JwtSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[plugins.auth.jwt]`: bearer JWTs. Off while `algorithms` is empty."""

    # which algorithms are accepted, fixed here and never taken from a token
    algorithms: list[str] = []
    # HS256/384/512: the shared secret
    secret: Secret | None = None
    # RS*/PS*/ES*/EdDSA: one PEM public key (or certificate), or a JWKS URL
    public_key: Secret | None = None
    jwks_url: str | None = None
    issuer: str | list[str] | None = None
    audience: str | list[str] | None = None
    leeway_seconds: Annotated[float, msgspec.Meta(ge=0, le=300)] = 30.0
    # claims a token must carry besides `sub` (and `iss`/`aud` when those are set)
    required_claims: list[str] = msgspec.field(default_factory=lambda: ["exp"])
    tier_claim: str = "tier"
    # a space-separated string (`scope`, OAuth) or a list (`scp`, some providers)
    scopes_claim: str = "scope"
    # only scopes with this prefix count, without it: "themisgate:" makes
    # "themisgate:write" the `write` scope and ignores "openid", "email"…
    scope_prefix: str = ""
    # for tokens without the tier claim; unset: the anonymous tier
    default_tier: Tier | None = None
    default_scopes: list[str] = msgspec.field(default_factory=lambda: ["read"])
    # verified tokens remembered by their SHA-256, until min(exp, now + cache_seconds)
    cache_size: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 10_000
    cache_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 60.0
    jwks_refresh_seconds: Annotated[float, msgspec.Meta(ge=1)] = 300.0
    jwks_min_refresh_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    jwks_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    max_token_bytes: Annotated[int, msgspec.Meta(ge=256, le=65536)] = 8192

    @property
    def enabled(self) -> bool:
        return bool(self.algorithms)

    def __post_init__(self) -> None:
        problems: list[str] = []
        algorithms = self.algorithms
        if "none" in [a.lower() for a in algorithms]:
            problems.append("algorithms: 'none' (unsigned tokens) is never accepted")
        unknown = [a for a in algorithms if a not in SUPPORTED_ALGORITHMS and a.lower() != "none"]
        if unknown:
            problems.append(
                f"algorithms: unknown {', '.join(map(repr, unknown))}; "
                f"supported: {', '.join(SUPPORTED_ALGORITHMS)}"
            )
        hmac_algs = [a for a in algorithms if a in HMAC_ALGORITHMS]
        asymmetric = [a for a in algorithms if a in ASYMMETRIC_ALGORITHMS]
        problems.extend(self._secret_problems(hmac_algs))
        problems.extend(self._public_key_problems(asymmetric))
        if self.jwks_url is not None:
            problems.extend(_url_problems(self.jwks_url))
        bad_claims = [c for c in self.required_claims if c not in CHECKABLE_CLAIMS]
        if bad_claims:
            problems.append(
                f"required_claims: unknown {', '.join(map(repr, bad_claims))}; "
                f"choose from {', '.join(CHECKABLE_CLAIMS)}"
            )
        for name in ("tier_claim", "scopes_claim"):
            if not getattr(self, name):
                problems.append(f"{name}: must name a claim")
        problems.extend(scope_problems(self.default_scopes, "default_scopes"))
        _raise(problems)

    def _secret_problems(self, hmac_algs: list[str]) -> list[str]:
        if hmac_algs and self.secret is None:
            return [f'secret: required for {", ".join(hmac_algs)}; write {{ env = "VAR" }}']
        if self.secret is not None and not hmac_algs:
            return ["secret: set, but algorithms has no HS256/HS384/HS512 to use it with"]
        if self.secret is not None:
            needed = max(HMAC_ALGORITHMS[a] for a in hmac_algs)
            length = len(self.secret.reveal().encode())
            if length < needed:
                return [
                    f"secret: {length} bytes is too short for {', '.join(hmac_algs)}; use at "
                    f"least {needed} random bytes (RFC 7518 §3.2), e.g. `openssl rand -base64 48`"
                ]
        return []

    def _public_key_problems(self, asymmetric: list[str]) -> list[str]:
        sources = [n for n in ("public_key", "jwks_url") if getattr(self, n) is not None]
        if asymmetric and not sources:
            return [f"public_key or jwks_url: one is required for {', '.join(asymmetric)}"]
        if sources and not asymmetric:
            return [f"{sources[0]}: set, but algorithms has no RS*/PS*/ES*/EdDSA to use it with"]
        if len(sources) == 2:
            return ["public_key and jwks_url: set one of them, not both"]
        problems = []
        if self.jwks_url is not None and (self.issuer is None or self.audience is None):
            missing = " and ".join(n for n in ("issuer", "audience") if getattr(self, n) is None)
            problems.append(
                f"{missing}: required with jwks_url; without them any token the identity "
                "provider signs, for any application, would be accepted"
            )
        if self.public_key is not None:
            try:
                load_public_key(self.public_key.reveal().encode(), asymmetric)
            except PublicKeyError as exc:
                problems.append(f"public_key: {exc}")
        return problems


def _url_problems(url: str) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"jwks_url: expected an http(s) URL; found {url!r}"]
    return []


def _network_problems(cidrs: list[str]) -> list[str]:
    problems = []
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            try:
                fixed = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                problems.append(f"trusted_proxies: {cidr!r} is not an IP address or CIDR")
            else:
                problems.append(
                    f"trusted_proxies: {cidr!r} has host bits set; did you mean '{fixed}'?"
                )
    return problems


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[plugins.auth]`."""

    # true: anonymous callers hold no scope, so every route that declares one answers 401
    require_auth: bool = False
    # unset: `[core] default_tier`
    anonymous_tier: Tier | None = None
    # unset: ["read"], or none with require_auth
    anonymous_scopes: list[str] | None = None
    api_key_header: str = "X-API-Key"
    # the header the trusted proxies set: X-Forwarded-For (a list of addresses),
    # Forwarded (RFC 7239), or a single-address one such as X-Real-IP
    client_ip_header: str = "X-Forwarded-For"
    # peers whose client_ip_header is believed; anyone else is who the socket says
    trusted_proxies: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # anonymous IPv6 callers are identified by this prefix (one subscriber usually holds
    # a whole /64 and could otherwise take a fresh rate-limit bucket per address)
    anonymous_ipv6_prefix: Annotated[int, msgspec.Meta(ge=32, le=128)] = 64
    api_keys: list[ApiKey] = []
    jwt: JwtSettings = msgspec.field(default_factory=JwtSettings)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.anonymous_scopes is not None:
            problems.extend(scope_problems(self.anonymous_scopes, "anonymous_scopes"))
            if self.require_auth and self.anonymous_scopes:
                problems.append(
                    "anonymous_scopes: require_auth = true leaves anonymous callers no "
                    "scope; remove anonymous_scopes or require_auth"
                )
        for name in ("api_key_header", "client_ip_header"):
            value = getattr(self, name)
            if not _HEADER_NAME.match(value):
                problems.append(f"{name}: {value!r} is not a header name")
            elif value.lower() == "authorization":
                problems.append(f"{name}: Authorization is read for bearer credentials already")
        problems.extend(_network_problems(self.trusted_proxies))
        problems.extend(_duplicate_key_problems(self.api_keys))
        _raise(problems)

    def effective_anonymous_scopes(self) -> frozenset[str]:
        if self.require_auth:
            return frozenset()
        return frozenset(self.anonymous_scopes if self.anonymous_scopes is not None else ["read"])


def _duplicate_key_problems(keys: list[ApiKey]) -> list[str]:
    problems = []
    ids: set[str] = set()
    hashes: dict[str, str] = {}
    for key in keys:
        if key.id in ids:
            problems.append(f"api_keys: the id {key.id!r} is used twice")
        ids.add(key.id)
        if key.hash in hashes:
            problems.append(f"api_keys: {key.id!r} has the same hash as {hashes[key.hash]!r}")
        hashes.setdefault(key.hash, key.id)
    return problems
