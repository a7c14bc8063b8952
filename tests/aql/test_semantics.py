"""What SQLite is asked must mean exactly what the Python evaluator computes.

Documents with every kind of value (missing fields, null, booleans, integers and floats,
strings that look like numbers or JSON, arrays, objects) and a few hundred generated
FILTER/SORT/LIMIT queries: the engine (which pushes what it can into SQL, guarded by type)
must answer each exactly as a plain Python evaluation of the same query over all documents
does — without indexes, and again with indexes (which change the SQL it writes)."""

from __future__ import annotations

import random
from typing import Any

from themisgate.themis.aql.evaluate import compile_condition, compile_expr
from themisgate.themis.aql.parser import parse
from themisgate.themis.aql.values import sort_key
from themisgate.themis.embedded import EmbeddedBackend

SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    2.5,
    -7,
    3,
    "a",
    "b",
    "",
    "1",
    "[1]",
    "{x",
    "é",
    "Z",
]
VALUES: list[Any] = [*SCALARS, [1], ["a", 1], [], {"x": 1}, {}, [True], [None]]
CONSTANTS = [
    "null", "true", "false", "0", "1", "-1", "1.0", "2.5", "3", "-7", '"a"', '"b"', '""', '"1"',
    '"[1]"', '"{x"', '"é"', '"Z"', "[1]", '{x: 1}', "100000000000000000000",
]  # fmt: skip
FIELDS = ["d.a", "d.b", "d.s", "d.n", "d.o.x"]
SORTABLE = ["d.a", "d.s", "d.n", "d.o.x"]
OPERATORS = ["==", "!=", "<", "<=", ">", ">="]


def documents(rng: random.Random, count: int) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(count):
        document: dict[str, Any] = {"k": i}
        for name, pool in (("a", SCALARS), ("b", VALUES), ("s", ["a", "b", "", "ab", "B", "é"])):
            if rng.random() < 0.85:
                document[name] = rng.choice(pool)
        if rng.random() < 0.85:
            document["n"] = rng.choice([0, 1, 2, -3, 1.5, 2.0, 10**6, -0.5])
        shape = rng.random()
        if shape < 0.6:
            document["o"] = {"x": rng.choice(SCALARS)}
        elif shape < 0.7:
            document["o"] = rng.choice(VALUES)
        found[f"k{i:04d}"] = document
    return found


def condition(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return f"({condition(rng, depth + 1)} AND {condition(rng, depth + 1)})"
    if depth < 2 and roll < 0.25:
        return f"({condition(rng, depth + 1)} OR {condition(rng, depth + 1)})"
    if depth < 2 and roll < 0.32:
        return f"NOT ({condition(rng, depth + 1)})"
    if roll < 0.40:
        members = ", ".join(rng.sample(CONSTANTS, rng.randrange(0, 4)))
        negated = "NOT IN" if rng.random() < 0.3 else "IN"
        return f"{rng.choice(FIELDS)} {negated} [{members}]"
    if roll < 0.46:
        return f"{rng.choice(CONSTANTS[:18])} IN d.b"
    if roll < 0.49:
        return rng.choice(FIELDS)  # truthiness: evaluated in Python
    field, constant = rng.choice(FIELDS), rng.choice(CONSTANTS)
    operator = rng.choice(OPERATORS)
    return (
        f"{constant} {operator} {field}" if rng.random() < 0.2 else f"{field} {operator} {constant}"
    )


def query(rng: random.Random) -> str:
    text = f"FOR d IN docs FILTER {condition(rng)}"
    if rng.random() < 0.6:
        keys = rng.sample(SORTABLE, rng.randrange(1, 3))
        text += " SORT " + ", ".join(f"{k} {rng.choice(['ASC', 'DESC'])}" for k in keys)
    if rng.random() < 0.4:
        text += f" LIMIT {rng.randrange(0, 5)}, {rng.randrange(0, 40)}"
    return text + " RETURN d.k"


def oracle(text: str, stored: dict[str, dict[str, Any]]) -> list[Any]:
    """The query evaluated in plain Python over every document, in key order."""
    parsed = parse(text)
    rows = [{"d": stored[key]} for key in sorted(stored)]
    checks = [compile_condition(c) for c in parsed.filters]
    rows = [row for row in rows if all(check(row) for check in checks)]
    for key in reversed(parsed.sort):
        value = compile_expr(key.expr)
        rows.sort(key=lambda row: sort_key(value(row)), reverse=key.descending)
    if parsed.limit is not None:
        offset, count = parsed.limit.offset, parsed.limit.count
        assert isinstance(offset, int)
        assert isinstance(count, int)
        rows = rows[offset : offset + count]
    returned = compile_expr(parsed.returns)
    return [returned(row) for row in rows]


async def test_sql_and_python_agree_on_every_generated_query(embedded: EmbeddedBackend) -> None:
    rng = random.Random(7)
    stored = documents(rng, 300)
    for key, document in stored.items():
        await embedded.put_document("docs", key, document)
    queries = [query(rng) for _ in range(250)]
    all_in_sql = 0
    for indexed in (False, True):
        if indexed:
            for field in ("a", "b", "s", "n", "o.x"):
                await embedded.create_index("docs", field)
        for text in queries:
            result = await embedded.aql(text, allow_full_scan=True, explain=True)
            assert result.results == oracle(text, stored), f"indexed={indexed}: {text}"
            assert result.explain is not None
            scan = result.explain["plan"]["steps"][0]
            all_in_sql += scan["conditions_in_python"] == 0
    # most generated conditions are ones SQLite answers, so this compares SQL with Python
    assert all_in_sql > 0.6 * 2 * len(queries)


async def test_indexed_conditions_and_sorts_are_answered_from_the_index(
    embedded: EmbeddedBackend,
) -> None:
    for i in range(50):
        await embedded.put_document("docs", f"k{i}", {"year": 2000 + i % 30, "tag": "xy"[i % 2]})
    await embedded.create_index("docs", "year", "range")
    await embedded.create_index("docs", "tag")
    result = await embedded.aql(
        'FOR d IN docs FILTER d.tag == "x" AND d.year >= 2020 '
        "SORT d.year DESC LIMIT 3 RETURN d.year",
        explain=True,
    )
    assert result.results == [2028, 2026, 2024]
    assert result.explain is not None
    plan = result.explain["plan"]
    assert (plan["sort_in_sql"], plan["limit_in_sql"], plan["in_python"]) == (
        True,
        True,
        ["RETURN"],
    )
    assert any("USING INDEX aql_index_" in line for line in plan["steps"][0]["sqlite_plan"])
