"""URLs that are safe to put in an error message or a log line."""

from __future__ import annotations

import httpx


def redact_url(url: str | httpx.URL) -> str:
    """The URL without user info or query string, which may carry credentials."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid URL>"
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
