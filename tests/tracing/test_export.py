"""Spans leave over OTLP/HTTP to a real receiver, are flushed at shutdown, and a collector
that is down or hangs neither fails nor holds up requests or shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

import themisgate_tracing
from tests.support.processes import free_port
from themisgate.testing import make_app

from .support import OtlpReceiver, blackhole

DOCUMENT = "/api/v4/themis/documents/books/b1"


def exporting_app(endpoint: str, **tracing: Any) -> Any:
    settings = {"plugins": {"tracing": {"endpoint": endpoint, **tracing}}}
    return make_app(themisgate_tracing, settings=settings)


async def test_spans_reach_an_otlp_receiver_and_are_flushed_at_shutdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACING_TEST_COLLECTOR_KEY", "sekrit-key")
    with OtlpReceiver() as receiver:
        app = exporting_app(
            receiver.url,
            schedule_delay=300,  # nothing is exported before shutdown
            service_name="gateway-under-test",
            environment="staging",
            headers={"x-collector-key": {"env": "TRACING_TEST_COLLECTOR_KEY"}},
        )
        async with AsyncTestClient(app=app) as client:
            await client.put(DOCUMENT, json={"title": "Dune"})
            response = await client.get(DOCUMENT)
            listing = (await client.get("/-/plugins")).json()
            assert receiver.requests == []  # still queued
        received = receiver.spans()
        sent_headers = [headers for _, headers in receiver.requests]
    assert response.status_code == 200
    span, resource = received["GET /api/v4/themis/documents/{collection}/{key}"]
    assert span.trace_id.hex() == response.headers["x-trace-id"]
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["http.route"].string_value == "/api/v4/themis/documents/{collection}/{key}"
    assert attributes["http.response.status_code"].int_value == 200
    child, _ = received["themis.get_document"]
    assert child.parent_span_id == span.span_id
    assert resource["service.name"] == "gateway-under-test"
    assert resource["deployment.environment"] == "staging"
    assert resource["service.version"]  # the installed themisgate version
    assert all(h["x-collector-key"] == "sekrit-key" for h in sent_headers)
    assert all(h["content-type"] == "application/x-protobuf" for h in sent_headers)
    tracing = next(p for p in listing["enabled"] if p["name"] == "tracing")
    assert "sekrit-key" not in str(tracing["settings"])


async def test_the_status_check_reports_exports() -> None:
    with OtlpReceiver() as receiver:
        app = exporting_app(receiver.url, schedule_delay=0.05)
        async with AsyncTestClient(app=app) as client:
            await client.get("/api")
            tracing = themisgate_tracing.tracing_of(app)
            for _ in range(200):  # the batch processor exports from its own thread
                if tracing.exporter is not None and tracing.exporter.exported_spans:
                    break
                await asyncio.sleep(0.01)
            ready = (await client.get("/ready")).json()
    check = next(c for c in ready["checks"] if c["name"] == "tracing")
    assert check["ok"] is True
    assert check["required"] is False
    assert check["detail"] == "exporting"
    assert check["facts"]["exported_spans"] >= 1
    assert check["facts"]["target"] == f"http/protobuf {receiver.url}/v1/traces"


@pytest.mark.parametrize("collector", ["refused", "hanging"])
async def test_a_collector_that_is_down_costs_requests_nothing(collector: str) -> None:
    export_timeout = 1.0
    with blackhole() as hanging:
        endpoint = hanging if collector == "hanging" else f"http://127.0.0.1:{free_port()}"
        app = exporting_app(endpoint, schedule_delay=0.01, export_timeout=export_timeout)
        tracing = themisgate_tracing.tracing_of(app)
        client = AsyncTestClient(app=app)
        await client.__aenter__()
        statuses = [(await client.get("/api")).status_code for _ in range(200)]
        for _ in range(500):  # the exports fail in the background, not in the requests
            if tracing.exporter is not None and tracing.exporter.failing:
                break
            await asyncio.sleep(0.01)
        ready = await client.get("/ready")
        # shutdown gives up on the queued spans after the export timeout, not later
        async with asyncio.timeout(export_timeout + 10):
            await client.__aexit__(None, None, None)
    assert statuses == [200] * 200
    assert ready.status_code == 200  # tracing is not required for readiness
    body = ready.json()
    assert body["status"] == "degraded"
    check = next(c for c in body["checks"] if c["name"] == "tracing")
    assert check["ok"] is False
    assert endpoint in check["detail"]
    assert check["facts"]["failed_spans"] >= 1


async def test_the_collector_coming_back_is_noticed_without_a_restart() -> None:
    port = free_port()
    app = exporting_app(f"http://127.0.0.1:{port}", schedule_delay=0.01, export_timeout=1)
    tracing = themisgate_tracing.tracing_of(app)
    async with AsyncTestClient(app=app) as client:
        await client.get("/api")
        for _ in range(500):
            if tracing.exporter is not None and tracing.exporter.failing:
                break
            await asyncio.sleep(0.01)
        assert tracing.exporter is not None
        assert tracing.exporter.failing
        with OtlpReceiver(port=port) as receiver:
            for _ in range(500):
                await client.get("/api")
                if receiver.requests:
                    break
                await asyncio.sleep(0.02)
            ready = (await client.get("/ready")).json()
    assert receiver.requests
    check = next(c for c in ready["checks"] if c["name"] == "tracing")
    assert check["ok"] is True


async def test_the_standard_environment_variables_alone_configure_the_export(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-the-environment")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=ci")
        app = make_app(themisgate_tracing, settings={"plugins": {"tracing": {}}})
        async with AsyncTestClient(app=app) as client:
            await client.get("/api")
        received = receiver.spans()
    _, resource = received["GET /api"]
    assert resource["service.name"] == "from-the-environment"
    assert resource["deployment.environment"] == "ci"


async def test_the_console_exporter_writes_spans_to_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = make_app(themisgate_tracing, settings={"plugins": {"tracing": {"exporter": "console"}}})
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/api")
    out = capsys.readouterr().out
    assert '"name": "GET /api"' in out
    assert response.headers["x-trace-id"] in out
