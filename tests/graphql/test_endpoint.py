"""The endpoint's HTTP surface: its path, GraphiQL served without a CDN, media types, and
settings checked at start-up."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import themisgate_graphql
from tests.graphql.support import data, graphql_app, graphql_client, query
from themisgate import ConfigError

STATIC = Path(themisgate_graphql.__file__).parent / "static"


async def test_graphiql_page_loads_everything_from_this_server() -> None:
    async with graphql_client() as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        sources = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
        assets = {source: await client.get(source) for source in sources}
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "<script>" not in page.text  # no inline script: the policy forbids it
    assert sorted(sources) == sorted(
        f"/graphql/assets/{name}"
        for name in (
            "graphiql.min.css",
            "react.production.min.js",
            "react-dom.production.min.js",
            "graphiql.min.js",
            "boot.js",
        )
    )
    for source, response in assets.items():
        assert response.status_code == 200, source
        assert "max-age" in response.headers["cache-control"]
        name = source.rsplit("/", 1)[1]
        assert response.content == (STATIC / name).read_bytes()


def test_the_vendored_assets_are_the_published_files() -> None:
    readme = (STATIC / "README.md").read_text()
    listed = dict(re.findall(r"\| `([^`]+)` \|[^|]+\|[^|]+\| `([0-9a-f]{64})` \|", readme))
    assert set(listed) == {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    }
    for name, sha256 in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == sha256, name


async def test_the_path_is_configurable() -> None:
    async with graphql_client(path="/api/graph") as client:
        moved = await query(client, "{ __typename }", path="/api/graph")
        old = await query(client, "{ __typename }")
        page = await client.get("/api/graph", headers={"accept": "text/html"})
    assert data(moved) == {"__typename": "Query"}
    assert old.status_code == 404
    assert 'data-endpoint="/api/graph"' in page.text
    assert "/api/graph/assets/graphiql.min.js" in page.text


async def test_the_response_media_type_follows_accept() -> None:
    async with graphql_client() as client:
        default = await query(client, "{ __typename }")
        preferred = await query(
            client,
            "{ __typename }",
            headers={"accept": "application/graphql-response+json, application/json;q=0.9"},
        )
        refused = await query(
            client,
            "{ __typename }",
            headers={"accept": "application/graphql-response+json;q=0, application/json"},
        )
    assert default.headers["content-type"].startswith("application/json")
    assert preferred.headers["content-type"].startswith("application/graphql-response+json")
    assert preferred.json() == {"data": {"__typename": "Query"}}
    assert refused.headers["content-type"].startswith("application/json")


def test_bad_settings_stop_start_up_naming_the_key() -> None:
    with pytest.raises(ConfigError) as failed:
        graphql_app(path="graphql", max_depth=0, status_interval=-1)
    message = str(failed.value)
    assert "[plugins.graphql] path" in message
    assert "[plugins.graphql] max_depth" in message
    assert "[plugins.graphql] status_interval" in message
