"""The plugin as an operator runs it: `themisgate serve` with `[plugins.tracing]` in
plugins.toml, spans exported to a collector, the last of them flushed when the server is
stopped."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.processes import themisgate

from .support import OtlpReceiver


def test_a_served_app_exports_its_spans_and_flushes_them_on_sigterm(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        settings = (
            '[core.themis]\npath = ":memory:"\n'
            f'[plugins.tracing]\nendpoint = "{receiver.url}"\nschedule_delay = 300\n'
        )
        server = themisgate(tmp_path, settings).start()
        try:
            response = httpx.get(server.url + "/api", headers={"user-agent": "process-test"})
            assert receiver.requests == []  # queued until shutdown
        finally:
            server.stop()  # SIGTERM: uvicorn runs the lifespan's shutdown
        received = receiver.spans()
    assert response.status_code == 200, server.output()
    span, resource = received["GET /api"]
    assert span.trace_id.hex() == response.headers["x-trace-id"]
    assert resource["service.name"] == "themisgate"
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert attributes["user_agent.original"] == "process-test"
