"""Fields other plugins add through `themisgate_graphql_fields`, turned into strawberry
fields on `Query` once, at start-up.

A plugin returns `themisgate.GraphQLField`s: plain Python, so it imports neither
strawberry nor this plugin (plugins never import each other). A field that cannot be
added — a taken or invalid name, a resolver strawberry cannot type — stops start-up with
a line naming the plugin.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.tools import create_type, merge_types
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from themisgate import AppContext, ConfigError, GraphQLField, Problem

from .context import require_scope

GRAPHQL_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")
HOOK = "themisgate_graphql_fields"


class PluginField(typing.NamedTuple):
    plugin: str
    field: GraphQLField


def collect_fields(app: AppContext) -> list[PluginField]:
    """Every plugin's answer to `themisgate_graphql_fields`, in plugin order, with the
    plugin that gave it (errors name it)."""
    caller = getattr(app.pm.hook, HOOK)
    fields: list[PluginField] = []
    problems: list[Problem] = []
    for impl in reversed(caller.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        answer = impl.function(**{name: app for name in impl.argnames})
        for item in answer or ():
            if isinstance(item, GraphQLField):
                fields.append(PluginField(impl.plugin_name, item))
            else:
                problems.append(
                    _problem(
                        app,
                        impl.plugin_name,
                        f"themisgate_graphql_fields returned {type(item).__name__}; "
                        "return themisgate.GraphQLField values",
                    )
                )
    if problems:
        raise ConfigError(problems)
    return fields


def _problem(app: AppContext | None, plugin: str, message: str) -> Problem:
    source = app.settings.source if app is not None else "plugins.toml"
    return Problem(source, f"plugins.{plugin}", None, message)


def _holds_scope(scope: str) -> type[BasePermission]:
    class HoldsScope(BasePermission):
        def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
            require_scope(info, scope)  # raises UNAUTHENTICATED or FORBIDDEN
            return True

    return HoldsScope


def _returns_json(resolver: Any) -> bool:
    try:
        returned = typing.get_type_hints(resolver).get("return")
    except Exception:  # unresolvable annotations: let strawberry report them
        return False
    origin = typing.get_origin(returned) or returned
    return isinstance(origin, type) and issubclass(origin, Mapping)


def to_strawberry(field: GraphQLField) -> StrawberryField:
    permissions = [] if field.scope == "read" else [_holds_scope(field.scope)]
    converted: StrawberryField = strawberry.field(
        resolver=field.resolver,
        name=field.name,
        description=field.description,
        permission_classes=permissions,
        graphql_type=JSON if _returns_json(field.resolver) else None,
    )
    return converted


def query_type(base: type, fields: Sequence[PluginField], app: AppContext | None = None) -> type:
    """`base` with the plugins' fields added; every problem reported at once."""
    if not fields:
        return base
    taken = {f.name for f in base.__strawberry_definition__.fields}  # type: ignore[attr-defined]
    problems: list[Problem] = []
    converted: list[StrawberryField] = []
    owners: dict[str, str] = {}
    for plugin, field in fields:
        name = field.name
        if not GRAPHQL_NAME.match(name) or name.startswith("__"):
            problems.append(_problem(app, plugin, f"GraphQL field {name!r} is not a valid name"))
            continue
        if name in taken or name in owners:
            owner = owners.get(name, "graphql")
            problems.append(
                _problem(app, plugin, f"GraphQL field {name!r} is already defined by {owner!r}")
            )
            continue
        if field.cost < 0:
            problems.append(_problem(app, plugin, f"GraphQL field {name!r} has a negative cost"))
            continue
        strawberry_field = to_strawberry(field)
        try:  # type it now, alone, so a bad annotation names its plugin
            strawberry.Schema(query=create_type("Probe", [strawberry_field]))
        except Exception as exc:
            problems.append(_problem(app, plugin, f"GraphQL field {name!r} cannot be typed: {exc}"))
            continue
        owners[name] = plugin
        converted.append(to_strawberry(field))
    if problems:
        raise ConfigError(problems)
    return merge_types("Query", (base, create_type("PluginFields", converted)))


def root_costs(fields: Sequence[PluginField]) -> dict[str, int]:
    return {f.field.name: f.field.cost for f in fields}
