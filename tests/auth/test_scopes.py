"""Scopes on the real routes: reads need `read`, v4 writes `write`, the plugin listing
`admin`; anonymous callers get 401 and callers lacking a scope 403, both problem+json
with an RFC 6750 challenge; `require_auth` leaves anonymous callers no scope at all."""

from __future__ import annotations

from typing import Any

import themisgate_auth
from themisgate.testing import plugin_client
from themisgate_auth import hash_key, new_key

from .support import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    assert_problem,
    auth_settings,
    claims,
    listener,
    sign,
)

READER, WRITER, ADMIN = new_key(), new_key(), new_key()
DOCUMENT = "/api/v4/themis/documents/books/b1"


def scoped_settings(**extra: Any) -> dict[str, Any]:
    return auth_settings(
        api_keys=[
            {"id": "reader", "hash": hash_key(READER), "tier": "free", "scopes": ["read"]},
            {
                "id": "writer",
                "hash": hash_key(WRITER),
                "tier": "premium",
                "scopes": ["read", "write"],
            },
            {"id": "ops", "hash": hash_key(ADMIN), "tier": "enterprise", "scopes": ["admin"]},
        ],
        jwt={"algorithms": ["HS256"], "secret": HS_SECRET, "issuer": ISSUER, "audience": AUDIENCE},
        **extra,
    )


def key(value: str) -> dict[str, str]:
    return {"X-API-Key": value}


async def test_writes_need_the_write_scope() -> None:
    async with plugin_client(themisgate_auth, settings=scoped_settings()) as client:
        refused = await client.put(DOCUMENT, json={"t": 1}, headers=key(READER))
        written = await client.put(DOCUMENT, json={"t": 1}, headers=key(WRITER))
        read = await client.get(DOCUMENT, headers=key(READER))
    body = assert_problem(refused, 403, "forbidden")
    assert body["required_scope"] == "write"
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="themisgate", error="insufficient_scope", scope="write"'
    )
    assert written.status_code == 200
    assert read.json()["document"] == {"t": 1}


async def test_the_plugin_listing_needs_admin() -> None:
    async with plugin_client(themisgate_auth, settings=scoped_settings()) as client:
        writer = await client.get("/-/plugins", headers=key(WRITER))
        admin = await client.get("/-/plugins", headers=key(ADMIN))
        anonymous = await client.get("/-/plugins")
    assert_problem(writer, 403, "forbidden")
    assert admin.status_code == 200
    assert "auth" in [plugin["name"] for plugin in admin.json()["enabled"]]
    assert_problem(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="themisgate", scope="admin"'


async def test_anonymous_callers_read_but_do_not_write() -> None:
    async with plugin_client(themisgate_auth, settings=scoped_settings()) as client:
        read = await client.get(DOCUMENT)
        write = await client.put(DOCUMENT, json={"t": 1})
    assert read.status_code == 404  # allowed to look; there is nothing there
    assert_problem(write, 401, "unauthorized")
    assert 'scope="write"' in write.headers["www-authenticate"]


async def test_token_scopes_are_enforced_like_key_scopes() -> None:
    reader = sign(claims(scope="read"), HS_SECRET, "HS256")
    writer = sign(claims(scope="read write"), HS_SECRET, "HS256")
    async with plugin_client(themisgate_auth, settings=scoped_settings()) as client:
        refused = await client.put(
            DOCUMENT, json={"t": 1}, headers={"Authorization": f"Bearer {reader}"}
        )
        written = await client.put(
            DOCUMENT, json={"t": 1}, headers={"Authorization": f"Bearer {writer}"}
        )
    body = assert_problem(refused, 403, "forbidden")
    assert "'alice'" in body["detail"]
    assert written.status_code == 200


async def test_require_auth_refuses_anonymous_callers_but_not_probes() -> None:
    settings = scoped_settings(require_auth=True)
    async with plugin_client(themisgate_auth, settings=settings) as client:
        read = await client.get(DOCUMENT)
        health = await client.get("/health")
        ready = await client.get("/ready")
        with_key = await client.get(DOCUMENT, headers=key(READER))
    assert_problem(read, 401, "unauthorized")
    assert read.headers["www-authenticate"].startswith('Bearer realm="themisgate"')
    assert health.status_code == 200
    assert ready.status_code == 200
    assert with_key.status_code == 404


async def test_scope_refusals_are_auth_failed_events() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    plugins = (themisgate_auth, listener(events))
    async with plugin_client(*plugins, settings=scoped_settings()) as client:
        await client.put(DOCUMENT, json={"t": 1})
        await client.put(DOCUMENT, json={"t": 1}, headers=key(READER))
    failures = [payload for name, payload in events if name == "auth_failed"]
    assert failures == [
        {"reason": "missing_credentials", "scheme": "none"},
        {"reason": "insufficient_scope", "scheme": "api_key"},
    ]
