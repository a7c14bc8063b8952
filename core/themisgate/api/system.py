"""System routes: liveness, readiness, API versions, the plugin listing.

They read what `create_app()` computed once (`SystemFacts`); only `/ready` does work per
call, running the status checks plugins contributed, concurrently and each bounded.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import msgspec
from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler

from ..context import AppContext, Ctx
from ..contracts import ApiVersion, StatusCheck, StatusReport


class SystemFacts(msgspec.Struct):
    """Answers computed at start-up and served as they are."""

    version: str
    api_versions: list[ApiVersion]
    plugins: list[dict[str, Any]]
    skipped: list[dict[str, str]]
    installed: list[dict[str, Any]]
    checks: list[tuple[str, StatusCheck]]
    started: float = msgspec.field(default_factory=time.time)


def facts(ctx: AppContext) -> SystemFacts:
    if ctx.system is None:
        raise RuntimeError("system facts are computed by create_app()")
    return ctx.system


async def _run_check(plugin: str, check: StatusCheck) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        report = await asyncio.wait_for(check.check(), timeout=check.timeout)
    except TimeoutError:
        report = StatusReport(ok=False, detail=f"no answer within {check.timeout:g}s")
    except Exception as exc:  # a failing check reports; it does not fail readiness itself
        report = StatusReport(ok=False, detail=f"{type(exc).__name__}: {exc}")
    return {
        "name": check.name,
        "plugin": plugin,
        "ok": report.ok,
        "required": check.required,
        "detail": report.detail,
        "facts": report.facts,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }


@get("/ready", include_in_schema=False, opt={"exempt": True})
async def ready(ctx: Ctx) -> Response[dict[str, Any]]:
    """Readiness: 200 when every required dependency answers, 503 (with Retry-After)
    when one does not; optional ones are reported as degraded."""
    checks = facts(ctx).checks
    results = await asyncio.gather(*(_run_check(p, c) for p, c in checks))
    failed_required = [r for r in results if not r["ok"] and r["required"]]
    degraded = [r for r in results if not r["ok"] and not r["required"]]
    status = "unavailable" if failed_required else ("degraded" if degraded else "ready")
    body = {"status": status, "checks": results}
    if failed_required:
        return Response(body, status_code=503, headers={"Retry-After": "5"})
    return Response(body, status_code=200)


@get("/-/plugins", include_in_schema=False, opt={"scope": "admin"})
async def plugin_listing(ctx: Ctx) -> dict[str, Any]:
    """Enabled plugins (distribution, version, hooks, settings redacted), optional ones
    that were skipped and why, and installed ones that are not enabled."""
    system = facts(ctx)
    return {"enabled": system.plugins, "skipped": system.skipped, "installed": system.installed}


def system_routes(ctx: AppContext) -> list[HTTPRouteHandler]:
    """The routes bound to one app. Load balancers and clients call `/health` and `/api`
    far more than anything else, so these two take their app from this closure rather
    than by dependency injection, which would be most of what they cost; `/api` answers
    bytes encoded on its first call (the versions are fixed once the app is built)."""

    @get("/health", include_in_schema=False, opt={"exempt": True})
    async def health() -> dict[str, Any]:
        """Liveness: the process answers. Never touches ThemisDB or any other dependency."""
        system = facts(ctx)
        return {
            "status": "ok",
            "version": system.version,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - system.started, 3),
        }

    encoded: list[bytes] = []

    @get("/api", include_in_schema=False, media_type=MediaType.JSON)
    async def api_versions() -> bytes:
        """The API versions this server speaks, with their status and sunset dates."""
        if not encoded:
            versions = facts(ctx).api_versions
            current = next((v.name for v in versions if v.status == "current"), None)
            encoded.append(msgspec.json.encode({"current": current, "versions": versions}))
        return encoded[0]

    return [health, ready, api_versions, plugin_listing]
