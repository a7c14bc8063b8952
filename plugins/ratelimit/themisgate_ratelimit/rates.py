"""Rate strings (`"10/minute"`, `"1000 per hour"`, `"100/5 minutes burst 20"`) parsed once,
when `plugins.toml` is validated, so a typo stops start-up instead of limiting nothing."""

from __future__ import annotations

import re

import msgspec

MICROSECONDS = 1_000_000
# one emission interval must be at least 1 µs: the stores count time in whole microseconds
MAX_PER_SECOND = 1_000_000
MAX_BURST = 1_000_000_000

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_UNIT_NAMES = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
_RATE = re.compile(
    r"""^\s*(?P<count>\d+)\s*(?:/|\s+per\s+)\s*(?P<every>\d+)?\s*(?P<unit>[a-z]+)
        (?:\s+burst\s+(?P<burst>\d+))?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

RATE_SYNTAX = (
    "write N/second, N/minute, N/hour or N/day (or 'N per minute', 'N/5 minutes'), "
    "optionally followed by 'burst B', e.g. '10/minute' or '100/minute burst 200'"
)


class RateError(ValueError):
    """A rate string that cannot be used; the message says what to write instead."""


class Rate(msgspec.Struct, frozen=True):
    """`count` units per `period` seconds, with up to `burst` units at once (None: `count`)."""

    count: int
    period: int
    burst: int | None = None
    text: str = ""

    @property
    def window(self) -> str:
        """`10/minute`, `100/5 minutes`: how the rate reads in events and messages."""
        every, unit = _split_period(self.period)
        return f"{self.count}/{unit}" if every == 1 else f"{self.count}/{every} {unit}s"

    def with_burst(self, burst: int | None) -> Rate:
        """This rate with `burst` when it names none of its own."""
        if burst is None or self.burst is not None:
            return self
        return Rate(self.count, self.period, burst, self.text)


def _split_period(period: int) -> tuple[int, str]:
    for seconds in (86400, 3600, 60, 1):
        if period % seconds == 0:
            return period // seconds, _UNIT_NAMES[seconds]
    return period, "second"  # pragma: no cover - every period is whole seconds


def parse_rate(text: object) -> Rate:
    """`"10/minute"` → Rate(10, 60). Raises `RateError` naming what was wrong."""
    if not isinstance(text, str):
        raise RateError(f"expected a rate string; found {text!r}; {RATE_SYNTAX}")
    match = _RATE.match(text)
    if match is None:
        raise RateError(f"cannot read {text!r} as a rate; {RATE_SYNTAX}")
    unit = match["unit"].lower()
    if len(unit) > 2 and unit.endswith("s"):
        unit = unit[:-1]  # plural: seconds, mins, hrs, days
    seconds = _UNITS.get(unit)
    if seconds is None:
        raise RateError(
            f"unknown time unit {match['unit']!r} in {text!r}; use second, minute, hour or day"
        )
    count = int(match["count"])
    every = int(match["every"]) if match["every"] else 1
    if count < 1 or every < 1:
        raise RateError(f"{text!r} allows nothing; the count and the period must be at least 1")
    period = every * seconds
    if count > MAX_PER_SECOND * period:
        raise RateError(f"{text!r} is faster than {MAX_PER_SECOND} per second")
    burst = int(match["burst"]) if match["burst"] else None
    if burst is not None and not 1 <= burst <= MAX_BURST:
        raise RateError(f"the burst in {text!r} must be between 1 and {MAX_BURST}")
    return Rate(count=count, period=period, burst=burst, text=text.strip())


def parse_rates(value: str | list[str], where: str) -> list[Rate]:
    """A rate string or a list of them (several windows checked together). A list must not
    name the same window twice: the stricter one would make the other pointless."""
    texts = [value] if isinstance(value, str) else list(value)
    rates = []
    for text in texts:
        try:
            rates.append(parse_rate(text))
        except RateError as exc:
            raise RateError(f"{where}: {exc}") from None
    periods = [rate.period for rate in rates]
    for period in periods:
        if periods.count(period) > 1:
            raise RateError(f"{where}: two rates with the same window; keep the one you mean")
    return rates
