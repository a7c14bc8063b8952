"""The built-in embedders: `hashing` (offline) and `openai` (against a real HTTP server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from themisgate.secrets import Secret
from themisgate.themis import Embedder, EmbedderError, EmbedderSettings, EmbedderUnavailable
from themisgate.themis.embedders import HashingEmbedder, OpenAIEmbedder, create_embedder

TEXTS = [
    "The quick brown fox jumps over the lazy dog",
    "ThemisDB stores documents, vectors and graphs",
    "Ünïcödé — naïve café, ΣΊΣΥΦΟΣ and 東京",
    "",
]


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


# --- hashing ------------------------------------------------------------------------------


def test_builtin_embedders_by_name() -> None:
    hashing = create_embedder(EmbedderSettings(name="hashing", dimension=64))
    remote = create_embedder(EmbedderSettings(name="openai", dimension=8))
    assert isinstance(hashing, HashingEmbedder)
    assert isinstance(remote, OpenAIEmbedder)
    assert isinstance(hashing, Embedder)
    assert isinstance(remote, Embedder)
    assert (hashing.name, hashing.dimension, remote.name) == ("hashing", 64, "openai")
    with pytest.raises(ValueError, match="unknown embedder 'nope'"):
        create_embedder(EmbedderSettings(name="nope"))


async def test_hashing_vectors_are_unit_length_and_of_the_configured_dimension() -> None:
    vectors = await HashingEmbedder(256).embed(TEXTS)
    assert [len(v) for v in vectors] == [256] * 4
    for vector in vectors[:3]:
        assert np.linalg.norm(vector) == pytest.approx(1.0)
    # nothing to hash: the zero vector, not NaN
    assert vectors[3] == [0.0] * 256


def test_hashing_is_deterministic_across_processes() -> None:
    """Python's hash() is salted per process; a stored vector must be found by another."""
    here = HashingEmbedder(128).vectors(TEXTS).tolist()
    script = (
        "import asyncio, json\n"
        "from themisgate.themis.embedders import HashingEmbedder\n"
        f"texts = {TEXTS!r}\n"
        "print(json.dumps(asyncio.run(HashingEmbedder(128).embed(texts))))\n"
    )
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == here


async def test_hashing_similar_texts_are_closer_than_unrelated_ones() -> None:
    embedder = HashingEmbedder(384)
    cases = [
        (
            "the cat sat on the mat",
            "a cat was sitting on the mat",
            "quarterly revenue grew in the asian markets",
        ),
        (
            "database index rebuild after bulk insert",
            "rebuilding the database indexes after a bulk insert",
            "my grandmother bakes apple pie on sundays",
        ),
        # typos and inflections share character n-grams
        ("vector similarity search", "vektor similarity serach", "holiday photos from spain"),
    ]
    for anchor, similar, unrelated in cases:
        a, s, u = await embedder.embed([anchor, similar, unrelated])
        assert cosine(a, s) > cosine(a, u) + 0.2, (anchor, cosine(a, s), cosine(a, u))


async def test_hashing_batches_equal_single_texts() -> None:
    embedder = HashingEmbedder(64)
    together = await embedder.embed(TEXTS)
    alone = [(await embedder.embed([text]))[0] for text in TEXTS]
    assert np.allclose(together, alone)
    assert await embedder.embed([]) == []


def test_hashing_rejects_a_bad_dimension() -> None:
    with pytest.raises(ValueError, match="dimension"):
        HashingEmbedder(0)


# --- openai-compatible service ------------------------------------------------------------

KEY = "sk-test-do-not-leak-0123456789"
DIMENSION = 4


@dataclass
class FakeService:
    """What the embeddings server on 127.0.0.1 saw, and how it should behave."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def raw_embedding(text: str, dimension: int) -> list[float]:
    """Deliberately not unit length, so the client's normalisation is visible."""
    return [float(len(text) + 1), 2.0, *([0.0] * (dimension - 2))]


