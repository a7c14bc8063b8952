"""`/query/aql` (and its alias `/api/aql`) and `/index/*`: AQL and secondary indexes.

Answers have the server's shapes: `{"table", "count", "entities", "result"}` (traversals:
`table` is `graph` and there is no `result`), `{"items", "batch_size", "has_more",
"next_cursor"}` with `use_cursor`, and `ast`, `plan`, `query` added by `explain`. Whole
documents are JSON strings with sorted keys, as the server re-serialises them; projections
are objects and plain values plain. The wire API has no bind variables, so a query with
`@name` is a 400 here too.

Where the server is not sensible, this is: an index covers the rows that exist when it is
created (the server's needs `/index/reindex` first); `LET a = u.f FILTER a > …` finds what
it should (the server finds nothing); a full scan over a table holding a document that is
not JSON cannot crash anything, because such documents are never stored.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.handlers import HTTPRouteHandler

from ..aql import collection_of, parse, returns_stored
from ..embedded.indexes import FieldIndex
from ._context import LiteContext
from ._wire import WireError, field, json_response, read_object

_sorted = msgspec.json.Encoder(order="sorted")
_INDEX_TYPE_NAMES = {"equality": "regular", "range": "range"}
# a page with `use_cursor` and neither `batch_size` nor `cursor`
_DEFAULT_BATCH = 100


def routes(ctx: LiteContext) -> list[HTTPRouteHandler]:
    backend = ctx.backend

    async def run(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        query = body.get("query")
        if not isinstance(query, str):
            raise WireError(400, "AQL request requires string field 'query'")
        explain = body.get("explain") is True
        use_cursor = body.get("use_cursor") is True
        batch_size = field(body, "batch_size", int, "an integer") if use_cursor else None
        cursor = field(body, "cursor", str, "a string") if use_cursor else None
        if use_cursor and batch_size is None:
            batch_size = None if cursor is not None else _DEFAULT_BATCH
        result = await backend.aql(
            query,
            {},
            batch_size=batch_size,
            cursor=cursor,
            explain=explain,
            allow_full_scan=body.get("allow_full_scan") is True,
        )
        parsed = parse(query)
        items = result.results
        if returns_stored(parsed):
            items = [_sorted.encode(item).decode() for item in items]
        if use_cursor:
            return json_response(
                {
                    "items": items,
                    "batch_size": len(items) if batch_size is None else batch_size,
                    "has_more": result.has_more,
                    "next_cursor": result.next_cursor,
                }
            )
        table = collection_of(parsed)
        answer: dict[str, Any] = {"table": table, "count": result.count, "entities": items}
        if table != "graph":
            answer["result"] = items
        if result.explain is not None:
            answer.update(result.explain, query=query)
        return json_response(answer)

    @post("/query/aql", status_code=200)
    async def query_aql(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await run(request)

    @post("/api/aql", status_code=200)
    async def api_aql(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await run(request)

    def address(body: dict[str, Any]) -> tuple[str, str]:
        table, column = body.get("table"), body.get("column")
        if not isinstance(table, str) or not table or not isinstance(column, str) or not column:
            raise WireError(400, "Missing required fields: table and column (strings)")
        return table, column

    @post("/index/create", status_code=200)
    async def create_index(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        table, column = address(body)
        kind = body.get("type")
        created = await backend.create_index(table, column, kind, unique=body.get("unique") is True)
        answer: dict[str, Any] = {"success": True, "table": table, "column": column}
        if kind is None:
            answer["unique"] = False
        else:
            answer["type"] = kind if isinstance(kind, str) else created.type
        return json_response(answer)

    @post("/index/drop", status_code=200)
    async def drop_index(request: Request[Any, Any, Any]) -> Response[bytes]:
        table, column = address(await read_object(request))
        await backend.drop_index(table, column)
        return json_response({"success": True, "table": table, "column": column})

    @post("/index/reindex", status_code=200)
    async def reindex(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        table = body.get("table")
        if not isinstance(table, str) or not table:
            raise WireError(400, "Missing required field: table (string)")
        rebuilt = await backend.reindex(table)
        return json_response(
            {
                "success": True,
                "table": table,
                "indexes": [_index(info) for info in rebuilt],
                "indexes_rebuilt": len(rebuilt),
            }
        )

    return [query_aql, api_aql, create_index, drop_index, reindex]


def _index(info: FieldIndex) -> dict[str, Any]:
    return {
        "column": info.field,
        "entry_count": info.entries,
        "type": _INDEX_TYPE_NAMES[info.type],
    }
