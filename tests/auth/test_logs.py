"""Nothing secret in logs: keys, tokens and the JWT secret never appear, whatever
succeeds or fails, even with every hook call traced; failures are logged with a reason."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import pytest
import structlog

import themisgate_auth
from themisgate.logs import configure_logging
from themisgate.testing import plugin_client
from themisgate_auth import hash_key, new_key

from .support import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    auth_settings,
    claims,
    hmac_token,
    sign,
    unsigned_token,
    whoami_plugin,
)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_credentials_never_reach_the_log(
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THEMISGATE_TRACE_HOOKS", "1")
    monkeypatch.setenv("AUTH_LOG_TEST_SECRET", HS_SECRET)
    admin, revoked, invented = new_key(), new_key(), new_key()
    settings = auth_settings(
        api_keys=[
            {"id": "ops", "hash": hash_key(admin), "tier": "enterprise", "scopes": ["admin"]},
            {"id": "old", "hash": hash_key(revoked), "tier": "free", "revoked": True},
        ],
        jwt={
            "algorithms": ["HS256"],
            "secret": {"env": "AUTH_LOG_TEST_SECRET"},
            "issuer": ISSUER,
            "audience": AUDIENCE,
        },
    )
    settings["core"] = {"log_level": "debug", "access_log": True}
    good = sign(claims(), HS_SECRET, "HS256")
    secrets = {
        "admin key": admin,
        "revoked key": revoked,
        "invented key": invented,
        "jwt secret": HS_SECRET,
        "good token": good,
    }
    bad_tokens = [
        sign(claims(exp=int(time.time()) - 3600), HS_SECRET, "HS256"),
        sign(claims(), "another-secret-of-sufficient-length-0123456789", "HS256"),
        unsigned_token(claims()),
        hmac_token(claims(), b"guess"),
    ]
    async with plugin_client(themisgate_auth, whoami_plugin(), settings=settings) as client:
        for value in (admin, revoked, invented):
            await client.get("/whoami", headers={"X-API-Key": value})
            await client.get("/whoami", headers={"Authorization": f"Bearer {value}"})
        for token in [good, *bad_tokens]:
            await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        listing = await client.get("/-/plugins", headers={"X-API-Key": admin})

    text = log_stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    failures = [line for line in lines if line.get("event") == "authentication failed"]
    reasons = {line["reason"] for line in failures}
    assert reasons == {"unknown_key", "revoked_key", "expired_token", "invalid_token"}
    assert any(line.get("event") == "hook result" for line in lines)  # tracing was on
    for what, value in secrets.items():
        assert value not in text, f"the {what} reached the log"
        assert value not in listing.text, f"the {what} is in the plugin listing"
    for token in bad_tokens:
        assert token not in text
