"""`AqlEngine`: what the embedded backend calls to answer AQL.

`prepare` does everything that needs no database (parse, binds, cursor) on the caller's
thread, so a bad request fails before any thread hop; `run` executes on a thread that owns
a SQLite connection. Binds are native here: their values go into the query tree, never
into a query text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import AqlResult
from ..settings import AqlSettings
from .ast import ForTraversal, Query, to_explain
from .binds import resolve
from .cursor import CursorCodec, fingerprint, page
from .execute import IndexedFields, Limits, run
from .parser import parse
from .traversal import Traverse


@dataclass(frozen=True)
class Prepared:
    query: Query
    fingerprint: str
    skip: int
    take: int | None
    explain: bool
    allow_full_scan: bool

    @property
    def uses_graph(self) -> bool:
        return any(isinstance(loop, ForTraversal) for loop in self.query.fors)


class AqlEngine:
    def __init__(self, secret: bytes, settings: AqlSettings, indexed_fields: IndexedFields) -> None:
        """`indexed_fields(connection, collection)`: the fields the store has indexed."""
        self.settings = settings
        self.indexed_fields = indexed_fields
        self.cursors = CursorCodec(secret, settings.cursor_ttl)
        self.limits = Limits(max_rows=settings.max_rows, timeout=settings.timeout)

    def prepare(
        self,
        query: str,
        bind_vars: Mapping[str, Any] | None,
        *,
        batch_size: int | None,
        cursor: str | None,
        explain: bool,
        allow_full_scan: bool,
    ) -> Prepared:
        binds = {} if bind_vars is None else bind_vars
        resolved = resolve(parse(query), binds)
        key = fingerprint(query, binds, allow_full_scan=allow_full_scan)
        skip, take = page(self.cursors, key, batch_size, cursor, self.settings.max_batch_size)
        return Prepared(resolved, key, skip, take, explain, allow_full_scan)

    def run(
        self, connection: sqlite3.Connection, prepared: Prepared, traverse: Traverse | None
    ) -> AqlResult:
        outcome = run(
            connection,
            prepared.query,
            indexed_fields=self.indexed_fields,
            traverse=traverse,
            allow_full_scan=prepared.allow_full_scan,
            skip=prepared.skip,
            take=prepared.take,
            limits=self.limits,
            explain=prepared.explain,
        )
        next_cursor = None
        if outcome.has_more and prepared.take is not None:
            position = prepared.skip + len(outcome.results)
            next_cursor = self.cursors.issue(prepared.fingerprint, position, prepared.take)
        explain = None
        if outcome.explain is not None:
            explain = {"plan": outcome.explain, "ast": to_explain(prepared.query)}
        return AqlResult(
            results=outcome.results,
            count=len(outcome.results),
            has_more=outcome.has_more,
            next_cursor=next_cursor,
            explain=explain,
        )
