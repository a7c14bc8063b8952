"""What the GraphQL tests share: an app with the plugin, a `query` helper, seed data, and
small plugins standing in for auth, rate limits and observers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

import themisgate_graphql
from themisgate import Identity, RateDecision, UpsertEntry
from themisgate.testing import make_app
from themisgate.themis import Edge

ALL = frozenset({"read", "write", "admin"})


class Named:
    """A plugin object with a name and whatever hooks a test gives it."""

    def __init__(self, name: str, **hooks: Any) -> None:
        self.name = name
        for key, value in hooks.items():
            setattr(self, key, value)


def graphql_app(*plugins: object, **graphql: Any) -> Litestar:
    settings = {"plugins": {"graphql": graphql}}
    return make_app(themisgate_graphql, *plugins, settings=settings)


@contextlib.asynccontextmanager
async def graphql_client(*plugins: object, **graphql: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=graphql_app(*plugins, **graphql)) as client:
        yield client


async def query(
    client: AsyncTestClient[Any],
    document: str,
    variables: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    path: str = "/graphql",
) -> httpx.Response:
    body: dict[str, Any] = {"query": document}
    if variables is not None:
        body["variables"] = dict(variables)
    return await client.post(path, json=body, headers=dict(headers or {}))


def data(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a response that must have succeeded without errors."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


def codes(response: httpx.Response) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]


def adapter_of(app: Litestar) -> Any:
    return app.state["themisgate"].adapter


ARTICLES = {
    "solar": "solar panels turn sunlight into electricity",
    "wind": "wind turbines turn moving air into electricity",
    "tea": "green tea is brewed from steamed leaves",
}


async def seed_articles(app: Litestar) -> None:
    """Three searchable documents in `documents`, each with a topic."""
    entries = [
        UpsertEntry(key=key, text=text, document={"text": text, "topic": key})
        for key, text in ARTICLES.items()
    ]
    await adapter_of(app).upsert("documents", entries)


async def seed_graph(app: Litestar, people: int = 3) -> None:
    """`users:p0` knows `users:p1` … `users:p<people-1>`, and p1 works at `orgs:acme`;
    every vertex has a document."""
    adapter = adapter_of(app)
    for index in range(people):
        await adapter.put_document("users", f"p{index}", {"name": f"person {index}"})
        if index:
            await adapter.add_edge(
                Edge(id=f"k{index}", source="users:p0", target=f"users:p{index}", type="knows")
            )
    await adapter.put_document("orgs", "acme", {"name": "ACME"})
    await adapter.add_edge(
        Edge(
            id="w1",
            source="users:p1",
            target="orgs:acme",
            type="works_at",
            weight=0.5,
            properties={"since": 2020},
        )
    )


def adapter_calls(seen: list[tuple[str, dict[str, Any]]]) -> Named:
    """An observer plugin recording every ThemisDB adapter call."""

    @contextlib.contextmanager
    def themisgate_adapter_call(operation: str, attributes: dict[str, Any]) -> Iterator[None]:
        yield
        seen.append((operation, dict(attributes)))

    return Named("adapter-calls", themisgate_adapter_call=themisgate_adapter_call)


def identity_plugin(scopes: frozenset[str], kind: str = "api_key") -> Named:
    """Every caller is `kind` holding `scopes` (`kind="ip"` is anonymous)."""

    def themisgate_identify(request: Any) -> Identity:
        return Identity(kind, "caller", "free", scopes)

    return Named("identity", themisgate_identify=themisgate_identify)


def rate_limiter(
    charges: list[tuple[str, str, int]], allow: bool = True, retry_after: float = 2.5
) -> Named:
    """A rate limiter recording (identity key, key, cost) and answering `allow`."""

    async def themisgate_rate_limit(identity: Identity, key: str, cost: int) -> RateDecision:
        charges.append((identity.key, key, cost))
        return RateDecision(allowed=allow, retry_after=0.0 if allow else retry_after)

    return Named("limiter", themisgate_rate_limit=themisgate_rate_limit)
