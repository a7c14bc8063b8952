"""Choosing a backend from `[core.themis]`; each backend is imported only when chosen."""

from __future__ import annotations

from .protocol import ThemisBackend
from .settings import ThemisSettings


def create_backend(settings: ThemisSettings) -> ThemisBackend:
    if settings.backend == "http":
        from .http import HttpBackend

        return HttpBackend(settings)
    from .embedded import EmbeddedBackend

    return EmbeddedBackend(settings)
