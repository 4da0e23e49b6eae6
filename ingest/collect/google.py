"""`burnpath collect google`: the Admin SDK Directory API into
`<out>/google/admin/directory/v1/...`.

Token: GOOGLE_ACCESS_TOKEN (an OAuth access token of an admin or a domain-wide
delegated service account, with admin.directory.user.readonly,
admin.directory.group.readonly and admin.directory.user.security), from the
environment only. Customer: `--org` or GOOGLE_CUSTOMER, else `my_customer`. Listings
page by `pageToken=<nextPageToken>`; a user's token list is not paged."""
from __future__ import annotations

import os
from pathlib import Path

from .ai_paging import follow
from .http import Client, env_key, write_pages
from .link_paging import items

BASE_URL = "https://admin.googleapis.com"
API = "admin/directory/v1"


def _next(body) -> str | None:
    return body.get("nextPageToken") if isinstance(body, dict) else None


def collect(out: Path, args) -> dict[str, int]:
    token = env_key("GOOGLE_ACCESS_TOKEN")
    customer = getattr(args, "org", None) or os.environ.get("GOOGLE_CUSTOMER") or "my_customer"
    root = Path(out) / "google"
    summary: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with Client(getattr(args, "base_url", None) or BASE_URL, headers,
                max_retries=getattr(args, "max_retries", 5)) as client:

        def save(rel: str, pages: list, key: str) -> list[dict]:
            write_pages(root, f"{API}/{rel}", pages)
            found = items(pages, key)
            summary[f"google/{API}/{rel}"] = len(found)
            return found

        users = save("users.json", follow(client, f"/{API}/users",
                                          {"customer": customer, "maxResults": 500}, "pageToken", _next),
                     "users")
        for u in users:
            save(f"users/{u['id']}/tokens.json", [client.get_json(f"/{API}/users/{u['id']}/tokens")], "items")
        groups = save("groups.json", follow(client, f"/{API}/groups",
                                            {"customer": customer, "maxResults": 200}, "pageToken", _next),
                      "groups")
        for g in groups:
            save(f"groups/{g['id']}/members.json",
                 follow(client, f"/{API}/groups/{g['id']}/members", {"maxResults": 200}, "pageToken", _next),
                 "members")
    return summary
