"""Which policies apply to a request: compiled once from the settings, looked up per
request in a dictionary keyed by (route template, method, tier).

A request on a route is charged to
- the caller's tier policy (`tiers.<tier>`, else `default`): the caller's budget across
  all routes, unless the route says `apply_tier = false`;
- the route's own policies (`routes`), if the route is listed: a budget per caller for
  that route, `tiers.<tier>` of the route entry overriding its `limits`.
An operation of another surface (`ctx.rate_limit(identity, "graphql", cost)`) is charged
to `surfaces.<key>` (or `surfaces.<family>` for a key `family:action`), else to the tier
policy, which it then shares with HTTP.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from .config import Config, Rates, RouteLimit, normalise_template
from .gcra import Policy
from .rates import Rate, parse_rates

_OTHER_TIER = "\x00other"  # every tier the settings do not name shares one cache entry
_CACHE_LIMIT = 4096


class Plan(msgspec.Struct, frozen=True):
    """What to check for one kind of request, with its constant header computed once."""

    label: str  # the route template or surface key, for events
    policies: tuple[Policy, ...]
    policy_header: bytes  # RateLimit-Policy


def _label(base: str, rate: Rate, several: bool) -> str:
    if not several:
        return base
    for seconds, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if rate.period % seconds == 0:
            return f"{base}-{rate.period // seconds}{unit}"
    return f"{base}-{rate.period}s"  # pragma: no cover


def compile_policies(
    base_name: str, key_base: str, rates: Rates, burst: int | None
) -> tuple[Policy, ...]:
    parsed = [rate.with_burst(burst) for rate in parse_rates(rates, base_name)]
    several = len(parsed) > 1
    return tuple(
        Policy.build(_label(base_name, rate, several), f"{key_base}:{rate.period}", rate)
        for rate in parsed
    )


class _Route(msgspec.Struct, frozen=True):
    methods: frozenset[str]  # empty: all
    default: tuple[Policy, ...]
    by_tier: dict[str, tuple[Policy, ...]]
    apply_tier: bool


def _compile_route(entry: RouteLimit) -> _Route:
    """Entries for one template with different methods keep apart: `/x:PUT`."""
    methods = sorted({m.upper() for m in entry.methods})
    name = entry.name or normalise_template(entry.route) + (
        ":" + "+".join(methods) if methods else ""
    )
    default = compile_policies(name, f"r:{name}", entry.limits, entry.burst)
    by_tier = {
        tier: compile_policies(name, f"r:{name}", rates, entry.burst)
        for tier, rates in entry.tiers.items()
    }
    return _Route(
        methods=frozenset(methods),
        default=default,
        by_tier=by_tier,
        apply_tier=entry.apply_tier,
    )


class PolicyBook:
    def __init__(self, config: Config) -> None:
        self.default = compile_policies("default", "d", config.default, config.burst)
        self.tiers = {
            tier: compile_policies(tier, f"t:{tier}", rates, config.burst)
            for tier, rates in config.tiers.items()
        }
        self.surfaces = {
            key: compile_policies(key, f"s:{key}", rates, None)
            for key, rates in config.surfaces.items()
        }
        self.routes: dict[str, list[_Route]] = {}
        for entry in config.routes:
            template = normalise_template(entry.route)
            self.routes.setdefault(template, []).append(_compile_route(entry))
        named = set(self.tiers)
        for routes in self.routes.values():
            for route in routes:
                named.update(route.by_tier)
        self.named_tiers = frozenset(named)
        self.exempt_exact = frozenset(p for p in config.exempt_paths if not p.endswith("*"))
        self.exempt_prefixes = tuple(p[:-1] for p in config.exempt_paths if p.endswith("*"))
        self.allow_identities = frozenset(config.allow_identities)
        self.allow_networks = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in config.allow_cidrs
        )
        self._allowed = functools.lru_cache(maxsize=4096)(self._in_allowed_networks)
        self._http: dict[tuple[str, str, str], Plan | None] = {}
        self._surface: dict[tuple[str, str], Plan | None] = {}

    @property
    def route_templates(self) -> list[str]:
        return list(self.routes)

    # --- what is never limited --------------------------------------------------------

    def exempt(self, template: str, path: str, opt: Mapping[str, Any] | None) -> bool:
        if template in self.exempt_exact or path in self.exempt_exact:
            return True
        if opt and (opt.get("exempt") or opt.get("ratelimit") is False):
            return True
        return bool(self.exempt_prefixes) and path.startswith(self.exempt_prefixes)

    def limits_route(self, handler: Any) -> bool:
        """Whether requests to this route handler may ever be limited (decided once per
        route): not when its `opt` exempts it or each of its paths is exempt by name."""
        opt = handler.opt
        if opt.get("exempt") or opt.get("ratelimit") is False:
            return False
        paths = getattr(handler, "paths", None) or set()
        return not paths or not all(path in self.exempt_exact for path in paths)

    def allowed_client(self, host: str) -> bool:
        """Whether an address (or an anonymised network such as `2001:db8::/64`, as
        the auth plugin may name IPv6 callers) lies in `allow_cidrs`."""
        return bool(self.allow_networks) and self._allowed(host)

    def _in_allowed_networks(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            try:
                network = ipaddress.ip_network(host, strict=False)
            except ValueError:
                return False
            return any(
                network.version == allowed.version and network.subnet_of(allowed)  # type: ignore[arg-type]
                for allowed in self.allow_networks
            )
        return any(address in network for network in self.allow_networks)

    # --- what applies ------------------------------------------------------------------

    def tier_policies(self, tier: str) -> tuple[Policy, ...]:
        return self.tiers.get(tier, self.default)

    def http_plan(self, template: str, method: str, tier: str) -> Plan | None:
        """The policies for a request on `template`; None when nothing limits it."""
        tier_key = tier if tier in self.named_tiers else _OTHER_TIER
        cache_key = (template, method, tier_key)
        try:
            return self._http[cache_key]
        except KeyError:
            pass
        policies: tuple[Policy, ...] = ()
        apply_tier = True
        for route in self.routes.get(template, ()):
            if not route.methods or method in route.methods:
                policies += route.by_tier.get(tier, route.default)
                apply_tier = apply_tier and route.apply_tier
        if apply_tier:
            policies = self.tier_policies(tier) + policies
        plan = _plan(template, policies)
        if len(self._http) >= _CACHE_LIMIT:
            self._http.clear()
        self._http[cache_key] = plan
        return plan

    def surface_plan(self, key: str, tier: str) -> Plan | None:
        """The policies for an operation of another surface (`graphql`, `ws:search`)."""
        tier_key = tier if tier in self.named_tiers else _OTHER_TIER
        cache_key = (key, tier_key)
        try:
            return self._surface[cache_key]
        except KeyError:
            pass
        family = key.split(":", 1)[0]
        policies = self.surfaces.get(key) or self.surfaces.get(family) or self.tier_policies(tier)
        plan = _plan(key, policies)
        if len(self._surface) >= _CACHE_LIMIT:
            self._surface.clear()
        self._surface[cache_key] = plan
        return plan


def _plan(label: str, policies: Iterable[Policy]) -> Plan | None:
    unique: dict[str, Policy] = {}
    for policy in policies:
        unique.setdefault(policy.key, policy)
    if not unique:
        return None
    chosen = tuple(unique.values())
    header = ", ".join(p.policy_item for p in chosen).encode("latin-1")
    return Plan(label=label, policies=chosen, policy_header=header)
