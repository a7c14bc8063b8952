"""`parse(text) -> Query`: lark's LALR parser over `grammar.lark`, then the query tree.

LALR with lark's basic lexer: one pass, no backtracking, a few hundred microseconds for a
typical query, and parsed trees are cached by text. Errors say where (1-based line and
column, as the server counts them) and what could have come there, e.g.
`AQL parse error: Unexpected token: RETURN at line 1, column 23; expected one of: '(', …`.
After parsing, `validate` checks what a grammar cannot: every variable is defined before it
is used and only once, functions and aggregates exist, depths are sensible.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, UnexpectedToken, VisitError

from .ast import (
    AGGREGATES,
    Aggregate,
    ArrayOf,
    Attribute,
    Binary,
    BinaryOp,
    Bind,
    Call,
    Collect,
    CollectionBind,
    Constant,
    Expr,
    For,
    ForCollection,
    ForTraversal,
    Let,
    Limit,
    ObjectOf,
    Query,
    SortKey,
    Unary,
    Variable,
    fold,
)
from .errors import AqlError, AqlLimitExceeded, AqlQueryError, AqlSyntaxError
from .functions import FUNCTIONS
from .mutations import check_read_only

# the server refuses deeper traversals
MAX_TRAVERSAL_DEPTH = 1000
# expression nesting beyond this is refused (deeper trees would exhaust the Python stack)
MAX_NESTING = 128
# queries up to this length are cached by text
_CACHED_CHARS = 4096

_SHOWN = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "BIND": "a bind variable (@name)",
    "BIND_COLLECTION": "a collection bind variable (@@name)",
    "COMPARISON": "a comparison (== != < <= > >=)",
    "$END": "end of query",
    "_ASSIGN": "'='",
    "_RANGE": "'..'",
    "_DOT": "'.'",
    "_COMMA": "','",
    "_COLON": "':'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LSQB": "'['",
    "_RSQB": "']'",
    "_LBRACE": "'{'",
    "_RBRACE": "'}'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "PERCENT": "'%'",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_ESCAPE = re.compile(r"\\([\s\S])")


@cache
def grammar_parser() -> Lark:
    """The LALR parser, built once (about 50 ms) on first use."""
    grammar = (Path(__file__).parent / "grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=True)


def parse(text: str) -> Query:
    """The query tree of `text`, or `AqlForbidden`, `AqlSyntaxError`, `AqlQueryError`."""
    if not isinstance(text, str):
        raise AqlQueryError("an AQL query is a string")
    if len(text) <= _CACHED_CHARS:
        return _parse_cached(text)
    return _parse(text)


def parse_uncached(text: str) -> Query:
    """`parse` without the cache, for texts seen once (a query with binds written in)."""
    return _parse(text)


@lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Query:
    return _parse(text)


def _parse(text: str) -> Query:
    check_read_only(text)
    try:
        tree = grammar_parser().parse(text)
    except UnexpectedInput as exc:
        raise syntax_error(text, exc) from None
    try:
        query: Query = _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, AqlError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, RecursionError):
            raise _too_deep() from None
        raise
    except RecursionError:
        raise _too_deep() from None
    validate(query)
    return query


def _too_deep() -> AqlLimitExceeded:
    return AqlLimitExceeded(f"AQL query nests expressions more than {MAX_NESTING} levels deep")


# --- syntax errors ---------------------------------------------------------------------------


def syntax_error(text: str, exc: UnexpectedInput) -> AqlSyntaxError:
    """The server's wording, plus what was expected there."""
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        expected = _shown(exc.expected)
        if token.type == "$END":
            line, column = end_of(text)
            what = "Unexpected end of query"
        else:
            line, column = exc.line, exc.column
            what = f"Unexpected token: {token}"
    else:
        line, column = exc.line, exc.column
        position: int | None = getattr(exc, "pos_in_stream", None)
        char = text[position] if position is not None and 0 <= position < len(text) else ""
        what = "Unterminated string" if char in ("'", '"') else f"Invalid character {char!r}"
        expected = _shown(_accepted_before(text, position)) if position is not None else []
    message = f"AQL parse error: {what} at line {line}, column {column}"
    if expected:
        message += f"; expected {expected[0]}" if len(expected) == 1 else ""
        if len(expected) > 1:
            message += f"; expected one of: {', '.join(expected)}"
    return AqlSyntaxError(message, line=line, column=column, expected=expected)


