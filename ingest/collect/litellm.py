"""`burnpath collect litellm`: a LiteLLM proxy's management API into `<out>/litellm/...`.

Key: LITELLM_MASTER_KEY (or LITELLM_API_KEY), from the environment only. The proxy's
URL is --base-url, else LITELLM_BASE_URL. Keys are fetched as full objects
(`return_full_object=true`) page by page (`page`, `size`) until `total_pages`; users
likewise (`page`, `page_size`); teams and spend logs are single arrays."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import CollectError
from .ai_paging import items_in
from .http import Client, env_key, write_pages

PAGE_SIZE = 100


def _numbered(client: Client, path: str, params: dict[str, Any], size_param: str,
              page_field: str) -> list:
    pages = []
    page = 1
    while True:
        body = client.get_json(path, {**params, "page": page, size_param: PAGE_SIZE})
        pages.append(body)
        if not isinstance(body, dict):
            return pages          # older proxies answer a bare array: one page
        current = int(body.get(page_field) or page)
        total = int(body.get("total_pages") or 1)
        if current >= total:
            return pages
        if len(pages) > 10_000:
            raise CollectError(f"GET {path}: more than 10000 pages; stopping")
        page = current + 1


def collect(out: Path, args) -> dict[str, int]:
    key = env_key("LITELLM_MASTER_KEY", "LITELLM_API_KEY")
    base = getattr(args, "base_url", None) or os.environ.get("LITELLM_BASE_URL")
    if not base:
        raise CollectError("give the proxy's URL with --base-url or LITELLM_BASE_URL")
    root = Path(out) / "litellm"
    summary: dict[str, int] = {}
    with Client(base, {"Authorization": f"Bearer {key}"},
                max_retries=getattr(args, "max_retries", 5)) as client:

        def save(rel: str, pages: list, *keys: str) -> None:
            write_pages(root, rel, pages)
            summary[f"litellm/{rel}"] = items_in(pages, *keys)

        save("key/list.json", _numbered(client, "key/list", {"return_full_object": "true"},
                                        "size", "current_page"), "keys")
        save("team/list.json", [client.get_json("team/list")], "teams")
        save("user/list.json", _numbered(client, "user/list", {}, "page_size", "page"), "users")
        save("spend/logs.json", [client.get_json("spend/logs")], "data")
    return summary
