"""Paging by absolute next-page URLs: RFC 8288 `Link: <...>; rel="next"` (Okta, GitHub)
and Microsoft Graph `@odata.nextLink`. A next URL must stay on the API's own origin:
the client sends the token with every request, so a link elsewhere is refused."""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from . import CollectError
from .http import Client, _safe, next_link

MAX_PAGES = 10_000


def _same_origin(base: str, url: str) -> bool:
    a, b = urlsplit(base), urlsplit(url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _pages(client: Client, path: str, params: dict[str, Any] | None,
           next_of: Callable[[httpx.Response, Any], str | None]) -> list[Any]:
    pages: list[Any] = []
    seen: set[str] = set()
    url, query = path, params
    while True:
        resp = client.get(url, query)
        try:
            body = resp.json()
        except ValueError:
            raise CollectError(f"GET {_safe(url)}: response is not JSON") from None
        pages.append(body)
        nxt = next_of(resp, body)
        if not nxt:
            return pages
        if not _same_origin(client.base_url, nxt):
            raise CollectError(f"GET {_safe(url)}: next page {_safe(nxt)} is on another origin; refusing "
                               f"to send the token there")
        if nxt in seen or len(pages) >= MAX_PAGES:
            raise CollectError(f"GET {_safe(url)}: the next-page link repeats; stopping")
        seen.add(nxt)
        url, query = nxt, None  # the next URL carries the whole query


def link_pages(client: Client, path: str, params: dict[str, Any] | None = None) -> list[Any]:
    return _pages(client, path, params, lambda resp, body: next_link(resp))


def odata_pages(client: Client, path: str, params: dict[str, Any] | None = None) -> list[Any]:
    def nxt(resp, body):
        if not isinstance(body, dict):
            raise CollectError(f"GET {_safe(path)}: expected an OData collection, got {type(body).__name__}")
        return body.get("@odata.nextLink")
    return _pages(client, path, params, nxt)


def items(pages: list[Any], key: str | None = None) -> list[dict]:
    """The items of saved pages (bare arrays, or bodies enveloped under `key`)."""
    out: list[dict] = []
    for page in pages:
        if isinstance(page, list):
            out.extend(x for x in page if isinstance(x, dict))
        elif isinstance(page, dict) and key and isinstance(page.get(key), list):
            out.extend(x for x in page[key] if isinstance(x, dict))
    return out
