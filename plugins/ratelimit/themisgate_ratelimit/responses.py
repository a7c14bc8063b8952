"""What a decision looks like to a client: the IETF RateLimit fields, the 429 problem
(with the fields existing clients read) and the 503 of a fail-closed outage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from themisgate import ProblemError

from .gcra import PolicyState, Verdict

US = 1_000_000


def seconds_up(microseconds: int) -> int:
    """Whole seconds, rounded up: a client waiting this long is never early."""
    return -(-microseconds // US)


def ratelimit_field(states: Iterable[PolicyState]) -> str:
    """`"free";r=9;t=6, "/api/v4/themis/vectors/search";r=0;t=1`: per policy, the units
    left and the seconds until one more is available (draft-ietf-httpapi-ratelimit-headers)."""
    return ", ".join(
        f"{s.policy.limit_prefix}{s.remaining};t={seconds_up(s.next_unit)}" for s in states
    )


def allowed_field(verdict: Verdict) -> bytes:
    """`ratelimit_field` of an allowed request, straight from the TATs: the per-request
    header of every allowed response, so it skips building `PolicyState`s."""
    now = verdict.now
    parts = []
    for policy, tat in zip(verdict.policies, verdict.tats, strict=True):
        spare = now + policy.tolerance - tat
        remaining = spare // policy.interval
        wait = 0 if remaining >= policy.burst else (remaining + 1) * policy.interval - spare
        parts.append(f"{policy.limit_prefix}{remaining};t={-(-wait // US)}")
    return ", ".join(parts).encode("latin-1")


def quota_exceeded(verdict: Verdict, policy_header: bytes) -> ProblemError:
    """429 `urn:themisgate:problem:quota-exceeded` with the body fields clients already
    read. `RateLimit` names the policies that refused, so `Retry-After` (the longest of
    their waits) is never earlier than one of its `t`, as the draft asks."""
    violated = verdict.violated
    worst = max(violated, key=lambda s: s.retry)
    retry_after = max(1, seconds_up(verdict.retry_after))
    rate = worst.policy.rate
    message = (
        f"Rate limit exceeded: {rate.count} per {rate.window.split('/', 1)[1]} "
        f"({worst.policy.name}). Retry in {retry_after} s."
    )
    extensions: dict[str, Any] = {
        "error": "rate_limit_exceeded",
        "message": message,
        "retry_after": retry_after,
        "limit": rate.count,
        "policy": rate.window,
        "violated-policies": [s.policy.name for s in violated],
    }
    return ProblemError(
        429,
        message,
        slug="quota-exceeded",
        headers={
            "Retry-After": str(retry_after),
            "RateLimit-Policy": policy_header.decode("latin-1"),
            "RateLimit": ratelimit_field(violated),
        },
        **extensions,
    )


def backend_unavailable(retry_in: float) -> ProblemError:
    """503 while Redis cannot answer and `fail_open = false`: the server cannot tell
    whether the caller is within its quota, and it is not the caller's fault."""
    retry_after = max(1, int(-(-retry_in // 1)))
    return ProblemError(
        503,
        "The rate-limit store does not answer, and this server refuses requests it "
        f"cannot count (fail_open = false). Retry in {retry_after} s.",
        slug="ratelimit-unavailable",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )
