"""`serve_lite`: run themis-lite under uvicorn (the CLI's `themisgate themis-lite`)."""

from __future__ import annotations

import uvicorn

from ..embedded import EmbeddedBackend
from ..settings import ThemisSettings
from .app import create_lite_app


async def serve_lite(
    path: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    *,
    dimension: int | None = None,
    log_level: str = "info",
) -> None:
    """Serve the wire API from the SQLite file at `path` until interrupted."""
    backend = EmbeddedBackend(ThemisSettings(path=path, dimension=dimension))
    app = create_lite_app(backend, token=token, manage_backend=True)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on")
    await uvicorn.Server(config).serve()
