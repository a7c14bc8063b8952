"""The header fields that tell every v3 response's reader that v3 is going away.

Standard fields for clients that read them: `Deprecation` (RFC 9745, a structured-field
date `@<unix seconds>`), `Sunset` (RFC 8594, an HTTP-date), and `Link` with
`rel="successor-version"` (the v4 equivalent of the route), `rel="deprecation"` and
`rel="sunset"` (the migration guide). For clients written before those RFCs:
`X-API-Deprecation: true`, `X-API-Sunset-Date` (ISO date) and, once fewer than
`sunset_warning_days` remain, `X-API-Sunset-Days`.

Every field but the day count is computed once per path at start-up; the day count once
per UTC day.
"""

from __future__ import annotations

import datetime as dt
import email.utils

from .timeline import Timeline
from .versions import DEFAULT_SUCCESSOR, SUCCESSORS, V3_PREFIX

Header = tuple[bytes, bytes]

_PREFIX_LENGTH = len(V3_PREFIX)


def is_v3(path: str) -> bool:
    """`/api/v3` and everything below it, but not `/api/v30`."""
    return path.startswith(V3_PREFIX) and (
        len(path) == _PREFIX_LENGTH or path[_PREFIX_LENGTH] == "/"
    )


def v3_route(path: str) -> str:
    """The path as the successor table spells it: no trailing slash."""
    return path.rstrip("/") or "/"


def successor_of(path: str) -> str:
    return SUCCESSORS.get(v3_route(path), DEFAULT_SUCCESSOR)


def structured_date(instant: dt.datetime) -> str:
    """An RFC 9651 sf-date: `@` and the integer seconds since the epoch."""
    return f"@{int(instant.timestamp())}"


def http_date(instant: dt.datetime) -> str:
    """An RFC 9110 IMF-fixdate, e.g. `Thu, 31 Dec 2026 00:00:00 GMT`."""
    return email.utils.format_datetime(instant.astimezone(dt.UTC), usegmt=True)


def link_value(successor: str, guide: str) -> str:
    return (
        f'<{successor}>; rel="successor-version", '
        f'<{guide}>; rel="deprecation", <{guide}>; rel="sunset"'
    )


class Signals:
    """The header fields for a v3 path at an instant."""

    def __init__(self, timeline: Timeline, guide: str) -> None:
        self.timeline = timeline
        common: list[Header] = [
            (b"deprecation", structured_date(timeline.deprecated_at).encode()),
            (b"sunset", http_date(timeline.sunset_at).encode()),
            (b"x-api-deprecation", b"true"),
            (b"x-api-sunset-date", timeline.sunset_date.isoformat().encode()),
        ]

        def fields(successor: str) -> tuple[Header, ...]:
            return (*common, (b"link", link_value(successor, guide).encode("ascii")))

        self._by_path = {path: fields(successor) for path, successor in SUCCESSORS.items()}
        self._other = fields(DEFAULT_SUCCESSOR)
        self._day: dt.date | None = None
        self._countdown: tuple[Header, ...] = ()

    def headers(self, path: str, now: dt.datetime) -> tuple[Header, ...]:
        fields = self._by_path.get(v3_route(path), self._other)
        return fields + self._countdown_on(now)

    def _countdown_on(self, now: dt.datetime) -> tuple[Header, ...]:
        day = now.astimezone(dt.UTC).date()
        if day != self._day:
            timeline = self.timeline
            days = timeline.days_left(now)
            warn = days < timeline.warning_days
            self._countdown = ((b"x-api-sunset-days", str(days).encode()),) if warn else ()
            self._day = day
        return self._countdown
