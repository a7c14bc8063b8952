"""Fixtures for the AQL tests: the data the recorded server held, loaded into the embedded
engine and into themis-lite (served by a real process, reached by the http backend over a
socket), so each example can run on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, themis_lite
from themisgate.themis import Edge, ThemisSettings
from themisgate.themis.embedded import EmbeddedBackend
from themisgate.themis.http import HttpBackend

# the users of the recorded exchanges, as they stood when its AQL entries ran
USERS = {
    "alice": {"name": "Alice", "city": "Berlin", "age": 31},
    "bob": {"name": "Bob", "city": "Hamburg", "age": 25},
    "body_pk": {"name": "Body"},
    "carol": {"name": "Carol", "city": "Berlin", "age": 35},
    "dan": {"name": "Dan", "city": "Berlin", "age": 41},
    "frank": {"name": "Frank", "city": "Cologne", "age": 50},
    "gus": {"name": "Gus", "city": "Berlin", "age": 28},
}
ORDERS = {
    "o1": {"user": "Alice", "total": 12.5, "items": ["pen", "ink"]},
    "o2": {"user": "Alice", "total": 30, "items": ["paper"]},
    "o3": {"user": "Dan", "total": 7, "items": []},
    "o4": {"user": "Nobody", "total": 1, "items": ["pen"]},
}
# the recorded /content/import edges: vertices are bare keys of `users`
EDGES = [
    Edge(id="e1", source="alice", target="bob", type="knows"),
    Edge(id="e2", source="bob", target="carol", type="knows"),
    Edge(id="e3", source="carol", target="dan", type="knows"),
    Edge(id="e4", source="alice", target="carol", type="likes", weight=0.5),
]

Backend = EmbeddedBackend | HttpBackend


async def load(backend: Backend) -> None:
    """Documents, indexes on users.city and users.age, and the edges."""
    for key, document in USERS.items():
        await backend.put_document("users", key, document)
    for key, document in ORDERS.items():
        await backend.put_document("orders", key, document)
    await backend.create_index("users", "city")
    await backend.create_index("users", "age", "range")
    for edge in EDGES:
        await backend.add_edge(edge)


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """themis-lite in its own process, holding the data of `load` (the tests only read)."""
    work = tmp_path_factory.mktemp("lite")
    server = themis_lite(work, work / "lite.sqlite").start()
    try:
        # in a thread of its own: this fixture may be set up while a test's loop runs
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _load_over_http(server.url)).result()
        yield server
    finally:
        server.stop()


async def _load_over_http(url: str) -> None:
    backend = HttpBackend(ThemisSettings(backend="http", url=url))
    await backend.start()
    try:
        await load(backend)
    finally:
        await backend.close()


@pytest.fixture
async def http(lite_server: ServerProcess) -> AsyncIterator[HttpBackend]:
    """The http backend against themis-lite, over a real socket."""
    backend = HttpBackend(ThemisSettings(backend="http", url=lite_server.url))
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedBackend]:
    backend = EmbeddedBackend(ThemisSettings(path=str(tmp_path / "aql.sqlite")))
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
async def loaded(embedded: EmbeddedBackend) -> EmbeddedBackend:
    await load(embedded)
    return embedded


@pytest.fixture(params=["embedded", "http-lite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Each test twice: on the embedded engine, and on the http backend against
    themis-lite (a real process over a socket), both holding the data of `load`."""
    chosen: Backend
    if request.param == "embedded":
        chosen = EmbeddedBackend(ThemisSettings(path=str(tmp_path / "aql.sqlite")))
        await chosen.start()
        await load(chosen)
    else:
        server: ServerProcess = request.getfixturevalue("lite_server")
        chosen = HttpBackend(ThemisSettings(backend="http", url=server.url))
        await chosen.start()
    try:
        yield chosen
    finally:
        await chosen.close()