def end_of(text: str) -> tuple[int, int]:
    """Line and column just after the last character."""
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _accepted_before(text: str, position: int) -> set[str]:
    """Terminals the parser would have taken where the lexer gave up."""
    interactive = grammar_parser().parse_interactive(text[:position])
    try:
        interactive.exhaust_lexer()
        accepted: set[str] = interactive.accepts()  # type: ignore[no-untyped-call]
        return accepted
    except UnexpectedInput:
        return set()


def _shown(terminals: set[str] | frozenset[str]) -> list[str]:
    shown = {_SHOWN.get(name, name.lstrip("_")) for name in terminals}
    return sorted(shown, key=lambda name: (not name.isupper(), name))


# --- the tree --------------------------------------------------------------------------------


class _Filter:
    __slots__ = ("expr",)

    def __init__(self, expr: Expr) -> None:
        self.expr = expr


class _Sort:
    __slots__ = ("keys",)

    def __init__(self, keys: tuple[SortKey, ...]) -> None:
        self.keys = keys


class _Return:
    __slots__ = ("expr",)

    def __init__(self, expr: Expr) -> None:
        self.expr = expr


def unescape(token: Token) -> str:
    """A string literal's value: `\\n`, `\\t`, `\\r` as usual, any other escaped character
    as itself (`\\"`, `\\'`, `\\\\`), as the server's lexer reads it."""
    body = str(token)[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE.sub(lambda match: _ESCAPES.get(match[1], match[1]), body)


def _whole(token: Token, what: str) -> int:
    if not str(token).isdigit():
        raise AqlSyntaxError(
            f"AQL parse error: {what} must be a whole number, not {token} "
            f"at line {token.line}, column {token.column}",
            line=token.line or 1,
            column=token.column or 1,
            expected=["a whole number"],
        )
    return int(token)


def _text(token: Token) -> Constant | Bind:
    if token.type == "BIND":
        return Bind(str(token)[1:])
    return Constant(unescape(token))


_DIRECTIONS = {"OUTBOUND": "out", "INBOUND": "in", "ANY": "any"}


class _Build(Transformer[Token, Any]):
    """lark's parse tree -> `Query` (rule and alias names as in grammar.lark)."""

    def start(self, children: list[Any]) -> Query:
        query: Query = children[0]
        return query

    def query(self, children: list[Any]) -> Query:
        fors: list[For] = []
        lets: list[Let] = []
        filters: list[Expr] = []
        sort: tuple[SortKey, ...] = ()
        limit: Limit | None = None
        collect: Collect | None = None
        returns: Expr = Constant(None)
        for child in children:
            if isinstance(child, ForCollection | ForTraversal):
                fors.append(child)
            elif isinstance(child, Let):
                lets.append(child)
            elif isinstance(child, _Filter):
                filters.append(child.expr)
            elif isinstance(child, _Sort):
                sort = child.keys
            elif isinstance(child, Limit):
                limit = child
            elif isinstance(child, Collect):
                collect = child
            elif isinstance(child, _Return):
                returns = child.expr
        return Query(tuple(fors), tuple(lets), tuple(filters), sort, limit, collect, returns)

    # --- FOR ---

    def for_collection(self, children: list[Any]) -> ForCollection:
        name, collection = children
        return ForCollection(str(name), collection)

    def collection(self, children: list[Token]) -> str | CollectionBind:
        token = children[0]
        if token.type == "BIND_COLLECTION":
            return CollectionBind(str(token)[2:])
        return str(token)

    def for_traversal(self, children: list[Any]) -> ForTraversal:
        vertex, edge, path, low, high, direction, start, edge_type, graph = children
        return ForTraversal(
            vertex=str(vertex),
            edge=None if edge is None else str(edge),
            path=None if path is None else str(path),
            min_depth=_whole(low, "a traversal's minimum depth"),
            max_depth=_whole(high, "a traversal's maximum depth"),
            direction=direction,
            start=start,
            edge_type=edge_type,
            graph=graph,
        )

    def direction(self, children: list[Token]) -> str:
        return _DIRECTIONS[children[0].type]

    def vertex(self, children: list[Token]) -> Constant | Bind:
        return _text(children[0])

    def text(self, children: list[Token]) -> Constant | Bind:
        return _text(children[0])

    # --- LET, FILTER, SORT, LIMIT, COLLECT, RETURN ---

    def let_clause(self, children: list[Any]) -> Let:
        return Let(str(children[0]), children[1])

    def filter_clause(self, children: list[Any]) -> _Filter:
        return _Filter(children[0])

    def sort_clause(self, children: list[SortKey]) -> _Sort:
        return _Sort(tuple(children))

    def sort_key(self, children: list[Any]) -> SortKey:
        expr, order = children
        return SortKey(expr, order is not None and order.type == "DESC")

    def limit_clause(self, children: list[Any]) -> Limit:
        first, second = children
        return Limit(0, first) if second is None else Limit(first, second)

    def count(self, children: list[Token]) -> int | Bind:
        token = children[0]
        if token.type == "BIND":
            return Bind(str(token)[1:])
        return _whole(token, "LIMIT")

    def collect_group(self, children: list[Any]) -> Collect:
        name, expr, *aggregates = children
        return Collect(str(name), expr, tuple(a for a in aggregates if a is not None))

    def collect_all(self, children: list[Any]) -> Collect:
        return Collect(None, None, tuple(a for a in children if a is not None))

    def aggregate(self, children: list[Any]) -> Aggregate:
        name, function, argument = children
        upper = str(function).upper()
        if upper not in AGGREGATES:
            raise AqlSyntaxError(
                f"AQL parse error: unknown aggregate function {function} at line "
                f"{function.line}, column {function.column}; use one of {', '.join(AGGREGATES)}",
                line=function.line,
                column=function.column,
                expected=list(AGGREGATES),
            )
        return Aggregate(str(name), upper, argument)

    def return_clause(self, children: list[Any]) -> _Return:
        return _Return(children[0])

    # --- expressions ---

    def or_op(self, children: list[Expr]) -> Expr:
        return Binary("or", children[0], children[1])

    def and_op(self, children: list[Expr]) -> Expr:
        return Binary("and", children[0], children[1])

    def compare(self, children: list[Any]) -> Expr:
        left, operator, right = children
        op: BinaryOp = str(operator)  # type: ignore[assignment]
        return Binary(op, left, right)

    def in_op(self, children: list[Expr]) -> Expr:
        return Binary("in", children[0], children[1])

    def not_in_op(self, children: list[Expr]) -> Expr:
        return Binary("not in", children[0], children[1])

    def arithmetic(self, children: list[Any]) -> Expr:
        left, operator, right = children
        op: BinaryOp = str(operator)  # type: ignore[assignment]
        return Binary(op, left, right)

    def not_op(self, children: list[Expr]) -> Expr:
        return Unary("not", children[0])

    def negate(self, children: list[Any]) -> Expr:
        return fold(Unary("-", children[1]))

    def attribute(self, children: list[Any]) -> Expr:
        return Attribute(children[0], children[1])

    def field(self, children: list[Token]) -> str:
        return str(children[0])

    def string(self, children: list[Token]) -> Expr:
        return Constant(unescape(children[0]))

    def number(self, children: list[Token]) -> Expr:
        text = str(children[0])
        return Constant(float(text) if "." in text else int(text))

    def true(self, _: list[Token]) -> Expr:
        return Constant(True)

    def false(self, _: list[Token]) -> Expr:
        return Constant(False)

    def null(self, _: list[Token]) -> Expr:
        return Constant(None)

    def bind(self, children: list[Token]) -> Expr:
        return Bind(str(children[0])[1:])

    def variable(self, children: list[Token]) -> Expr:
        return Variable(str(children[0]))

    def call(self, children: list[Any]) -> Expr:
        name, *args = children
        upper = str(name).upper()
        if upper not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise AqlQueryError(
                f"unknown function {name}() at line {name.line}, column {name.column}; "
                f"the functions are {known} (and COUNT, SUM, AVG, MIN, MAX in AGGREGATE)"
            )
        arguments = tuple(a for a in args if a is not None)
        fewest, most, _ = FUNCTIONS[upper]
        if len(arguments) < fewest or (most is not None and len(arguments) > most):
            wanted = f"{fewest}" if most == fewest else f"at least {fewest}"
            raise AqlQueryError(
                f"{upper}() takes {wanted} argument{'s' if fewest != 1 else ''}, "
                f"not {len(arguments)} (line {name.line}, column {name.column})"
            )
        return Call(upper, arguments)

    def array(self, children: list[Any]) -> Expr:
        return fold(ArrayOf(tuple(c for c in children if c is not None)))

    def object(self, children: list[Any]) -> Expr:
        return fold(ObjectOf(tuple(c for c in children if c is not None)))

    def pair(self, children: list[Any]) -> tuple[str, Expr]:
        key, value = children
        return (unescape(key) if isinstance(key, Token) else key), value


# --- what a grammar cannot check ---------------------------------------------------------------


def validate(query: Query) -> None:
    """Scopes, names and limits; raises `AqlQueryError` or `AqlLimitExceeded`."""
    defined: set[str] = set()

    def define(name: str) -> None:
        if name in defined:
            raise AqlQueryError(f"variable {name!r} is defined twice")
        defined.add(name)

    for loop in query.fors:
        if isinstance(loop, ForTraversal):
            if loop.max_depth > MAX_TRAVERSAL_DEPTH:
                raise AqlQueryError(
                    f"a traversal's maximum depth is at most {MAX_TRAVERSAL_DEPTH}, "
                    f"not {loop.max_depth}"
                )
            if loop.min_depth > loop.max_depth:
                raise AqlQueryError(
                    f"a traversal's minimum depth ({loop.min_depth}) exceeds its maximum "
                    f"({loop.max_depth})"
                )
            for name in (loop.vertex, loop.edge, loop.path):
                if name is not None:
                    define(name)
        else:
            define(loop.variable)
    for let in query.lets:
        _check_expr(let.expr, defined, f"LET {let.variable}")
        define(let.variable)
    for condition in query.filters:
        _check_expr(condition, defined, "FILTER")
    for key in query.sort:
        _check_expr(key.expr, defined, "SORT")
    visible = defined
    if query.collect is not None:
        collect = query.collect
        if collect.group_expr is not None:
            _check_expr(collect.group_expr, defined, "COLLECT")
        for aggregate in collect.aggregates:
            if aggregate.argument is None and aggregate.function != "COUNT":
                raise AqlQueryError(f"{aggregate.function}() in AGGREGATE needs an argument")
            if aggregate.argument is not None:
                _check_expr(aggregate.argument, defined, "AGGREGATE")
        # after COLLECT only what it defines is visible, as in ArangoDB
        visible = set()
        names = [collect.group] if collect.group is not None else []
        for name in [*names, *(a.variable for a in collect.aggregates)]:
            if name in visible or name in defined:
                raise AqlQueryError(f"variable {name!r} is defined twice")
            visible.add(name)
    _check_expr(query.returns, visible, "RETURN")


def _check_expr(expr: Expr, defined: set[str], where: str) -> None:
    for node, depth in _walk(expr):
        if depth > MAX_NESTING:
            raise _too_deep()
        if isinstance(node, Variable) and node.name not in defined:
            known = ", ".join(sorted(defined)) or "none"
            raise AqlQueryError(
                f"unknown variable {node.name!r} in {where} (variables there: {known})"
            )


def _walk(expr: Expr) -> Iterator[tuple[Expr, int]]:
    """Every node under `expr` with its depth, without recursion."""
    stack: list[tuple[Expr, int]] = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in children_of(node))


def children_of(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, Attribute):
        return (node.object,)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call | ArrayOf):
        return node.args if isinstance(node, Call) else node.items
    if isinstance(node, ObjectOf):
        return tuple(value for _, value in node.items)
    return ()
