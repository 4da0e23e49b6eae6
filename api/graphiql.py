"""GraphiQL served from this package, so the IDE works on a machine with no internet.

The page at GET /graphql (Accept: text/html) loads only the vendored assets in
api/static/graphiql/ (see its README for versions and provenance), from
/graphql/static/<name>. Assets hold no data and are served without a token; the
page itself holds no token either: GraphiQL sends the user's `Authorization`
header from its Headers tab with every GraphQL request, and the server checks it
as for any client.
"""
from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

ASSET_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PREFIX = "/graphql/static/"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

# In load order: React first (GraphiQL's UMD build expects window.React and ReactDOM).
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js",
           "burnpath-graphiql.js")
STYLES = ("graphiql.min.css",)

# Everything from this origin, nothing inline but styles (GraphiQL sets style attributes).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Asset URLs carry a hash of their content, so a cached copy is never stale.
ASSET_CACHE = "public, max-age=31536000, immutable"


class Asset:
    def __init__(self, path: Path):
        self.body = path.read_bytes()
        self.content_type = CONTENT_TYPES[path.suffix]
        self.version = hashlib.sha256(self.body).hexdigest()[:16]
        self._gzipped: bytes | None = None

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:  # graphiql.min.js is 3.5 MB, 0.7 MB gzipped
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    """The servable files by name: the page's scripts and styles, nothing else."""
    return {name: Asset(ASSET_DIR / name) for name in SCRIPTS + STYLES}


def _url(name: str) -> str:
    # Relative to the page at .../graphql, so it also works behind a path prefix.
    return f"graphql/static/{name}?v={assets()[name].version}"


def asset_tags(url, styles: tuple[str, ...], scripts: tuple[str, ...]) -> tuple[str, str]:
    """(the <link> lines, the <script> lines) of a page's assets, `url(name)` giving each URL."""
    return ("\n".join(f'    <link rel="stylesheet" href="{escape(url(n))}">' for n in styles),
            "\n".join(f'    <script src="{escape(url(n))}"></script>' for n in scripts))


def page(token_required: bool) -> HTMLResponse:
    styles, scripts = asset_tags(_url, STYLES, SCRIPTS)
    html = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>burnpath GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
    <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql" data-token-required="{'true' if token_required else 'false'}">Loading GraphiQL...</div>
{scripts}
  </body>
</html>
"""
    return HTMLResponse(html, headers=PAGE_HEADERS)


def add_asset_route(app: FastAPI) -> None:
    """GET /graphql/static/<name> for the page's assets. Only the names in `assets()`
    resolve: the route never maps a request path onto the file system."""

    @app.get(STATIC_PREFIX + "{name}", include_in_schema=False)
    def graphiql_asset(name: str, request: Request) -> Response:
        return asset_response(assets().get(name), request)


def asset_response(asset: "Asset | None", request: Request) -> Response:
    """A vendored asset (gzipped when the client takes it), or 404 when there is none."""
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff",
               "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.content_type, headers=headers)
    return Response(asset.body, media_type=asset.content_type, headers=headers)
