"""ThemisDB down: operations still answer, with errors a client can act on, and the
status says so; nothing is a 500."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

import themisgate_graphql
from tests.graphql.support import codes, data, query
from tests.support.processes import free_port
from themisgate.testing import make_app


def unreachable_themis_app() -> Litestar:
    settings: dict[str, Any] = {
        "core": {
            "themis": {
                "backend": "http",
                "url": f"http://127.0.0.1:{free_port()}",
                "connect_timeout": 0.2,
                "retries": 0,
            }
        },
        "plugins": {"graphql": {}},
    }
    return make_app(themisgate_graphql, settings=settings)


async def test_an_unreachable_themisdb_is_an_error_with_retry_after_and_a_status() -> None:
    async with AsyncTestClient(app=unreachable_themis_app()) as client:
        failed = await query(client, '{ document(id: "docs:a") }')
        status = await query(client, "{ adapterStatus { available version } }")
    assert failed.status_code == 200
    assert codes(failed) == ["THEMIS_UNAVAILABLE"]
    error = failed.json()["errors"][0]
    assert error["extensions"]["retryAfter"] >= 1
    assert error["path"] == ["document"]
    assert data(status) == {"adapterStatus": {"available": False, "version": None}}


async def test_an_unreachable_embedder_fails_text_search_alone() -> None:
    embedder = {"name": "openai", "url": f"http://127.0.0.1:{free_port()}/v1", "timeout": 0.5}
    settings = {"core": {"themis": {"embedder": embedder}}, "plugins": {"graphql": {}}}
    async with AsyncTestClient(app=make_app(themisgate_graphql, settings=settings)) as client:
        response = await query(
            client,
            '{ vectorSearch(input: {query: "anything"}) { documentId } '
            'document(id: "docs:a") adapterStatus { available } }',
        )
    body = response.json()
    assert response.status_code == 200
    assert codes(response) == ["EMBEDDER_UNAVAILABLE"]
    assert body["errors"][0]["path"] == ["vectorSearch"]
    assert body["data"] == {
        "vectorSearch": None,
        "document": None,
        "adapterStatus": {"available": True},
    }
