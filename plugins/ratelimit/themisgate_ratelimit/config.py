"""`[plugins.ratelimit]`: every setting, typed and checked when `plugins.toml` is read.

Rates, the storage URL, CIDRs and identities are checked here, so a typo stops start-up
with a message naming the key instead of silently limiting nothing.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from themisgate import Secret

from .rates import MAX_BURST, RateError, parse_rates

Rates = str | list[str]
"""One rate string, or several windows checked together: `["10/second", "1000/hour"]`."""

Burst = Annotated[int, msgspec.Meta(ge=1, le=MAX_BURST)]

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix", "redis+cluster", "rediss+cluster"})
_NAME = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # printable ASCII, no space, quote or backslash


class RouteLimit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """`[[plugins.ratelimit.routes]]`: limits for one route template, per caller."""

    route: str
    limits: Rates = []
    burst: Burst | None = None
    # empty: every method of the route
    methods: list[str] = []
    # per-tier overrides of `limits`: { premium = "100/minute" }
    tiers: dict[str, Rates] = {}
    # whether the caller's tier (or default) policy also applies on this route
    apply_tier: bool = True
    # the policy name in RateLimit headers and events; the route template when not given
    name: str | None = None

    def __post_init__(self) -> None:
        where = f"route {self.route!r}"
        if not self.route.startswith("/"):
            raise ValueError(f"{where}: a route template starts with '/', e.g. '/api/v4/...'")
        if not self.limits and not self.tiers:
            raise ValueError(f"{where}: give `limits` (and/or `tiers`), e.g. limits = '10/minute'")
        unknown = [m for m in self.methods if m.upper() not in HTTP_METHODS]
        if unknown:
            raise ValueError(f"{where}: unknown HTTP method(s) {unknown}")
        if not _NAME.match(self.name or self.route):
            what = "`name`" if self.name is not None else "the template (or give `name`)"
            raise ValueError(f"{where}: {what} must be printable ASCII without spaces or quotes")
        try:
            parse_rates(self.limits, f"{where} limits")
            for tier, rates in self.tiers.items():
                parse_rates(rates, f"{where} tiers.{tier}")
        except RateError as exc:
            raise ValueError(str(exc)) from None


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """`[plugins.ratelimit]`."""

    # "memory://" (one process) or "redis://host:6379/0" (shared by workers and hosts);
    # also rediss:// (TLS), unix:///path.sock?db=0, redis+cluster://host:7000
    storage: str = "memory://"
    redis_username: str | None = None
    redis_password: Secret | None = None
    key_prefix: str = "themisgate:rl"
    # the policy of callers whose tier is not listed under `tiers`; [] for no limit
    default: Rates = "60/minute"
    # the burst of `default` and `tiers` rates that name none ("N/minute burst B");
    # unset: the rate's count
    burst: Burst | None = None
    tiers: dict[str, Rates] = {}
    routes: list[RouteLimit] = []
    # operations of other surfaces: { graphql = "100/minute", ws = "600/minute" }; a key
    # not listed is charged to the caller's tier policy
    surfaces: dict[str, Rates] = {}
    # route templates or paths never limited; "/prefix/*" matches a path prefix
    exempt_paths: list[str] = msgspec.field(
        default_factory=lambda: ["/health", "/ready", "/metrics"]
    )
    # identity keys never limited: "api_key:<id>", "user:<id>", "ip:<address>"
    allow_identities: list[str] = []
    # client networks never limited: "10.0.0.0/8", "::1/128"
    allow_cidrs: list[str] = []
    # RateLimit and RateLimit-Policy on allowed responses too (always on 429s)
    headers: bool = True
    # when Redis cannot answer: true = a per-process in-memory limit, false = 503
    fail_open: bool = True
    decision_timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 50
    # opening a connection (at start-up, and when probing a Redis that was down) may take
    # longer than a decision: TLS, a remote host
    connect_timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=60_000)] = 1000
    # consecutive Redis failures that open the circuit breaker, and how long it stays open
    breaker_threshold: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    breaker_reset_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 2.0
    # most (identity, policy) entries an in-memory store keeps (the least recently used go)
    max_keys: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] = 100_000
    # Redis connections per process; more decisions at once wait for one (within the
    # decision timeout). Opened at start-up, so no request pays for a connection.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 16

    def __post_init__(self) -> None:
        problems = [*_storage_problems(self.storage), *self._other_problems()]
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def uses_redis(self) -> bool:
        return self.storage != "memory://"

    @property
    def decision_timeout(self) -> float:
        return self.decision_timeout_ms / 1000

    @property
    def connect_timeout(self) -> float:
        return self.connect_timeout_ms / 1000

    def _other_problems(self) -> list[str]:
        problems = []
        if not self.key_prefix or re.search(r"[{}\s]", self.key_prefix):
            problems.append(
                "key_prefix: must be non-empty, without spaces or braces "
                "(the identity between braces is the Redis Cluster hash tag)"
            )
        rate_tables: list[tuple[str, Rates]] = [("default", self.default)]
        rate_tables += [(f"tiers.{tier}", rates) for tier, rates in self.tiers.items()]
        rate_tables += [(f"surfaces.{key}", rates) for key, rates in self.surfaces.items()]
        for where, rates in rate_tables:
            try:
                parse_rates(rates, where)
            except RateError as exc:
                problems.append(str(exc))
        for kind, names in (("tiers", self.tiers), ("surfaces", self.surfaces)):
            problems += [
                f"{kind}.{name!s}: a name must be printable ASCII without spaces or quotes"
                for name in names
                if not _NAME.match(name)
            ]
        claimed: dict[str, set[str]] = {}  # template -> methods ("*": all)
        for route in self.routes:
            methods = {m.upper() for m in route.methods} or {"*"}
            taken = claimed.setdefault(normalise_template(route.route), set())
            if taken & methods or (taken and "*" in methods) or "*" in taken:
                problems.append(
                    f"routes: {route.route!r} is listed twice for the same methods; "
                    "merge the entries (a list of limits checks several windows)"
                )
            taken |= methods
        for cidr in self.allow_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                problems.append(f"allow_cidrs: {cidr!r} is not an IP network like '10.0.0.0/8'")
        for identity in self.allow_identities:
            if ":" not in identity:
                problems.append(
                    f"allow_identities: {identity!r} is not an identity key; "
                    "write 'api_key:<id>', 'user:<id>' or 'ip:<address>'"
                )
        for path in self.exempt_paths:
            if not path.startswith("/"):
                problems.append(f"exempt_paths: {path!r} must start with '/'")
        return problems


def normalise_template(route: str) -> str:
    """`/docs/{collection:str}` and `/docs/{collection}` name the same route."""
    return re.sub(r"\{([^}:]+):[^}]*\}", r"{\1}", route.rstrip("/") or "/")


def _storage_problems(storage: str) -> list[str]:
    if storage == "memory://":
        return []
    parts = urlsplit(storage)
    if parts.scheme not in REDIS_SCHEMES:
        return [
            f"storage: {storage!r} is neither 'memory://' nor a Redis URL "
            "(redis://, rediss://, unix://, redis+cluster://)"
        ]
    problems = []
    if parts.password:
        problems.append(
            "storage: the URL holds a password; move it to "
            'redis_password = { env = "REDIS_PASSWORD" } so it is never shown'
        )
    if parts.scheme == "unix":
        if not parts.path:
            problems.append("storage: a unix:// URL needs the socket path, unix:///run/redis.sock")
    else:
        try:
            _ = parts.port
        except ValueError:
            problems.append(f"storage: the port in {redacted_url(storage)!r} is not a number")
        if not parts.hostname:
            problems.append(f"storage: {redacted_url(storage)!r} names no host")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            problems.append(f"storage: the database in {redacted_url(storage)!r} must be a number")
    return problems


def redacted_url(url: str) -> str:
    """A URL with any password removed, for messages and listings."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}:****@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc).geturl()
