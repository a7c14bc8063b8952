"""`openai`: any service that speaks OpenAI's embeddings API (Ollama, vLLM, TEI, OpenAI).

`POST {url}/embeddings {"model", "input": [texts]}` answers `{"data": [{"embedding",
"index"}]}`. Texts go in batches of `batch_size`; answers are put back in input order by
`index` (the API does not promise order) and L2-normalised, because cosine search assumes
unit vectors and not every model returns them. A service that is down, slow or failing
(5xx, 429) is `EmbedderUnavailable`; one that answers wrongly — a refused key, an unknown
model, vectors of another dimension — is `EmbedderError`. Messages name the URL, never the
key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import msgspec
import numpy as np

from ...secrets import REDACTED
from ..errors import EmbedderError, EmbedderUnavailable
from ..http.urls import redact_url
from ..settings import EmbedderSettings

_SNIPPET = 200


class OpenAIEmbedder:
    """Embeds through an OpenAI-compatible HTTP service; one pooled client, opened lazily."""

    name = "openai"

    def __init__(
        self, settings: EmbedderSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if settings.dimension < 1:
            raise ValueError("embedder dimension must be at least 1")
        if settings.batch_size < 1:
            raise ValueError("embedder batch_size must be at least 1")
        self.settings = settings
        self.dimension = settings.dimension
        self.endpoint = settings.url.rstrip("/") + "/embeddings"
        self.shown_url = redact_url(self.endpoint)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts to embed are strings, got {type(text).__name__}")
        size = self.settings.batch_size
        vectors: list[list[float]] = []
        for start in range(0, len(texts), size):
            vectors.extend(await self._embed_batch(texts[start : start + size]))
        return vectors

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        payload = {"model": self.settings.model, "input": batch}
        try:
            response = await self._http().post(self.endpoint, content=msgspec.json.encode(payload))
        except httpx.TimeoutException:
            raise EmbedderUnavailable(
                f"the embedding service at {self.shown_url} did not answer within "
                f"{self.settings.timeout}s"
            ) from None
        except httpx.RequestError as exc:
            reason = self._scrub(str(exc)) or type(exc).__name__
            raise EmbedderUnavailable(
                f"cannot reach the embedding service at {self.shown_url}: {reason}"
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise EmbedderUnavailable(
                f"the embedding service at {self.shown_url} failed "
                f"(HTTP {response.status_code}): {self._snippet(response)}"
            )
        if response.status_code >= 400:
            hint = (
                "; check [core.themis.embedder] api_key"
                if response.status_code in (401, 403)
                else ""
            )
            raise EmbedderError(
                f"the embedding service at {self.shown_url} refused the request for model "
                f"{self.settings.model!r} (HTTP {response.status_code}): "
                f"{self._snippet(response)}{hint}"
            )
        return self._vectors(response, len(batch))

    def _vectors(self, response: httpx.Response, expected: int) -> list[list[float]]:
        try:
            body: Any = msgspec.json.decode(response.content)
            data = sorted(body["data"], key=lambda item: item["index"])
            indices = [item["index"] for item in data]
            matrix = np.array([item["embedding"] for item in data], dtype=np.float64)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError):
            raise EmbedderError(
                f"the embedding service at {self.shown_url} answered in an unexpected shape: "
                f"{self._snippet(response)}"
            ) from None
        if indices != list(range(expected)) or matrix.ndim != 2:
            raise EmbedderError(
                f"the embedding service at {self.shown_url} returned {len(data)} vectors "
                f"(indices {indices[:10]}) for {expected} texts"
            )
        if matrix.shape[1] != self.dimension:
            raise EmbedderError(
                f"the embedding service at {self.shown_url} (model {self.settings.model!r}) "
                f"returns vectors of dimension {matrix.shape[1]}, but [core.themis.embedder] "
                f"dimension is {self.dimension}: set dimension = {matrix.shape[1]} or choose "
                "another model"
            )
        if not np.isfinite(matrix).all():
            raise EmbedderError(f"the embedding service at {self.shown_url} returned NaN")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
        rows: list[list[float]] = unit.tolist()
        return rows

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"content-type": "application/json", "user-agent": "themisgate"}
            key = self.settings.api_key
            if key is not None and key.reveal():
                headers["authorization"] = f"Bearer {key.reveal()}"
            self._client = httpx.AsyncClient(
                headers=headers,
                timeout=httpx.Timeout(self.settings.timeout),
                transport=self._transport,
            )
        return self._client

    def _snippet(self, response: httpx.Response) -> str:
        text = self._scrub(response.text.strip())
        return (text[:_SNIPPET] + "…" if len(text) > _SNIPPET else text) or "<empty body>"

    def _scrub(self, text: str) -> str:
        """Remove the key from text the service sent back (some echo the request)."""
        key = self.settings.api_key
        if key is not None and key.reveal():
            text = text.replace(key.reveal(), REDACTED)
        return text
