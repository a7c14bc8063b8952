"""`[core.themis]`: how the server reaches ThemisDB, and how text becomes vectors."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..secrets import Secret


class EmbedderSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[core.themis.embedder]`: `hashing` works offline; `openai` calls any
    OpenAI-compatible `/v1/embeddings` service (Ollama, vLLM, TEI, OpenAI)."""

    name: str = "hashing"
    dimension: int = 384
    url: str = "http://127.0.0.1:11434/v1"
    model: str = "nomic-embed-text"
    api_key: Secret | None = None
    timeout: float = 10.0
    batch_size: int = 64


class AqlSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`[core.themis.aql]`: AQL queries, on either backend."""

    # whether the v4 API lets a query scan a collection without an index (the server
    # refuses FILTER/SORT on unindexed fields unless asked to scan)
    allow_full_scan: bool = True
    # seconds a cursor stays valid
    cursor_ttl: Annotated[float, msgspec.Meta(gt=0, le=86_400)] = 600.0
    # signs cursors; unset: embedded keeps one in its database file (shared by every
    # process on it), http makes one per process (set it when several workers serve)
    cursor_secret: Secret | None = None
    # embedded: rows a query may read or join, and seconds it may run
    max_rows: Annotated[int, msgspec.Meta(ge=1)] = 1_000_000
    timeout: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    # largest page a cursor request may ask for
    max_batch_size: Annotated[int, msgspec.Meta(ge=1)] = 10_000


class ThemisSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    backend: Literal["embedded", "http"] = "embedded"
    # embedded: the SQLite file; ":memory:" keeps nothing (tests)
    path: str = "./data/themis.db"
    # http: the real server (or `themisgate themis-lite`)
    url: str = "http://127.0.0.1:8765"
    token: Secret | None = None
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    # idempotent reads only; writes are never retried
    retries: int = 2
    max_connections: int = 64
    # consecutive failures that open the circuit, and how long it stays open
    breaker_threshold: int = 5
    breaker_reset_seconds: float = 5.0
    batch_get_concurrency: int = 16
    # a collection-restricted search asks the server for k * overfetch (it cannot filter)
    overfetch_factor: int = 4
    # vector dimension; unset: fixed by the first insert, as the server does
    dimension: int | None = None
    embedder: EmbedderSettings = msgspec.field(default_factory=EmbedderSettings)
    aql: AqlSettings = msgspec.field(default_factory=AqlSettings)
