"""Running a query in the embedded engine: SQLite does what it can, Python the rest.

The plan, per query (after binds are resolved):
1. FILTER conditions are split at their top-level ANDs. LET variables that only name a
   field (`LET a = u.age`) are seen through, so `FILTER a > 30` is a condition on `u.age`.
2. A condition on one collection loop's variable that `compile_sqlite` can express goes
   into that loop's SQL. Any other condition on that variable alone is checked in Python
   as rows are read, before joins; the rest after the LETs, as written.
3. A second loop joined by `inner.field == <expression of earlier loops>` is a hash join
   (one scan of the inner collection); without such a condition, a nested loop.
4. With one collection loop and every condition in SQL, SORT goes into SQL too, and then
   LIMIT — and the page a cursor asks for — so SQLite reads no more rows than it returns.
5. Traversals walk the engine's in-memory graph and load their vertices' documents.
6. LET, the remaining FILTERs, SORT, LIMIT, COLLECT/AGGREGATE and RETURN run in Python,
   lazily where they can (a query without SORT stops reading once its page is full).

Work is bounded: at most `max_rows` rows are read or joined, and a query running longer
than `timeout` seconds is stopped (SQLite through its progress handler) with a 400.
Results are deterministic: rows are read in key order unless sorted, and a sort is stable.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .ast import (
    Binary,
    Expr,
    ForCollection,
    ForTraversal,
    Query,
)
from .collect import collected
from .compile_sqlite import ConditionCompiler, order_by, select
from .errors import AqlFullScan, AqlLimitExceeded
from .evaluate import Row, compile_condition, compile_expr, copier, field_path
from .traversal import Traverse, traversal_rows
from .trees import (
    aliases,
    conjuncts,
    field_uses,
    loop_variables,
    replace_variables,
    variables,
)
from .values import freeze, sort_key

IndexedFields = Callable[[sqlite3.Connection, str], frozenset[str]]

_decode = msgspec.json.Decoder().decode
_CHECK_EVERY = 4096
_PROGRESS_OPS = 10_000


@dataclass(frozen=True)
class Limits:
    max_rows: int = 1_000_000
    timeout: float = 30.0


@dataclass
class Outcome:
    results: list[Any]
    has_more: bool
    explain: dict[str, Any] | None = None


@dataclass
class _Scan:
    """How one collection loop reads its rows."""

    variable: str
    collection: str
    indexed: frozenset[str]
    sql_conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    python_conditions: list[Expr] = field(default_factory=list)
    join: tuple[tuple[str, ...], Expr] | None = None
    sort: list[tuple[tuple[str, ...], bool]] | None = None
    limit: tuple[int, int] | None = None
    sql: str = ""


class _Budget:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rows = 0
        self.deadline = time.monotonic() + limits.timeout

    def spend(self, rows: int = 1) -> None:
        before = self.rows
        self.rows += rows
        if self.rows > self.limits.max_rows:
            raise AqlLimitExceeded(
                f"the query reads or joins more than {self.limits.max_rows} rows; narrow it "
                "with FILTER (and an index), or join on an equality"
            )
        if before // _CHECK_EVERY != self.rows // _CHECK_EVERY:
            self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.too_slow()

    def too_slow(self) -> AqlLimitExceeded:
        return AqlLimitExceeded(f"the query ran longer than {self.limits.timeout:g} seconds")

    def progress(self) -> int:
        """SQLite's progress handler: non-zero stops the statement."""
        return 1 if time.monotonic() > self.deadline else 0


def run(
    connection: sqlite3.Connection,
    query: Query,
    *,
    indexed_fields: IndexedFields,
    traverse: Traverse | None,
    allow_full_scan: bool,
    skip: int = 0,
    take: int | None = None,
    limits: Limits = Limits(),
    explain: bool = False,
) -> Outcome:
    """The page `[skip, skip + take)` of the query's results (all from `skip` when `take`
    is None), and whether more follow."""
    budget = _Budget(limits)
    connection.set_progress_handler(budget.progress, _PROGRESS_OPS)
    # one read transaction: every statement of the query (scans, joins, vertex lookups, the
    # index registry) sees the same committed state
    connection.execute("BEGIN DEFERRED")
    try:
        return _Run(connection, query, indexed_fields, traverse, budget).execute(
            allow_full_scan, skip, take, explain
        )
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise budget.too_slow() from None
        raise
    finally:
        connection.set_progress_handler(None, 0)
        if connection.in_transaction:
            connection.execute("COMMIT")


