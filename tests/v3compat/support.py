"""What the v3compat tests share: an app at a chosen instant, small plugins, and parsers
for the header fields, written from the RFCs' grammars."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

import themisgate_v3compat
from themisgate import Identity, ProblemError
from themisgate.testing import make_app
from themisgate_v3compat import state_of

UTC = dt.UTC
PROBLEM = "application/problem+json"

# the plugin's defaults
DEPRECATION = dt.date(2026, 6, 30)
SUNSET = dt.date(2026, 12, 31)


def at(
    year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


class Plugin:
    """A plugin object with a name and the hooks a test gives it."""

    def __init__(self, name: str, **hooks: Any) -> None:
        self.name = name
        for key, value in hooks.items():
            setattr(self, key, value)


def event_recorder(events: list[tuple[str, dict[str, Any]]]) -> Plugin:
    def themisgate_event(name: str, payload: dict[str, Any]) -> None:
        events.append((name, payload))

    return Plugin("recorder", themisgate_event=themisgate_event)


def api_keys() -> Plugin:
    """Callers sending `X-API-Key: <id>` are that API key, tier premium; the key `bad` is
    refused; callers without a key are anonymous."""

    def themisgate_identify(request: Any) -> Identity | None:
        key = request.headers.get("x-api-key")
        if key is None:
            return None
        if key == "bad":
            raise ProblemError(401, "Unknown API key.", slug="unauthorized")
        return Identity("api_key", key, "premium", frozenset({"read", "write"}))

    return Plugin("keys", themisgate_identify=themisgate_identify)


def v3_app(
    *plugins: object, settings: Mapping[str, Any] | None = None, now: dt.datetime | None = None
) -> Litestar:
    options = {"plugins": {"v3compat": dict(settings or {})}}
    app = make_app(themisgate_v3compat, *plugins, settings=options)
    if now is not None:
        state_of(app).clock = lambda: now
    return app


@contextlib.asynccontextmanager
async def v3_client(
    *plugins: object, settings: Mapping[str, Any] | None = None, now: dt.datetime | None = None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client of an app with v3compat (and `plugins`), its clock stopped at `now`."""
    async with AsyncTestClient(app=v3_app(*plugins, settings=settings, now=now)) as client:
        yield client


def set_clock(client: AsyncTestClient[Litestar], now: dt.datetime) -> None:
    state_of(client.app).clock = lambda: now


# --- header fields, parsed by their grammars ----------------------------------------------

# RFC 9651 §3.3.7: sf-date = "@" sf-integer; §3.3.1: sf-integer = ["-"] 1*15DIGIT.
# RFC 9745 §2.1: Deprecation is an Item whose value is a Date.
_SF_DATE = re.compile(r"@(-?[0-9]{1,15})")


def parse_deprecation(value: str) -> dt.datetime:
    match = _SF_DATE.fullmatch(value)
    assert match, f"Deprecation {value!r} is not an RFC 9651 sf-date"
    return dt.datetime.fromtimestamp(int(match.group(1)), tz=UTC)


# RFC 9110 §5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT
_IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def parse_sunset(value: str) -> dt.datetime:
    """RFC 8594 §3: Sunset = HTTP-date; senders must generate the IMF-fixdate form."""
    assert _IMF_FIXDATE.fullmatch(value), f"Sunset {value!r} is not an IMF-fixdate"
    parsed = email.utils.parsedate_to_datetime(value)
    assert parsed.utcoffset() == dt.timedelta(0)
    return parsed


# RFC 8288 §3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
#              link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = rf"\s*;\s*({_TOKEN})\s*(?:=\s*({_TOKEN}|{_QUOTED}))?"
_LINK_VALUE = re.compile(rf"\s*<([^>]*)>((?:{_PARAM})*)\s*(?:,|$)")


def parse_links(value: str) -> dict[str, list[str]]:
    """Each relation type → the targets with it (a `rel` may hold several types)."""
    links: dict[str, list[str]] = {}
    position = 0
    while position < len(value):
        match = _LINK_VALUE.match(value, position)
        assert match, f"Link {value!r} breaks RFC 8288 at {position}"
        assert match.end() > position, f"Link {value!r} has an empty link-value at {position}"
        target, params = match.group(1), match.group(2)
        for name, raw in re.findall(_PARAM, params):
            if name.lower() == "rel":
                for rel in raw.strip('"').split():
                    links.setdefault(rel.lower(), []).append(target)
        position = match.end()
    return links
