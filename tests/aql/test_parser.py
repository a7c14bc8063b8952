"""The parser: the server's dialect, its errors where the server reports them, and what a
grammar alone cannot check."""

from __future__ import annotations

import pytest

from themisgate.themis.aql import (
    AqlForbidden,
    AqlLimitExceeded,
    AqlQueryError,
    AqlSyntaxError,
    parse,
)
from themisgate.themis.aql.ast import (
    Attribute,
    Binary,
    Collect,
    Constant,
    ForCollection,
    ForTraversal,
    Limit,
    SortKey,
    Unary,
    Variable,
    returns_stored,
)


def test_the_clauses_of_the_dialect() -> None:
    query = parse(
        "FOR u IN users LET a = u.age "
        'FILTER a >= 18 AND (u.city == "Berlin" OR NOT u.active) FILTER u.tag IN ["x", \'y\'] '
        "SORT u.age DESC, u.name ASC LIMIT 5, 10 RETURN {name: u.name, 'the age': a}"
    )
    assert query.fors == (ForCollection("u", "users"),)
    assert [let.variable for let in query.lets] == ["a"]
    assert len(query.filters) == 2
    assert query.filters[1] == Binary("in", Attribute(Variable("u"), "tag"), Constant(["x", "y"]))
    assert query.sort == (
        SortKey(Attribute(Variable("u"), "age"), True),
        SortKey(Attribute(Variable("u"), "name"), False),
    )
    assert query.limit == Limit(5, 10)
    assert not returns_stored(query)


def test_limit_with_one_number_is_a_count() -> None:
    assert parse("FOR u IN users LIMIT 3 RETURN u").limit == Limit(0, 3)


def test_collect_and_aggregate() -> None:
    query = parse(
        "FOR u IN users COLLECT city = u.city "
        "AGGREGATE n = COUNT(), total = sum(u.age), lo = MIN(u.age) RETURN {city: city, n: n}"
    )
    assert isinstance(query.collect, Collect)
    assert query.collect.group == "city"
    assert [(a.variable, a.function) for a in query.collect.aggregates] == [
        ("n", "COUNT"),
        ("total", "SUM"),
        ("lo", "MIN"),
    ]
    assert parse("FOR u IN users COLLECT AGGREGATE n = COUNT() RETURN n").collect is not None


def test_traversals() -> None:
    query = parse("FOR v, e, p IN 1..3 INBOUND 'users:alice' TYPE 'knows' GRAPH 'social' RETURN p")
    assert query.fors == (
        ForTraversal(
            vertex="v",
            edge="e",
            path="p",
            min_depth=1,
            max_depth=3,
            direction="in",
            start=Constant("users:alice"),
            edge_type=Constant("knows"),
            graph=Constant("social"),
        ),
    )
    assert returns_stored(query)
    assert parse("FOR v IN 0..1 ANY 'a' GRAPH 'g' RETURN v").fors[0].direction == "any"  # type: ignore[union-attr]


def test_keywords_are_case_insensitive_and_fields_may_be_named_like_them() -> None:
    query = parse("for d in docs filter d.type == 'x' and d.sort > 1 return {type: d.type}")
    assert query.fors == (ForCollection("d", "docs"),)
    assert parse("FOR d IN docs RETURN d.return").returns == Attribute(Variable("d"), "return")


def test_constants_fold() -> None:
    query = parse("FOR d IN docs RETURN [-1, {a: -2.5, 'b': [true, null]}, -d.x]")
    assert query.returns != Constant(None)
    folded = parse("FOR d IN docs RETURN [-1, {a: -2.5, 'b': [true, null]}]").returns
    assert folded == Constant([-1, {"a": -2.5, "b": [True, None]}])
    assert parse("FOR d IN docs RETURN -d.x").returns == Unary("-", Attribute(Variable("d"), "x"))


def test_string_escapes_are_read_as_the_server_reads_them() -> None:
    query = parse(r'FOR d IN docs RETURN ["a\"b", ' + r"'it\'s', " + r'"t\tn\n\\", "\q"]')
    assert query.returns == Constant(['a"b', "it's", "t\tn\n\\", "q"])


