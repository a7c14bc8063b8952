"""Logs: structured, carrying the request id, and never a secret."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from litestar.testing import AsyncTestClient

from themisgate import create_app
from themisgate.logs import configure_logging
from themisgate.testing import make_settings


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_access_log_lines_are_json_with_request_id(log_stream: io.StringIO) -> None:
    settings = make_settings({"core": {"access_log": True}})
    app = create_app(settings, configure_logs=False)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/health", headers={"X-Request-ID": "trace-me-1"})
    lines = [
        json.loads(line) for line in log_stream.getvalue().splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("event") == "request"]
    assert access, log_stream.getvalue()
    assert access[-1]["request_id"] == "trace-me-1" == response.headers["x-request-id"]
    assert access[-1]["status"] == 200
    assert access[-1]["path"] == "/health"


async def test_secrets_never_reach_the_log(
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THEMIS_TOKEN_LOG_TEST", "tok-should-not-leak")
    settings = make_settings(
        {
            "core": {
                "log_level": "debug",
                "themis": {
                    "token": {"env": "THEMIS_TOKEN_LOG_TEST"},
                    "embedder": {"api_key": "key-should-not-leak"},
                },
            }
        }
    )
    app = create_app(settings, configure_logs=False)
    async with AsyncTestClient(app=app) as client:
        await client.get("/health")
    structlog.get_logger("test").info(
        "calling", token="tok-should-not-leak", authorization="Bearer x"
    )
    text = log_stream.getvalue()
    assert "app assembled" in text  # the settings were logged, redacted
    assert "tok-should-not-leak" not in text
    assert "key-should-not-leak" not in text
    assert "Bearer x" not in text


def test_a_log_field_set_directly_is_in_every_record_until_reset(
    log_stream: io.StringIO,
) -> None:
    from themisgate import log_field

    tenant = log_field("tenant")
    log = structlog.get_logger("tests")
    token = tenant.set("acme")
    log.warning("inside")
    tenant.reset(token)
    log.warning("outside")
    structlog.contextvars.bind_contextvars(tenant="bound")  # the same variable
    assert tenant.get() == "bound"
    structlog.contextvars.unbind_contextvars("tenant")
    records = {r["event"]: r for r in map(json.loads, log_stream.getvalue().splitlines())}
    assert records["inside"]["tenant"] == "acme"
    assert "tenant" not in records["outside"]
