"""Bearer JWTs: HS256 with a secret, RS256/ES256 with a PEM key; every check a token must
pass (signature, algorithm, issuer, audience, expiry, not-before) and the identity it
gives (sub, tier claim, scopes)."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

import themisgate_auth
from themisgate.testing import plugin_client

from .support import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    KeyPair,
    assert_unauthorized,
    auth_settings,
    claims,
    ec_pair,
    hmac_token,
    listener,
    rsa_pair,
    sign,
    unsigned_token,
    whoami_plugin,
)


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return rsa_pair()


@pytest.fixture(scope="module")
def other_rsa_key() -> KeyPair:
    return rsa_pair("rsa-other")


def hs_settings(**jwt: Any) -> dict[str, Any]:
    return auth_settings(
        jwt={
            "algorithms": ["HS256"],
            "secret": HS_SECRET,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            **jwt,
        }
    )


def pem_settings(pair: KeyPair, algorithm: str, **jwt: Any) -> dict[str, Any]:
    return auth_settings(
        jwt={
            "algorithms": [algorithm],
            "public_key": pair.public_pem,
            "issuer": ISSUER,
            "audience": AUDIENCE,
            **jwt,
        }
    )


async def whoami(settings: dict[str, Any], token: str) -> Any:
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
        return await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_an_hs256_token_is_its_subject_with_the_tier_and_scopes_it_carries() -> None:
    response = await whoami(hs_settings(), sign(claims(), HS_SECRET, "HS256"))
    assert response.json() == {
        "kind": "user",
        "id": "alice",
        "tier": "premium",
        "scopes": ["read", "write"],
    }


async def test_an_rs256_token_verified_with_a_pem_key(rsa_key: KeyPair) -> None:
    token = sign(claims(tier="enterprise"), rsa_key.private, "RS256")
    response = await whoami(pem_settings(rsa_key, "RS256"), token)
    assert response.status_code == 200, response.text
    assert response.json()["tier"] == "enterprise"


async def test_an_es256_token_verified_with_a_pem_key() -> None:
    pair = ec_pair()
    response = await whoami(pem_settings(pair, "ES256"), sign(claims(), pair.private, "ES256"))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == "alice"


async def test_tier_and_scope_claims_are_configurable() -> None:
    settings = hs_settings(
        tier_claim="https://themisgate.test/tier",
        scopes_claim="scp",
        scope_prefix="themisgate:",
    )
    token = sign(
        claims(
            scope=None,
            tier=None,
            scp=["openid", "themisgate:admin", "email"],
            **{"https://themisgate.test/tier": "enterprise"},
        ),
        HS_SECRET,
        "HS256",
    )
    response = await whoami(settings, token)
    assert response.json()["tier"] == "enterprise"
    assert response.json()["scopes"] == ["admin"]


async def test_a_token_without_tier_or_scopes_gets_the_defaults() -> None:
    settings = hs_settings(default_tier="basic", default_scopes=["read"])
    response = await whoami(settings, sign(claims(tier=None, scope=None), HS_SECRET, "HS256"))
    assert response.json()["tier"] == "basic"
    assert response.json()["scopes"] == ["read"]


async def test_leeway_forgives_a_few_seconds_of_clock_skew() -> None:
    now = int(time.time())
    token = sign(claims(exp=now - 5, nbf=now + 5), HS_SECRET, "HS256")
    response = await whoami(hs_settings(leeway_seconds=30), token)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"iss": "https://evil.test/"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"sub": None}, "required sub"),
        ({"exp": None}, "required exp"),
        ({"tier": ["premium"]}, "tier"),
    ],
    ids=["expired", "not-yet-valid", "issuer", "audience", "no-sub", "no-exp", "bad-tier"],
)
async def test_a_token_failing_a_check_is_a_401(changes: dict[str, Any], description: str) -> None:
    response = await whoami(hs_settings(), sign(claims(**changes), HS_SECRET, "HS256"))
    body = assert_unauthorized(response)
    assert description in body["detail"]
    assert description in response.headers["www-authenticate"]


async def test_an_expired_token_is_reported_as_expired() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    token = sign(claims(exp=int(time.time()) - 3600), HS_SECRET, "HS256")
    plugins = (themisgate_auth, whoami_plugin(), listener(events))
    async with plugin_client(*plugins, settings=hs_settings()) as client:
        response = await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert_unauthorized(response)
    assert events == [("auth_failed", {"reason": "expired_token", "scheme": "jwt"})]


async def test_a_token_signed_with_another_secret_is_a_401() -> None:
    token = sign(claims(), "another-secret-of-sufficient-length-0123456789", "HS256")
    body = assert_unauthorized(await whoami(hs_settings(), token))
    assert "signature" in body["detail"]


async def test_a_token_signed_with_another_rsa_key_is_a_401(
    rsa_key: KeyPair, other_rsa_key: KeyPair
) -> None:
    token = sign(claims(), other_rsa_key.private, "RS256")
    body = assert_unauthorized(await whoami(pem_settings(rsa_key, "RS256"), token))
    assert "signature" in body["detail"]


async def test_alg_none_is_a_401() -> None:
    body = assert_unauthorized(await whoami(hs_settings(), unsigned_token(claims())))
    assert "algorithm" in body["detail"]


async def test_hs256_signed_with_the_rs256_public_key_is_a_401(rsa_key: KeyPair) -> None:
    forged = hmac_token(claims(), rsa_key.public_pem.encode())
    body = assert_unauthorized(await whoami(pem_settings(rsa_key, "RS256"), forged))
    assert "algorithm" in body["detail"]


async def test_algorithm_confusion_fails_even_when_hs256_is_also_accepted(
    rsa_key: KeyPair,
) -> None:
    """With both families configured, an HS256 token is checked against the secret only:
    signing it with the public key proves nothing."""
    settings = auth_settings(
        jwt={
            "algorithms": ["RS256", "HS256"],
            "public_key": rsa_key.public_pem,
            "secret": HS_SECRET,
            "issuer": ISSUER,
            "audience": AUDIENCE,
        }
    )
    forged = hmac_token(claims(), rsa_key.public_pem.encode())
    body = assert_unauthorized(await whoami(settings, forged))
    assert "signature" in body["detail"]
    genuine = sign(claims(), rsa_key.private, "RS256")
    assert (await whoami(settings, genuine)).status_code == 200


async def test_an_rs256_token_against_an_es256_configuration_is_a_401(rsa_key: KeyPair) -> None:
    pair = ec_pair()
    token = sign(claims(), rsa_key.private, "RS256")
    assert_unauthorized(await whoami(pem_settings(pair, "ES256"), token))


async def test_garbage_and_jwts_without_jwt_settings_are_401s() -> None:
    token = sign(claims(), HS_SECRET, "HS256")
    assert_unauthorized(await whoami(auth_settings(), token))
    assert_unauthorized(await whoami(hs_settings(), "not.a.jwt"))
    assert_unauthorized(await whoami(hs_settings(), "x" * 9000 + ".a.b"))
    nested = base64.urlsafe_b64encode(b"[" * 1500).rstrip(b"=").decode()
    assert_unauthorized(await whoami(hs_settings(), f"{nested}.e30.c2ln"))
    handmade = hmac_token(claims(), HS_SECRET.encode())  # the helper itself signs right
    assert (await whoami(hs_settings(), handmade)).status_code == 200


async def test_a_cached_token_keeps_working_and_a_rejected_one_stays_rejected() -> None:
    good = sign(claims(), HS_SECRET, "HS256")
    bad = sign(claims(), "another-secret-of-sufficient-length-0123456789", "HS256")
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=hs_settings()) as client:
        for _ in range(3):
            ok = await client.get("/whoami", headers={"Authorization": f"Bearer {good}"})
            assert ok.json()["id"] == "alice"
            refused = await client.get("/whoami", headers={"Authorization": f"Bearer {bad}"})
            assert_unauthorized(refused)