def make_handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            service.requests.append(body)
            service.paths.append(self.path)
            service.authorizations.append(self.headers.get("authorization"))
            if service.mode == "slow":
                time.sleep(1.0)
            if service.mode == "fail":
                return self.reply(503, {"error": "model is loading"})
            if service.mode == "echo-key":
                return self.reply(401, {"error": f"bad key {self.headers['authorization']}"})
            dimension = DIMENSION + 1 if service.mode == "wrong-dimension" else DIMENSION
            data = [
                {"object": "embedding", "index": i, "embedding": raw_embedding(text, dimension)}
                for i, text in enumerate(body["input"])
            ]
            data.reverse()  # the API does not promise order: the client sorts by index
            return self.reply(200, {"object": "list", "data": data, "model": body["model"]})

        def reply(self, status: int, payload: dict[str, Any]) -> None:
            content = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(content)))
            try:
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a client that timed out on the slow mode has gone, as it should

    return Handler


@pytest.fixture
def service() -> Iterator[tuple[FakeService, str]]:
    state = FakeService()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def settings_for(url: str, **overrides: Any) -> EmbedderSettings:
    values: dict[str, Any] = {
        "name": "openai",
        "url": url,
        "model": "test-model",
        "dimension": DIMENSION,
        "api_key": Secret(KEY),
        "batch_size": 3,
        "timeout": 5.0,
    }
    return EmbedderSettings(**{**values, **overrides})


async def test_openai_batches_orders_by_index_and_normalises(
    service: tuple[FakeService, str],
) -> None:
    state, url = service
    texts = [f"text number {'x' * i}" for i in range(7)]
    embedder = OpenAIEmbedder(settings_for(url))
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.close()
    assert [len(request["input"]) for request in state.requests] == [3, 3, 1]
    assert [text for request in state.requests for text in request["input"]] == texts
    assert {request["model"] for request in state.requests} == {"test-model"}
    assert state.paths == ["/v1/embeddings"] * 3
    assert state.authorizations == [f"Bearer {KEY}"] * 3
    for text, vector in zip(texts, vectors, strict=True):
        expected = np.array(raw_embedding(text, DIMENSION))
        assert np.allclose(vector, expected / np.linalg.norm(expected))
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0)


async def test_openai_down_service_names_the_url_never_the_key() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    embedder = OpenAIEmbedder(settings_for(url))
    with pytest.raises(EmbedderUnavailable) as error:
        await embedder.embed(["hello"])
    await embedder.close()
    message = str(error.value)
    assert f"127.0.0.1:{port}/v1/embeddings" in message
    assert KEY not in message + repr(error.value.args)


@pytest.mark.parametrize(
    ("mode", "expected", "says"),
    [
        ("fail", EmbedderUnavailable, "HTTP 503"),
        ("slow", EmbedderUnavailable, "did not answer within 0.3s"),
        ("wrong-dimension", EmbedderError, "dimension 5, but .* dimension is 4"),
        ("echo-key", EmbedderError, "HTTP 401.*api_key"),
    ],
)
async def test_openai_failures_are_typed_and_never_leak_the_key(
    service: tuple[FakeService, str], mode: str, expected: type[Exception], says: str
) -> None:
    state, url = service
    state.mode = mode
    embedder = OpenAIEmbedder(settings_for(url, timeout=0.3))
    with pytest.raises(expected, match=says) as error:
        await embedder.embed(["hello", "world"])
    await embedder.close()
    assert url in str(error.value)
    assert KEY not in str(error.value)


async def test_openai_without_a_key_sends_no_authorization(
    service: tuple[FakeService, str],
) -> None:
    state, url = service
    embedder = OpenAIEmbedder(settings_for(url, api_key=None))
    assert len(await embedder.embed(["hi"])) == 1
    assert await embedder.embed([]) == []
    await embedder.close()
    assert state.authorizations == [None]
