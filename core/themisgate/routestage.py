"""After-routing middleware, attached to each route it applies to as the app is assembled.

Litestar builds a route's middleware stack once, from the middleware of the route's
layers (app, routers, controller, handler), and gives every route that has any a second
exception handler of its own inside them. So the core hands Litestar no app-wide route
middleware: as each route is registered — after its handler's `opt` has been merged from
its routers — `RouteStages` asks each plugin's `Middleware.applies_to` about the handler
and puts the layers that apply, in priority order, in front of the handler's own
middleware. A route no layer applies to goes straight to its handler, with nothing of
this stage on its path; asking happens once per route, at start-up, so an `applies_to`
that fails does so before the server takes a request.

Layers run inside any Litestar middleware a plugin set on its own routers or controllers,
and outside middleware set on the handler itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import ASGIRoute, BaseRoute, HTTPRoute, WebSocketRoute
from litestar.types import ASGIApp

from .contracts import Middleware


class RouteStage:
    """The layers that apply to one route, as one Litestar middleware factory."""

    __slots__ = ("layers",)

    def __init__(self, layers: Sequence[Middleware]) -> None:
        self.layers = layers  # highest priority (outermost) first

    def __call__(self, app: ASGIApp) -> ASGIApp:
        for layer in reversed(self.layers):  # innermost first
            app = layer.factory(app)
        return app


class RouteStages(ReceiveRoutePlugin):
    """Gives each registered route handler the route-stage layers that apply to it."""

    def __init__(self, layers: Sequence[Middleware]) -> None:
        self.layers = layers  # highest priority (outermost) first

    def receive_route(self, route: BaseRoute) -> None:
        for handler in _handlers(route):
            existing = list(handler.middleware or [])
            # a path registered again (another method) hands its earlier handlers back
            if any(isinstance(entry, RouteStage) for entry in existing):
                continue
            layers = [m for m in self.layers if _applies(m, handler)]
            if layers:
                # a new list: the handler is Litestar's copy, but its list is the original's
                handler.middleware = [RouteStage(layers), *existing]


def _applies(layer: Middleware, handler: Any) -> bool:
    if layer.applies_to is None:
        return True
    try:
        return layer.applies_to(handler)
    except Exception as error:
        error.add_note(f"in applies_to of route-stage middleware {layer.name!r}, for {handler}")
        raise


def _handlers(route: BaseRoute) -> list[Any]:
    if isinstance(route, HTTPRoute):
        return list(route.route_handlers)
    if isinstance(route, WebSocketRoute | ASGIRoute):
        return [route.route_handler]
    return []
