"""Each version has its own OpenAPI document and docs page; `GET /api` lists both."""

from __future__ import annotations

from .support import at, v3_client

NOW = at(2026, 11, 29)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(document: dict) -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


async def test_v3_document_marks_every_operation_deprecated() -> None:
    async with v3_client(now=NOW) as client:
        response = await client.get("/api/v3/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    found = operations(document)
    assert {(m, p) for m, p, _ in found} == {
        ("post", "/api/v3/vector/search"),
        ("post", "/api/v3/aql/query"),
        ("get", "/api/v3/stats"),
        ("get", "/api/v3"),
    }
    assert all(operation["deprecated"] is True for _, _, operation in found)


async def test_v3_document_describes_the_v3_shapes_and_signals() -> None:
    async with v3_client(now=NOW) as client:
        document = (await client.get("/api/v3/openapi.json")).json()
    schemas = document["components"]["schemas"]
    search = document["paths"]["/api/v3/vector/search"]["post"]
    request_ref = search["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schemas[request_ref.rsplit("/", 1)[1]]
    assert request["required"] == ["query"]
    assert request["properties"]["collection"]["default"] == "documents"
    assert "filters" not in request["properties"]
    answer = search["responses"]["200"]
    assert {"Deprecation", "Sunset", "Link"} <= set(answer["headers"])
    assert "410" in search["responses"]
    hit = next(s for name, s in schemas.items() if name.endswith("SearchHit"))
    assert set(hit["properties"]) == {"id", "score", "content", "metadata"}
    description = document["info"]["description"]
    assert "2026-12-31" in description
    assert "`POST /api/v3/vector/search` | `POST /api/v4/themis/vectors/search`" in description


async def test_v4_document_leaves_v3_out_and_v3_leaves_v4_out() -> None:
    async with v3_client(now=NOW) as client:
        v4 = (await client.get("/api/v4/openapi.json")).json()
        v3 = (await client.get("/api/v3/openapi.json")).json()
    assert not [p for p in v4["paths"] if p.startswith("/api/v3")]
    assert "/api/v4/themis/vectors/search" in v4["paths"]
    assert all(p.startswith("/api/v3") for p in v3["paths"])


async def test_each_version_has_a_docs_page_reading_its_own_document() -> None:
    async with v3_client(now=NOW) as client:
        v3 = await client.get("/api/v3/docs")
        v4 = await client.get("/api/v4/docs")
    assert v3.status_code == v4.status_code == 200
    assert v3.headers["content-type"].startswith("text/html")
    assert 'data-url="/api/v3/openapi.json"' in v3.text
    assert "/api/v4/openapi.json" in v4.text


async def test_api_lists_v3_as_deprecated_with_its_sunset() -> None:
    async with v3_client(now=NOW) as client:
        body = (await client.get("/api")).json()
    versions = {v["name"]: v for v in body["versions"]}
    assert body["current"] == "v4"
    assert versions["v4"]["status"] == "current"
    assert versions["v3"] == {
        "name": "v3",
        "path": "/api/v3",
        "status": "deprecated",
        "sunset": "2026-12-31",
        "docs": "/api/v3/docs",
        "openapi": "/api/v3/openapi.json",
    }


async def test_api_lists_v3_as_retired_when_started_after_a_gone_sunset() -> None:
    settings = {"deprecation_date": "2020-01-01", "sunset_date": "2021-01-01"}
    async with v3_client(settings=settings) as client:
        gone = (await client.get("/api")).json()
    async with v3_client(settings={**settings, "after_sunset": "serve"}) as client:
        served = (await client.get("/api")).json()
    assert {v["name"]: v["status"] for v in gone["versions"]}["v3"] == "retired"
    assert {v["name"]: v["status"] for v in served["versions"]}["v3"] == "deprecated"
