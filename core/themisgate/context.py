"""`AppContext`: what every hook taking `ctx` receives, one per app.

It is also where per-call hooks are made cheap: whether anyone implements
`themisgate_event`, `themisgate_rate_limit` or `themisgate_identify` is decided once here,
so a server without such plugins pays a single attribute check per call.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import structlog
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency

from .contracts import ALL_SCOPES, ALLOW_ALL, Identity, RateDecision
from .direct import caller, only_implementation
from .plugins import PluginInfo, PluginManager, SkippedPlugin, has_implementations

if TYPE_CHECKING:
    from .adapter import ThemisAdapter
    from .api.system import SystemFacts
    from .config import Settings

log = structlog.get_logger("themisgate")

IDENTITY_STATE_KEY = "themisgate_identity"
_NOTHING = contextlib.nullcontext()
_MISSING = object()
T = TypeVar("T")


@contextlib.contextmanager
def enter_all(managers: list[AbstractContextManager[Any]]) -> Iterator[None]:
    """Enter every context manager a hook returned, leave them in reverse."""
    with contextlib.ExitStack() as stack:
        for manager in managers:
            stack.enter_context(manager)
        yield


class AppContext:
    def __init__(
        self,
        settings: Settings,
        pm: PluginManager,
        plugins: list[PluginInfo],
        skipped: list[SkippedPlugin] | None = None,
    ) -> None:
        self.settings = settings
        self.pm = pm
        self.hooks = pm.hook
        self.plugins = {p.name: p for p in plugins}
        self.skipped = list(skipped or [])
        self._adapter: ThemisAdapter | None = None
        # what the system routes serve, computed once by create_app()
        self.system: SystemFacts | None = None
        # events go to each listener on its own, so one failing listener cannot keep the
        # event from the others (a pluggy call stops at the first exception)
        self._event_listeners = [
            (impl.plugin_name, caller(impl, ("name", "payload")))
            for impl in reversed(pm.hook.themisgate_event.get_hookimpls())
        ]
        self._has_event = bool(self._event_listeners)
        self._has_rate_limit = has_implementations(pm, "themisgate_rate_limit")
        self._has_identify = has_implementations(pm, "themisgate_identify")
        # the usual case, one plugin answering: called directly (see direct.py)
        self._identify_directly = only_implementation(pm, "themisgate_identify", ("request", "ctx"))
        self._has_operation = has_implementations(pm, "themisgate_operation")
        self._plugin_state: dict[str, Any] = {}

    # --- plugins ----------------------------------------------------------------------

    def config(self, plugin: str) -> Any:
        """The validated `Config` of an enabled plugin (None if it has no `Config`)."""
        return self.plugins[plugin].config

    def enabled(self, plugin: str) -> bool:
        return plugin in self.plugins

    def plugin_state(self, key: str, build: Callable[[], T]) -> T:
        """What a plugin keeps for this app (its runtime, its authenticator), made by
        `build` on first use. It lives exactly as long as the app: one process may run
        several apps (tests do), and module-level state would be shared between them or
        outlive them. Key it by the plugin's module, `plugin_state(__name__, ...)`."""
        state = self._plugin_state.get(key, _MISSING)
        if state is _MISSING:
            state = self._plugin_state[key] = build()
        return state  # type: ignore[no-any-return]

    @property
    def adapter(self) -> ThemisAdapter:
        if self._adapter is None:
            raise RuntimeError("the ThemisDB adapter is created by create_app()")
        return self._adapter

    @adapter.setter
    def adapter(self, adapter: ThemisAdapter) -> None:
        self._adapter = adapter

    # --- per-call hooks -----------------------------------------------------------------

    def emit(self, name: str, payload: dict[str, Any]) -> None:
        """Send an event to every plugin implementing `themisgate_event`; never raises."""
        for plugin, listener in self._event_listeners:
            try:
                listener(name, payload)
            except Exception:
                log.exception("event listener failed", plugin=plugin, event_name=name)

    def operation(
        self, surface: str, name: str, attributes: dict[str, Any]
    ) -> AbstractContextManager[Any]:
        """Observe one GraphQL operation or WebSocket message through every plugin
        implementing `themisgate_operation`; a shared no-op when none does."""
        if not self._has_operation:
            return _NOTHING
        return enter_all(
            self.hooks.themisgate_operation(surface=surface, name=name, attributes=attributes)
        )

    async def rate_limit(self, identity: Identity, key: str, cost: int = 1) -> RateDecision:
        """Charge `cost` for `key` to `identity`; allowed when no plugin limits rates."""
        if not self._has_rate_limit:
            return ALLOW_ALL
        decision = self.hooks.themisgate_rate_limit(identity=identity, key=key, cost=cost, ctx=self)
        if not isinstance(decision, RateDecision) and inspect.isawaitable(decision):
            decision = await decision
        return decision if isinstance(decision, RateDecision) else ALLOW_ALL

    async def identify(self, request: ASGIConnection[Any, Any, Any, Any]) -> Identity:
        """Who is calling (an HTTP request or a WebSocket), asked of plugins at most once
        per connection."""
        state = request.scope.setdefault("state", {})
        cached = state.get(IDENTITY_STATE_KEY)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        identity: Identity | None = None
        if self._has_identify:
            direct = self._identify_directly
            if direct is not None:
                answer = direct(request, self)
            else:
                answer = self.hooks.themisgate_identify(request=request, ctx=self)
            # an Identity is never awaitable; asking inspect costs an ABC check per request
            if not isinstance(answer, Identity) and inspect.isawaitable(answer):
                answer = await answer
            identity = answer
        if identity is None:
            identity = self.fallback_identity(request)
        state[IDENTITY_STATE_KEY] = identity
        return identity

    def fallback_identity(self, request: ASGIConnection[Any, Any, Any, Any]) -> Identity:
        """With no auth plugin the server is open: the caller is its IP, holding every
        scope. With one, this is only reached when it did not answer (its own anonymous
        identity is the usual answer)."""
        client = request.scope.get("client")
        host = client[0] if client else "unknown"
        scopes = ALL_SCOPES if not self._has_identify else frozenset({"read"})
        return Identity(kind="ip", id=host, tier=self.settings.core.default_tier, scopes=scopes)

    @property
    def checks_scopes(self) -> bool:
        return self._has_identify


# How a route handler asks for the context: `async def handler(ctx: Ctx) -> ...`
Ctx: TypeAlias = NamedDependency[AppContext]
