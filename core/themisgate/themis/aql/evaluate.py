"""Expressions compiled to Python closures, once per query, then called per row.

A row is a dict from variable name to value. Compiling first means a FILTER evaluated over
100,000 rows pays for its tree walk once, not 100,000 times; `IN` over a constant array
becomes a set lookup. Semantics are those of `values.py`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .ast import ArrayOf, Attribute, Binary, Bind, Call, Constant, Expr, ObjectOf, Unary, Variable
from .errors import AqlBindError
from .functions import FUNCTIONS
from .values import (
    arithmetic,
    compare,
    contains,
    freeze,
    is_number,
    truthy,
)

Row = dict[str, Any]
Compiled = Callable[[Row], Any]


def compile_expr(expr: Expr) -> Compiled:
    """A function computing `expr` for a row."""
    if isinstance(expr, Constant):
        value = expr.value
        return lambda row: value
    if isinstance(expr, Variable):
        name = expr.name
        return lambda row: row.get(name)
    if isinstance(expr, Attribute):
        return _attribute(expr)
    if isinstance(expr, Unary):
        operand = compile_expr(expr.operand)
        if expr.operator == "not":
            return lambda row: not truthy(operand(row))
        return lambda row: _negate(operand(row))
    if isinstance(expr, Binary):
        return _binary(expr)
    if isinstance(expr, Call):
        _, _, function = FUNCTIONS[expr.name]
        args = [compile_expr(arg) for arg in expr.args]
        return lambda row: function(*(arg(row) for arg in args))
    if isinstance(expr, ArrayOf):
        items = [compile_expr(item) for item in expr.items]
        return lambda row: [item(row) for item in items]
    if isinstance(expr, ObjectOf):
        pairs = [(key, compile_expr(value)) for key, value in expr.items]
        return lambda row: {key: value(row) for key, value in pairs}
    if isinstance(expr, Bind):
        raise AqlBindError(f"bind variable @{expr.name} has no value")
    raise TypeError(f"not an expression: {expr!r}")


def compile_condition(expr: Expr) -> Callable[[Row], bool]:
    """A FILTER: the expression's truth."""
    compiled = compile_expr(expr)
    return lambda row: truthy(compiled(row))


def detached(expr: Expr) -> bool:
    """Whether results of `expr` may share a container with the (cached) query tree, so
    must be copied before they leave the engine."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Constant) and isinstance(node.value, list | dict):
            return True
        if isinstance(node, Attribute):
            stack.append(node.object)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Binary):
            stack.extend((node.left, node.right))
        elif isinstance(node, Call):
            stack.extend(node.args)
        elif isinstance(node, ArrayOf):
            stack.extend(node.items)
        elif isinstance(node, ObjectOf):
            stack.extend(value for _, value in node.items)
    return False


def copier(expr: Expr) -> Callable[[Any], Any]:
    """Identity, or a deep copy when `detached(expr)`."""
    return copy.deepcopy if detached(expr) else _identity


def _identity(value: Any) -> Any:
    return value


def field_path(expr: Expr) -> tuple[str, tuple[str, ...]] | None:
    """`(variable, ("a", "b"))` for `variable.a.b`, else None."""
    names: list[str] = []
    node = expr
    while isinstance(node, Attribute):
        names.append(node.name)
        node = node.object
    if isinstance(node, Variable) and names:
        return node.name, tuple(reversed(names))
    return None


def _attribute(expr: Attribute) -> Compiled:
    path = field_path(expr)
    if path is not None:
        variable, names = path
        if len(names) == 1:
            (name,) = names

            def one(row: Row) -> Any:
                value = row.get(variable)
                return value.get(name) if type(value) is dict else None

            return one

        def nested(row: Row) -> Any:
            value = row.get(variable)
            for name in names:
                if type(value) is not dict:
                    return None
                value = value.get(name)
            return value

        return nested
    obj = compile_expr(expr.object)
    name = expr.name

    def attribute(row: Row) -> Any:
        value = obj(row)
        return value.get(name) if type(value) is dict else None

    return attribute


def _negate(value: Any) -> Any:
    return -value if is_number(value) else None


def _binary(expr: Binary) -> Compiled:
    operator = expr.operator
    left = compile_expr(expr.left)
    if operator == "and":
        right = compile_expr(expr.right)
        return lambda row: truthy(left(row)) and truthy(right(row))
    if operator == "or":
        right = compile_expr(expr.right)
        return lambda row: truthy(left(row)) or truthy(right(row))
    if operator in ("in", "not in"):
        negated = operator == "not in"
        if isinstance(expr.right, Constant) and isinstance(expr.right.value, list):
            members = frozenset(freeze(item) for item in expr.right.value)
            if negated:
                return lambda row: freeze(left(row)) not in members
            return lambda row: freeze(left(row)) in members
        right = compile_expr(expr.right)
        if negated:
            return lambda row: not contains(right(row), left(row))
        return lambda row: contains(right(row), left(row))
    right = compile_expr(expr.right)
    if operator in ("==", "!=", "<", "<=", ">", ">="):
        return lambda row: compare(operator, left(row), right(row))
    return lambda row: arithmetic(operator, left(row), right(row))
