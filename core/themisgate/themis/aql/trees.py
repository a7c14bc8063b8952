"""Reading and rewriting query trees for planning: conjuncts, LET aliases, the variables
and fields an expression uses."""

from __future__ import annotations

from collections.abc import Iterable

from .ast import (
    ArrayOf,
    Attribute,
    Binary,
    Call,
    Expr,
    ForCollection,
    ObjectOf,
    Query,
    Unary,
    Variable,
)
from .evaluate import field_path
from .parser import children_of


def conjuncts(conditions: Iterable[Expr]) -> list[Expr]:
    """The FILTER conditions split at their top-level ANDs, in order."""
    parts: list[Expr] = []
    stack = list(reversed(list(conditions)))
    while stack:
        node = stack.pop()
        if isinstance(node, Binary) and node.operator == "and":
            stack.extend((node.right, node.left))
        else:
            parts.append(node)
    return parts


def aliases(query: Query, *, every: bool = False) -> dict[str, Expr]:
    """LET variables whose value is a field of a loop variable (through other aliases),
    each with that field; with `every`, all LET variables with their expressions."""
    loop_names = set(loop_variables(query))
    found: dict[str, Expr] = {}
    for let in query.lets:
        seen = replace_variables(let.expr, found) if found else let.expr
        path = field_path(seen)
        if every or (path is not None and path[0] in loop_names):
            found[let.variable] = seen
    return found


def loop_variables(query: Query) -> dict[str, int]:
    """Each loop variable and the position of its FOR."""
    names: dict[str, int] = {}
    for position, loop in enumerate(query.fors):
        if isinstance(loop, ForCollection):
            names[loop.variable] = position
        else:
            for name in (loop.vertex, loop.edge, loop.path):
                if name is not None:
                    names[name] = position
    return names


def replace_variables(expr: Expr, aliases: dict[str, Expr]) -> Expr:
    if isinstance(expr, Variable):
        return aliases.get(expr.name, expr)
    if isinstance(expr, Attribute):
        return Attribute(replace_variables(expr.object, aliases), expr.name)
    if isinstance(expr, Unary):
        return Unary(expr.operator, replace_variables(expr.operand, aliases))
    if isinstance(expr, Binary):
        left, right = replace_variables(expr.left, aliases), replace_variables(expr.right, aliases)
        return Binary(expr.operator, left, right)
    if isinstance(expr, Call):
        return Call(expr.name, tuple(replace_variables(a, aliases) for a in expr.args))
    if isinstance(expr, ArrayOf):
        return ArrayOf(tuple(replace_variables(item, aliases) for item in expr.items))
    if isinstance(expr, ObjectOf):
        return ObjectOf(tuple((k, replace_variables(v, aliases)) for k, v in expr.items))
    return expr


def variables(expr: Expr) -> set[str]:
    found: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Variable):
            found.add(node.name)
        stack.extend(children_of(node))
    return found


def field_uses(expr: Expr, uses: dict[str, set[str | None]]) -> None:
    """Record, per loop variable, the fields `expr` reads (None: the whole document)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        path = field_path(node)
        if path is not None and path[0] in uses:
            uses[path[0]].add(".".join(path[1]))
            continue
        if isinstance(node, Variable) and node.name in uses:
            uses[node.name].add(None)
        stack.extend(children_of(node))
