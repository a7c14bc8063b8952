"""GCRA, the generic cell rate algorithm: one number per caller and policy.

A policy of `count` per `period` with a `burst` lets one unit through every
`interval = period / count` and up to `burst` at once. The store keeps, per caller and
policy, the *theoretical arrival time* (TAT): when the caller's bucket would be empty
again if it stopped now. A request costing `n` units at time `now` is allowed when

    max(TAT, now) + n * interval - burst * interval <= now

and then moves the TAT to `max(TAT, now) + n * interval`. Nothing refills in the
background and nothing else is stored: the TAT says how many units are left
(`(now + burst * interval - TAT) // interval`) and when the next one comes. Time is
counted in whole microseconds so the memory store (`memory.py`), the Redis script
(`gcra.lua`) and these helpers do the same integer arithmetic (no float drift at a
window's edge).

A request is checked against all its policies at once and is charged to all of them or
to none: a caller refused by an hourly policy does not lose its per-second allowance.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from .rates import MICROSECONDS, Rate


class Policy(msgspec.Struct, frozen=True):
    """One compiled rate: how it is stored, named in headers and events, and enforced."""

    name: str  # in RateLimit headers, `violated-policies` and the hook's decision
    key: str  # the storage key suffix, after the caller's key
    rate: Rate
    burst: int
    interval: int  # µs per unit
    tolerance: int  # burst * interval, µs
    policy_item: str  # '"free";q=10;w=60' for RateLimit-Policy
    limit_prefix: str  # '"free";r=' for RateLimit

    @classmethod
    def build(cls, name: str, key: str, rate: Rate) -> Policy:
        burst = rate.burst if rate.burst is not None else rate.count
        interval = max(1, round(rate.period * MICROSECONDS / rate.count))
        item = f"{_sf_string(name)};q={rate.count};w={rate.period}"
        if burst != rate.count:
            item += f";themisgate-burst={burst}"
        return cls(
            name=name,
            key=key,
            rate=rate,
            burst=burst,
            interval=interval,
            tolerance=burst * interval,
            policy_item=item,
            limit_prefix=f"{_sf_string(name)};r=",
        )


def _sf_string(text: str) -> str:
    """An RFC 8941 String: quoted, with `"` and `\\` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PolicyState(msgspec.Struct, frozen=True):
    """Where one policy stands after a decision, in µs."""

    policy: Policy
    remaining: int  # units that could still be spent now
    next_unit: int  # until one more unit is available (0 when the bucket is full)
    retry: int  # until this request's cost would be allowed (0 when it is now)


class Verdict:
    """The answer for one request: allowed or not, and the state of each policy,
    computed only when asked for (headers, events, the 429 body)."""

    __slots__ = ("_states", "allowed", "cost", "now", "policies", "source", "tats")

    def __init__(
        self,
        allowed: bool,
        now: int,
        tats: Sequence[int],
        policies: Sequence[Policy],
        cost: int,
        source: str,
    ) -> None:
        self.allowed = allowed
        self.now = now
        self.tats = tats  # each policy's TAT after the decision (unchanged when refused)
        self.policies = policies
        self.cost = cost
        self.source = source  # "memory", "redis" or "fallback"
        self._states: list[PolicyState] | None = None

    @property
    def states(self) -> list[PolicyState]:
        if self._states is None:
            self._states = [
                policy_state(p, self.now, tat, self.cost, self.allowed)
                for p, tat in zip(self.policies, self.tats, strict=True)
            ]
        return self._states

    @property
    def retry_after(self) -> int:
        """µs until the request would be allowed: the longest wait among its policies."""
        return max((s.retry for s in self.states), default=0)

    @property
    def violated(self) -> list[PolicyState]:
        return [s for s in self.states if s.retry > 0]

    def fewest_remaining(self) -> tuple[Policy, int]:
        """For an allowed request: the policy with the fewest units left, and how many —
        what `tightest` reports then (no policy has a wait), without building states."""
        now = self.now
        best: tuple[Policy, int] | None = None
        for policy, tat in zip(self.policies, self.tats, strict=True):
            remaining = max(0, (now + policy.tolerance - tat) // policy.interval)
            if best is None or remaining < best[1]:
                best = (policy, remaining)
        assert best is not None
        return best

    @property
    def tightest(self) -> PolicyState | None:
        """The policy closest to refusing: what `limit` and `remaining` report."""
        return min(self.states, key=lambda s: (s.remaining, -s.retry), default=None)


def policy_state(policy: Policy, now: int, tat: int, cost: int, allowed: bool) -> PolicyState:
    """How many units are left, when the next comes, and (if refused) when `cost` fits."""
    interval = policy.interval
    spare = now + policy.tolerance - tat  # µs of allowance left
    remaining = max(0, spare // interval)
    next_unit = 0 if remaining >= policy.burst else (remaining + 1) * interval - spare
    retry = 0 if allowed else max(0, cost * interval - spare)
    return PolicyState(policy, remaining, next_unit, retry)
