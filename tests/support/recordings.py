"""The exchanges recorded from a real ThemisDB server, in tests/recordings (a copy of the
project's shared recordings, see its README). Missing recordings fail the test that needs
them, saying so; they are never skipped."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from themisgate.themis import ThemisSettings
from themisgate.themis.http import HttpBackend, RetryPolicy

VECTORS = Path(__file__).resolve().parents[1] / "recordings"
# where they come from, when the shared folder is beside the repository's root
SHARED_VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "themisdb-vectors"
AS_RELEASED = "server-as-released.json"
AQL_FIXED = "server-aql-validator-fixed.json"
EXCHANGES = 114


def load_recording(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    if not path.is_file():
        pytest.fail(
            f"recorded ThemisDB exchanges not found: {path} is missing (tests/recordings).",
            pytrace=False,
        )
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    assert len(entries) == EXCHANGES, (
        f"{name} should hold {EXCHANGES} exchanges, not {len(entries)}"
    )
    return entries


def request_body(body: Any) -> bytes | None:
    """The bytes the recorder sent. Huge bodies are recorded as `<N bytes: prefix...>`;
    only their size matters (they must be refused), so they are rebuilt to that size."""
    if body is None:
        return None
    if isinstance(body, str):
        huge = re.fullmatch(r"<(\d+) bytes: (.*)\.\.\.>", body, flags=re.DOTALL)
        if huge:
            prefix = huge.group(2).encode()
            return prefix + b"y" * (int(huge.group(1)) - len(prefix))
        return body.encode()  # deliberately malformed JSON, sent as is
    return json.dumps(body).encode()


def normalise(body: Any) -> Any:
    """JSON-equal bodies compare equal; a `blob` compares by the JSON document it encodes."""
    if isinstance(body, dict):
        out = {}
        for key, value in body.items():
            if key == "blob" and isinstance(value, str):
                try:
                    value = ("json", json.loads(value))
                except ValueError:
                    value = ("text", value)
            out[key] = normalise(value)
        return out
    if isinstance(body, list):
        return [normalise(item) for item in body]
    return body


@dataclass
class Served:
    name: str
    method: str
    path: str
    body: Any


@dataclass
class Replay:
    entries: list[dict[str, Any]]
    cursor: int = 0
    served: list[Served] = field(default_factory=list)
    stand_ins: dict[tuple[str, str], str] = field(default_factory=dict)

    def stand_in(self, method: str, path: str, name: str) -> None:
        """Answer requests to this route that match no recording with the named one (for
        requests whose bodies legitimately differ from the recorded, e.g. other pks)."""
        assert any(entry["name"] == name for entry in self.entries), name
        self.stand_ins[(method, path)] = name

    @property
    def names(self) -> list[str]:
        return [served.name for served in self.served]

    def handler(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.raw_path.decode()
        body = json.loads(request.content) if request.content else None
        wanted = normalise(body)
        matches = [
            index
            for index, entry in enumerate(self.entries)
            if entry["request"]["method"] == method
            and entry["request"]["path"] == path
            and normalise(entry["request"]["body"]) == wanted
        ]
        if matches:
            later = [index for index in matches if index >= self.cursor]
            index = later[0] if later else matches[-1]
            self.cursor = max(self.cursor, index)
        elif (method, path) in self.stand_ins:
            name = self.stand_ins[(method, path)]
            index = next(i for i, e in enumerate(self.entries) if e["name"] == name)
        else:
            raise AssertionError(f"no recorded exchange for {method} {path} {body!r}")
        entry = self.entries[index]
        self.served.append(Served(entry["name"], method, path, body))
        recorded = entry["response"]
        if recorded["status"] is None:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        content = recorded["body"]
        raw = content.encode() if isinstance(content, str) else json.dumps(content).encode()
        return httpx.Response(recorded["status"], headers=recorded["headers"], content=raw)


async def no_sleep(_: float) -> None:
    return None


@asynccontextmanager
async def replayed(recording: str, **settings: Any) -> AsyncIterator[tuple[HttpBackend, Replay]]:
    replay = Replay(load_recording(recording))
    backend = HttpBackend(
        ThemisSettings(backend="http", url="http://themis.test:8765", **settings),
        httpx.MockTransport(replay.handler),
        retry=RetryPolicy(retries=settings.get("retries", 2), base_delay=0.0),
        sleep=no_sleep,
    )
    await backend.start()
    try:
        yield backend, replay
    finally:
        await backend.close()
