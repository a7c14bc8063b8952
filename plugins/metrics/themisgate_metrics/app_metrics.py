"""`AppMetrics`: everything one app measures — its registry, families, middleware,
adapter observer and event handlers — built once at start-up.

Every app has its own registry (never prometheus-client's global one: a process may
hold many apps), holding its families and the HTTP recorder as a collector. In
multiprocess mode the families belong to no registry and the HTTP recorder's counts are
copied into this worker's files; the scrape reads every worker's files through a
`MultiProcessCollector`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import structlog
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from themisgate import AppContext, Middleware, StatusCheck, StatusReport

from . import apps, workers
from .adapter import AdapterObserver
from .apps import CURRENT
from .config import Config
from .endpoint import metrics_route
from .events import Handler, event_handlers
from .exemplars import trace_exemplars
from .families import EVENT_FAMILIES, AdapterFamilies, Factory, HttpFamilies
from .http import HttpMetricsMiddleware
from .http_files import COPY_EVERY_SECONDS, HttpFileWriter
from .http_recorder import HttpRecorder

log = structlog.get_logger("themisgate.metrics")

# how long to wait for ThemisDB's version (adapter_info) before trying again, at most
INFO_RETRY_MAX_SECONDS = 60.0
INFO_TIMEOUT_SECONDS = 5.0


class AppMetrics:
    def __init__(self, ctx: AppContext, config: Config, directory: Path | None) -> None:
        self.ctx = ctx
        self.config = config
        self.directory = directory
        self.alone = False  # the one app this process runs (apps.py)
        registry: CollectorRegistry | None
        if directory is None:
            registry = CollectorRegistry()
            self.exposed: Collector = registry
            if config.process_metrics:
                ProcessCollector(registry=registry)
                PlatformCollector(registry=registry)
                GCCollector(registry=registry)
        else:
            _use_multiprocess_values()
            registry = None
            scrape_registry = CollectorRegistry()
            MultiProcessCollector(scrape_registry, path=str(directory))  # type: ignore[no-untyped-call]
            self.exposed = scrape_registry
        make = Factory(registry)

        tracing = ctx.enabled("tracing") and config.exemplars and directory is None
        self.exemplar = trace_exemplars() if tracing else None
        self.http = HttpRecorder(config.max_series_per_metric, self.exemplar)
        self.files: HttpFileWriter | None = None
        if registry is not None:
            registry.register(self.http)
        else:
            self.files = HttpFileWriter(self.http, HttpFamilies(make))
        self.adapter = AdapterObserver(
            AdapterFamilies(make),
            series_limit=config.max_series_per_metric,
            exemplar=self.exemplar,
        )
        self.event_families = {
            plugin: build(make)
            for plugin, build in EVENT_FAMILIES.items()
            if ctx.enabled(plugin) or (plugin == "auth" and ctx.checks_scopes)
        }
        self.events: dict[str, Handler] = event_handlers(
            self.event_families,
            series_limit=config.max_series_per_metric,
            graphql_names=config.graphql_operation_names,
        )

    # --- what the hooks hand to the core ---------------------------------------------

    def route(self) -> HTTPRouteHandler:
        return metrics_route(self.config.path, self.config.scope, self.scrape)

    def middleware(self) -> Middleware:
        def factory(app: ASGIApp) -> ASGIApp:
            return HttpMetricsMiddleware(app, self.http, self, skip_path=self.config.path)

        return Middleware("metrics", self.config.middleware_priority, factory)

    def status(self) -> StatusCheck:
        return StatusCheck("metrics", self.report, required=False, timeout=2.0)

    def handle(self, name: str, payload: Mapping[str, Any]) -> None:
        handler = self.events.get(name)
        if handler is not None:
            handler(payload)

    # --- per scrape --------------------------------------------------------------------

    def scrape(self) -> Collector:
        if self.files is not None:
            self.files.copy()  # this worker's latest requests
        if self.directory is not None:
            # a worker that crashed never said so: its requests are no longer in progress
            workers.mark_dead_workers(self.directory)
        return self.exposed

    async def report(self) -> StatusReport:
        if self.directory is None:
            return StatusReport(ok=True, detail="one process", facts={"mode": "single"})
        facts: dict[str, Any] = {"mode": "multiprocess", "directory": str(self.directory)}
        if not os.access(self.directory, os.W_OK):
            return StatusReport(ok=False, detail="directory is not writable", facts=facts)
        facts["workers"] = len(workers.worker_pids(self.directory, alive=True))
        return StatusReport(ok=True, detail="multiprocess", facts=facts)

    # --- lifespan ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Make this app the process's, learn the adapter's version, and say goodbye to
        the other workers at shutdown."""
        apps.started(self)
        # tasks started from here on (later plugins' lifespans) count into this app too
        token = CURRENT.set(self)
        if self.directory is not None:
            workers.mark_dead_workers(self.directory)
        tasks = [asyncio.create_task(self._learn_adapter_version(), name="metrics-adapter-info")]
        if self.files is not None:
            tasks.append(asyncio.create_task(self._copy_often(self.files), name="metrics-copy"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            apps.stopped(self)
            with contextlib.suppress(ValueError):  # left in another context than entered
                CURRENT.reset(token)
            if self.files is not None:
                self.files.copy()
            if self.directory is not None:
                workers.mark_dead_workers(self.directory, also=os.getpid())

    async def _copy_often(self, files: HttpFileWriter) -> None:
        while True:
            await asyncio.sleep(COPY_EVERY_SECONDS)
            files.copy()

    async def _learn_adapter_version(self) -> None:
        """`adapter_info{adapter, version}`: the version ThemisDB reports, asked until it
        answers (it may be down at start-up), backing off."""
        adapter = self.ctx.adapter
        delay = 1.0
        while True:
            try:
                health = await asyncio.wait_for(adapter.health(), INFO_TIMEOUT_SECONDS)
            except Exception as exc:  # down, or slow: try again later
                log.debug("ThemisDB version not known yet", error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, INFO_RETRY_MAX_SECONDS)
                continue
            self.adapter.set_info(adapter.name, health.version or "unknown")
            return


def _use_multiprocess_values() -> None:
    """prometheus-client picks how it stores values when first imported. If something
    imported it before the multiprocess directory was chosen, switch to the multiprocess
    store now, before any of this app's values exist."""
    if not getattr(values.ValueClass, "_multiprocess", False):
        log.warning("prometheus-client was imported before its multiprocess directory was set")
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
