"""The embedded engine's AQL beyond the wire examples: joins, aggregates, traversals,
indexes, cursors, and the limits that keep a query from running away."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from themisgate.secrets import Secret
from themisgate.themis import Edge, ThemisSettings
from themisgate.themis.aql import (
    AqlCursorExpired,
    AqlCursorInvalid,
    AqlForbidden,
    AqlFullScan,
    AqlLimitExceeded,
)
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.settings import AqlSettings


async def test_a_join_on_equality_is_a_hash_join(loaded: EmbeddedBackend) -> None:
    result = await loaded.aql(
        "FOR o IN orders FOR u IN users FILTER u.name == o.user AND o.total > 5 "
        "RETURN [o.total, u.city]",
        allow_full_scan=True,
        explain=True,
    )
    assert result.results == [[12.5, "Berlin"], [30, "Berlin"], [7, "Berlin"]]
    assert result.explain is not None
    steps = result.explain["plan"]["steps"]
    assert [step["step"] for step in steps] == ["scan", "join"]
    assert steps[1]["join"] == "name"


async def test_a_join_without_equality_is_a_nested_loop(loaded: EmbeddedBackend) -> None:
    result = await loaded.aql(
        "FOR a IN users FOR b IN users FILTER a.age > 40 AND b.age > 40 AND a.age < b.age "
        "RETURN [a.name, b.name]",
        allow_full_scan=True,
    )
    assert result.results == [["Dan", "Frank"]]


async def test_aggregates_over_nothing_and_mixed_values(embedded: EmbeddedBackend) -> None:
    empty = await embedded.aql(
        "FOR d IN nothing COLLECT AGGREGATE n = COUNT(), s = SUM(d.x), a = AVG(d.x), "
        "lo = MIN(d.x) RETURN {n: n, s: s, a: a, lo: lo}",
        allow_full_scan=True,
    )
    assert empty.results == [{"n": 0, "s": 0, "a": None, "lo": None}]
    for key, value in {"a": 3, "b": "text", "c": None, "d": 1.5, "e": True}.items():
        await embedded.put_document("mixed", key, {"x": value})
    mixed = await embedded.aql(
        "FOR d IN mixed COLLECT AGGREGATE n = COUNT(), present = COUNT(d.x), s = SUM(d.x), "
        "lo = MIN(d.x), hi = MAX(d.x) RETURN [n, present, s, lo, hi]",
        allow_full_scan=True,
    )
    # SUM skips what is not a number; MIN/MAX follow the SORT order, skipping null
    assert mixed.results == [[5, 4, 4.5, True, "text"]]


async def test_traversals_resolve_vertices_by_collection_and_key(embedded: EmbeddedBackend) -> None:
    await embedded.put_document("people", "ann", {"name": "Ann"})
    await embedded.put_document("people", "ben", {"name": "Ben"})
    await embedded.put_document("cities", "rome", {"name": "Rome"})
    await embedded.add_edges(
        [
            Edge("k1", "people:ann", "people:ben", "knows"),
            Edge("l1", "people:ben", "cities/rome", "lives"),
            Edge("k2", "people:ben", "nowhere:ghost", "knows"),
        ]
    )
    start = await embedded.aql("FOR v IN 0..0 OUTBOUND 'people:ann' GRAPH 'g' RETURN v.name")
    assert start.results == ["Ann"]
    knows = await embedded.aql(
        "FOR v, e IN 1..3 OUTBOUND 'people:ann' TYPE 'knows' GRAPH 'g' RETURN [v, e.id]"
    )
    assert knows.results == [[{"name": "Ben"}, "k1"], [None, "k2"]]
    paths = await embedded.aql(
        "FOR v, e, p IN 2..2 OUTBOUND 'people:ann' GRAPH 'g' "
        "RETURN {to: v.name, through: p.vertices, hops: LENGTH(p.edges)}"
    )
    # `cities/rome` names a document as `cities:rome` does; `nowhere:ghost` has none
    assert paths.results == [
        {"to": "Rome", "through": [{"name": "Ann"}, {"name": "Ben"}, {"name": "Rome"}], "hops": 2},
        {"to": None, "through": [{"name": "Ann"}, {"name": "Ben"}, None], "hops": 2},
    ]


async def test_indexes_decide_what_needs_a_full_scan(embedded: EmbeddedBackend) -> None:
    await embedded.put_document("books", "b1", {"title": "Dune", "year": 1965})
    query = "FOR b IN books FILTER b.year < 2000 SORT b.title RETURN b.title"
    with pytest.raises(AqlFullScan, match=r"no index on books\.title, books\.year"):
        await embedded.aql(query)
    await embedded.create_index("books", "year", "range")
    with pytest.raises(AqlFullScan, match=r"no index on books\.title$|books\.title:"):
        await embedded.aql(query)
    await embedded.create_index("books", "title")
    assert (await embedded.aql(query)).results == ["Dune"]
    rebuilt = await embedded.reindex("books")
    assert [(index.field, index.type, index.entries) for index in rebuilt] == [
        ("title", "equality", 1),
        ("year", "range", 1),
    ]
    assert await embedded.drop_index("books", "title") is True
    assert await embedded.drop_index("books", "title") is False
    with pytest.raises(AqlFullScan):
        await embedded.aql(query)
    with pytest.raises(AqlFullScan, match="has no FILTER on b"):
        await embedded.aql("FOR b IN books RETURN b")
    with pytest.raises(AqlFullScan, match="whole document"):
        await embedded.aql("FOR b IN books FILTER b.year > 0 AND LENGTH(b) > 1 RETURN b")


async def test_indexes_are_shared_by_every_process_on_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    async with (
        EmbeddedBackend(ThemisSettings(path=path)) as first,
        EmbeddedBackend(ThemisSettings(path=path)) as second,
    ):
        await first.put_document("books", "b1", {"year": 1965})
        await first.create_index("books", "year")
        result = await second.aql("FOR b IN books FILTER b.year == 1965 RETURN b.year")
        assert result.results == [1965]
        # and so is the key that signs cursors
        page = await first.aql("FOR b IN books FILTER b.year > 0 RETURN b", batch_size=1)
        await first.put_document("books", "b2", {"year": 1966})
        page = await first.aql("FOR b IN books FILTER b.year > 0 RETURN b.year", batch_size=1)
        following = await second.aql(
            "FOR b IN books FILTER b.year > 0 RETURN b.year", cursor=page.next_cursor
        )
        assert (page.results, following.results) == ([1965], [1966])


async def test_cursors_from_elsewhere_or_altered_or_expired_are_refused(tmp_path: Path) -> None:
    query = "FOR d IN docs FILTER d.n >= 0 SORT d.n RETURN d.n"
    settings = ThemisSettings(path=str(tmp_path / "a.sqlite"), aql=AqlSettings(cursor_ttl=0.05))
    async with (
        EmbeddedBackend(settings) as backend,
        EmbeddedBackend(ThemisSettings(path=str(tmp_path / "b.sqlite"))) as other,
    ):
        for n in range(5):
            await backend.put_document("docs", f"d{n}", {"n": n})
            await other.put_document("docs", f"d{n}", {"n": n})
        page = await backend.aql(query, allow_full_scan=True, batch_size=2)
        cursor = page.next_cursor
        assert cursor is not None
        body, signature = cursor.split(".")
        with pytest.raises(AqlCursorInvalid, match="altered"):
            await backend.aql(query, allow_full_scan=True, cursor=f"{body}x.{signature}")
        with pytest.raises(AqlCursorInvalid, match="altered"):
            await other.aql(query, allow_full_scan=True, cursor=cursor)
        with pytest.raises(AqlCursorInvalid, match="another query"):
            await backend.aql(query.replace(">= 0", ">= 1"), allow_full_scan=True, cursor=cursor)
        with pytest.raises(AqlCursorInvalid, match="not one this server issued"):
            await backend.aql(query, allow_full_scan=True, cursor="garbage")
        following = await backend.aql(query, allow_full_scan=True, cursor=cursor)
        assert following.results == [2, 3]
        await asyncio.sleep(0.1)  # the cursor lives 0.05 s
        with pytest.raises(AqlCursorExpired) as expired:
            await backend.aql(query, allow_full_scan=True, cursor=cursor)
        assert expired.value.problem == "aql-cursor-expired"
        assert expired.value.status_code == 400


async def test_a_configured_secret_lets_separate_databases_share_cursors(tmp_path: Path) -> None:
    shared = AqlSettings(cursor_secret=Secret("a long random string both servers know"))
    query = "FOR d IN docs FILTER d.n >= 0 RETURN d.n"
    async with (
        EmbeddedBackend(ThemisSettings(path=str(tmp_path / "a.sqlite"), aql=shared)) as one,
        EmbeddedBackend(ThemisSettings(path=str(tmp_path / "b.sqlite"), aql=shared)) as two,
    ):
        for backend in (one, two):
            for n in range(3):
                await backend.put_document("docs", f"d{n}", {"n": n})
        page = await one.aql(query, allow_full_scan=True, batch_size=2)
        rest = await two.aql(query, allow_full_scan=True, cursor=page.next_cursor)
        assert rest.results == [2]


async def test_runaway_queries_stop_with_a_clear_refusal(tmp_path: Path) -> None:
    settings = ThemisSettings(path=str(tmp_path / "db.sqlite"), aql=AqlSettings(max_rows=500))
    async with EmbeddedBackend(settings) as backend:
        for n in range(40):
            await backend.put_document("docs", f"d{n}", {"n": n})
        with pytest.raises(AqlLimitExceeded, match="more than 500 rows"):
            await backend.aql("FOR a IN docs FOR b IN docs RETURN 1", allow_full_scan=True)
    slow = ThemisSettings(path=str(tmp_path / "db.sqlite"), aql=AqlSettings(timeout=1e-9))
    async with EmbeddedBackend(slow) as backend:
        for n in range(2000):
            await backend.put_document("many", f"d{n}", {"n": n, "s": "x" * 50})
        with pytest.raises(AqlLimitExceeded, match="ran longer than"):
            await backend.aql("FOR d IN many FILTER d.s == 'y' RETURN d", allow_full_scan=True)
        # the connection is fine afterwards
        await backend.put_document("many", "ok", {"n": -1})
        assert await backend.get_document("many", "ok") == {"n": -1}


async def test_binds_are_native_so_any_value_works(loaded: EmbeddedBackend) -> None:
    with pytest.raises(AqlForbidden):
        await loaded.aql("FOR u IN users FILTER u.name == 'drop table' RETURN u")
    result = await loaded.aql(
        "FOR u IN users FILTER u.name == @name RETURN u",
        {"name": "drop table\x00"},
        allow_full_scan=True,
    )
    assert result.results == []


async def test_results_never_share_state_with_the_cached_query(loaded: EmbeddedBackend) -> None:
    query = 'FOR u IN users FILTER u.city == "Hamburg" RETURN {tags: ["a"], name: u.name}'
    first = await loaded.aql(query)
    first.results[0]["tags"].append("changed")
    second = await loaded.aql(query)
    assert second.results == [{"tags": ["a"], "name": "Bob"}]
