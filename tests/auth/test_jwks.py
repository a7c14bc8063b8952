"""Keys from a JWKS URL, served by a real HTTP server: fetched at start-up, refreshed
when a token names an unknown `kid` (at a bounded rate), kept when the endpoint is down,
and reported by a readiness check that is not required."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import themisgate_auth
from themisgate.testing import plugin_client
from themisgate_auth.jwks import JwksKeys

from .support import (
    AUDIENCE,
    ISSUER,
    KeyPair,
    assert_unauthorized,
    auth_settings,
    claims,
    jwks_server,
    rsa_pair,
    sign,
    whoami_plugin,
)


@pytest.fixture(scope="module")
def first() -> KeyPair:
    return rsa_pair("key-1")


@pytest.fixture(scope="module")
def second() -> KeyPair:
    return rsa_pair("key-2")


def jwks_settings(url: str, **jwt: Any) -> dict[str, Any]:
    return auth_settings(
        jwt={
            "algorithms": ["RS256"],
            "jwks_url": url,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_min_refresh_seconds": 0,
            "jwks_timeout_seconds": 1,
            **jwt,
        }
    )


def bearer(pair: KeyPair, **extra: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign(claims(**extra), pair.private, 'RS256', pair.kid)}"}


def jwks_check(ready: Any) -> dict[str, Any]:
    return next(c for c in ready.json()["checks"] if c["name"] == "jwks")


async def test_a_token_signed_with_a_published_key_works(first: KeyPair) -> None:
    with jwks_server(first) as idp:
        settings = jwks_settings(idp.url)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            response = await client.get("/whoami", headers=bearer(first, sub="bob"))
            ready = await client.get("/ready")
    assert response.json()["id"] == "bob"
    check = jwks_check(ready)
    assert check["ok"] is True
    assert check["required"] is False
    assert check["facts"]["kids"] == ["key-1"]


async def test_a_rotated_key_is_fetched_when_a_token_names_it(
    first: KeyPair, second: KeyPair
) -> None:
    with jwks_server(first) as idp:
        settings = jwks_settings(idp.url)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            assert (await client.get("/whoami", headers=bearer(first))).status_code == 200
            idp.publish(first, second)  # the provider rotates
            response = await client.get("/whoami", headers=bearer(second, sub="carol"))
    assert response.json()["id"] == "carol"


async def test_unknown_kids_refresh_the_set_at_most_once_per_interval(
    first: KeyPair, second: KeyPair
) -> None:
    with jwks_server(first) as idp:
        settings = jwks_settings(idp.url, jwks_min_refresh_seconds=3600)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            assert (await client.get("/whoami", headers=bearer(first))).status_code == 200
            fetched = idp.requests
            for _ in range(20):  # tokens naming a key the provider never published
                assert_unauthorized(await client.get("/whoami", headers=bearer(second)))
            assert (await client.get("/whoami", headers=bearer(first))).status_code == 200
    assert fetched == 1
    assert idp.requests == fetched


async def test_with_the_endpoint_down_known_keys_work_unknown_ones_fail_and_it_recovers(
    first: KeyPair, second: KeyPair
) -> None:
    with jwks_server(first) as idp:
        settings = jwks_settings(idp.url)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            assert (await client.get("/whoami", headers=bearer(first))).status_code == 200
            idp.stop()  # connections are refused from now on

            known = await client.get("/whoami", headers=bearer(first, sub="still-works"))
            unknown = await client.get("/whoami", headers=bearer(second))
            ready = await client.get("/ready")

            idp.publish(first, second)
            idp.start()  # back, with the new key
            recovered = await client.get("/whoami", headers=bearer(second, sub="new-key"))
            ready_again = await client.get("/ready")

    assert known.json()["id"] == "still-works"
    body = assert_unauthorized(unknown)
    assert "key id" in body["detail"]
    assert ready.status_code == 200  # the server still answers: degraded, not down
    assert ready.json()["status"] == "degraded"
    check = jwks_check(ready)
    assert check["ok"] is False
    assert "ConnectError" in check["detail"]
    assert check["facts"]["keys"] == 1
    assert recovered.json()["id"] == "new-key"
    assert jwks_check(ready_again)["ok"] is True
    assert ready_again.json()["status"] == "ready"


async def test_starting_with_the_endpoint_down_answers_401_then_recovers(
    first: KeyPair,
) -> None:
    with jwks_server(first) as idp:
        idp.stop()
        settings = jwks_settings(idp.url)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            down = await client.get("/whoami", headers=bearer(first))
            ready = await client.get("/ready")
            idp.start()
            up = await client.get("/whoami", headers=bearer(first))
    assert_unauthorized(down)
    assert jwks_check(ready)["ok"] is False
    assert "no keys" in jwks_check(ready)["detail"]
    assert up.status_code == 200


async def test_keys_that_cannot_sign_the_configured_algorithms_are_ignored(
    first: KeyPair,
) -> None:
    with jwks_server(first) as idp:
        idp.keys = [
            first.jwk(alg="RS512"),  # declared for another algorithm
            {"kty": "oct", "k": "c2VjcmV0", "kid": "shared"},  # a secret: never from a URL
            {**first.jwk(), "kid": "enc", "use": "enc"},  # for encryption
        ]
        settings = jwks_settings(idp.url)
        async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
            response = await client.get("/whoami", headers=bearer(first))
            ready = await client.get("/ready")
    assert_unauthorized(response)
    assert "can verify" in jwks_check(ready)["detail"]


async def test_concurrent_refreshes_share_one_fetch(first: KeyPair) -> None:
    with jwks_server(first) as idp:
        keys = JwksKeys(idp.url, ["RS256"], timeout=1, refresh_seconds=300, min_refresh_seconds=0)
        results = await asyncio.gather(*(keys.refresh() for _ in range(10)))
    assert results == [True] * 10
    assert idp.requests == 1
    assert keys.find("key-1") is not None
