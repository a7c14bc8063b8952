"""`HttpBackend`: the ThemisBackend protocol over the real ThemisDB wire API.

Mapping (see the wire API notes for why each choice):
- a document is the entity `collection:key`, its JSON in a `blob` string;
- its vector is stored by `/vector/batch_insert` under the pk `collection:key` too — the
  server keeps vectors as entities of the index's object name, so they do not collide;
- the server's one vector index is global, so a search restricted to a collection asks for
  `k * overfetch_factor` neighbours and keeps those whose pk has the `collection:` prefix;
- edges go to `POST /graph/edge`, or through `/content/import` on revisions without it;
- traversal is the server's outbound BFS: it returns vertices only, without edges or paths;
  options beyond it are sent only to servers whose `/api/capabilities` advertise them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx
import structlog

from ..aql.ast import returns_stored
from ..aql.binds import substitute
from ..aql.cursor import CursorCodec, cursor_key, fingerprint, page
from ..aql.parser import parse
from ..errors import ThemisBadRequest, ThemisNotFound, ThemisProtocolError, ThemisUnsupported
from ..models import (
    AqlResult,
    Document,
    Edge,
    Health,
    IndexInfo,
    Traversal,
    TraversalQuery,
    UpsertResult,
    VectorHit,
    VectorItem,
)
from ..settings import ThemisSettings
from . import aql as wire_aql
from .breaker import BreakerState, CircuitBreaker
from .client import RequestHook, Sleep, WireClient
from .codec import (
    check_collection,
    check_fields,
    check_vector,
    encode_blob,
    entity_key,
    pack,
    path_segment,
    split_pk,
)
from .features import ServerFeatures
from .graph import (
    check_edge,
    check_traversal,
    content_import_body,
    extended_traversal,
    graph_edge_body,
)
from .responses import MissingRoute, as_object, decode_body, expect_object
from .retry import RetryPolicy

VECTOR_FIELD = "embedding"
# a collection-restricted search never asks the server for more neighbours than this
MAX_OVERFETCH_K = 1000

EdgeRoute = Literal["graph-edge", "content-import"]
_log = structlog.get_logger(__name__)


class HttpBackend:
    """ThemisDB over HTTP. One pooled client, opened by `start()` and closed by `close()`."""

    name = "http"

    def __init__(
        self,
        settings: ThemisSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        request_hooks: Sequence[RequestHook] = (),
        breaker: CircuitBreaker | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.wire = WireClient(
            settings,
            transport=transport,
            breaker=breaker,
            retry=retry,
            request_hooks=request_hooks,
            sleep=sleep,
            clock=clock,
        )
        self.edge_route: EdgeRoute = "graph-edge"
        self._features: ServerFeatures | None = None
        # several processes share cursors only through a configured secret
        key = cursor_key(settings.aql.cursor_secret, secrets.token_bytes(32))
        self._cursors = CursorCodec(key, settings.aql.cursor_ttl)

    # --- lifecycle and status ---------------------------------------------------------

    async def start(self) -> None:
        await self.wire.start()

    async def close(self) -> None:
        await self.wire.close()

    def add_request_hook(self, hook: RequestHook) -> None:
        """Run `hook(request)` on every request, e.g. to inject `traceparent`."""
        self.wire.add_request_hook(hook)

    @property
    def state(self) -> BreakerState:
        """The circuit breaker's state; not ready while it is `open`."""
        return self.wire.breaker.state

    def status(self) -> dict[str, Any]:
        """What readiness checks and `themisgate plugins` show about this backend."""
        breaker = self.wire.breaker
        return {
            "backend": self.name,
            "url": self.wire.url,
            "breaker": breaker.state,
            "consecutive_failures": breaker.consecutive_failures,
            "retry_after": breaker.retry_after(),
            "edge_route": self.edge_route,
        }

    async def request_json(self, what: str, method: str, path: str, body: Any = None) -> Any:
        """Any wire route with the same breaker, retries and typed errors as the methods
        below, for routes the protocol does not cover yet (AQL, transactions). `what`
        completes "trying to …" in error messages."""
        return decode_body(await self.wire.call(what, method, path, body), what)

    # --- server ---------------------------------------------------------------------

    async def health(self) -> Health:
        body = expect_object(await self.wire.call("check health", "GET", "/health"), "health")
        status, version = body.get("status"), body.get("version")
        uptime = body.get("uptime_seconds")
        if not isinstance(status, str):
            raise ThemisProtocolError(f"ThemisDB's /health answer has no status: {body!r}")
        return Health(
            status=status,
            version=version if isinstance(version, str) else "unknown",
            backend=self.name,
            uptime_seconds=float(uptime) if isinstance(uptime, int | float) else None,
        )

    async def stats(self) -> dict[str, Any]:
        return expect_object(await self.wire.call("read stats", "GET", "/stats"), "stats")

    async def capabilities(self) -> dict[str, Any]:
        what = "read capabilities"
        try:
            response = await self.wire.call(what, "GET", "/api/capabilities")
        except (MissingRoute, ThemisNotFound):
            return {}
        return expect_object(response, what)

    async def features(self) -> ServerFeatures:
        """What the server does beyond the released wire API; asked once, when first needed
        (not in `start()`, so a server that is down at start-up does not stop the app)."""
        if self._features is None:
            self._features = ServerFeatures.from_capabilities(await self.capabilities())
        return self._features

    # --- documents ------------------------------------------------------------------

    async def put_document(self, collection: str, key: str, document: Document) -> None:
        pk = entity_key(collection, key)
        what = f"write document {pk}"
        body = {"blob": encode_blob(document, what)}
        await self.wire.call(what, "PUT", f"/entities/{path_segment(pk)}", body)

    async def get_document(self, collection: str, key: str) -> Document | None:
        pk = entity_key(collection, key)
        what = f"read document {pk}"
        try:
            response = await self.wire.call(what, "GET", f"/entities/{path_segment(pk)}")
        except ThemisNotFound:
            return None
        body = expect_object(response, what)
        if "blob" in body:
            return as_object(body["blob"], f"document {pk}")
        if "entity" in body:  # the shape of `?decrypt=true` answers
            return as_object(body["entity"], f"document {pk}")
        raise ThemisProtocolError(f"ThemisDB's answer for document {pk} has no blob")

    async def get_documents(self, collection: str, keys: Sequence[str]) -> Mapping[str, Document]:
        """The server has no batch read: bounded-concurrent GETs, at most
        `batch_get_concurrency` in flight, so one large read cannot take the whole pool."""
        unique = list(dict.fromkeys(keys))
        for key in unique:
            entity_key(collection, key)
        gate = asyncio.Semaphore(max(1, self.settings.batch_get_concurrency))
        found: dict[str, Document] = {}

        async def fetch(key: str) -> None:
            async with gate:
                document = await self.get_document(collection, key)
            if document is not None:
                found[key] = document

        try:
            async with asyncio.TaskGroup() as group:
                for key in unique:
                    group.create_task(fetch(key))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None
        return {key: found[key] for key in unique if key in found}

    async def delete_document(self, collection: str, key: str) -> None:
        pk = entity_key(collection, key)
        await self.wire.call(f"delete document {pk}", "DELETE", f"/entities/{path_segment(pk)}")

    # --- vectors --------------------------------------------------------------------

    async def upsert_vectors(self, collection: str, items: Sequence[VectorItem]) -> UpsertResult:
        check_collection(collection)
        what = f"store {len(items)} vectors in {collection}"
        expected = self.settings.dimension
        wire_items: list[dict[str, Any]] = []
        for item in items:
            vector = check_vector(item.vector, expected, what)
            expected = len(vector)  # one request, one dimension
            wire_items.append(
                {
                    "pk": entity_key(collection, item.key),
                    "vector": vector,
                    "fields": check_fields(item.fields, what),
                }
            )
        inserted = errors = 0
        dimension: int | None = None
        for body in pack(wire_items, {"vector_field": VECTOR_FIELD}, "items", what):
            answer = expect_object(
                await self.wire.call(what, "POST", "/vector/batch_insert", body), what
            )
            inserted += _count(answer, "inserted", what)
            errors += _count(answer, "errors", what)
            dimension = _optional_count(answer.get("dimension")) or dimension
        return UpsertResult(inserted=inserted, errors=errors, dimension=dimension)

    async def delete_vectors(self, collection: str, keys: Sequence[str]) -> int:
        pks = [entity_key(collection, key) for key in dict.fromkeys(keys)]
        what = f"delete {len(pks)} vectors from {collection}"
        deleted = 0
        for body in pack(pks, {}, "pks", what):
            answer = expect_object(
                await self.wire.call(what, "DELETE", "/vector/by-filter", body), what
            )
            deleted += _count(answer, "deleted", what)
        return deleted

    async def search_vectors(
        self, vector: Sequence[float], k: int, collection: str | None = None
    ) -> list[VectorHit]:
        """Never sends `k < 1`: the server answers 400 for 0 and wraps a negative `k` around
        to "every vector". The released server ignores `collection`, so a restricted search
        asks it for `k * overfetch_factor` (at most 1000) and may return fewer than `k` hits
        when other collections crowd the neighbourhood; a server advertising
        `vector.collection_filter` is asked for the collection instead."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ThemisBadRequest(f"k must be a whole number of at least 1, got {k!r}")
        scope = "all collections" if collection is None else collection
        what = f"search {k} nearest vectors in {scope}"
        query = check_vector(vector, self.settings.dimension, what)
        body: dict[str, Any] = {"vector": query, "k": k}
        if collection is not None:
            check_collection(collection)
            if (await self.features()).collection_filter:
                body["collection"] = collection
            else:
                overfetch = max(1, self.settings.overfetch_factor)
                body["k"] = max(k, min(k * overfetch, MAX_OVERFETCH_K))
        answer = expect_object(await self.wire.call(what, "POST", "/vector/search", body), what)
        results = answer.get("results")
        if not isinstance(results, list):
            raise ThemisProtocolError(f"ThemisDB's answer to {what} has no results list")
        hits: list[VectorHit] = []
        for result in results:
            hit = _hit(result, what)
            if collection is None or hit.collection == collection:
                hits.append(hit)
                if len(hits) == k:
                    break
        return hits

    async def index_info(self) -> IndexInfo:
        what = "read vector index stats"
        body = expect_object(await self.wire.call(what, "GET", "/vector/index/stats"), what)
        metric = body.get("metric")
        object_name = body.get("objectName")
        return IndexInfo(
            dimension=_optional_count(body.get("dimension")),
            metric=metric.lower() if isinstance(metric, str) else "cosine",
            vector_count=_optional_count(body.get("vectorCount")) or 0,
            object_name=object_name if isinstance(object_name, str) else "documents",
        )

    # --- graph ----------------------------------------------------------------------

    async def add_edge(self, edge: Edge) -> None:
        """`POST /graph/edge`; a server without that route (404 "Endpoint not found") gets
        the edge through `/content/import` instead, and the backend remembers that."""
        check_edge(edge)
        what = f"add edge {edge.id}"
        if self.edge_route == "graph-edge":
            try:
                await self.wire.call(what, "POST", "/graph/edge", graph_edge_body(edge))
                return
            except MissingRoute:
                self.edge_route = "content-import"
                _log.info("themis_edge_fallback", url=self.wire.url, route="/content/import")
        await self.wire.call(what, "POST", "/content/import", content_import_body(edge))

    async def delete_edge(self, edge_id: str) -> None:
        if not isinstance(edge_id, str) or not edge_id:
            raise ThemisBadRequest(f"invalid edge id {edge_id!r}")
        what = f"delete edge {edge_id}"
        try:
            await self.wire.call(what, "DELETE", f"/graph/edge/{path_segment(edge_id)}")
        except MissingRoute:
            raise ThemisUnsupported(
                "this ThemisDB server cannot delete edges: it has no DELETE /graph/edge route"
            ) from None
        except ThemisNotFound:
            return

    async def traverse(self, query: TraversalQuery) -> Traversal:
        """The released server's `/graph/traverse` is an outbound BFS over all edge types that
        returns visited vertices only: `edges`, `paths` and `depths` stay empty. `min_depth`
        of 1 drops the start vertex (the only one at depth 0). Other directions, an edge type
        or a larger `min_depth` are sent to a server that advertises them (see `features`)
        and otherwise raise `ThemisUnsupported`: the released server needs AQL for them."""
        check_traversal(query)
        body: dict[str, Any] = {"start_vertex": query.start, "max_depth": query.max_depth}
        extended = query.direction != "out" or query.edge_type is not None or query.min_depth > 1
        if extended:
            body.update(extended_traversal(query, await self.features()))
        what = f"traverse from {query.start}"
        answer = expect_object(await self.wire.call(what, "POST", "/graph/traverse", body), what)
        visited = answer.get("visited")
        if not isinstance(visited, list) or not all(isinstance(v, str) for v in visited):
            raise ThemisProtocolError(f"ThemisDB's answer to {what} has no visited list")
        if query.min_depth and "min_depth" not in body:
            visited = [v for v in visited if v != query.start]
        return Traversal(start=query.start, vertices=visited, edges=[], paths=[])

    # --- AQL and secondary indexes ------------------------------------------------------

    async def aql(
        self,
        query: str,
        bind_vars: Mapping[str, Any] | None = None,
        *,
        batch_size: int | None = None,
        cursor: str | None = None,
        explain: bool = False,
        allow_full_scan: bool = False,
    ) -> AqlResult:
        """`POST /query/aql` with the binds written in as literals (see `http/aql.py`).
        Nothing is sent for a query that does not parse or lacks a bind."""
        binds = {} if bind_vars is None else bind_vars
        parsed = parse(query)
        text = substitute(query, binds)
        key = fingerprint(query, binds, allow_full_scan=allow_full_scan)
        max_batch = self.settings.aql.max_batch_size
        skip, take = page(self._cursors, key, batch_size, None, max_batch)
        server_cursor: str | None = None
        if cursor is not None:
            opened = self._cursors.open(cursor, key)
            take = batch_size if batch_size is not None else opened.batch_size
            if isinstance(opened.position, str):
                server_cursor = opened.position
            else:
                skip = max(0, opened.position)
        body: dict[str, Any] = {"query": text}
        if allow_full_scan:
            body["allow_full_scan"] = True
        if explain:
            body["explain"] = True
        if take is not None and skip == 0:
            body.update(use_cursor=True, batch_size=take)
            if server_cursor is not None:
                body["cursor"] = server_cursor
        try:
            response = await self.wire.call(wire_aql.WHAT, "POST", "/query/aql", body)
        except ThemisBadRequest as exc:
            raise wire_aql.typed_error(exc) from None
        answer = expect_object(response, wire_aql.WHAT)
        stored = returns_stored(parsed)
        next_cursor: str | None = None
        if isinstance(answer.get("items"), list):
            results = wire_aql.decode(answer["items"], stored)
            has_more = answer.get("has_more") is True
            following = answer.get("next_cursor")
            if has_more and following is not None and take is not None:
                next_cursor = self._cursors.issue(key, str(following), take)
            has_more = next_cursor is not None
        else:
            everything = wire_aql.decode(wire_aql.entries(answer), stored)
            end = len(everything) if take is None else skip + take
            results = everything[skip:end]
            has_more = len(everything) > end
            if has_more and take is not None:
                next_cursor = self._cursors.issue(key, end, take)
        details = None
        if explain:
            details = {name: answer[name] for name in wire_aql.EXPLAIN_KEYS if name in answer}
        return AqlResult(results, len(results), has_more, next_cursor, details)

    async def create_index(
        self, collection: str, field: str, type: str | None = None, *, unique: bool = False
    ) -> dict[str, Any]:
        """`POST /index/create`. The released server indexes only rows written later, until
        `reindex`."""
        check_collection(collection)
        body: dict[str, Any] = {"table": collection, "column": field}
        if type is not None:
            body["type"] = type
        if unique:
            body["unique"] = True
        what = f"create an index on {collection}.{field}"
        return expect_object(await self.wire.call(what, "POST", "/index/create", body), what)

    async def drop_index(self, collection: str, field: str) -> dict[str, Any]:
        check_collection(collection)
        what = f"drop the index on {collection}.{field}"
        body = {"table": collection, "column": field}
        return expect_object(await self.wire.call(what, "POST", "/index/drop", body), what)

    async def reindex(self, collection: str) -> dict[str, Any]:
        check_collection(collection)
        what = f"rebuild the indexes of {collection}"
        body = {"table": collection}
        return expect_object(await self.wire.call(what, "POST", "/index/reindex", body), what)


def _hit(result: Any, what: str) -> VectorHit:
    if isinstance(result, dict):
        pk, distance = result.get("pk"), result.get("distance")
        if isinstance(pk, str) and isinstance(distance, int | float):
            collection, key = split_pk(pk)
            return VectorHit(collection=collection, key=key, distance=float(distance))
    raise ThemisProtocolError(f"ThemisDB's answer to {what} has a malformed hit: {result!r}")


def _count(answer: Mapping[str, Any], field: str, what: str) -> int:
    value = answer.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ThemisProtocolError(f"ThemisDB's answer to {what} has no count {field!r}")
    return value


def _optional_count(value: Any) -> int | None:
    """A positive count, or None for absent/zero (a fresh index reports dimension 0)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value
