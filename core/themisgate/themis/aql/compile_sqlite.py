"""FILTER, SORT and LIMIT over one collection, compiled to SQL on the `documents` table.

Documents are JSON text in `documents.body`; a field is `json_extract(body, '$.a.b')`
(SQL NULL when missing or JSON null, booleans as 1/0, arrays and objects as JSON text).
The SQL must mean exactly what `values.py` defines, whatever the stored types, so each
comparison carries a type guard where SQLite's own cross-type rules would differ — e.g.
`d.n >= 0` must not match `true` (1 in SQL), `d.s < "m"` must not match a number. Guards
are chosen so SQLite can still use an index; a condition the compiler cannot express
exactly is left to Python (`compile_condition` returns None).

Indexes (`indexes.py`) are partial expression indexes on `(rank, value)` of a field,
`WHERE collection = '<name>'`: `rank` orders types (null < booleans < numbers < strings <
arrays < objects) and `value` is the `json_extract`. A condition on an indexed field is
written `rank = R AND value <op> ?`, which SQLite answers from the index, and a SORT is
`ORDER BY rank, value`, which it can read from the index in order. For fields without an
index the cheapest exact guard is used instead.

Every atom yields 1, 0 or NULL, where NULL means false; `NOT x` is written
`NOT ifnull(x, 0)` so that three-valued logic can never turn a false into a true.
"""

from __future__ import annotations

from typing import Any

from .ast import Binary, Constant, Expr, Unary
from .evaluate import field_path
from .values import (
    RANK_ARRAY,
    RANK_BOOL,
    RANK_NULL,
    RANK_NUMBER,
    RANK_OBJECT,
    RANK_STRING,
    rank,
    truthy,
)

_INT64 = (-(2**63), 2**63 - 1)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_TYPES = {
    RANK_BOOL: "('true', 'false')",
    RANK_NUMBER: "('integer', 'real')",
    RANK_STRING: "('text')",
}


def json_path(names: tuple[str, ...]) -> str:
    """`'$.a.b'` — names are AQL identifiers (letters, digits, `_`), so need no quoting."""
    return "'$." + ".".join(names) + "'"


def sql_value(names: tuple[str, ...]) -> str:
    return f"json_extract(body, {json_path(names)})"


def sql_type(names: tuple[str, ...]) -> str:
    return f"json_type(body, {json_path(names)})"


def sql_rank(names: tuple[str, ...]) -> str:
    """The field's type rank (values.py); an index's first column, so its text is fixed."""
    return (
        f"CASE {sql_type(names)} WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 "
        "WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'array' THEN 4 WHEN 'object' THEN 5 "
        "ELSE 0 END"
    )


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_scalar(value: Any) -> bool:
    """Whether a constant can be a SQL parameter with the same meaning."""
    if value is None or isinstance(value, bool | str | float):
        return True
    return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]


