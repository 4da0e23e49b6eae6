"""Paging loops and report windows the AI-provider collectors share.

Each loop follows one vendor's cursor until the vendor says there is no more, and
refuses a cursor that repeats (a server bug would otherwise loop forever)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from . import CollectError
from .http import Client


def window(args) -> tuple[date, date]:
    """First and last day of usage/cost reports: --since/--until, else the last 30 days."""
    def parse(name: str) -> date | None:
        value = getattr(args, name, None)
        if not value:
            return None
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise CollectError(f"--{name} {value!r} is not a date (YYYY-MM-DD)") from None
    until = parse("until") or datetime.now(timezone.utc).date()
    since = parse("since") or until - timedelta(days=30)
    if since > until:
        raise CollectError("--since is after --until")
    return since, until


def follow(client: Client, path: str, params: dict[str, Any], cursor_param: str,
           next_cursor: Callable[[Any], str | None], max_pages: int = 10_000) -> list[Any]:
    """GET pages of one endpoint, passing `cursor_param=<next_cursor(previous body)>`."""
    pages: list[Any] = []
    seen: set[str] = set()
    query = dict(params)
    while True:
        body = client.get_json(path, query)
        pages.append(body)
        cursor = next_cursor(body)
        if not cursor:
            return pages
        if cursor in seen or len(pages) >= max_pages:
            raise CollectError(f"GET {path}: the cursor {cursor!r} repeats; stopping")
        seen.add(cursor)
        query = {**params, cursor_param: cursor}


def listing_cursor(id_field: str = "last_id") -> Callable[[Any], str | None]:
    """OpenAI (`after`) and Anthropic (`after_id`) listings: `has_more` + `last_id`."""
    def cursor(body: Any) -> str | None:
        if not isinstance(body, dict):
            raise CollectError(f"expected a listing object, got {type(body).__name__}")
        return body.get(id_field) if body.get("has_more") else None
    return cursor


def report_cursor(body: Any) -> str | None:
    """Usage and cost reports of both vendors: `has_more` + `next_page`."""
    if not isinstance(body, dict):
        raise CollectError(f"expected a report page, got {type(body).__name__}")
    return body.get("next_page") if body.get("has_more") else None


def items_in(pages: list[Any], *keys: str) -> int:
    total = 0
    for page in pages:
        if isinstance(page, list):
            total += len(page)
            continue
        for k in keys:
            if isinstance(page, dict) and isinstance(page.get(k), list):
                total += len(page[k])
                break
    return total
