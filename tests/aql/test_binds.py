"""Bind variables: checked the same way on both backends, and — for the http backend, which
must write them into the query text — substituted so that no value can change what the
query is: the substituted text parses to exactly the tree the binds resolve to."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest

from themisgate.themis.aql import (
    AqlBindError,
    AqlUnsendable,
    bind_names,
    parse,
    resolve,
    substitute,
)

HOSTILE_STRINGS = [
    '" RETURN 1',
    "' OR 1 == 1 OR '",
    '\\" RETURN u //',
    "\\",
    "\\\\'",
    '"}]) FOR x IN secrets RETURN x',
    "line one\nline two\r\n\ttabbed",
    "@other @@coll",
    "ünïcödé ☃ 𝄞",
    "",
    "FILTER true",
    "..",
    "1..2 OUTBOUND 'x' GRAPH 'g'",
]
QUERIES = [
    "FOR u IN users FILTER u.name == @v RETURN u",
    "FOR u IN users FILTER @v == u.name RETURN [u, @v]",
    "FOR u IN users FILTER u.tags IN @v RETURN {value: @v, 'k': u}",
    "FOR u IN users LET x = @v FILTER x != null RETURN -@v",
    "FOR u IN users RETURN@v",
    "FOR u IN users FILTER u.a-@v > 0 RETURN u.a+@v",
]


def canonical(tree: Any) -> bytes:
    """Trees as JSON: unlike `==`, tells `true` from `1` and `1` from `1.0`."""
    return msgspec.json.encode(tree)


def hostile_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice(HOSTILE_STRINGS)
    if kind == 1:
        return "".join(
            rng.choice("\"'\\\n\t{}[]()@.,:=!<> aZ09_é") for _ in range(rng.randrange(12))
        )
    if kind == 2:
        return rng.choice([0, 1, -1, 7, -(2**40), 2**53, 10**18])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e-7, -2.5e-300, 1e22, 123456.789, 3.0])
    if kind == 4:
        return rng.choice([True, False])
    if kind == 5:
        return None
    if kind in (6, 7):
        return [hostile_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice([*HOSTILE_STRINGS, "a", "b c", "RETURN"]): hostile_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def test_no_value_can_change_the_shape_of_a_query() -> None:
    rng = random.Random(20240611)
    checked = 0
    for _ in range(400):
        query = rng.choice(QUERIES)
        value = hostile_value(rng)
        binds = {"v": value}
        text = substitute(query, binds)
        assert canonical(parse(text)) == canonical(resolve(parse(query), binds)), text
        checked += 1
    assert checked == 400


def test_values_are_written_as_the_literals_the_server_reads() -> None:
    query = "FOR u IN users FILTER u.a == @v RETURN u"
    cases: list[tuple[Any, str]] = [
        ('it\'s "quoted"\\', '"it\'s \\"quoted\\"\\\\"'),
        ("two\nlines", '"two\\nlines"'),
        (-5, "(-5)"),
        (1e-7, "0.0000001"),
        (1e22, "10000000000000000000000.0"),
        (True, "true"),
        (None, "null"),
        ([1, "a", False], '[1, "a", false]'),
    ]
    for value, literal in cases:
        assert substitute(query, {"v": value}) == f"FOR u IN users FILTER u.a == {literal} RETURN u"
    assert substitute(query, {"v": {"k": [1, "a"]}}) == (
        'FOR u IN users FILTER u.a == {"k": [1, "a"]} RETURN u'
    )


def test_collections_must_be_plain_names() -> None:
    query = "FOR u IN @@coll FILTER u.a == 1 RETURN u"
    assert substitute(query, {"@coll": "users"}) == "FOR u IN users FILTER u.a == 1 RETURN u"
    for bad in ["users RETURN 1", "a-b", "1abc", "FOR", "return", "", 7, None, ["users"]]:
        with pytest.raises(AqlBindError, match="must name a collection"):
            substitute(query, {"@coll": bad})
        with pytest.raises(AqlBindError, match="must name a collection"):
            resolve(parse(query), {"@coll": bad})


def test_every_bind_used_must_be_given_and_every_bind_given_used() -> None:
    query = parse("FOR u IN @@c FILTER u.a == @a AND u.b IN @list LIMIT @n RETURN u")
    assert bind_names(query) == {"@c", "a", "list", "n"}
    full = {"@c": "users", "a": 1, "list": [1], "n": 3}
    resolve(query, full)
    with pytest.raises(AqlBindError, match="no value for bind variables @a, @n"):
        resolve(query, {"@c": "users", "list": []})
    with pytest.raises(AqlBindError, match="does not use bind variable @extra"):
        resolve(query, {**full, "extra": 1})


@pytest.mark.parametrize(
    ("query", "binds", "message"),
    [
        ("FOR u IN users LIMIT @n RETURN u", {"n": -1}, "whole number >= 0"),
        ("FOR u IN users LIMIT @n RETURN u", {"n": 1.5}, "whole number >= 0"),
        ("FOR u IN users LIMIT @n RETURN u", {"n": True}, "whole number >= 0"),
        ("FOR v IN 1..2 OUTBOUND @s GRAPH 'g' RETURN v", {"s": 5}, "non-empty string"),
        ("FOR v IN 1..2 OUTBOUND 'a' GRAPH @g RETURN v", {"g": ""}, "non-empty string"),
        ("FOR u IN users RETURN @v", {"v": float("nan")}, "not a finite number"),
        ("FOR u IN users RETURN @v", {"v": {1: "a"}}, "not a string"),
        ("FOR u IN users RETURN @v", {"v": object()}, "not a JSON value"),
    ],
)
def test_values_must_fit_their_position(query: str, binds: dict[str, Any], message: str) -> None:
    with pytest.raises(AqlBindError, match=message):
        resolve(parse(query), binds)


def test_what_the_server_refuses_in_any_text_cannot_be_sent_over_http() -> None:
    """The server refuses `drop ` even inside a string; the embedded backend takes such
    values natively, the http backend says clearly that it cannot send them."""
    query = "FOR u IN users FILTER u.text == @v RETURN u"
    for value in ["please DROP the table", "insert coin", ["nested", "update me"], "nul\x00"]:
        resolve(parse(query), {"v": value})
        with pytest.raises(AqlUnsendable):
            substitute(query, {"v": value})
