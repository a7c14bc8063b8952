"""Version differences are declared once, as data; a later version is more declarations,
not more handlers."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from themisgate.api.v4 import models as v4
from themisgate_v3compat import (
    CHAIN,
    DocumentSplit,
    FieldDefaulted,
    FieldRenamed,
    FieldsNested,
    RouteMoved,
    Translation,
    VersionChange,
)
from themisgate_v3compat.changes import successors
from themisgate_v3compat.models import SearchRequest, SearchResponse

V4_SEARCH_ANSWER: dict[str, Any] = {
    "results": [
        {
            "id": "a1",
            "collection": "documents",
            "score": 0.9,
            "distance": 0.1,
            "document": {"text": "hello", "lang": "en"},
        },
        {"id": "a2", "collection": "documents", "score": 0.5, "distance": 0.5, "document": None},
    ],
    "count": 2,
    "explain": None,
}

# What a v5 could change, declared the way v3→v4 is: nothing else would be written.
V4_TO_V5 = VersionChange(
    previous="v4",
    version="v5",
    summary="v5 calls top_k limit and results items.",
    instructions=(
        RouteMoved(
            "search", method="POST", old="/api/v4/themis/vectors/search", new="/api/v5/search"
        ),
        FieldRenamed("search", side="request", old="top_k", new="limit"),
        FieldRenamed("search", side="response", old="results", new="items"),
        FieldRenamed("search", side="response", old="id", new="key", within="items"),
    ),
)


def test_a_v3_search_request_becomes_a_valid_v4_request() -> None:
    v3_request = msgspec.to_builtins(SearchRequest(query="hello", top_k=3))
    body = Translation(CHAIN, "search").request(v3_request)
    request = msgspec.convert(body, v4.SearchRequest)
    assert request.collection == "documents"
    assert (request.query, request.top_k, request.threshold) == ("hello", 3, None)


def test_a_v4_search_answer_becomes_exactly_a_v3_answer() -> None:
    body = Translation(CHAIN, "search").response(copy.deepcopy(V4_SEARCH_ANSWER))
    assert body == {
        "results": [
            {"id": "a1", "score": 0.9, "content": "hello", "metadata": {"lang": "en"}},
            {"id": "a2", "score": 0.5, "content": None, "metadata": {}},
        ]
    }
    msgspec.convert(body, SearchResponse)  # strict: no field v3 does not know


def test_an_undeclared_v4_field_fails_the_v3_shape_instead_of_leaking() -> None:
    answer = copy.deepcopy(V4_SEARCH_ANSWER)
    answer["results"][0]["rerank_score"] = 0.7
    body = Translation(CHAIN, "search").response(answer)
    with pytest.raises(msgspec.ValidationError, match="rerank_score"):
        msgspec.convert(body, SearchResponse)


def test_stats_counters_are_lifted_out_of_adapter_and_themis_is_database() -> None:
    v4_stats = {
        "backend": "embedded",
        "themis": {"storage": {"documents": 1}},
        "adapter": {"query_count": 4, "error_count": 0, "avg_latency_ms": 0.5},
    }
    body = Translation(CHAIN, "stats").response(v4_stats)
    assert body == {
        "backend": "embedded",
        "database": {"storage": {"documents": 1}},
        "query_count": 4,
        "error_count": 0,
        "avg_latency_ms": 0.5,
    }


def test_every_instruction_undoes_what_it_does() -> None:
    cases: list[tuple[Any, dict[str, Any]]] = [
        (FieldRenamed("e", side="response", old="a", new="b"), {"a": 1, "c": 2}),
        (FieldRenamed("e", side="response", old="a", new="b", within="xs"), {"xs": [{"a": 1}]}),
        (FieldsNested("e", side="response", into="n", fields=("a", "b")), {"a": 1, "b": 2, "c": 3}),
        (DocumentSplit("e", within="xs"), {"xs": [{"content": "t", "metadata": {"k": 1}}]}),
    ]
    for instruction, older in cases:
        newer = copy.deepcopy(older)
        instruction.forward(newer)
        assert newer != older
        instruction.backward(newer)
        assert newer == older, instruction


def test_defaults_fill_only_what_the_client_left_out() -> None:
    instruction = FieldDefaulted("search", field="collection", default="documents")
    left_out: dict[str, Any] = {"query": "q"}
    given: dict[str, Any] = {"query": "q", "collection": "books"}
    instruction.forward(left_out)
    instruction.forward(given)
    assert left_out["collection"] == "documents"
    assert given["collection"] == "books"


def test_a_v5_is_declarations_the_v3_translation_follows_through() -> None:
    chain = (*CHAIN, V4_TO_V5)
    search = Translation(chain, "search")
    request = search.request({"query": "hello", "top_k": 3, "collection": None, "threshold": None})
    assert request == {"query": "hello", "limit": 3, "collection": "documents", "threshold": None}
    v5_answer = {
        "items": [
            {
                "key": "a1",
                "collection": "d",
                "score": 0.9,
                "distance": 0.1,
                "document": {"text": "hello"},
            }
        ],
        "count": 1,
        "explain": None,
    }
    assert search.response(v5_answer) == {
        "results": [{"id": "a1", "score": 0.9, "content": "hello", "metadata": {}}]
    }
    assert successors(chain)["/api/v3/vector/search"] == "/api/v5/search"
    assert successors(chain)["/api/v3/stats"] == "/api/v4/themis/stats"


def test_every_v3_route_has_a_declared_successor() -> None:
    found = successors(CHAIN)
    assert found == {
        "/api/v3/vector/search": "/api/v4/themis/vectors/search",
        "/api/v3/aql/query": "/api/v4/themis/aql/query",
        "/api/v3/stats": "/api/v4/themis/stats",
        "/api/v3": "/api",
        "/api/v3/openapi.json": "/api/v4/openapi.json",
        "/api/v3/docs": "/api/v4/docs",
    }
