"""GraphiQL, served entirely by this server: the page (built once, at start-up) and its
scripts and styles from `static/` (see static/README.md for what they are and where they
come from). Nothing is loaded from a CDN, and the page's Content-Security-Policy allows
only this origin, so it works on hosts without Internet access and under strict CSPs."""

from __future__ import annotations

import html
from pathlib import Path

from litestar import Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

STATIC = Path(__file__).parent / "static"
ASSETS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "boot.js")
ASSET_MAX_AGE = 86_400

DEFAULT_QUERY = """\
# GraphiQL for themisgate: Ctrl-Enter runs the query, Ctrl-Space completes.
{
  adapterStatus { name available version queryCount avgLatencyMs }
  similar: vectorSearch(input: { query: "solar panels", topK: 3 }) {
    documentId
    score
    content
  }
}
"""

# GraphiQL sets styles from script and ships its fonts as data: URIs
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def assets_path(endpoint: str) -> str:
    return f"{endpoint.rstrip('/')}/assets"


def page(endpoint: str) -> str:
    """The GraphiQL page for `endpoint` (the configured path)."""
    base = html.escape(assets_path(endpoint), quote=True)
    scripts = "\n".join(f'    <script src="{base}/{name}" defer></script>' for name in ASSETS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL · themisgate</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{base}/graphiql.min.css">
{scripts}
  </head>
  <body style="margin: 0">
    <div id="graphiql" style="height: 100vh"
         data-endpoint="{html.escape(endpoint, quote=True)}"
         data-default-query="{html.escape(DEFAULT_QUERY, quote=True)}">Loading GraphiQL…</div>
  </body>
</html>
"""


def page_response(body: str) -> Response[str]:
    return Response(
        body,
        media_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def assets_router(endpoint: str) -> Router:
    return create_static_files_router(
        path=assets_path(endpoint),
        directories=[STATIC],
        name="graphiql-assets",
        cache_control=CacheControlHeader(max_age=ASSET_MAX_AGE, public=True),
        include_in_schema=False,
    )
