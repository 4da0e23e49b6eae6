"""The web views at `/` (search, blast-radius picture, findings, spend, trace, risk).

One HTML page and three scripts shipped in this package (api/static/web/, our own
code, no third-party library, nothing fetched from elsewhere). The page reads the
same GraphQL API at /graphql as any client: the user's token is typed into the page,
kept in sessionStorage for the tab, and sent as the `Authorization` header, so the
server's roles apply unchanged. The page and its assets hold no data and need no
token; every answer still does.
"""
from __future__ import annotations

from functools import lru_cache
from html import escape
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from .graphiql import Asset, asset_response, asset_tags

ASSET_DIR = Path(__file__).resolve().parent / "static" / "web"
STATIC_PREFIX = "/web/static/"
SCRIPTS = ("client.js", "picture.js", "app.js")   # in load order
STYLES = ("app.css",)

# Stricter than GraphiQL's: no inline style either (the views style through classes
# and the CSSOM), scripts and requests to this origin only.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-cache",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

VIEWS = (("search", "Search"), ("blast", "Blast radius"), ("findings", "Findings"),
         ("spend", "Spend"), ("trace", "Trace"), ("risk", "Risk"))


@lru_cache(maxsize=1)
def assets() -> dict[str, Asset]:
    return {name: Asset(ASSET_DIR / name) for name in SCRIPTS + STYLES}


def _url(name: str) -> str:
    return f"web/static/{name}?v={assets()[name].version}"   # relative: works behind a prefix


def page(graphiql: bool) -> HTMLResponse:
    nav = "\n".join(f'          <li><a href="#/{v}" data-view="{v}">{escape(label)}</a></li>' for v, label in VIEWS)
    if graphiql:
        nav += '\n          <li><a href="graphql">GraphiQL</a></li>'
    styles, scripts = asset_tags(_url, STYLES, SCRIPTS)
    html = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>burnpath</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <a class="skip" href="#view">Skip to content</a>
    <header>
      <h1>burnpath</h1>
      <nav aria-label="Views">
        <ul>
{nav}
        </ul>
      </nav>
      <form id="token-form" autocomplete="off">
        <label for="token">API token</label>
        <input id="token" type="password" spellcheck="false" placeholder="bp_... (kept for this tab only)">
        <button type="submit">Use</button>
      </form>
    </header>
    <p id="status" class="status" role="status" aria-live="polite"></p>
    <main id="view" tabindex="-1" aria-labelledby="view-title"></main>
{scripts}
  </body>
</html>
"""
    return HTMLResponse(html, headers=PAGE_HEADERS)


def add_routes(app: FastAPI, graphiql: bool) -> None:
    """GET / (the page) and GET /web/static/<name> (only the page's own assets)."""

    @app.get("/", include_in_schema=False)
    def web_page() -> HTMLResponse:
        return page(graphiql)

    @app.get(STATIC_PREFIX + "{name}", include_in_schema=False)
    def web_asset(name: str, request: Request) -> Response:
        return asset_response(assets().get(name), request)
