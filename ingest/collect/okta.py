"""`burnpath collect okta`: the Okta Management API into `<out>/okta/...`.

Token: OKTA_API_TOKEN (an API token, sent as `SSWS`), from the environment only.
Org: `--org northwind.okta.com` or OKTA_DOMAIN (`--base-url` overrides both). Listings
page by the `Link: rel="next"` header. The user listing leaves DEPROVISIONED users out
unless searched for, so users.json holds both listings as pages of one endpoint."""
from __future__ import annotations

from pathlib import Path

from . import CollectError
from .http import Client, env_key, write_pages
from .link_paging import items, link_pages

LIMIT = 200


def base_url(args) -> str:
    import os
    if getattr(args, "base_url", None):
        return args.base_url
    domain = getattr(args, "org", None) or os.environ.get("OKTA_DOMAIN")
    if not domain:
        raise CollectError("name the Okta org with --org <org>.okta.com or OKTA_DOMAIN")
    return domain if domain.startswith("http") else f"https://{domain}"


def collect(out: Path, args) -> dict[str, int]:
    token = env_key("OKTA_API_TOKEN")
    root = Path(out) / "okta"
    summary: dict[str, int] = {}
    headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}
    with Client(base_url(args), headers, max_retries=getattr(args, "max_retries", 5)) as client:

        def save(rel: str, pages: list) -> list[dict]:
            write_pages(root, rel, pages)
            found = items(pages)
            summary[f"okta/{rel}"] = len(found)
            return found

        users = save("api/v1/users.json",
                     link_pages(client, "/api/v1/users", {"limit": LIMIT})
                     + link_pages(client, "/api/v1/users", {"limit": LIMIT,
                                                             "search": 'status eq "DEPROVISIONED"'}))
        for g in save("api/v1/groups.json", link_pages(client, "/api/v1/groups", {"limit": LIMIT})):
            save(f"api/v1/groups/{g['id']}/users.json",
                 link_pages(client, f"/api/v1/groups/{g['id']}/users", {"limit": LIMIT}))
        for a in save("api/v1/apps.json", link_pages(client, "/api/v1/apps", {"limit": LIMIT})):
            save(f"api/v1/apps/{a['id']}/users.json",
                 link_pages(client, f"/api/v1/apps/{a['id']}/users", {"limit": LIMIT}))
        for u in users:
            save(f"api/v1/users/{u['id']}/grants.json",
                 link_pages(client, f"/api/v1/users/{u['id']}/grants", {"limit": LIMIT, "expand": "scope"}))
    return summary
