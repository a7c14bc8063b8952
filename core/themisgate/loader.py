"""Loading a JSON Lines file of documents into a collection, embedding their text.

Each line is a JSON object; its key comes from `key_field` and the text to embed from
`text_field`. Items are written in batches through the adapter (so one embedder call per
batch). A bad line — not JSON, not an object, no key, no text — is reported with its line
number and skipped, or stops the load, as the caller chooses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from .adapter import ThemisAdapter, UpsertEntry

OnError = Literal["skip", "abort"]


class BadLine(msgspec.Struct, frozen=True):
    line: int
    reason: str


class LoadAborted(Exception):
    def __init__(self, bad: BadLine) -> None:
        super().__init__(f"line {bad.line}: {bad.reason}")
        self.bad = bad


class LoadSummary(msgspec.Struct):
    loaded: int = 0
    skipped: list[BadLine] = []
    seconds: float = 0.0


def _entries(
    path: Path, key_field: str, text_field: str
) -> Iterator[tuple[int, int, UpsertEntry | BadLine]]:
    """(line number, bytes read so far, the entry or what is wrong with the line)."""
    decoder = msgspec.json.Decoder()
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            consumed = len(raw)
            if not raw.strip():
                yield number, consumed, BadLine(number, "empty line")
                continue
            try:
                document: Any = decoder.decode(raw)
            except msgspec.DecodeError as exc:
                yield number, consumed, BadLine(number, f"not JSON: {exc}")
                continue
            if not isinstance(document, dict):
                yield number, consumed, BadLine(number, "not a JSON object")
                continue
            key, text = document.get(key_field), document.get(text_field)
            if not isinstance(key, str | int) or str(key) == "":
                yield number, consumed, BadLine(number, f"no {key_field!r} (string or number)")
                continue
            if not isinstance(text, str) or not text.strip():
                yield number, consumed, BadLine(number, f"no {text_field!r} text to embed")
                continue
            yield number, consumed, UpsertEntry(key=str(key), text=text, document=document)


async def load_jsonl(
    adapter: ThemisAdapter,
    path: Path,
    collection: str,
    *,
    key_field: str = "id",
    text_field: str = "text",
    batch_size: int = 64,
    on_error: OnError = "skip",
    progress: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Load `path` into `collection`; `progress(n)` is told of every `n` bytes read."""
    summary = LoadSummary()
    started = time.perf_counter()
    batch: list[UpsertEntry] = []

    async def flush() -> None:
        if batch:
            result = await adapter.upsert(collection, batch)
            summary.loaded += result.inserted
            batch.clear()

    for _, consumed, item in _entries(path, key_field, text_field):
        if isinstance(item, BadLine):
            if on_error == "abort":
                raise LoadAborted(item)
            summary.skipped.append(item)
        else:
            batch.append(item)
            if len(batch) >= batch_size:
                await flush()
        if progress is not None:
            progress(consumed)
    await flush()
    summary.seconds = time.perf_counter() - started
    return summary