@pytest.mark.parametrize(
    ("query", "line", "column", "message", "expected"),
    [
        # the server: "AQL parse error: Unexpected token: RETURN at line 1, column 23"
        ("FOR u IN users FILTER RETURN", 1, 23, "Unexpected token: RETURN", "a name"),
        # the server: "AQL parse error: Expected FOR at line 1, column 1"
        ("SELECT * FROM users", 1, 1, "Unexpected token: SELECT", "FOR"),
        # the server: "AQL parse error: Expected end of query at line 1, column 38"
        (
            "FOR u IN users COLLECT city = u.city WITH COUNT INTO n RETURN {city, n}",
            1,
            38,
            "Unexpected token: WITH",
            "RETURN",
        ),
        ("FOR u IN users", 1, 15, "Unexpected end of query", "RETURN"),
        (
            "FOR u IN users\n  FILTER u.a ==\n  RETURN u",
            3,
            3,
            "Unexpected token: RETURN",
            "a number",
        ),
        ("FOR u IN users RETURN u ~", 1, 25, "Invalid character '~'", "end of query"),
        ("FOR u IN users RETURN 'open", 1, 23, "Unterminated string", "a string"),
        ("FOR u IN users LIMIT 2.5 RETURN u", 1, 22, "LIMIT must be a whole number", None),
        ("FOR v IN 1..x OUTBOUND 'a' GRAPH 'g' RETURN v", 1, 13, "Unexpected token: x", "a number"),
        ("FOR u IN users COLLECT AGGREGATE n = MEDIAN(u.a) RETURN n", 1, 38, "MEDIAN", "COUNT"),
    ],
)
def test_syntax_errors_say_where_and_what_was_expected(
    query: str, line: int, column: int, message: str, expected: str | None
) -> None:
    with pytest.raises(AqlSyntaxError) as error:
        parse(query)
    assert (error.value.line, error.value.column) == (line, column)
    assert error.value.message.startswith("AQL parse error: ")
    assert message in error.value.message
    assert f"at line {line}, column {column}" in error.value.message
    if expected is not None:
        assert expected in error.value.expected
    assert error.value.extensions == {
        "line": line,
        "column": column,
        "expected": error.value.expected,
    }


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ('INSERT {name: "Zoe", city: "Berlin"} INTO users', "insert "),
        ('insert {name: "Zoe"} into users', "insert "),
        ('FOR u IN users FILTER u.note == "please Update me" RETURN u', "update "),
        ("FOR u IN users REMOVE u IN users DELETE x", "delete "),
        ("FOR u IN users RETURN 'drop table'", "drop "),
    ],
)
def test_mutation_tokens_are_refused_anywhere_like_the_server(query: str, token: str) -> None:
    with pytest.raises(AqlForbidden) as error:
        parse(query)
    assert error.value.message == f"forbidden token in AQL query: {token!r}"
    assert error.value.status_code == 400


def test_words_that_merely_contain_a_forbidden_token_pass() -> None:
    parse("FOR u IN users FILTER u.updated_at > 0 AND u.dropped == false RETURN u.inserted")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("FOR u IN users RETURN x", "unknown variable 'x' in RETURN"),
        ("FOR u IN users LET a = b LET b = 1 RETURN a", "unknown variable 'b' in LET a"),
        ("FOR u IN users FOR u IN orders RETURN u", "variable 'u' is defined twice"),
        ("FOR u IN users LET u = 1 RETURN u", "variable 'u' is defined twice"),
        ("FOR u IN users COLLECT c = u.c RETURN u", "unknown variable 'u' in RETURN"),
        ("FOR u IN users RETURN SHA256(u)", "unknown function SHA256()"),
        ("FOR u IN users RETURN LOWER(u.a, u.b)", "LOWER() takes 1 argument, not 2"),
        ("FOR u IN users COLLECT AGGREGATE s = SUM() RETURN s", "SUM() in AGGREGATE needs"),
        ("FOR v IN 3..1 OUTBOUND 'a' GRAPH 'g' RETURN v", "minimum depth (3) exceeds"),
        ("FOR v IN 0..1001 OUTBOUND 'a' GRAPH 'g' RETURN v", "at most 1000"),
    ],
)
def test_what_the_grammar_cannot_check(query: str, message: str) -> None:
    with pytest.raises(AqlQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(query)


@pytest.mark.parametrize(
    "query",
    [
        "FOR u IN users RETURN " + "NOT " * 5000 + "u",
        "FOR u IN users RETURN " + "[" * 2000 + "]" * 2000,
        "FOR u IN users RETURN " + " + ".join(["u.a"] * 5000),
        "FOR u IN users RETURN '" + "x" * 200_000 + "'",
    ],
)
def test_pathological_queries_are_a_clear_refusal_not_a_crash(query: str) -> None:
    with pytest.raises(AqlLimitExceeded):
        parse(query)


def test_parentheses_nest_without_limit_since_they_build_nothing() -> None:
    assert parse("FOR u IN users RETURN " + "(" * 2000 + "u" + ")" * 2000).returns == Variable("u")
