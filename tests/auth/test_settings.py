"""Mistakes in `[plugins.auth]` stop start-up with a line naming the table, the key and
what to do; none of those lines repeats a secret."""

from __future__ import annotations

from typing import Any

import pytest

import themisgate_auth
from themisgate import ConfigError
from themisgate.testing import make_app
from themisgate_auth import hash_key, new_key

from .support import AUDIENCE, HS_SECRET, ISSUER, auth_settings, ec_pair, rsa_pair


def problems(settings: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_app(themisgate_auth, settings=settings)
    return [str(problem) for problem in caught.value.problems]


def one_problem(settings: dict[str, Any]) -> str:
    found = problems(settings)
    assert len(found) == 1, found
    return found[0]


def test_a_plaintext_key_instead_of_a_hash_is_refused_naming_the_entry() -> None:
    line = one_problem(
        auth_settings(
            api_keys=[
                {"id": "good", "hash": hash_key(new_key()), "tier": "free"},
                {"id": "ci", "hash": new_key(), "tier": "free"},
            ]
        )
    )
    assert line.startswith("settings: [plugins.auth] api_keys[1]: api key 'ci': hash must be")
    assert "themisgate auth new-key" in line


def test_a_missing_field_names_the_entry() -> None:
    line = one_problem(auth_settings(api_keys=[{"id": "ci", "tier": "free"}]))
    assert "[plugins.auth] api_keys[0]: object missing required field hash" in line


def test_unknown_scopes_and_duplicate_ids_are_refused() -> None:
    digest = hash_key(new_key())
    line = one_problem(
        auth_settings(
            api_keys=[
                {"id": "ci", "hash": digest, "tier": "free", "scopes": ["wirte"]},
            ]
        )
    )
    assert "unknown scope 'wirte'; scopes are read, write, admin" in line
    twice = one_problem(
        auth_settings(
            api_keys=[
                {"id": "ci", "hash": digest, "tier": "free"},
                {"id": "ci", "hash": hash_key(new_key()), "tier": "free"},
            ]
        )
    )
    assert "the id 'ci' is used twice" in twice


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set; did you mean '10.0.0.0/8'?"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or CIDR"),
        ("proxy.internal", "'proxy.internal' is not an IP address or CIDR"),
    ],
)
def test_trusted_proxies_must_be_cidrs(cidr: str, message: str) -> None:
    line = one_problem(auth_settings(trusted_proxies=["127.0.0.1", cidr]))
    assert "[plugins.auth]" in line
    assert f"trusted_proxies: {message}" in line


def test_require_auth_with_anonymous_scopes_is_a_contradiction() -> None:
    line = one_problem(auth_settings(require_auth=True, anonymous_scopes=["read"]))
    assert "require_auth = true leaves anonymous callers no scope" in line


def test_bad_jwt_values_name_the_jwt_table() -> None:
    line = one_problem(auth_settings(jwt={"leeway_seconds": -1}))
    assert line.startswith(
        "settings: [plugins.auth.jwt] leeway_seconds: expected float >= 0.0; found -1"
    )


@pytest.mark.parametrize(
    ("jwt", "message"),
    [
        ({"algorithms": ["none"]}, "'none' (unsigned tokens) is never accepted"),
        ({"algorithms": ["HS265"], "secret": HS_SECRET}, "unknown 'HS265'"),
        ({"algorithms": ["HS256"]}, "secret: required for HS256"),
        ({"algorithms": ["RS256"]}, "public_key or jwks_url: one is required for RS256"),
        (
            {"algorithms": ["RS256"], "secret": HS_SECRET, "public_key": "x"},
            "secret: set, but algorithms has no HS256",
        ),
        (
            {"algorithms": ["RS256"], "jwks_url": "https://idp.test/jwks"},
            "issuer and audience: required with jwks_url",
        ),
        (
            {"algorithms": ["RS256"], "jwks_url": "ftp://idp.test/jwks"},
            "jwks_url: expected an http(s) URL",
        ),
        ({"algorithms": ["RS256"], "public_key": "not a key"}, "not a PEM public key"),
        ({"algorithms": ["HS256"], "secret": HS_SECRET, "required_claims": ["exp", "foo"]}, "foo"),
    ],
)
def test_jwt_settings_that_cannot_work_are_refused(jwt: dict[str, Any], message: str) -> None:
    line = one_problem(auth_settings(jwt=jwt))
    assert line.startswith("settings: [plugins.auth.jwt]: ")
    assert message in line


def test_a_short_hmac_secret_is_refused_without_showing_it() -> None:
    line = one_problem(auth_settings(jwt={"algorithms": ["HS256"], "secret": "tooshort-s3cret"}))
    assert "15 bytes is too short for HS256; use at least 32" in line
    assert "tooshort-s3cret" not in line


def test_a_public_key_of_the_wrong_type_is_refused() -> None:
    line = one_problem(
        auth_settings(jwt={"algorithms": ["RS256"], "public_key": ec_pair().public_pem})
    )
    assert "public_key: an EC key on secp256r1 cannot verify any of the configured" in line


def test_a_private_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    private = (
        rsa_pair()
        .private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    line = one_problem(auth_settings(jwt={"algorithms": ["RS256"], "public_key": private}))
    assert "this is a private key" in line
    assert "PRIVATE KEY" not in line


def test_the_secret_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_TEST_JWT_SECRET", HS_SECRET)
    jwt = {
        "algorithms": ["HS256"],
        "secret": {"env": "AUTH_TEST_JWT_SECRET"},
        "issuer": ISSUER,
        "audience": AUDIENCE,
    }
    app = make_app(themisgate_auth, settings=auth_settings(jwt=jwt))
    listing = app.state["themisgate"].system.plugins
    shown = next(p for p in listing if p["name"] == "auth")["settings"]["jwt"]["secret"]
    assert shown == "******** (env:AUTH_TEST_JWT_SECRET)"
