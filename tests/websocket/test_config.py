"""Settings mistakes stop start-up with a line naming `[plugins.websocket]` and the key."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from themisgate import ConfigError

from .support import websocket_app


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"redis_url": "redis://:hunter2@127.0.0.1:6379/0"}, "redis_url: keep the password out"),
        ({"redis_url": "http://127.0.0.1:6379"}, "redis_url: scheme 'http'"),
        ({"redis_url": "redis://127.0.0.1:99999/0"}, "redis_url: the port"),
        ({"redis_prefix": "has space"}, "redis_prefix:"),
        ({"max_message_bytes": 10}, "max_message_bytes: expected int >= 256"),
        ({"send_queue_size": 0}, "send_queue_size: expected int >= 1"),
        ({"messaging_scope": "root"}, "messaging_scope"),
        ({"client_page": "no-slash"}, "client_page:"),
        ({"status_poll_seconds": 10, "status_interval_seconds": 5}, "status_poll_seconds:"),
        ({"queue": 5}, "queue: unknown key"),
    ],
)
def test_a_bad_setting_names_the_table_and_the_key(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        websocket_app(**settings)
    message = str(raised.value)
    assert "[plugins.websocket]" in message
    assert says in message
    assert "hunter2" not in message


def test_the_client_page_can_be_moved_or_switched_off() -> None:
    with TestClient(websocket_app(client_page="/tools/ws")) as client:
        page = client.get("/tools/ws")
        script = client.get("/tools/ws/client.js")
        assert client.get("/websocket").status_code == 404
    assert page.status_code == 200
    assert "/tools/ws/client.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    with TestClient(websocket_app(client_page="")) as client:
        assert client.get("/websocket").status_code == 404
