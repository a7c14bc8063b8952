"""The query tree: frozen msgspec Structs, tagged so `msgspec.to_builtins` gives a readable
JSON tree (what `explain` shows) and two trees compare equal exactly when they are the same
query — which is how the injection test proves a substituted bind cannot change a query.

Constant arrays and objects are folded into one `Constant` (see `fold`), so `[1, @x]` with
`x = 2` and the text `[1, 2]` give the same tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

import msgspec

Direction = Literal["out", "in", "any"]
BinaryOp = Literal[
    "==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or", "+", "-", "*", "/", "%"
]
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
AGGREGATES = ("COUNT", "SUM", "AVG", "MIN", "MAX")


class Node(msgspec.Struct, frozen=True, tag_field="type"):
    pass


# --- expressions ---------------------------------------------------------------------------


class Constant(Node, tag="literal", frozen=True):
    """A JSON value written in the query (or a bind variable's value, once resolved)."""

    value: Any


class Bind(Node, tag="bind", frozen=True):
    """`@name`, before its value is known."""

    name: str


class Variable(Node, tag="variable", frozen=True):
    name: str


class Attribute(Node, tag="field_access", frozen=True):
    """`object.name`: null when `object` is not an object or has no such field."""

    object: Expr
    name: str


class Call(Node, tag="call", frozen=True):
    """`NAME(args)`; the name upper-cased."""

    name: str
    args: tuple[Expr, ...]


class Unary(Node, tag="unary_op", frozen=True):
    operator: Literal["not", "-"]
    operand: Expr


class Binary(Node, tag="binary_op", frozen=True):
    operator: BinaryOp
    left: Expr
    right: Expr


class ArrayOf(Node, tag="array", frozen=True):
    items: tuple[Expr, ...]


class ObjectOf(Node, tag="object", frozen=True):
    items: tuple[tuple[str, Expr], ...]


Expr: TypeAlias = (
    Constant | Bind | Variable | Attribute | Call | Unary | Binary | ArrayOf | ObjectOf
)


# --- clauses -------------------------------------------------------------------------------


class CollectionBind(Node, tag="collection_bind", frozen=True):
    """`@@name`, before its value is known."""

    name: str


class ForCollection(Node, tag="for", frozen=True):
    variable: str
    collection: str | CollectionBind


class ForTraversal(Node, tag="traversal", frozen=True):
    """`FOR vertex[, edge[, path]] IN min..max OUTBOUND|INBOUND|ANY start [TYPE t] GRAPH g`."""

    vertex: str
    edge: str | None
    path: str | None
    min_depth: int
    max_depth: int
    direction: Direction
    start: Expr
    edge_type: Expr | None
    graph: Expr


For: TypeAlias = ForCollection | ForTraversal


class Let(Node, tag="let", frozen=True):
    variable: str
    expr: Expr


class SortKey(Node, tag="sort_key", frozen=True):
    expr: Expr
    descending: bool = False


class Limit(Node, tag="limit", frozen=True):
    offset: int | Bind
    count: int | Bind


class Aggregate(Node, tag="aggregate", frozen=True):
    variable: str
    function: str
    argument: Expr | None


class Collect(Node, tag="collect", frozen=True):
    """`COLLECT group = expr AGGREGATE …` or `COLLECT AGGREGATE …` (one group of all rows)."""

    group: str | None
    group_expr: Expr | None
    aggregates: tuple[Aggregate, ...]


class Query(Node, tag="query", frozen=True):
    fors: tuple[For, ...]
    lets: tuple[Let, ...]
    filters: tuple[Expr, ...]
    sort: tuple[SortKey, ...]
    limit: Limit | None
    collect: Collect | None
    returns: Expr


# --- helpers -------------------------------------------------------------------------------


def fold(node: Expr) -> Expr:
    """Fold what is constant: `-5`, arrays and objects of constants. Applied as the parser
    builds nodes and again when binds are resolved, so both ways give the same tree."""
    if isinstance(node, Unary) and node.operator == "-" and isinstance(node.operand, Constant):
        value = node.operand.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Constant(-value)
    elif isinstance(node, ArrayOf) and all(isinstance(item, Constant) for item in node.items):
        return Constant([item.value for item in node.items])  # type: ignore[union-attr]
    elif isinstance(node, ObjectOf) and all(isinstance(v, Constant) for _, v in node.items):
        return Constant({key: value.value for key, value in node.items})  # type: ignore[union-attr]
    return node


def collection_of(query: Query, bind_vars: Mapping[str, Any] | None = None) -> str | None:
    """The collection the first FOR reads, `graph` for a traversal (the server's `table`);
    for `@@name`, its value in `bind_vars` (None when not given)."""
    first = query.fors[0]
    if isinstance(first, ForTraversal):
        return "graph"
    if isinstance(first.collection, str):
        return first.collection
    value = (bind_vars or {}).get("@" + first.collection.name)
    return value if isinstance(value, str) else None


def returns_stored(query: Query) -> bool:
    """Whether each result is a stored document, vertex, edge or path — what the server
    sends as a JSON-encoded string — rather than a projection or a plain value."""
    returned = query.returns
    if query.collect is not None or not isinstance(returned, Variable):
        return False
    for loop in query.fors:
        names = (
            (loop.variable,)
            if isinstance(loop, ForCollection)
            else (loop.vertex, loop.edge, loop.path)
        )
        if returned.name in names:
            return True
    return False


def to_explain(query: Query) -> dict[str, Any]:
    """The tree as plain JSON, for `explain`."""
    tree: dict[str, Any] = msgspec.to_builtins(query)
    return tree
