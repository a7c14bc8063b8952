"""What the plugin keeps per app: its settings, the clock, the timeline and signals, the
usage tally and the v3 documentation. One per app (tests build many apps in one process),
found from the app's `AppContext`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from litestar import Litestar

from themisgate import AppContext

from .config import Config
from .signals import Signals
from .timeline import Timeline, utc_now
from .usage import Usage

NAME = "v3compat"


class V3State:
    def __init__(self, config: Config) -> None:
        self.config = config
        # what "now" is; tests replace it to stand before, near or after the sunset
        self.clock: Callable[[], dt.datetime] = utc_now
        self.timeline = Timeline(config)
        self.signals = Signals(self.timeline, config.migration_guide)
        self.usage = Usage(config.top_clients)
        # the v3 OpenAPI document, encoded once at start-up, and the docs page
        self.openapi_json = b""
        self.docs_html = b""

    def status_facts(self) -> dict[str, Any]:
        now = self.clock()
        timeline = self.timeline
        return {
            "phase": timeline.phase(now),
            "deprecation_date": timeline.deprecation_date.isoformat(),
            "sunset_date": timeline.sunset_date.isoformat(),
            "days_left": timeline.days_left(now),
            "after_sunset": self.config.after_sunset,
            **self.usage.facts(),
        }


def state_of(target: AppContext | Litestar) -> V3State:
    """The plugin's state for an app (or its context), created on first use."""
    ctx = target.state["themisgate"] if isinstance(target, Litestar) else target
    return ctx.plugin_state(__name__, lambda: V3State(ctx.config(NAME)))
