"""Finding, importing, validating and ordering plugins.

1. Discovery reads the entry points of group `themisgate` without importing anything.
2. Only plugins enabled in `plugins.toml` are imported (`EntryPoint.load()`).
3. Each plugin's table is validated against its `Config` before any hook runs.
4. `requires` and `priority` give the order: a topological sort, higher priority first
   among plugins that do not depend on each other.
5. Misspelled hooks are errors naming the plugin and the hook.

A plugin that fails in steps 2-5 stops start-up, unless its table says `optional = true`:
then it is left out, logged, and listed as skipped. Plugins passed to `create_app()`
directly (tests, embedding) go through the same validation and ordering.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import os
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
import pluggy
import structlog

from . import hookspecs
from .config import Settings
from .validation import ConfigError, Problem, convert_table

ENTRY_POINT_GROUP = "themisgate"
HOOK_PREFIX = "themisgate_"
TRACE_ENV = "THEMISGATE_TRACE_HOOKS"

log = structlog.get_logger("themisgate.plugins")


@dataclass
class PluginInfo:
    """A loaded plugin, as the plugin listing shows it."""

    name: str
    module: object
    distribution: str | None = None
    version: str | None = None
    config: Any = None
    priority: int = 0
    requires: tuple[str, ...] = ()
    optional: bool = False
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedPlugin:
    name: str
    reason: str


@dataclass
class LoadedPlugins:
    ordered: list[PluginInfo]
    skipped: list[SkippedPlugin]
    installed: dict[str, importlib.metadata.EntryPoint]


def installed_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    """Every plugin installed in this environment, by name. Imports nothing."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def distribution_of(ep: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = ep.dist
    return (dist.name, dist.version) if dist is not None else (None, None)


def plugin_name(plugin: object) -> str:
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__.removeprefix("themisgate_")
    return type(plugin).__name__


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, taking any `themisgate_*` function as a hook implementation so a
    misspelled or undecorated hook is caught instead of silently ignored."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        opts = super().parse_hookimpl_opts(plugin, name)
        is_hook_name = name.startswith(HOOK_PREFIX)
        if opts is None and is_hook_name and inspect.isroutine(getattr(plugin, name, None)):
            return cast(pluggy.HookimplOpts, {})
        return opts


def new_plugin_manager() -> PluginManager:
    pm = PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if os.environ.get(TRACE_ENV, "").lower() in {"1", "true", "yes"}:
        _trace_hook_calls(pm)
    return pm


