"""Each operation observed and reported (docs/events.md): wrapped in
`ctx.operation("graphql", name, attributes)` so metrics and tracing plugins time and
trace it, and announced as a `graphql_operation` event when it ends. Its errors are
shaped here too (`errors.shaped`), as the last step before they reach the client.

An operation starts once its document parses: a document that does not (a syntax error,
more than `max_tokens` tokens) names no operation to report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from graphql import GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension

from themisgate import AppContext

from .errors import shaped

DOCUMENT_ATTRIBUTE_LIMIT = 1024
EVENT = "graphql_operation"


def _shape(result: Any) -> int:
    """Shape a result's errors in place; how many it has."""
    errors: list[GraphQLError] | None = getattr(result, "errors", None)
    if not errors:
        return 0
    result.errors = [shaped(error) for error in errors]
    return len(errors)


class Observation(SchemaExtension):
    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.operation: AbstractContextManager[Any] | None = None
        self.attributes: dict[str, Any] = {}
        self.errors = 0
        self.streamed = False

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            failure = exc
            self.errors += 1
            raise
        finally:
            if not self.streamed:
                self.errors += _shape(self.execution_context.result)
            self._finish(failure, time.perf_counter() - started)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        definition = (
            get_operation_ast(document, context.operation_name) if document is not None else None
        )
        if definition is not None:
            name = definition.name.value if definition.name else "anonymous"
            kind = definition.operation.value
            query = context.query or ""
            self.attributes = {
                "graphql.operation.type": kind,
                "graphql.operation.name": name,
                "graphql.document": query[:DOCUMENT_ATTRIBUTE_LIMIT],
            }
            operation = self.app.operation("graphql", name, self.attributes)
            operation.__enter__()
            self.operation = operation
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.streamed = True
        self.errors += _shape(result)
        yield

    def _finish(self, failure: BaseException | None, seconds: float) -> None:
        operation = self.operation
        if operation is None:
            return
        self.operation = None
        attributes = self.attributes
        attributes["graphql.errors"] = self.errors
        try:
            if failure is None:
                operation.__exit__(None, None, None)
            else:
                operation.__exit__(type(failure), failure, failure.__traceback__)
        finally:
            self.app.emit(
                EVENT,
                {
                    "operation_type": attributes["graphql.operation.type"],
                    "operation_name": attributes["graphql.operation.name"],
                    "duration_seconds": seconds,
                    "errors": self.errors,
                },
            )
