"""Built-in text→vector embedders: `hashing` (offline, deterministic) and `openai` (any
OpenAI-compatible embeddings service). Plugins add others via `themisgate_embedder`."""

from __future__ import annotations

from ..protocol import Embedder
from ..settings import EmbedderSettings
from .hashing import HashingEmbedder
from .openai import OpenAIEmbedder

BUILTIN_EMBEDDERS = ("hashing", "openai")


def create_embedder(settings: EmbedderSettings) -> Embedder:
    """The built-in embedder `settings.name` names; ValueError for any other name."""
    if settings.name == "hashing":
        return HashingEmbedder(settings.dimension)
    if settings.name == "openai":
        return OpenAIEmbedder(settings)
    raise ValueError(
        f"unknown embedder {settings.name!r}: built in are {', '.join(BUILTIN_EMBEDDERS)}; "
        "others come from plugins implementing themisgate_embedder"
    )


__all__ = ["BUILTIN_EMBEDDERS", "HashingEmbedder", "OpenAIEmbedder", "create_embedder"]
