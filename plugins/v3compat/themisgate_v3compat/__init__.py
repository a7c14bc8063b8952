"""themisgate plugin: the deprecated v3 API, served as translations onto v4, with RFC
deprecation and sunset signals on every answer.

    [plugins.v3compat]
    sunset_date = 2026-12-31
    after_sunset = "gone"          # or "serve"

Routes (all under /api/v3): `POST /vector/search`, `POST /aql/query`, `GET /stats`,
`GET /` (what v3 is and where to go), `GET /openapi.json` and `GET /docs`. Each data route
converts its request to v4, calls v4's own operation and converts the answer back, as
declared once in `versions.py`. See docs/v3compat.md and docs/migration-v3-to-v4.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ASGIApp, ControllerRouterHandler

from themisgate import (
    ApiVersion,
    AppContext,
    Middleware,
    StatusCheck,
    StatusReport,
    hookimpl,
)

from .changes import (
    DocumentSplit,
    FieldAdded,
    FieldDefaulted,
    FieldRenamed,
    FieldsNested,
    Instruction,
    RouteMoved,
    Translation,
    VersionChange,
)
from .config import Config
from .middleware import GATE_OPT, GATE_PRIORITY, SIGNALS_PRIORITY, SignalsMiddleware, SunsetGate
from .openapi import DOCS_PATH, OPENAPI_PATH, install
from .routes import v3_routes
from .state import V3State, state_of
from .versions import CHAIN, V3_PREFIX

__all__ = [
    "CHAIN",
    "Config",
    "DocumentSplit",
    "FieldAdded",
    "FieldDefaulted",
    "FieldRenamed",
    "FieldsNested",
    "Instruction",
    "RouteMoved",
    "Translation",
    "V3State",
    "VersionChange",
    "state_of",
]


@hookimpl
def themisgate_routes(ctx: AppContext) -> Sequence[ControllerRouterHandler]:
    state = state_of(ctx)
    install(state)
    return v3_routes()


@hookimpl
def themisgate_middleware(ctx: AppContext) -> Sequence[Middleware]:
    state = state_of(ctx)

    def signals(app: ASGIApp) -> ASGIApp:
        return SignalsMiddleware(app, state)

    def gate(app: ASGIApp) -> ASGIApp:
        return SunsetGate(app, ctx, state)

    return [
        Middleware("v3-signals", SIGNALS_PRIORITY, signals),
        Middleware(
            "v3-gate",
            GATE_PRIORITY,
            gate,
            after_routing=True,
            applies_to=lambda handler: bool(handler.opt.get(GATE_OPT)),
        ),
    ]


@hookimpl
def themisgate_api_versions(ctx: AppContext) -> Sequence[ApiVersion]:
    state = state_of(ctx)
    retired = state.timeline.gone(state.clock())
    return [
        ApiVersion(
            "v3",
            V3_PREFIX,
            status="retired" if retired else "deprecated",
            sunset=state.timeline.sunset_date,
            docs=DOCS_PATH,
            openapi=OPENAPI_PATH,
        )
    ]


@hookimpl
def themisgate_status(ctx: AppContext) -> Sequence[StatusCheck]:
    state = state_of(ctx)

    async def v3() -> StatusReport:
        facts = state.status_facts()
        return StatusReport(ok=True, detail=str(facts["phase"]), facts=facts)

    return [StatusCheck("v3compat", v3, required=False, timeout=1.0)]
