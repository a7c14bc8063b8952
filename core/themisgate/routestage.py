"""After-routing middleware, chained per route with only the layers that apply to it.

Litestar builds a route's middleware stack once per route handler, calling each factory
with the next app. The core hands it one factory, `route_stage`, whose `RouteStage` asks
each plugin's `Middleware.applies_to` for the handler the first request brings and
chains only those layers, in priority order: a route no layer applies to goes straight
to its handler, and one layer that concerns a few routes costs the others nothing (an
async layer is ~1 µs a request). The chain is built on first use since the factory is
not told which handler it wraps; factories are plain constructors, so nothing can fail
there that would have failed at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from .contracts import Middleware


class RouteStage:
    __slots__ = ("app", "chains", "layers")

    def __init__(self, app: ASGIApp, layers: Sequence[Middleware]) -> None:
        self.app = app
        self.layers = layers  # highest priority (outermost) first
        self.chains: dict[int, ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        chain = self.chains.get(id(handler))
        if chain is None:
            chain = self.chains[id(handler)] = self.chain_for(handler)
        await chain(scope, receive, send)

    def chain_for(self, handler: Any) -> ASGIApp:
        chain = self.app
        for layer in reversed(self.layers):  # innermost first
            if layer.applies_to is None or handler is None or layer.applies_to(handler):
                chain = layer.factory(chain)
        return chain


def route_stage(layers: Sequence[Middleware]) -> Callable[..., ASGIApp]:
    """The one route middleware factory Litestar is given (it calls it with `app=`)."""

    def build(app: ASGIApp) -> ASGIApp:
        return RouteStage(app, layers)

    return build