def _trace_hook_calls(pm: PluginManager) -> None:
    trace_log = structlog.get_logger("themisgate.hooks")

    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        plugins = [impl.plugin_name for impl in impls]
        trace_log.info("hook call", hook=hook_name, plugins=plugins, kwargs=repr(kwargs))

    def after(
        outcome: pluggy.Result[Any],
        hook_name: str,
        impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        error = outcome.exception
        trace_log.info(
            "hook result",
            hook=hook_name,
            result=None if error else repr(outcome.get_result()),
            error=repr(error) if error else None,
        )

    pm.add_hookcall_monitoring(before, after)


def known_hooks() -> list[str]:
    return [name for name in dir(hookspecs) if name.startswith(HOOK_PREFIX)]


def unknown_hooks(plugin: object) -> list[str]:
    """Names on `plugin` that look like hooks but are not in the contract."""
    known = set(known_hooks())
    found = []
    for attr in dir(plugin):
        looks_like_hook = attr.startswith(HOOK_PREFIX) and attr not in known
        if looks_like_hook and inspect.isroutine(getattr(plugin, attr, None)):
            found.append(attr)
    return found


def _metadata(info: PluginInfo, table_options: dict[str, Any], settings: Settings) -> list[Problem]:
    """Read `Config`, `priority`, `requires` off the plugin and validate its table."""
    where = f"plugins.{info.name}"
    plugin = info.module
    problems: list[Problem] = []
    priority = getattr(plugin, "priority", 0)
    requires = getattr(plugin, "requires", ())
    if not isinstance(priority, int):
        problems.append(Problem(info.name, where, None, "plugin's `priority` must be an int"))
    else:
        info.priority = priority
    if isinstance(requires, str) or not all(isinstance(r, str) for r in requires):
        problems.append(Problem(info.name, where, None, "plugin's `requires` must be names"))
    else:
        info.requires = tuple(requires)
    config_type = getattr(plugin, "Config", None)
    if config_type is None:
        for key in table_options:
            problems.append(
                Problem(
                    settings.origins.get(f"{where}.{key}", settings.source),
                    where,
                    key,
                    "unknown key; this plugin takes no settings",
                )
            )
    elif not (isinstance(config_type, type) and issubclass(config_type, msgspec.Struct)):
        problems.append(Problem(info.name, where, None, "plugin's `Config` must be a Struct"))
    else:
        config, config_problems = convert_table(
            table_options,
            config_type,
            source=settings.source,
            table=where,
            origins=settings.origins,
        )
        info.config = config
        problems.extend(config_problems)
    for hook in unknown_hooks(plugin):
        close = difflib.get_close_matches(hook, known_hooks(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.append(
            Problem(info.name, where, None, f"plugin {info.name!r} has unknown hook {hook}{hint}")
        )
    return problems


def load_plugins(
    settings: Settings,
    direct: Iterable[object] = (),
    builtins: Iterable[tuple[str, object]] = (),
) -> LoadedPlugins:
    """Import, validate and order the enabled plugins. Raises `ConfigError` with every
    problem found; optional plugins with problems are skipped instead."""
    installed = installed_plugins()
    problems: list[Problem] = []
    skipped: list[SkippedPlugin] = []
    candidates: list[tuple[PluginInfo, dict[str, Any]]] = []

    for name, plugin in builtins:
        info = PluginInfo(name=name, module=plugin, builtin=True, distribution="themisgate")
        info.version = _core_version()
        candidates.append((info, {}))

    direct_names = set()
    for plugin in direct:
        name = plugin_name(plugin)
        direct_names.add(name)
        table = settings.plugins.get(name)
        info = PluginInfo(name=name, module=plugin, optional=bool(table and table.optional))
        candidates.append((info, dict(table.options) if table else {}))

    for name, table in settings.plugins.items():
        if name in direct_names or not table.enabled:
            continue  # a disabled plugin is never imported

        def cannot_load(message: str, name: str = name, optional: bool = table.optional) -> None:
            if optional:
                skipped.append(SkippedPlugin(name, message))
                log.warning("optional plugin skipped", plugin=name, reason=message)
            else:
                problems.append(Problem(settings.source, f"plugins.{name}", None, message))

        ep = installed.get(name)
        if ep is None:
            cannot_load(_not_installed(name, installed))
            continue
        dist, version = distribution_of(ep)
        try:
            module = ep.load()
        except Exception as exc:
            cannot_load(f"plugin {name!r} ({dist or ep.value}) failed to import: {exc!r}")
            continue
        info = PluginInfo(
            name=name, module=module, distribution=dist, version=version, optional=table.optional
        )
        candidates.append((info, dict(table.options)))

    accepted: list[PluginInfo] = []
    for info, options in candidates:
        found = _metadata(info, options, settings)
        if found and info.optional:
            reason = "; ".join(str(p) for p in found)
            skipped.append(SkippedPlugin(info.name, reason))
            log.warning("optional plugin skipped", plugin=info.name, reason=reason)
            continue
        problems.extend(found)
        accepted.append(info)

    ordered, order_problems = order_plugins(accepted, settings)
    problems.extend(order_problems)
    if problems:
        raise ConfigError(problems)
    return LoadedPlugins(ordered=ordered, skipped=skipped, installed=installed)


def _core_version() -> str | None:
    try:
        return importlib.metadata.version("themisgate")
    except importlib.metadata.PackageNotFoundError:
        return None


def _not_installed(name: str, installed: dict[str, importlib.metadata.EntryPoint]) -> str:
    names = ", ".join(sorted(installed)) or "none"
    return (
        f"plugin {name!r} is not installed (installed plugins: {names}); "
        f"install the distribution that provides it, e.g. `pip install themisgate-{name}`"
    )


def order_plugins(
    plugins: list[PluginInfo], settings: Settings
) -> tuple[list[PluginInfo], list[Problem]]:
    """Topological order by `requires`; ties broken by priority (higher first), then name."""
    by_name = {p.name: p for p in plugins}
    problems: list[Problem] = []
    for plugin in plugins:
        for required in plugin.requires:
            if required in by_name:
                continue
            table = settings.plugins.get(required)
            state = "disabled" if table is not None and not table.enabled else "not enabled"
            problems.append(
                Problem(
                    settings.source,
                    f"plugins.{plugin.name}",
                    None,
                    f"plugin {plugin.name!r} requires plugin {required!r}, which is {state}; "
                    f"enable it with a [plugins.{required}] table",
                )
            )
    if problems:
        return [], problems

    waiting = {p.name: set(p.requires) for p in plugins}
    ordered: list[PluginInfo] = []
    while waiting:
        ready = [by_name[n] for n, deps in waiting.items() if not deps]
        if not ready:
            cycle = " -> ".join(_find_cycle(waiting))
            problems.append(
                Problem(settings.source, "plugins", None, f"plugins require each other: {cycle}")
            )
            return [], problems
        ready.sort(key=lambda p: (not p.builtin, -p.priority, p.name))
        chosen = ready[0]
        ordered.append(chosen)
        del waiting[chosen.name]
        for deps in waiting.values():
            deps.discard(chosen.name)
    return ordered, problems


def _find_cycle(waiting: dict[str, set[str]]) -> list[str]:
    start = min(waiting)
    path = [start]
    seen = {start}
    node = start
    while True:
        node = min(waiting[node])
        if node in seen:
            return [*path[path.index(node) :], node]
        path.append(node)
        seen.add(node)


def register_plugins(pm: PluginManager, loaded: LoadedPlugins) -> None:
    """Register in reverse start order: pluggy calls the last registered first, so the
    first plugin in start order answers `firstresult` hooks first."""
    for info in reversed(loaded.ordered):
        pm.register(info.module, name=info.name)
    pm.check_pending()
    for info in loaded.ordered:
        impls = pm.get_hookcallers(info.module) or []
        info.hooks = sorted(caller.name for caller in impls)


def call_each(pm: PluginManager, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call a start-up hook and keep who answered what, in start order. Used where the
    core must name a plugin in an error (route collisions) or in a listing."""
    caller = getattr(pm.hook, hook_name)
    answers = []
    tracing = os.environ.get(TRACE_ENV, "").lower() in {"1", "true", "yes"}
    for impl in reversed(caller.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        args = {name: kwargs[name] for name in impl.argnames}
        result = impl.function(**args)
        if tracing:
            log.info("hook call", hook=hook_name, plugin=impl.plugin_name, result=repr(result))
        if result is not None:
            answers.append((impl.plugin_name, result))
    return answers


def has_implementations(pm: PluginManager, hook_name: str) -> bool:
    return bool(getattr(pm.hook, hook_name).get_hookimpls())
