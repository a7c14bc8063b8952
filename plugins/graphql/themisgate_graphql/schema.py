"""The schema, built once at start-up: the root types, other plugins' fields, and the
extensions every operation passes through (limits, admission, observation)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.printer import print_schema
from strawberry.types import ExecutionContext

from themisgate import AppContext
from themisgate.themis import ThemisError

from .admission import Admission, AdmissionPolicy
from .config import Config
from .errors import is_expected
from .extending import PluginField, query_type, root_costs
from .limits import CostModel, limits_rule
from .observation import Observation
from .operations import Mutation, Query, Subscription

log = logging.getLogger("themisgate.graphql")


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log what is not the caller's doing: a dependency failing (warning) or a bug
        (error, with its traceback). Invalid queries and refused operations are not
        logged; they are answered."""
        for error in errors:
            original = error.original_error
            if not is_expected(error):
                log.error(
                    "GraphQL resolver failed at %s",
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=original,
                )
            elif isinstance(original, ThemisError) and original.status_code >= 500:
                log.warning("GraphQL resolver: ThemisDB failed: %s", original.message)


ExtensionFactory = Callable[[], SchemaExtension]


def protections(config: Config) -> list[ExtensionFactory]:
    """Limits every document is checked against before anything runs."""
    rules: list[Any] = [
        limits_rule(config.max_depth, config.max_aliases),
        MaxIntrospectionDepthRule,
    ]
    factories: list[ExtensionFactory] = [
        functools.partial(MaxTokensLimiter, max_token_count=config.max_tokens),
        functools.partial(AddValidationRules, rules),
    ]
    if config.document_cache_size:
        factories.append(functools.partial(ParserCache, maxsize=config.document_cache_size))
    if not config.introspection:
        factories.append(DisableIntrospection)
    return factories


def build_schema(
    config: Config, fields: Sequence[PluginField] = (), app: AppContext | None = None
) -> GatewaySchema:
    """The schema with `fields` from other plugins. With `app`, operations are admitted
    (cost, rate limit) and observed through it; without, it is only for printing."""
    extensions: list[ExtensionFactory] = protections(config)
    if app is not None:
        policy = AdmissionPolicy(app, config, CostModel(root_costs(fields)))
        # observation first: it sees admission refusals as the operation's errors
        extensions += [
            functools.partial(Observation, app),
            functools.partial(Admission, policy),
        ]
    return GatewaySchema(
        query=query_type(Query, fields, app),
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
    )


def sdl(schema: strawberry.Schema) -> str:
    """The schema in SDL, as `docs/graphql/schema.graphql` holds it."""
    return print_schema(schema) + "\n"
