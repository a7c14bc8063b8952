"""The assembled app: problem+json for every error, request ids, middleware order,
liveness, readiness, API versions and the plugin listing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import post
from litestar.params import JSONBody

from tests.support.processes import free_port
from themisgate import ApiVersion, Identity, Middleware
from themisgate.testing import make_app, plugin_client

from .plugin_fixtures import (
    LimitsConfig,
    Named,
    Order,
    boom,
    middleware_plugin,
    routes_plugin,
    status_plugin,
)

PROBLEM = "application/problem+json"


@post("/orders")
async def create_order(data: JSONBody[Order]) -> dict[str, Any]:
    return {"quantity": data.quantity}


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:themisgate:problem:{slug}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_404_problem() -> None:
    async with plugin_client() as client:
        response = await client.get("/no/such/thing")
    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == "/no/such/thing"
    assert "GET /no/such/thing" in body["detail"]


async def test_wrong_method_is_a_405_problem_with_allow() -> None:
    async with plugin_client() as client:
        response = await client.delete("/health")
    body = assert_problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]
    assert "DELETE is not allowed on /health" in body["detail"]


async def test_invalid_body_is_a_422_problem_naming_the_field() -> None:
    async with plugin_client(routes_plugin("orders", create_order)) as client:
        response = await client.post("/orders", json={"quantity": "three", "item": "tea"})
        malformed = await client.post(
            "/orders", content=b"{not json", headers={"content-type": "application/json"}
        )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["field"] == "quantity"
    assert "expected int" in body["errors"][0]["message"].lower()
    assert_problem(malformed, 400, "malformed-body")


async def test_unexpected_exception_is_a_500_problem_without_internals() -> None:
    async with plugin_client(routes_plugin("broken", boom)) as client:
        response = await client.get("/boom")
    body = assert_problem(response, 500, "internal-error")
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    assert "request id" in body["detail"]


async def test_oversized_body_is_a_413_problem() -> None:
    settings = {"core": {"max_body_bytes": 1024}}
    async with plugin_client(routes_plugin("orders", create_order), settings=settings) as client:
        response = await client.post(
            "/orders",
            content=b'{"quantity": 1, "item": "' + b"x" * 4096 + b'"}',
            headers={"content-type": "application/json"},
        )
    assert_problem(response, 413, "payload-too-large")


async def test_request_id_is_generated_or_kept_when_safe() -> None:
    async with plugin_client() as client:
        generated = await client.get("/health")
        kept = await client.get("/health", headers={"X-Request-ID": "abc-123"})
        forged = await client.get("/health", headers={"X-Request-ID": "bad\nid value"})
    assert len(generated.headers["x-request-id"]) == 32
    assert kept.headers["x-request-id"] == "abc-123"
    assert forged.headers["x-request-id"] not in ("bad\nid value", "")


async def test_middleware_runs_by_priority_highest_first() -> None:
    seen: list[str] = []
    plugins = [
        middleware_plugin("metrics", 600, seen),
        middleware_plugin("tracing", 1000, seen),
        middleware_plugin("auth", 800, seen),
    ]
    async with plugin_client(*plugins) as client:
        await client.get("/health")
    assert seen == ["tracing", "auth", "metrics"]


async def test_health_is_live_without_touching_dependencies() -> None:
    async with plugin_client() as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["pid"], int)


async def test_ready_is_503_when_themisdb_is_unreachable() -> None:
    settings = {
        "core": {
            "themis": {
                "backend": "http",
                "url": f"http://127.0.0.1:{free_port()}",
                "connect_timeout": 0.5,
            }
        }
    }
    async with plugin_client(settings=settings) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    body = response.json()
    assert body["status"] == "unavailable"
    (check,) = [c for c in body["checks"] if c["name"] == "themisdb"]
    assert check["ok"] is False
    assert check["required"] is True


async def test_ready_aggregates_plugin_checks_required_and_optional() -> None:
    async with plugin_client(status_plugin("cache", ok=False, required=False)) as client:
        degraded = await client.get("/ready")
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    async with plugin_client(status_plugin("queue", ok=False, required=True)) as client:
        down = await client.get("/ready")
    assert down.status_code == 503
    async with plugin_client() as client:
        fine = await client.get("/ready")
    assert fine.status_code == 200
    assert fine.json()["status"] == "ready"


async def test_api_lists_versions_from_plugins() -> None:
    import datetime as dt

    v3 = Named(
        "v3",
        themisgate_api_versions=lambda ctx: [
            ApiVersion("v3", "/api/v3", status="deprecated", sunset=dt.date(2026, 12, 31))
        ],
    )
    async with plugin_client(v3) as client:
        response = await client.get("/api")
    body = response.json()
    assert body["current"] == "v4"
    by_name = {v["name"]: v for v in body["versions"]}
    assert by_name["v3"]["status"] == "deprecated"
    assert by_name["v3"]["sunset"] == "2026-12-31"
    assert by_name["v4"]["openapi"] == "/api/v4/openapi.json"


async def test_plugin_listing_shows_hooks_and_redacts_secrets(monkeypatch: Any) -> None:
    monkeypatch.setenv("THEMISGATE_TEST_TOKEN", "super-secret-token-value")
    plugin = Named("limits", Config=LimitsConfig, themisgate_routes=lambda ctx: [])
    settings = {
        "plugins": {"limits": {"token": "inline-secret-value"}},
        "core": {"themis": {"token": {"env": "THEMISGATE_TEST_TOKEN"}}},
    }
    async with plugin_client(plugin, settings=settings) as client:
        response = await client.get("/-/plugins")
    assert response.status_code == 200
    assert "inline-secret-value" not in response.text
    assert "super-secret-token-value" not in response.text
    enabled = {p["name"]: p for p in response.json()["enabled"]}
    assert enabled["limits"]["hooks"] == ["themisgate_routes"]
    assert enabled["limits"]["settings"]["token"] == "********"
    assert enabled["core"]["builtin"] is True
    installed = {p["name"] for p in response.json()["installed"]}
    assert "hello" in installed


async def test_openapi_document_is_served_for_v4() -> None:
    async with plugin_client() as client:
        response = await client.get("/api/v4/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "themisgate API"


async def test_after_routing_middleware_knows_the_route_before_the_handler_runs() -> None:
    seen: list[tuple[str, Any]] = []

    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            seen.append((scope["path_template"], scope["route_handler"].opt.get("scope")))
            await app(scope, receive, send)

        return middleware

    plugin = Named(
        "limits",
        themisgate_middleware=lambda ctx: [Middleware("limits", 700, factory, after_routing=True)],
    )
    async with plugin_client(plugin) as client:
        await client.get("/api/v4/themis/documents/books/b1")
        missing = await client.get("/no/route")
    assert seen == [("/api/v4/themis/documents/{collection}/{key}", "read")]
    assert missing.status_code == 404  # unmatched requests never reach route middleware


async def test_route_middleware_runs_by_priority_only_on_the_routes_it_applies_to() -> None:
    seen: list[tuple[str, str]] = []
    asked: list[tuple[int, str]] = []  # each time applies_to is asked: which handler

    def layer(name: str) -> Any:
        def factory(app: Any) -> Any:
            async def middleware(scope: Any, receive: Any, send: Any) -> None:
                seen.append((name, scope["path_template"]))
                await app(scope, receive, send)

            return middleware

        return factory

    def writes_only(handler: Any) -> bool:
        asked.append((id(handler), handler.handler_name))
        return handler.opt.get("scope") == "write"

    layers = [
        Middleware("audit", 700, layer("audit"), after_routing=True, applies_to=writes_only),
        Middleware("outer", 900, layer("outer"), after_routing=True),
        Middleware("inner", 100, layer("inner"), after_routing=True),
    ]
    plugin = Named("layers", themisgate_middleware=lambda ctx: layers)
    doc = "/api/v4/themis/documents/books/b1"
    template = "/api/v4/themis/documents/{collection}/{key}"
    async with plugin_client(plugin) as client:
        asked_at_start = list(asked)
        for _ in range(3):
            await client.get(doc)
        seen.clear()
        assert (await client.put(doc, json={"t": 1})).status_code == 200
        assert (await client.get(doc)).status_code == 200
    assert seen == [
        ("outer", template),
        ("audit", template),
        ("inner", template),
        ("outer", template),
        ("inner", template),
    ]
    # asked once per route as the app is built, never per request
    assert asked == asked_at_start
    assert len(asked) == len(set(asked))
    assert {"get_document", "put_document"} <= {name for _, name in asked}


async def test_route_layers_of_one_app_stay_out_of_another_built_from_the_same_handlers() -> None:
    seen: list[str] = []

    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            seen.append(scope["path_template"])
            await app(scope, receive, send)

        return middleware

    plugin = Named("spy", themisgate_middleware=lambda ctx: [Middleware("spy", 700, factory, True)])
    doc = "/api/v4/themis/documents/books/b1"
    async with plugin_client(plugin) as with_layer:
        assert (await with_layer.get(doc)).status_code == 404
    async with plugin_client() as without_layer:  # the core's handlers, registered again
        assert (await without_layer.get(doc)).status_code == 404
    assert seen == ["/api/v4/themis/documents/{collection}/{key}"]


def test_an_applies_to_that_fails_stops_start_up_not_a_request() -> None:
    def broken(handler: Any) -> bool:
        raise KeyError("needs_audit")

    layer = Middleware("audit", 700, lambda app: app, after_routing=True, applies_to=broken)
    plugin = Named("audit", themisgate_middleware=lambda ctx: [layer])
    with pytest.raises(KeyError, match="needs_audit") as raised:
        make_app(plugin)
    assert any("route-stage middleware 'audit'" in note for note in raised.value.__notes__)


async def test_middleware_add_headers_and_read_the_outcome_through_response_facts() -> None:
    from themisgate import response_facts

    outcomes: list[tuple[str, int, int]] = []

    def watcher(name: str) -> Any:
        def factory(app: Any) -> Any:
            async def middleware(scope: Any, receive: Any, send: Any) -> None:
                if scope["type"] != "http":
                    await app(scope, receive, send)
                    return
                facts = response_facts(scope)
                facts.headers.append((f"x-{name}".encode(), b"yes"))
                try:
                    await app(scope, receive, send)
                finally:
                    outcomes.append((name, facts.status, facts.body_bytes))

            return middleware

        return factory

    layers = [
        Middleware("outside", 1000, watcher("outside")),
        Middleware("inside", 500, watcher("inside")),
    ]
    plugin = Named("watchers", themisgate_middleware=lambda ctx: layers)
    async with plugin_client(plugin) as client:
        found = await client.get("/health")
        missing = await client.get("/no/such/route")
    for response in (found, missing):
        assert response.headers["x-outside"] == response.headers["x-inside"] == "yes"
    assert outcomes == [
        ("inside", 200, len(found.content)),
        ("outside", 200, len(found.content)),
        ("inside", 404, len(missing.content)),
        ("outside", 404, len(missing.content)),
    ]


async def test_an_error_in_outer_middleware_is_a_500_problem() -> None:
    def factory(app: Any) -> Any:
        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                raise RuntimeError("middleware bug with a secret inside")
            await app(scope, receive, send)

        return middleware

    plugin = Named("buggy", themisgate_middleware=lambda ctx: [Middleware("buggy", 850, factory)])
    async with plugin_client(plugin) as client:
        response = await client.get("/health")
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text
    assert body["instance"] == "/health"


async def test_scopes_are_enforced_once_a_plugin_identifies_callers() -> None:
    def identify(request: Any) -> Identity | None:
        if request.headers.get("x-api-key") == "reader":
            return Identity("api_key", "reader", "free", frozenset({"read"}))
        return None  # anonymous: the core's IP identity, read only

    plugin = Named("auth", themisgate_identify=identify)
    doc = "/api/v4/themis/documents/books/b1"
    async with plugin_client(plugin) as client:
        anonymous_write = await client.put(doc, json={"t": 1})
        reader_write = await client.put(doc, json={"t": 1}, headers={"x-api-key": "reader"})
        reader_read = await client.get(doc, headers={"x-api-key": "reader"})
        listing = await client.get("/-/plugins", headers={"x-api-key": "reader"})
    assert_problem(anonymous_write, 401, "unauthorized")
    assert anonymous_write.headers["www-authenticate"].startswith("Bearer")
    body = assert_problem(reader_write, 403, "forbidden")
    assert body["required_scope"] == "write"
    assert reader_read.status_code == 404  # allowed, and simply not there
    assert_problem(listing, 403, "forbidden")


async def test_without_an_identity_plugin_the_server_is_open() -> None:
    async with plugin_client() as client:
        write = await client.put("/api/v4/themis/documents/books/b1", json={"t": 1})
        admin = await client.get("/-/plugins")
    assert write.status_code == 200
    assert admin.status_code == 200


async def test_start_up_objects_are_frozen_while_the_app_runs_when_asked() -> None:
    """`gc_freeze`: what start-up built is out of the cyclic collector's reach while the
    app runs (full collections stop stalling requests), and back in after it stops."""
    import gc

    assert gc.get_freeze_count() == 0
    async with plugin_client(settings={"core": {"gc_freeze": True}}) as client:
        assert (await client.get("/health")).status_code == 200
        frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules, the app, the plugins: not a handful of objects
    assert gc.get_freeze_count() == 0
    async with plugin_client() as client:  # off under themisgate.testing
        await client.get("/health")
        assert gc.get_freeze_count() == 0


async def test_plugin_state_is_per_app_built_once_and_goes_with_the_app() -> None:
    import gc
    import weakref

    from themisgate.testing import make_app

    built: list[object] = []

    class Runtime:
        def __init__(self, ctx: Any) -> None:
            self.ctx = ctx  # refers back to its app, as real runtimes do
            built.append(self)

    def runtime_of(ctx: Any) -> Runtime:
        return ctx.plugin_state("tests.runtime", lambda: Runtime(ctx))

    def themisgate_status(ctx: Any) -> list[Any]:
        runtime_of(ctx)  # a start-up hook builds it, as real plugins do
        return []

    plugin = Named("stateful", themisgate_status=themisgate_status)
    one, two = make_app(plugin), make_app(plugin)
    first, second = one.state["themisgate"], two.state["themisgate"]
    assert runtime_of(first) is runtime_of(first) is built[0]
    assert runtime_of(second) is built[1]
    assert len(built) == 2
    gone = weakref.ref(first)
    del one, first
    built.clear()
    gc.collect()
    assert gone() is None  # nothing module-level keeps a finished app alive
