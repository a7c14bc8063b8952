"""The JavaScript client page: one HTML page and its script and style, all served by this
plugin (no CDN, so it works on hosts without Internet access), under a strict
Content-Security-Policy that allows only this origin."""

from __future__ import annotations

import html
from importlib.resources import files

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from .endpoints import SEARCH_PATH

STATIC = files(__package__).joinpath("static")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
ASSET_MAX_AGE = 3600


def page(base: str) -> str:
    """The page served at `base` (the `client_page` setting)."""
    assets = html.escape(base.rstrip("/"), quote=True)
    endpoint = html.escape(SEARCH_PATH, quote=True)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>WebSocket client · themisgate</title>
    <link rel="stylesheet" href="{assets}/client.css">
    <script src="{assets}/client.js" defer></script>
  </head>
  <body>
    <main id="app" data-endpoint="{endpoint}">
      <h1>themisgate · WebSocket client</h1>
      <form id="connection">
        <label>client id <input id="client-id" placeholder="chosen by the server"></label>
        <label>token (API key or JWT) <input id="token" type="password" autocomplete="off"></label>
        <button type="submit">Connect</button>
        <button type="button" id="disconnect" class="secondary">Disconnect</button>
      </form>
      <div id="status" data-state="closed">not connected</div>

      <h2>Search</h2>
      <form id="search-form">
        <label>query <input id="query" required placeholder="solar panels"></label>
        <label>collection <input id="collection" placeholder="default"></label>
        <label>top k <input id="top-k" type="number" min="1" max="100" value="5"></label>
        <button type="submit" id="search" disabled>Search</button>
      </form>
      <p id="summary"></p>
      <ol id="results"></ol>

      <h2>Broadcast</h2>
      <form id="broadcast-form">
        <label>message <input id="broadcast-text"></label>
        <button type="submit" id="send-broadcast" disabled>Send to everyone</button>
      </form>
      <ul id="events"></ul>
    </main>
  </body>
</html>
"""


def page_routes(base: str) -> list[HTTPRouteHandler]:
    """Handlers for the page and its two assets, built once at start-up."""
    body = page(base)
    script = STATIC.joinpath("client.js").read_bytes()
    style = STATIC.joinpath("client.css").read_bytes()
    headers = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
    cached = {"Cache-Control": f"public, max-age={ASSET_MAX_AGE}"}
    prefix = base.rstrip("/")

    @get(base, include_in_schema=False, name="websocket-client-page")
    async def client_page() -> Response[str]:
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    @get(f"{prefix}/client.js", include_in_schema=False, name="websocket-client-script")
    async def client_script() -> Response[bytes]:
        return Response(script, media_type="text/javascript; charset=utf-8", headers=cached)

    @get(f"{prefix}/client.css", include_in_schema=False, name="websocket-client-style")
    async def client_style() -> Response[bytes]:
        return Response(style, media_type="text/css; charset=utf-8", headers=cached)

    return [client_page, client_script, client_style]
