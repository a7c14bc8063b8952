"""Whether an operation may run: valid, no costlier than `max_cost`, and allowed by the
rate limiter (`await ctx.rate_limit(identity, "graphql", cost)`).

It runs where strawberry validates, so a refused operation is a request error like an
invalid one: no `data`, the errors only, and nothing executed — over HTTP and over
graphql-transport-ws (an `error` message) alike."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, get_operation_ast, validate
from strawberry.extensions import SchemaExtension

from themisgate import AppContext

from .config import Config
from .errors import QUERY_TOO_COSTLY, RATE_LIMITED, retry_after_seconds, user_error
from .limits import CostModel, fragments_of


class ValidationCache:
    """The validation errors of recently seen documents, by query text: validating costs
    far more than executing a small query, and clients send the same documents again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._errors: OrderedDict[tuple[str, tuple[Any, ...]], list[GraphQLError]] = OrderedDict()

    def errors(
        self, schema: GraphQLSchema, query: str, document: DocumentNode, rules: Sequence[Any]
    ) -> list[GraphQLError]:
        key = (query, tuple(rules))
        known = self._errors.get(key)
        if known is not None:
            self._errors.move_to_end(key)
            return known
        errors = validate(schema, document, rules)
        if self.size:
            self._errors[key] = errors
            if len(self._errors) > self.size:
                self._errors.popitem(last=False)
        return errors


class AdmissionPolicy:
    """What every operation is measured against; built once at start-up."""

    def __init__(self, app: AppContext, config: Config, costs: CostModel) -> None:
        self.app = app
        self.max_cost = config.max_cost
        self.key = config.rate_limit_key
        self.costs = costs
        self.validation = ValidationCache(config.document_cache_size)


class Admission(SchemaExtension):
    def __init__(self, policy: AdmissionPolicy) -> None:
        self.policy = policy

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None:
            errors = self.policy.validation.errors(
                context.schema._schema, context.query or "", document, context.validation_rules
            )
            context.pre_execution_errors = errors or await self._admit()
        yield

    async def _admit(self) -> list[GraphQLError]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:  # strawberry answers this case itself before validating
            return []
        policy = self.policy
        cost = policy.costs.cost(operation, fragments_of(document.definitions), context.variables)
        if cost > policy.max_cost:
            return [
                user_error(
                    f"This operation's estimated cost is {cost}; at most {policy.max_cost} "
                    "is allowed. Ask for fewer fields or a smaller topK or maxDepth.",
                    QUERY_TOO_COSTLY,
                    cost=cost,
                    maxCost=policy.max_cost,
                )
            ]
        decision = await policy.app.rate_limit(context.context.identity, policy.key, cost)
        if decision.allowed:
            return []
        wait = retry_after_seconds(decision.retry_after)
        return [
            user_error(
                f"Rate limit exceeded; retry in {wait} s.",
                RATE_LIMITED,
                retryAfter=wait,
                cost=cost,
            )
        ]
