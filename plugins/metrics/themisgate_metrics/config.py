"""The `[plugins.metrics]` table, and the `ENABLE_METRICS` switch beside it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from themisgate import ConfigError, Problem

ENABLE_ENV = "ENABLE_METRICS"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Config(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where metrics are served and how much they may grow."""

    # where Prometheus scrapes; exempt from rate limits and from the HTTP metrics
    path: Annotated[str, msgspec.Meta(pattern=r"^/[A-Za-z0-9._~/-]*$")] = "/metrics"
    # the scope a scraper needs when an auth plugin is on; none: anyone may scrape
    scope: Literal["read", "write", "admin"] | None = None
    # auto: prometheus-client's multiprocess mode in every worker of a supervisor
    # (`serve --workers N`, `--reload`) or when PROMETHEUS_MULTIPROC_DIR is set
    multiprocess: Literal["auto", "off"] = "auto"
    # parent of the per-server multiprocess directory; default: the system temp dir
    multiprocess_dir: str | None = None
    # trace ids on histogram buckets (OpenMetrics) while the tracing plugin is on
    exemplars: bool = True
    # process_* (CPU, memory, open files) and python_* metrics of a one-process server
    process_metrics: bool = True
    # distinct label combinations per metric before further ones are counted as `_OTHER`
    max_series_per_metric: Annotated[int, msgspec.Meta(ge=10, le=100_000)] = 2000
    # GraphQL operation names are the client's to choose: the first N get their own label
    graphql_operation_names: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    # where the HTTP metrics middleware sits among the others (higher runs first)
    middleware_priority: int = 600


def metrics_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """`ENABLE_METRICS` switches the whole plugin off without editing `plugins.toml`."""
    raw = (os.environ if environ is None else environ).get(ENABLE_ENV)
    if raw is None or not raw.strip():
        return True
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        [
            Problem(
                f"environment variable {ENABLE_ENV}",
                "plugins.metrics",
                None,
                f"expected true or false; found {raw!r}",
            )
        ]
    )
