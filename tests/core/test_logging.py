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


def test_json_lines_encode_what_they_can_and_repr_the_rest(log_stream: io.StringIO) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    log = structlog.get_logger("tests")
    log.warning("odd values", thing=Opaque(), nested={"a": [1, 2.5, None]}, name="zürich")
    log.warning("odd keys", mapping={(1, 2): "tuple key"})
    first, second = map(json.loads, log_stream.getvalue().splitlines())
    assert first["thing"] == "<opaque>"
    assert first["nested"] == {"a": [1, 2.5, None]}
    assert first["name"] == "zürich"
    assert second["event"] == "odd keys"
    assert "tuple key" in json.dumps(second["mapping"])


def test_a_value_that_cannot_even_be_repr_d_does_not_break_the_log_call(
    log_stream: io.StringIO,
) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    structlog.get_logger("tests").warning("hostile", thing=Hostile())
    (line,) = map(json.loads, log_stream.getvalue().splitlines())
    assert line["event"] == "hostile"
    assert line["thing"] == "<unrepresentable Hostile>"


def test_timestamps_are_iso_utc_with_microseconds_like_structlogs() -> None:
    import datetime as dt
    import re

    from themisgate.logs import IsoTimestamp

    stamp = IsoTimestamp()
    before = dt.datetime.now(dt.UTC)
    values = [stamp(None, "", {})["timestamp"] for _ in range(3)]
    after = dt.datetime.now(dt.UTC)
    reference = structlog.processors.TimeStamper(fmt="iso", utc=True)(None, "", {})
    for value in [*values, reference["timestamp"]]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", value), value
    for value in values:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        assert before - dt.timedelta(seconds=1) <= moment <= after
