"""With the metrics plugin on, WebSocket connections and messages show up in /metrics,
though neither plugin imports the other: they meet through the events."""

from __future__ import annotations

import re

from litestar.testing import TestClient

import themisgate_metrics

from .support import receive, wait_for, websocket_app

SEARCH = "/api/v4/ws/search"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def value(exposition: str, name: str, **labels: str) -> float:
    """The sample of `name` with exactly these labels (0 when absent)."""
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if match and match[1] == name and dict(_LABEL.findall(match[2])) == labels:
            return float(match[3])
    return 0.0


def test_connections_and_messages_are_counted_by_the_metrics_plugin() -> None:
    app = websocket_app(themisgate_metrics, extra={"metrics": {}})
    with TestClient(app) as client:
        with client.websocket_connect(SEARCH) as ws:
            receive(ws)
            ws.send_json({"action": "ping"})
            receive(ws)
            ws.send_text("not json")
            receive(ws)
            during = client.get("/metrics").text
        wait_for(
            lambda: (
                value(client.get("/metrics").text, "websocket_connections_active", endpoint=SEARCH)
                == 0
            ),
            "the closed connection to be counted",
        )
        after = client.get("/metrics").text
    assert value(during, "websocket_connections_active", endpoint=SEARCH) == 1
    assert value(after, "websocket_connections_total", endpoint=SEARCH) == 1
    for direction, kind in (("in", "ping"), ("in", "invalid"), ("out", "pong"), ("out", "error")):
        counted = value(
            after, "websocket_messages_total", endpoint=SEARCH, direction=direction, type=kind
        )
        assert counted == 1, (direction, kind)
