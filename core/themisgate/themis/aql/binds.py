"""Bind variables: `@name` for a value, `@@name` for a collection (its key in `bind_vars`
is `"@name"`, as in ArangoDB).

The embedded engine takes binds natively: `resolve` puts each value into the query tree.
The real server has no bind variables, so for the HTTP backend `substitute` writes each
value into the query text as a literal — strings quoted and escaped the way the server's
lexer reads them, numbers without exponents, arrays and objects as literal expressions,
collections only when they are plain identifiers — and never touches anything else in the
text. Whatever a value holds, it becomes exactly one literal: `parse(substitute(q, b))`
equals `resolve(parse(q), b)` (the injection test proves it).

Either way every bind the query uses must be given and every bind given must be used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from .ast import (
    ArrayOf,
    Attribute,
    Binary,
    Bind,
    Call,
    CollectionBind,
    Constant,
    Expr,
    ForCollection,
    ForTraversal,
    Limit,
    ObjectOf,
    Query,
    Unary,
    fold,
)
from .errors import AqlBindError, AqlUnsendable
from .mutations import forbidden_token
from .parser import children_of, grammar_parser, parse, parse_uncached

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYWORDS = frozenset(
    (
        "for", "in", "let", "filter", "sort", "limit", "collect", "aggregate", "return",
        "and", "or", "not", "type", "graph", "outbound", "inbound", "any", "asc", "desc",
        "true", "false", "null",
    )
)  # fmt: skip
# a literal written after these characters, or before the second, needs a space between,
# or it would run into the neighbouring token (`RETURN@x` -> `RETURNtrue`; the server reads
# `-5` as one number, so `a-@x` must not become `a-5`)
_JOINS_LEFT = re.compile(r"[A-Za-z0-9_\-]")
_JOINS_RIGHT = re.compile(r"[A-Za-z0-9_]")
# deeper bind values are refused: they could not be substituted without deep recursion
MAX_VALUE_DEPTH = 64


def bind_names(query: Query) -> set[str]:
    """The `bind_vars` keys the query needs (`name`, and `@name` for collections)."""
    names: set[str] = set()
    expressions: list[Expr] = []
    for loop in query.fors:
        if isinstance(loop, ForCollection):
            if isinstance(loop.collection, CollectionBind):
                names.add("@" + loop.collection.name)
        else:
            expressions.extend(e for e in (loop.start, loop.edge_type, loop.graph) if e is not None)
    expressions.extend(let.expr for let in query.lets)
    expressions.extend(query.filters)
    expressions.extend(key.expr for key in query.sort)
    if query.limit is not None:
        names.update(v.name for v in (query.limit.offset, query.limit.count) if isinstance(v, Bind))
    if query.collect is not None:
        if query.collect.group_expr is not None:
            expressions.append(query.collect.group_expr)
        expressions.extend(a.argument for a in query.collect.aggregates if a.argument is not None)
    expressions.append(query.returns)
    while expressions:
        node = expressions.pop()
        if isinstance(node, Bind):
            names.add(node.name)
        expressions.extend(children_of(node))
    return names


def check_binds(query: Query, bind_vars: Mapping[str, Any]) -> None:
    """Every bind used is given, every bind given is used."""
    if not isinstance(bind_vars, Mapping):
        raise AqlBindError("bind_vars must be an object")
    used = bind_names(query)
    missing = sorted(used - bind_vars.keys())
    if missing:
        raise AqlBindError(
            "no value for bind variable" + ("s " if len(missing) > 1 else " ") + _listed(missing)
        )
    unused = sorted(set(bind_vars) - used)
    if unused:
        raise AqlBindError(
            "the query does not use bind variable"
            + ("s " if len(unused) > 1 else " ")
            + _listed(unused)
        )


def _listed(names: list[str]) -> str:
    return ", ".join(f"@{name}" for name in names)


def resolve(query: Query, bind_vars: Mapping[str, Any]) -> Query:
    """The query with every bind replaced by its value (checked for its position)."""
    check_binds(query, bind_vars)
    if not bind_vars:
        return query

    def value(expr: Expr) -> Expr:
        return _resolve_expr(expr, bind_vars)

    fors = tuple(_resolve_for(loop, bind_vars) for loop in query.fors)
    lets = tuple(msgspec.structs.replace(let, expr=value(let.expr)) for let in query.lets)
    filters = tuple(value(condition) for condition in query.filters)
    sort = tuple(msgspec.structs.replace(key, expr=value(key.expr)) for key in query.sort)
    limit = query.limit
    if limit is not None:
        limit = Limit(_count(limit.offset, bind_vars), _count(limit.count, bind_vars))
    collect = query.collect
    if collect is not None:
        collect = msgspec.structs.replace(
            collect,
            group_expr=None if collect.group_expr is None else value(collect.group_expr),
            aggregates=tuple(
                msgspec.structs.replace(
                    a, argument=None if a.argument is None else value(a.argument)
                )
                for a in collect.aggregates
            ),
        )
    return Query(fors, lets, filters, sort, limit, collect, value(query.returns))


def _resolve_for(
    loop: ForCollection | ForTraversal, binds: Mapping[str, Any]
) -> ForCollection | ForTraversal:
    if isinstance(loop, ForCollection):
        if isinstance(loop.collection, CollectionBind):
            name = "@" + loop.collection.name
            return ForCollection(loop.variable, collection_name(binds[name], name))
        return loop
    return msgspec.structs.replace(
        loop,
        start=_text(loop.start, binds, "a traversal's start vertex"),
        edge_type=None if loop.edge_type is None else _text(loop.edge_type, binds, "TYPE"),
        graph=_text(loop.graph, binds, "GRAPH"),
    )


def _text(expr: Expr, binds: Mapping[str, Any], what: str) -> Expr:
    if not isinstance(expr, Bind):
        return expr
    given = binds[expr.name]
    if not isinstance(given, str) or not given:
        raise AqlBindError(f"bind variable @{expr.name} ({what}) must be a non-empty string")
    return Constant(given)


def _count(value: int | Bind, binds: Mapping[str, Any]) -> int:
    if not isinstance(value, Bind):
        return value
    given = binds[value.name]
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise AqlBindError(f"bind variable @{value.name} (in LIMIT) must be a whole number >= 0")
    return given


def collection_name(value: Any, name: str = "@collection") -> str:
    """A collection bind's value: an identifier that is not a keyword."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value) or value.lower() in KEYWORDS:
        raise AqlBindError(
            f"bind variable @{name} must name a collection: letters, digits and _, not "
            f"starting with a digit and not a keyword, got {value!r}"
        )
    return value


