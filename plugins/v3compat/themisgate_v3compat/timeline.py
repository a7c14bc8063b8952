"""Where v3 stands on its way out, for a given instant: deprecated, close to its sunset,
or past it. Dates are whole days in UTC; the sunset takes effect at 00:00 UTC of the
sunset date, the instant the `Sunset` header names."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from .config import Config

Phase = Literal["announced", "deprecated", "sunset-soon", "gone", "serving-after-sunset"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


class Timeline:
    def __init__(self, config: Config) -> None:
        self.deprecation_date = config.deprecation_date
        self.sunset_date = config.sunset_date
        self.deprecated_at = start_of(config.deprecation_date)
        self.sunset_at = start_of(config.sunset_date)
        self.warning_days = config.sunset_warning_days
        self.gone_after_sunset = config.after_sunset == "gone"

    def days_left(self, now: dt.datetime) -> int:
        """Whole UTC days until the sunset date; 0 on and after it."""
        return max(0, (self.sunset_date - now.astimezone(dt.UTC).date()).days)

    def past_sunset(self, now: dt.datetime) -> bool:
        return now >= self.sunset_at

    def gone(self, now: dt.datetime) -> bool:
        """v3 answers 410 from now on."""
        return self.gone_after_sunset and now >= self.sunset_at

    def warns(self, now: dt.datetime) -> bool:
        """Fewer than `sunset_warning_days` remain (or the sunset has passed)."""
        return self.days_left(now) < self.warning_days

    def phase(self, now: dt.datetime) -> Phase:
        if self.past_sunset(now):
            return "gone" if self.gone_after_sunset else "serving-after-sunset"
        if self.warns(now):
            return "sunset-soon"
        return "deprecated" if now >= self.deprecated_at else "announced"