class _Run:
    def __init__(
        self,
        connection: sqlite3.Connection,
        query: Query,
        indexed_fields: IndexedFields,
        traverse: Traverse | None,
        budget: _Budget,
    ) -> None:
        self.connection = connection
        self.query = query
        self.indexed_fields = indexed_fields
        self.traverse = traverse
        self.budget = budget
        self.aliases = aliases(query)
        self.cursors: list[sqlite3.Cursor] = []

    # --- planning ---------------------------------------------------------------------------

    def plan(self, allow_full_scan: bool) -> tuple[list[_Scan | None], list[Expr]]:
        """Per loop its scan (None for traversals), and the conditions left for after LET."""
        query = self.query
        scans: list[_Scan | None] = []
        for loop in query.fors:
            if isinstance(loop, ForCollection):
                assert isinstance(loop.collection, str)
                indexed = self.indexed_fields(self.connection, loop.collection)
                scans.append(_Scan(loop.variable, loop.collection, indexed))
            else:
                scans.append(None)
        remaining: list[Expr] = []
        loops = {scan.variable: (i, scan) for i, scan in enumerate(scans) if scan is not None}
        loop_order = loop_variables(query)
        for condition in conjuncts(query.filters):
            seen = self.inline(condition)
            used = variables(seen)
            if len(used) == 1 and (only := next(iter(used))) in loops:
                _, scan = loops[only]
                compiled = ConditionCompiler(only, scan.indexed).compile(seen)
                if compiled is not None:
                    scan.sql_conditions.append(compiled[0])
                    scan.params.extend(compiled[1])
                else:
                    scan.python_conditions.append(seen)
                continue
            join = self._join_key(seen, loops, loop_order)
            if join is not None:
                continue
            remaining.append(condition)
        if not allow_full_scan:
            self._check_indexes(scans)
        return scans, remaining

    def inline(self, expr: Expr) -> Expr:
        """`expr` with field-naming LET variables replaced by the fields they name."""
        if not self.aliases:
            return expr
        return replace_variables(expr, self.aliases)

    def _join_key(
        self,
        condition: Expr,
        loops: dict[str, tuple[int, _Scan]],
        order: dict[str, int],
    ) -> tuple[str, ...] | None:
        """Make `inner.field == expr-of-earlier-loops` the join of the inner loop."""
        if not isinstance(condition, Binary) or condition.operator != "==":
            return None
        for side, other in ((condition.left, condition.right), (condition.right, condition.left)):
            path = field_path(side)
            if path is None or path[0] not in loops:
                continue
            position, scan = loops[path[0]]
            if position == 0 or scan.join is not None:
                continue
            others = variables(other)
            if others and all(order.get(name, position) < position for name in others):
                scan.join = (path[1], other)
                return path[1]
        return None

    def _check_indexes(self, scans: list[_Scan | None]) -> None:
        """The server's rule: a collection loop needs a FILTER, and every field FILTER or
        SORT compares needs an index, unless full scans are allowed."""
        uses: dict[str, set[str | None]] = {s.variable: set() for s in scans if s is not None}
        computed = aliases(self.query, every=True)
        for condition in conjuncts(self.query.filters):
            field_uses(replace_variables(condition, computed), uses)
        for key in self.query.sort:
            field_uses(replace_variables(key.expr, computed), uses)
        for scan in scans:
            if scan is None:
                continue
            fields = uses[scan.variable]
            where = f"FOR {scan.variable} IN {scan.collection}"
            if not fields:
                raise AqlFullScan(
                    f"{where} has no FILTER on {scan.variable}, so it would read the whole "
                    "collection: add a FILTER on an indexed field, or allow full scans"
                )
            if None in fields:
                raise AqlFullScan(
                    f"{where}: a condition uses the whole document {scan.variable}, which no "
                    "index can answer; allow full scans for it"
                )
            missing = sorted(f for f in fields if f is not None and f not in scan.indexed)
            if missing:
                names = ", ".join(f"{scan.collection}.{f}" for f in missing)
                raise AqlFullScan(
                    f"no index on {names}: FILTER and SORT on an unindexed field scan the "
                    "whole collection; create an index (POST /index/create), or allow full scans"
                )

    # --- executing --------------------------------------------------------------------------

    def execute(self, allow_full_scan: bool, skip: int, take: int | None, explain: bool) -> Outcome:
        query = self.query
        scans, remaining = self.plan(allow_full_scan)
        sort_in_sql = limit_in_sql = window_in_sql = False
        first = scans[0]
        if len(scans) == 1 and first is not None and not first.python_conditions and not remaining:
            sort_in_sql = self._push_sort(first)
            if sort_in_sql or not query.sort:
                limit_in_sql, window_in_sql = self._push_limit(first, skip, take)
        for scan in scans:
            if scan is not None:
                order = order_by(scan.sort) if scan.sort else "ORDER BY key"
                scan.sql = select(scan.collection, scan.sql_conditions, order, scan.limit)
        try:
            rows = self._rows(scans)
            rows = self._lets(rows)
            conditions = [compile_condition(c) for c in remaining]
            if conditions:
                rows = (row for row in rows if all(check(row) for check in conditions))
            if query.sort and not sort_in_sql:
                rows = self._sorted(rows)
            if query.limit is not None and not limit_in_sql:
                offset, count = query.limit.offset, query.limit.count
                assert isinstance(offset, int)
                assert isinstance(count, int)
                rows = itertools.islice(rows, offset, offset + count)
            if query.collect is not None:
                rows = collected(rows, query.collect)
            returned = compile_expr(query.returns)
            detach = copier(query.returns)
            values = (detach(returned(row)) for row in rows)
            start = 0 if window_in_sql else skip
            if take is None:
                page = list(itertools.islice(values, start, None))
                has_more = False
            else:
                page = list(itertools.islice(values, start, start + take + 1))
                has_more = len(page) > take
                del page[take:]
        finally:
            for cursor in self.cursors:
                cursor.close()
        plan = self._explain(scans, remaining, sort_in_sql, limit_in_sql) if explain else None
        return Outcome(page, has_more, plan)

    def _push_sort(self, scan: _Scan) -> bool:
        keys: list[tuple[tuple[str, ...], bool]] = []
        for key in self.query.sort:
            path = field_path(self.inline(key.expr))
            if path is None or path[0] != scan.variable:
                return False
            keys.append((path[1], key.descending))
        if keys:
            scan.sort = keys
        return bool(keys)

    def _push_limit(self, scan: _Scan, skip: int, take: int | None) -> tuple[bool, bool]:
        """LIMIT (and, without COLLECT, the page) as SQL `LIMIT ? OFFSET ?`."""
        limit = self.query.limit
        offset, count = 0, None
        if limit is not None:
            assert isinstance(limit.offset, int)
            assert isinstance(limit.count, int)
            offset, count = limit.offset, limit.count
        window = self.query.collect is None
        if window:
            offset += skip
            if count is not None:
                count = max(0, count - skip)
            if take is not None:
                count = take + 1 if count is None else min(count, take + 1)
        if count is None:
            return limit is not None, window and limit is not None
        scan.limit = (min(count, 2**62), min(offset, 2**62))
        return True, window

    def _rows(self, scans: list[_Scan | None]) -> Iterator[Row]:
        rows: Iterator[Row] = iter([{}])
        for position, (loop, scan) in enumerate(zip(self.query.fors, scans, strict=True)):
            if scan is None:
                assert isinstance(loop, ForTraversal)
                rows = self._cross(rows, self._traversal(loop))
            elif scan.join is not None:
                rows = self._hash_join(rows, scan)
            elif position == 0:
                rows = self._scan(scan)
            else:
                rows = self._cross(rows, self._scan(scan))
        return rows

    def _scan(self, scan: _Scan) -> Iterator[Row]:
        cursor = self.connection.execute(scan.sql, [*scan.params, *(scan.limit or ())])
        self.cursors.append(cursor)
        checks = [compile_condition(c) for c in scan.python_conditions]
        variable = scan.variable
        spend = self.budget.spend
        for _, body in cursor:
            spend()
            row = {variable: _decode(body)}
            if all(check(row) for check in checks):
                yield row

    def _cross(self, outer: Iterator[Row], inner: Iterable[Row]) -> Iterator[Row]:
        materialised = list(inner)
        spend = self.budget.spend
        for row in outer:
            for other in materialised:
                spend()
                yield {**row, **other}

    def _hash_join(self, outer: Iterator[Row], scan: _Scan) -> Iterator[Row]:
        assert scan.join is not None
        names, outer_key = scan.join
        table: dict[Hashable, list[Row]] = {}
        for row in self._scan(scan):
            value: Any = row[scan.variable]
            for name in names:
                value = value.get(name) if type(value) is dict else None
            table.setdefault(freeze(value), []).append(row)
        key = compile_expr(outer_key)
        spend = self.budget.spend
        for row in outer:
            for other in table.get(freeze(key(row)), ()):
                spend()
                yield {**row, **other}

    def _traversal(self, loop: ForTraversal) -> list[Row]:
        if self.traverse is None:
            raise RuntimeError("a traversal needs the engine's graph")
        return traversal_rows(self.connection, loop, self.traverse, self.budget.spend)

    def _lets(self, rows: Iterator[Row]) -> Iterator[Row]:
        lets = [(let.variable, compile_expr(let.expr)) for let in self.query.lets]
        if not lets:
            return rows

        def computed() -> Iterator[Row]:
            for row in rows:
                for name, value in lets:
                    row[name] = value(row)
                yield row

        return computed()

    def _sorted(self, rows: Iterator[Row]) -> Iterator[Row]:
        materialised = list(rows)
        for key in reversed(self.query.sort):
            value = compile_expr(key.expr)
            materialised.sort(key=lambda row: sort_key(value(row)), reverse=key.descending)
        return iter(materialised)

    # --- explain ----------------------------------------------------------------------------

    def _explain(
        self,
        scans: list[_Scan | None],
        remaining: list[Expr],
        sort_in_sql: bool,
        limit_in_sql: bool,
    ) -> dict[str, Any]:
        steps: list[dict[str, Any]] = []
        for loop, scan in zip(self.query.fors, scans, strict=True):
            if scan is None:
                assert isinstance(loop, ForTraversal)
                steps.append(
                    {
                        "step": "traversal",
                        "variable": loop.vertex,
                        "depth": [loop.min_depth, loop.max_depth],
                        "direction": loop.direction,
                        "engine": "in-memory graph",
                    }
                )
                continue
            params = [*scan.params, *(scan.limit or ())]
            plan = self.connection.execute("EXPLAIN QUERY PLAN " + scan.sql, params).fetchall()
            steps.append(
                {
                    "step": "join" if scan.join is not None else "scan",
                    "variable": scan.variable,
                    "collection": scan.collection,
                    "indexes": sorted(scan.indexed),
                    "sql": scan.sql,
                    "parameters": params,
                    "sqlite_plan": [str(row[-1]) for row in plan],
                    "conditions_in_sql": len(scan.sql_conditions),
                    "conditions_in_python": len(scan.python_conditions),
                    "join": None if scan.join is None else ".".join(scan.join[0]),
                }
            )
        python: list[str] = []
        if self.query.lets:
            python.append("LET")
        if remaining:
            python.append("FILTER")
        if self.query.sort and not sort_in_sql:
            python.append("SORT")
        if self.query.limit is not None and not limit_in_sql:
            python.append("LIMIT")
        if self.query.collect is not None:
            python.append("COLLECT")
        python.append("RETURN")
        return {
            "engine": "embedded",
            "steps": steps,
            "sort_in_sql": sort_in_sql,
            "limit_in_sql": limit_in_sql,
            "in_python": python,
        }