class ConditionCompiler:
    """Compiles conditions on one loop variable; `indexed` holds its collection's indexed
    fields (dotted names), which decides how each comparison is guarded."""

    def __init__(self, variable: str, indexed: frozenset[str]) -> None:
        self.variable = variable
        self.indexed = indexed

    def compile(self, expr: Expr) -> tuple[str, list[Any]] | None:
        """`(sql, parameters)` meaning exactly `expr` as a FILTER, or None."""
        params: list[Any] = []
        sql = self._condition(expr, params)
        return None if sql is None else (sql, params)

    def _condition(self, expr: Expr, params: list[Any]) -> str | None:
        if isinstance(expr, Constant):
            return "1" if truthy(expr.value) else "0"
        if isinstance(expr, Unary) and expr.operator == "not":
            inner = self._condition(expr.operand, params)
            return None if inner is None else f"NOT ifnull(({inner}), 0)"
        if not isinstance(expr, Binary):
            return None
        operator = expr.operator
        if operator in ("and", "or"):
            mark = len(params)
            left = self._condition(expr.left, params)
            right = None if left is None else self._condition(expr.right, params)
            if left is None or right is None:
                del params[mark:]
                return None
            return f"({left}) {operator.upper()} ({right})"
        if operator in ("in", "not in"):
            sql = self._membership(expr, params)
            if sql is None or operator == "in":
                return sql
            return f"NOT ifnull(({sql}), 0)"
        if operator in _FLIP:
            return self._comparison(expr, params)
        return None

    def _field(self, expr: Expr) -> tuple[str, ...] | None:
        path = field_path(expr)
        if path is None or path[0] != self.variable:
            return None
        return path[1]

    def _comparison(self, expr: Binary, params: list[Any]) -> str | None:
        operator = expr.operator
        names = self._field(expr.left)
        other = expr.right
        if names is None:
            names, other = self._field(expr.right), expr.left
            operator = _FLIP[operator]  # type: ignore[assignment]
        if names is None or not isinstance(other, Constant):
            return None
        value = other.value
        if operator == "!=":
            equal = self._equal(names, value, params)
            return None if equal is None else f"NOT ifnull(({equal}), 0)"
        if operator == "==":
            return self._equal(names, value, params)
        return self._ordered(names, operator, value, params)

    def _equal(self, names: tuple[str, ...], value: Any, params: list[Any]) -> str | None:
        if not sql_scalar(value):
            return None
        kind = rank(value)
        if ".".join(names) in self.indexed:
            if kind == RANK_NULL:
                return f"{sql_rank(names)} = 0"
            params.append(int(value) if kind == RANK_BOOL else value)
            return f"{sql_rank(names)} = {kind} AND {sql_value(names)} = ?"
        if kind == RANK_NULL:
            return f"ifnull({sql_type(names)}, 'null') = 'null'"
        if kind == RANK_BOOL:
            return f"{sql_type(names)} = {sql_text('true' if value else 'false')}"
        params.append(value)
        if kind == RANK_NUMBER:
            return f"{sql_value(names)} = ? AND {sql_type(names)} IN {_TYPES[kind]}"
        if value.startswith(("[", "{")):  # could equal an array's or object's JSON text
            return f"{sql_value(names)} = ? AND {sql_type(names)} = 'text'"
        return f"{sql_value(names)} = ?"

    def _ordered(
        self, names: tuple[str, ...], operator: str, value: Any, params: list[Any]
    ) -> str | None:
        kind = rank(value)
        if kind in (RANK_NULL, RANK_ARRAY, RANK_OBJECT):
            return "0"  # null, arrays and objects order against nothing
        if not sql_scalar(value):
            return None  # an integer beyond SQLite's 64 bits
        params.append(int(value) if kind == RANK_BOOL else value)
        if ".".join(names) in self.indexed:
            return f"{sql_rank(names)} = {kind} AND {sql_value(names)} {operator} ?"
        return f"{sql_value(names)} {operator} ? AND {sql_type(names)} IN {_TYPES[kind]}"

    def _membership(self, expr: Binary, params: list[Any]) -> str | None:
        names = self._field(expr.left)
        if names is not None and isinstance(expr.right, Constant):
            members = expr.right.value
            if not isinstance(members, list):
                return "0"
            parts: list[str] = []
            mark = len(params)
            for member in members:
                part = self._equal(names, member, params)
                if part is None:
                    del params[mark:]
                    return None
                parts.append(f"({part})")
            return " OR ".join(parts) if parts else "0"
        names = self._field(expr.right)
        if names is None or not isinstance(expr.left, Constant):
            return None
        value = expr.left.value
        if not sql_scalar(value):
            return None
        kind = rank(value)
        if kind == RANK_NULL:
            element = "type = 'null'"
        elif kind == RANK_BOOL:
            element = f"type = {sql_text('true' if value else 'false')}"
        else:
            params.append(value)
            element = f"type IN {_TYPES[kind]} AND value = ?"
        elements = f"SELECT 1 FROM json_each(body, {json_path(names)}) WHERE {element}"  # noqa: S608
        return f"{sql_type(names)} = 'array' AND EXISTS ({elements})"


def order_by(keys: list[tuple[tuple[str, ...], bool]]) -> str:
    """`ORDER BY` for sort keys `(field names, descending)`, ending in `key` so the order
    is total and equals a stable sort of rows read in key order."""
    terms: list[str] = []
    for names, descending in keys:
        direction = " DESC" if descending else ""
        terms.append(f"{sql_rank(names)}{direction}")
        terms.append(f"{sql_value(names)}{direction}")
    terms.append("key")
    return "ORDER BY " + ", ".join(terms)


def select(
    collection: str,
    conditions: list[str],
    order: str,
    limit: tuple[int, int] | None,
) -> str:
    """The scan: `SELECT key, body FROM documents WHERE collection = '<c>' AND …`. The
    collection is a literal so SQLite can match partial indexes on it."""
    where = " AND ".join([f"collection = {sql_text(collection)}", *(f"({c})" for c in conditions)])
    sql = f"SELECT key, body FROM documents WHERE {where} {order}"  # noqa: S608
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
    return sql
