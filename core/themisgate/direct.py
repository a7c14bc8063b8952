"""Calling hook implementations without pluggy's machinery, on paths run per request.

A pluggy call walks the implementations with wrappers, result collection and exception
bookkeeping, about 1.5 µs even for one implementation. For per-request hooks the core
calls implementations itself when it is safe: each with exactly the arguments it
declares, as pluggy would. Hook wrappers make it unsafe (they expect pluggy's protocol),
so a hook with one falls back to pluggy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pluggy import HookImpl

from .plugins import PluginManager

Caller = Callable[..., Any]


def caller(impl: HookImpl, parameters: tuple[str, ...]) -> Caller:
    """A function taking the hook's `parameters` positionally and calling `impl` with the
    ones it declares, in its order."""
    function, wanted = impl.function, tuple(impl.argnames)
    if wanted == parameters:
        return function
    positions = [parameters.index(name) for name in wanted]

    def call(*values: Any) -> Any:
        return function(*[values[i] for i in positions])

    return call


def only_implementation(pm: PluginManager, hook: str, parameters: tuple[str, ...]) -> Caller | None:
    """The single plain implementation of `hook`, ready to call; None when there are
    none, several, or a wrapper (then call through pluggy)."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    if len(impls) != 1 or impls[0].hookwrapper or impls[0].wrapper:
        return None
    return caller(impls[0], parameters)
