"""`/vector/*`: one cosine index (object name `documents`) over every collection.

Differences from the server, each because the server's answer is not sensible: `k < 1` is
a 400 (the server wraps a negative k around and returns everything); `collection` in a
search body restricts the search (the server ignores it, so clients over-fetch — still
correct here); vectors live in their own table, so `/entities` never sees them (the
server answers 500 for such keys).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post, put
from litestar.handlers import HTTPRouteHandler

from ..models import VectorHit, VectorItem
from ._context import LiteContext
from ._wire import OBJECT_NAME, WireError, field, json_response, read_object, vector_address
from ._wire import wire_pk as to_pk

DEFAULT_K = 10
_Scalar = str | int | float | bool | None


def routes(ctx: LiteContext) -> list[HTTPRouteHandler]:
    backend = ctx.backend

    async def config() -> dict[str, Any]:
        info = await backend.index_info()
        return {
            "objectName": OBJECT_NAME,
            "dimension": info.dimension,
            "metric": "COSINE",
            "efSearch": ctx.ef_search,
            "M": ctx.m,
            "efConstruction": ctx.ef_construction,
            "hnswEnabled": False,  # exact search: nothing approximate to tune
        }

    @post("/vector/batch_insert", status_code=200)
    async def batch_insert(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        items = body.get("items")
        if not isinstance(items, list):
            raise WireError(400, "Missing required field: items (array)")
        dimension = (await backend.index_info()).dimension
        groups: dict[str, list[VectorItem]] = defaultdict(list)
        errors = 0
        for raw in items:
            parsed = _vector_item(raw, dimension)
            if parsed is None:
                errors += 1
                continue
            collection, item = parsed
            dimension = len(item.vector)  # the first good item fixes it, as on the server
            groups[collection].append(item)
        inserted = 0
        for collection, group in groups.items():
            inserted += (await backend.upsert_vectors(collection, group)).inserted
        return json_response(
            {
                "inserted": inserted,
                "errors": errors,
                "objectName": OBJECT_NAME,
                "dimension": (await backend.index_info()).dimension,
            }
        )

    @post("/vector/search", status_code=200)
    async def search(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        vector = _query_vector(body)
        k = field(body, "k", int, "an integer")
        k = DEFAULT_K if k is None else k
        if k <= 0:
            raise WireError(400, "Field 'k' must be greater than 0")
        collection = body.get("collection")
        collection = collection if isinstance(collection, str) and collection else None
        if body.get("use_cursor") is not True:
            hits = await backend.search_vectors(vector, k, collection)
            return json_response({"results": _results(hits), "k": k, "count": len(hits)})
        size = field(body, "batch_size", int, "an integer")
        size = k if size is None else size
        if size <= 0:
            raise WireError(400, "Field 'batch_size' must be greater than 0")
        offset = _cursor(body.get("cursor"))
        hits = await backend.search_vectors(vector, offset + size + 1, collection)
        has_more = len(hits) > offset + size
        return json_response(
            {
                "items": _results(hits[offset : offset + size]),
                "batch_size": size,
                "has_more": has_more,
                "next_cursor": str(offset + size) if has_more else None,
            }
        )

    @delete("/vector/by-filter", status_code=200)
    async def delete_by_filter(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        pks = body.get("pks")
        prefix = body.get("prefix")
        if isinstance(pks, list):
            if not all(isinstance(pk, str) for pk in pks):
                raise WireError(400, "Field 'pks' must be an array of strings")
            addresses = [address for pk in pks if (address := vector_address(pk))]
            method = "pks"
        elif isinstance(prefix, str) and prefix:
            addresses = [
                (name, key)
                for name, key in backend.vector_keys()
                if to_pk(name, key).startswith(prefix)
            ]
            method = "prefix"
        else:
            raise WireError(400, "Missing required field: pks (array) or prefix (non-empty string)")
        by_collection: dict[str, list[str]] = defaultdict(list)
        for name, key in addresses:
            by_collection[name].append(key)
        deleted = 0
        for name, keys in by_collection.items():
            deleted += await backend.delete_vectors(name, keys)
        return json_response({"deleted": deleted, "method": method})

    @get("/vector/index/stats")
    async def index_stats() -> Response[bytes]:
        info = await backend.index_info()
        return json_response({**(await config()), "vectorCount": info.vector_count})

    @get("/vector/index/config")
    async def get_config() -> Response[bytes]:
        return json_response(await config())

    @put("/vector/index/config", status_code=200)
    async def put_config(request: Request[Any, Any, Any]) -> Response[bytes]:
        body = await read_object(request)
        metric = body.get("metric")
        if metric is not None and str(metric).upper() != "COSINE":
            raise WireError(400, "Only the COSINE metric is supported")
        for name, attribute in (("efSearch", "ef_search"), ("M", "m")):
            value = field(body, name, int, "a positive integer")
            if value is not None:
                if value <= 0:
                    raise WireError(400, f"Field '{name}' must be a positive integer")
                setattr(ctx, attribute, value)
        return json_response(await config())

    return [batch_insert, search, delete_by_filter, index_stats, get_config, put_config]


def _vector_item(raw: Any, dimension: int | None) -> tuple[str, VectorItem] | None:
    """One batch item, or None if the server would count it as an error."""
    if not isinstance(raw, dict):
        return None
    pk = raw.get("pk")
    if not isinstance(pk, str) or (address := vector_address(pk)) is None:
        return None
    try:
        vector = msgspec.convert(raw.get("vector"), list[float])
        fields = msgspec.convert(
            raw.get("fields") or {}, dict[str, str | int | float | bool | None]
        )
    except msgspec.ValidationError:
        return None
    if not vector or (dimension is not None and len(vector) != dimension):
        return None
    if not all(map(math.isfinite, vector)):
        return None
    collection, key = address
    return collection, VectorItem(key=key, vector=vector, fields=fields)


def _query_vector(body: dict[str, Any]) -> list[float]:
    if "vector" not in body:
        raise WireError(400, "Missing required field: vector")
    raw = body["vector"]
    if not isinstance(raw, list):
        raise WireError(400, "Field 'vector' must be an array")
    try:
        vector: list[float] = msgspec.convert(raw, list[float])
    except msgspec.ValidationError:
        raise WireError(400, "Vector elements must be numbers") from None
    if not vector:
        raise WireError(400, "Field 'vector' must not be empty")
    return vector


def _cursor(raw: Any) -> int:
    """A cursor is the offset of the next page, sent back as a string."""
    if raw is None:
        return 0
    if isinstance(raw, str) and raw.isdecimal():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    raise WireError(400, "Invalid cursor")


def _results(hits: list[VectorHit]) -> list[dict[str, Any]]:
    return [{"pk": to_pk(hit.collection, hit.key), "distance": hit.distance} for hit in hits]
