"""API keys: configured as hashes, sent in X-API-Key or as a bearer token, each with its
tier and scopes; anything else presented as a key is a 401, never an anonymous caller."""

from __future__ import annotations

from typing import Any

import themisgate_auth
from themisgate.testing import plugin_client
from themisgate_auth import hash_key, new_key

from .support import assert_unauthorized, auth_settings, listener, whoami_plugin

PREMIUM = new_key()
REVOKED = new_key()


def keys_settings(**extra: Any) -> dict[str, Any]:
    return auth_settings(
        api_keys=[
            {"id": "ci", "hash": hash_key(PREMIUM), "tier": "premium", "scopes": ["read", "write"]},
            {"id": "old", "hash": hash_key(REVOKED), "tier": "premium", "revoked": True},
        ],
        **extra,
    )


async def test_a_valid_key_in_either_header_is_its_configured_identity() -> None:
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=keys_settings()) as client:
        by_header = await client.get("/whoami", headers={"X-API-Key": PREMIUM})
        by_bearer = await client.get("/whoami", headers={"Authorization": f"Bearer {PREMIUM}"})
    expected = {"kind": "api_key", "id": "ci", "tier": "premium", "scopes": ["read", "write"]}
    assert by_header.json() == expected
    assert by_bearer.json() == expected


async def test_the_key_header_name_is_configurable() -> None:
    settings = keys_settings(api_key_header="X-Themis-Key")
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
        response = await client.get("/whoami", headers={"X-Themis-Key": PREMIUM})
    assert response.json()["id"] == "ci"


async def test_an_invented_key_is_a_401_not_a_fresh_anonymous_caller() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    plugins = (themisgate_auth, whoami_plugin(), listener(events))
    async with plugin_client(*plugins, settings=keys_settings()) as client:
        invented = [new_key() for _ in range(3)]
        answers = [await client.get("/whoami", headers={"X-API-Key": key}) for key in invented]
        bearer = await client.get("/whoami", headers={"Authorization": f"Bearer {new_key()}"})
    for response in [*answers, bearer]:
        body = assert_unauthorized(response)
        assert "not valid" in body["detail"]
        assert (
            'error_description="the API key is not valid"' in response.headers["www-authenticate"]
        )
    failures = [payload for name, payload in events if name == "auth_failed"]
    assert failures == [{"reason": "unknown_key", "scheme": "api_key"}] * 4


async def test_a_revoked_key_is_a_401_saying_so() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    plugins = (themisgate_auth, whoami_plugin(), listener(events))
    async with plugin_client(*plugins, settings=keys_settings()) as client:
        response = await client.get("/whoami", headers={"X-API-Key": REVOKED})
    body = assert_unauthorized(response)
    assert "revoked" in body["detail"]
    assert ("auth_failed", {"reason": "revoked_key", "scheme": "api_key"}) in events


async def test_an_empty_key_header_is_refused_too() -> None:
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=keys_settings()) as client:
        response = await client.get("/whoami", headers={"X-API-Key": ""})
    assert_unauthorized(response)


async def test_two_credentials_at_once_are_refused() -> None:
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=keys_settings()) as client:
        response = await client.get(
            "/whoami", headers={"X-API-Key": PREMIUM, "Authorization": f"Bearer {PREMIUM}"}
        )
    body = assert_unauthorized(response, error="invalid_request")
    assert "not both" in body["detail"]


async def test_an_authorization_scheme_other_than_bearer_is_refused() -> None:
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=keys_settings()) as client:
        basic = await client.get("/whoami", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
        empty = await client.get("/whoami", headers={"Authorization": "Bearer "})
    assert_unauthorized(basic, error="invalid_request")
    assert_unauthorized(empty, error="invalid_request")


async def test_success_is_an_event_with_scheme_and_tier() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    plugins = (themisgate_auth, whoami_plugin(), listener(events))
    async with plugin_client(*plugins, settings=keys_settings()) as client:
        await client.get("/whoami", headers={"X-API-Key": PREMIUM})
        await client.get("/whoami")  # anonymous: not an authentication
    assert events == [("auth_succeeded", {"scheme": "api_key", "tier": "premium"})]


async def test_without_credentials_the_caller_is_its_address_with_the_anonymous_tier() -> None:
    settings = keys_settings(anonymous_tier="anonymous", anonymous_scopes=["read"])
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
        response = await client.get("/whoami")
    assert response.json() == {
        "kind": "ip",
        "id": "testclient",
        "tier": "anonymous",
        "scopes": ["read"],
    }


async def test_the_anonymous_tier_defaults_to_the_core_default_tier() -> None:
    settings = {**keys_settings(), "core": {"default_tier": "visitor"}}
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
        response = await client.get("/whoami")
    assert response.json()["tier"] == "visitor"
