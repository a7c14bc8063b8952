"""An AQL query on the embedded engine relative to the same query hand-written in SQLite SQL,
on the same file of 100,000 documents, without and with indexes, in one run.

    uv run python bench/aql_query.py [--documents 100000] [--rounds 15]

    FOR d IN docs FILTER d.year >= 2020 AND d.tag == "x" SORT d.score DESC LIMIT 10 RETURN d

The baseline is the plain `sqlite3` statement a person would write, plus decoding the ten
bodies it returns; the engine's figure is the whole `EmbeddedBackend.aql` call (parse from
cache, plan, the index registry lookup, the thread hop, the guarded SQL, decoding).
Indexes: the baseline gets `json_extract` expression indexes on year, tag and score; the
engine the ones `create_index` makes. Each side is measured with only its own indexes.

Targets: at most 2x the hand-written SQL without indexes, at most 3x with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from themisgate.themis import ThemisSettings
from themisgate.themis.embedded import EmbeddedBackend

QUERY = 'FOR d IN docs FILTER d.year >= 2020 AND d.tag == "x" SORT d.score DESC LIMIT 10 RETURN d'
HAND_WRITTEN = (
    "SELECT key, body FROM documents WHERE collection = 'docs' "
    "AND json_extract(body, '$.year') >= 2020 AND json_extract(body, '$.tag') = 'x' "
    "ORDER BY json_extract(body, '$.score') DESC LIMIT 10"
)
HAND_INDEXES = [
    f"CREATE INDEX hand_{field} ON documents (json_extract(body, '$.{field}')) "
    "WHERE collection = 'docs'"
    for field in ("year", "tag", "score")
]
FIELDS = ("year", "tag", "score")


def fill(path: Path, count: int) -> None:
    """`count` documents written straight into the engine's table, in one transaction."""
    rng = random.Random(1)
    rows = []
    for i in range(count):
        document = {
            "title": f"document {i}",
            "year": rng.randint(2000, 2024),
            "tag": rng.choice("xyzw"),
            "score": rng.random(),
            "words": rng.randint(100, 5000),
        }
        rows.append(("docs", f"d{i:07d}", json.dumps(document)))
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO documents (collection, key, body) VALUES (?, ?, ?)", rows
        )


def hand_written(connection: sqlite3.Connection) -> list[Any]:
    return [json.loads(body) for _, body in connection.execute(HAND_WRITTEN).fetchall()]


async def median_ms(run: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await run()  # warm caches and prepared statements
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp()) / "aql.sqlite"
    async with EmbeddedBackend(ThemisSettings(path=str(path))):
        pass  # creates the schema
    fill(path, args.documents)
    connection = sqlite3.connect(path)

    async def baseline() -> list[Any]:
        return hand_written(connection)

    async with EmbeddedBackend(ThemisSettings(path=str(path))) as backend:

        async def engine() -> list[Any]:
            return (await backend.aql(QUERY, allow_full_scan=True)).results

        expected = await baseline()
        assert await engine() == expected, "the engine and the hand-written SQL disagree"
        plain_sql = await median_ms(baseline, args.rounds)
        plain_aql = await median_ms(engine, args.rounds)

        for statement in HAND_INDEXES:
            connection.execute(statement)
        indexed_sql = await median_ms(baseline, args.rounds)
        for field in FIELDS:
            connection.execute(f"DROP INDEX hand_{field}")
        for field in FIELDS:
            await backend.create_index("docs", field, "range")
        assert await engine() == expected
        indexed_aql = await median_ms(engine, args.rounds)
        plan = (await backend.aql(QUERY, explain=True)).explain
    connection.close()

    print(f"{args.documents} documents, {QUERY}\n")
    print(f"{'':<22} {'hand-written SQL':>17} {'AQL (embedded)':>15} {'ratio':>7} {'target':>7}")
    for label, sql, aql, target in (
        ("without indexes", plain_sql, plain_aql, 2.0),
        ("with indexes", indexed_sql, indexed_aql, 3.0),
    ):
        ratio = aql / sql
        print(f"{label:<22} {sql:>14.2f} ms {aql:>12.2f} ms {ratio:>6.2f}x {target:>6.1f}x")
    if plan is not None:
        print("\nengine plan with indexes:", *plan["plan"]["steps"][0]["sqlite_plan"], sep="\n  ")


if __name__ == "__main__":
    asyncio.run(main())
