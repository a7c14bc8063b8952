"""Operations are visible to metrics and tracing plugins: wrapped in `themisgate_operation`
and announced as `graphql_operation` events (docs/events.md)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from tests.graphql.support import Named, graphql_client, query, rate_limiter

Seen = list[tuple[str, Any, Any]]


def observer(seen: Seen) -> Named:
    @contextlib.contextmanager
    def themisgate_operation(surface: str, name: str, attributes: dict[str, Any]) -> Iterator[None]:
        seen.append(("enter", (surface, name), dict(attributes)))
        try:
            yield
        finally:
            seen.append(("exit", (surface, name), dict(attributes)))

    @contextlib.contextmanager
    def themisgate_adapter_call(operation: str, attributes: dict[str, Any]) -> Iterator[None]:
        seen.append(("adapter", operation, None))
        yield

    def themisgate_event(name: str, payload: dict[str, Any]) -> None:
        seen.append(("event", name, payload))

    return Named(
        "observer",
        themisgate_operation=themisgate_operation,
        themisgate_adapter_call=themisgate_adapter_call,
        themisgate_event=themisgate_event,
    )


async def test_an_operation_is_observed_around_its_adapter_calls_and_reported() -> None:
    seen: Seen = []
    async with graphql_client(observer(seen)) as client:
        await query(client, "query Status { adapterStatus { name } }")
    kinds = [kind for kind, _, _ in seen]
    assert kinds == ["enter", "adapter", "exit", "event"]
    _, (surface, name), before = seen[0]
    assert (surface, name) == ("graphql", "Status")
    assert before == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "Status",
        "graphql.document": "query Status { adapterStatus { name } }",
    }
    assert seen[2][2]["graphql.errors"] == 0
    _, event, payload = seen[3]
    assert event == "graphql_operation"
    assert payload["operation_type"] == "query"
    assert payload["operation_name"] == "Status"
    assert payload["errors"] == 0
    assert payload["duration_seconds"] >= 0


async def test_refused_and_failing_operations_are_reported_with_their_errors() -> None:
    seen: Seen = []
    async with graphql_client(observer(seen)) as client:
        await query(client, '{ a: document(id: "bad") b: document(id: "worse") }')
        await query(client, "mutation Nope { nope }")
    events = [payload for kind, name, payload in seen if kind == "event"]
    assert events[0]["operation_name"] == "anonymous"
    assert events[0]["errors"] == 2
    assert events[1] == {**events[1], "operation_type": "mutation", "errors": 1}


async def test_a_rate_limited_operation_is_observed_as_an_error() -> None:
    seen: Seen = []
    async with graphql_client(observer(seen), rate_limiter([], allow=False)) as client:
        await query(client, "{ adapterStatus { name } }")
    assert [kind for kind, _, _ in seen] == ["enter", "exit", "event"]
    assert seen[1][2]["graphql.errors"] == 1


async def test_a_document_that_does_not_parse_is_no_operation() -> None:
    seen: Seen = []
    async with graphql_client(observer(seen)) as client:
        response = await query(client, "{ adapterStatus {")
    assert response.status_code == 200
    assert seen == []
