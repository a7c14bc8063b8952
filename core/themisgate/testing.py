"""What a plugin author needs to test a plugin in about ten lines.

    from themisgate.testing import plugin_client

    async def test_greets():
        settings = {"plugins": {"hello": {"greeting": "Hi"}}}
        async with plugin_client(themisgate_hello, settings=settings) as client:
            response = await client.get("/hello/you")
        assert response.json() == {"message": "Hi, you!"}

The app runs on the embedded ThemisDB in memory, with the hashing embedder, and its
lifespan (start-up and shutdown hooks) runs around the block.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from .app import create_app
from .config import Settings, load_settings

TEST_DEFAULTS: dict[str, Any] = {
    "core": {
        "access_log": False,
        "gc_freeze": False,  # tests start hundreds of apps in one process
        "themis": {"backend": "embedded", "path": ":memory:"},
    },
}


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def make_settings(
    settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from a `plugins.toml`-shaped dict, on top of in-memory test defaults.
    Environment overrides are ignored unless `environ` is given."""
    return load_settings(data=_merge(TEST_DEFAULTS, settings or {}), environ=environ or {})


def make_app(*plugins: object, settings: Mapping[str, Any] | None = None) -> Litestar:
    """An app with `plugins` registered directly (no install needed) and `settings`."""
    return create_app(make_settings(settings), plugins=plugins, configure_logs=False)


@contextlib.asynccontextmanager
async def plugin_client(
    *plugins: object, settings: Mapping[str, Any] | None = None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An async HTTP client for an app with `plugins`, started and stopped around the block."""
    async with AsyncTestClient(app=make_app(*plugins, settings=settings)) as client:
        yield client
