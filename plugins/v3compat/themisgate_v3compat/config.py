"""The `[plugins.v3compat]` table: when v3 was deprecated, when it goes away, and what
happens after that."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

# An absolute http(s) URL or an absolute path, printable ASCII without `<`, `>` or `"`, so
# it can stand in a Link header as it is.
GuideUrl = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=2048,
        pattern=r"^(https?://[!#-;=?-~]+|/[!#-;=?-~]*)$",
        description="an absolute http(s) URL or a path starting with /",
    ),
]


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Dates are calendar days in UTC: v3 is deprecated from 00:00 UTC on
    `deprecation_date` and sunset from 00:00 UTC on `sunset_date`."""

    deprecation_date: dt.date = dt.date(2026, 6, 30)
    sunset_date: dt.date = dt.date(2026, 12, 31)
    # "gone": answer 410 after the sunset; "serve": keep answering, still with the signals
    after_sunset: Literal["gone", "serve"] = "gone"
    # where clients read how to move: the Link rel="deprecation" target and the index's
    # `migration_guide`; point it at your published copy of docs/migration-v3-to-v4.md
    migration_guide: GuideUrl = "/api/v3/docs"
    # X-API-Sunset-Days is sent once fewer than this many days remain
    sunset_warning_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    # how many identified callers (API keys, users) the status check in /ready lists by v3 use;
    # 0 lists none
    top_clients: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10

    def __post_init__(self) -> None:
        if self.sunset_date < self.deprecation_date:
            raise ValueError(
                f"sunset_date {self.sunset_date} is before deprecation_date "
                f"{self.deprecation_date}; an API is deprecated before it goes away"
            )