def _resolve_expr(expr: Expr, binds: Mapping[str, Any]) -> Expr:
    if isinstance(expr, Bind):
        return Constant(json_value(binds[expr.name], f"@{expr.name}"))
    if isinstance(expr, Attribute):
        return Attribute(_resolve_expr(expr.object, binds), expr.name)
    if isinstance(expr, Unary):
        return fold(Unary(expr.operator, _resolve_expr(expr.operand, binds)))
    if isinstance(expr, Binary):
        left, right = _resolve_expr(expr.left, binds), _resolve_expr(expr.right, binds)
        return Binary(expr.operator, left, right)
    if isinstance(expr, Call):
        return Call(expr.name, tuple(_resolve_expr(a, binds) for a in expr.args))
    if isinstance(expr, ArrayOf):
        return fold(ArrayOf(tuple(_resolve_expr(item, binds) for item in expr.items)))
    if isinstance(expr, ObjectOf):
        items = tuple((key, _resolve_expr(value, binds)) for key, value in expr.items)
        return fold(ObjectOf(items))
    return expr


def json_value(value: Any, where: str, depth: int = 0) -> Any:
    """`value` if it is JSON (finite numbers, string keys), else `AqlBindError`."""
    if depth > MAX_VALUE_DEPTH:
        raise AqlBindError(f"bind variable {where} nests deeper than {MAX_VALUE_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AqlBindError(f"bind variable {where} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [json_value(item, where, depth + 1) for item in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise AqlBindError(f"bind variable {where} has a key that is not a string")
        return {key: json_value(item, where, depth + 1) for key, item in value.items()}
    raise AqlBindError(f"bind variable {where} is {type(value).__name__}, not a JSON value")


# --- for the HTTP backend: binds written into the text --------------------------------------


def substitute(query: str, bind_vars: Mapping[str, Any]) -> str:
    """The query text with each bind replaced by a literal the server reads back as exactly
    that value. Raises what `resolve` raises, and `AqlUnsendable` for a value the server
    would refuse anywhere in a query text (one containing `drop ` or a NUL byte)."""
    parsed = parse(query)
    resolve(parsed, bind_vars)  # checks presence, use and types
    if not bind_vars:
        return query
    pieces: list[str] = []
    written = 0
    for token in grammar_parser().lex(query):
        if token.type not in ("BIND", "BIND_COLLECTION"):
            continue
        start, end = token.start_pos, token.end_pos
        assert start is not None
        assert end is not None
        if token.type == "BIND_COLLECTION":
            literal = collection_name(bind_vars[str(token)[1:]], str(token)[1:])
        else:
            name = str(token)[1:]
            literal = render(json_value(bind_vars[name], "@" + name), "@" + name)
        before = " " if start > 0 and _JOINS_LEFT.match(query, start - 1) else ""
        after = " " if _JOINS_RIGHT.match(query, end) else ""
        pieces.extend((query[written:start], before, literal, after))
        written = end
    pieces.append(query[written:])
    text = "".join(pieces)
    # defence in depth: the text must mean exactly the query with its binds resolved
    if _canonical(parse_uncached(text)) != _canonical(resolve(parsed, bind_vars)):
        raise AqlUnsendable("the bind values cannot be written into the query text unchanged")
    return text


def _canonical(query: Query) -> bytes:
    """Trees compare by their JSON, which (unlike `==`) tells `true` from `1`."""
    return msgspec.json.encode(query)


def render(value: Any, where: str) -> str:
    """`value` as an AQL literal in the server's syntax."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return f"({value})" if value < 0 else str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
        return f"({text})" if value < 0 or text.startswith("-") else text
    if isinstance(value, str):
        return _quote(value, where)
    if isinstance(value, list):
        return "[" + ", ".join(render(item, where) for item in value) + "]"
    items = (f"{_quote(key, where)}: {render(item, where)}" for key, item in value.items())
    return "{" + ", ".join(items) + "}"


def _quote(text: str, where: str) -> str:
    if "\x00" in text:
        raise AqlUnsendable(
            f"bind variable {where} contains a NUL character, which ThemisDB refuses in a "
            "query; the http backend cannot send it"
        )
    token = forbidden_token(text)
    if token is not None:
        raise AqlUnsendable(
            f"bind variable {where} contains {token!r}, which ThemisDB refuses anywhere in "
            "a query text, even inside a string; the http backend (which must write bind "
            "values into the text) cannot send it — the embedded backend can"
        )
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'
