"""What the WebSocket tests share: apps with sample documents, plugins that record events
and observed operations or stand in for a rate limiter, and real server processes."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

import themisgate_websocket
from tests.support.processes import ServerProcess, themisgate
from themisgate import Identity, RateDecision
from themisgate.testing import make_app

DOCUMENTS = [
    ("d1", "solar panels on the roof of the town hall"),
    ("d2", "wind turbines along the northern coast"),
    ("d3", "solar power prices fell again this year"),
    ("d4", "a recipe for apple cake"),
    ("d5", "battery storage for solar and wind farms"),
]


class Recorder:
    """A plugin that records every event and every observed WebSocket operation."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.operations: list[tuple[str, str, dict[str, Any], str | None]] = []

    def themisgate_event(self, name: str, payload: dict[str, Any]) -> None:
        self.events.append((name, dict(payload)))

    @contextlib.contextmanager
    def themisgate_operation(
        self, surface: str, name: str, attributes: dict[str, Any]
    ) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            self.operations.append((surface, name, dict(attributes), type(exc).__name__))
            raise
        self.operations.append((surface, name, dict(attributes), None))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.events if name == event]


class Allowance:
    """A rate-limit stand-in: `allowed` charges per (identity, key), then refuses."""

    name = "allowance"

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.charges: list[tuple[str, str, int]] = []

    def themisgate_rate_limit(self, identity: Identity, key: str, cost: int) -> RateDecision:
        self.charges.append((identity.key, key, cost))
        spent = sum(c for who, _, c in self.charges if who == identity.key)
        if spent <= self.allowed:
            return RateDecision(allowed=True, limit=self.allowed, remaining=self.allowed - spent)
        return RateDecision(allowed=False, limit=self.allowed, remaining=0, retry_after=2.5)


def websocket_app(*plugins: object, **settings: Any) -> Litestar:
    """An app with the websocket plugin (settings under [plugins.websocket]) and `plugins`."""
    extra = settings.pop("extra", {})
    return make_app(
        themisgate_websocket,
        *plugins,
        settings={"plugins": {"websocket": settings, **extra}},
    )


def seed(client: TestClient[Any], collection: str = "documents") -> None:
    items = [{"key": key, "text": text} for key, text in DOCUMENTS]
    response = client.post(
        "/api/v4/themis/vectors", json={"collection": collection, "items": items}
    )
    assert response.status_code == 200, response.text


def receive(ws: WebSocketTestSession, timeout: float = 10) -> dict[str, Any]:
    """The next frame that is not a heartbeat."""
    while True:
        frame: dict[str, Any] = ws.receive_json(timeout=timeout)
        if frame["type"] != "heartbeat":
            return frame


def receive_until(
    ws: WebSocketTestSession, frame_type: str, timeout: float = 10
) -> list[dict[str, Any]]:
    """Frames up to and including the first of `frame_type`."""
    frames = []
    while True:
        frame = receive(ws, timeout)
        frames.append(frame)
        if frame["type"] == frame_type:
            return frames


def closed_with(ws: WebSocketTestSession, timeout: float = 10) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes; its close code and the frames before it."""
    frames = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = ws.receive(timeout=timeout)
        except WebSocketDisconnect as closed:
            return int(closed.code), frames
        frames.append(json.loads(message.get("text") or message.get("bytes") or "null"))
    raise AssertionError(f"the server did not close within {timeout}s; got {frames}")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        time.sleep(0.02)


def websocket_server(
    workdir: Path, websocket: Mapping[str, Any], *, extra: str = ""
) -> ServerProcess:
    """A real `themisgate serve` with the websocket plugin, on the embedded engine."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [
        "[core.themis]",
        'backend = "embedded"',
        f'path = "{workdir / "themis.db"}"',
        "[plugins.websocket]",
        *(f"{key} = {json.dumps(value)}" for key, value in websocket.items()),
        extra,
    ]
    return themisgate(workdir, "\n".join(lines) + "\n")


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")
