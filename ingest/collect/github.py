"""`burnpath collect github --org ORG`: GitHub REST into `<out>/github/orgs/<org>/...`.

Token: GITHUB_TOKEN, from the environment only. Org: `--org` or GITHUB_ORG. Listings
page by the `Link: rel="next"` header (per_page=100). Two listings depend on what the
token may see: fine-grained PAT grants are listed only to a GitHub App, and Copilot
seats only where the org has Copilot Business; a 403/404 on those is reported and the
file left out, not a failure of the whole pull."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from . import CollectError
from .http import Client, env_key, write_pages
from .link_paging import items, link_pages

BASE_URL = "https://api.github.com"
OPTIONAL = {403, 404}


def collect(out: Path, args) -> dict[str, int]:
    token = env_key("GITHUB_TOKEN")
    org = getattr(args, "org", None) or os.environ.get("GITHUB_ORG")
    if not org:
        raise CollectError("name the organisation with --org or GITHUB_ORG")
    root = Path(out) / "github"
    summary: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    params = {"per_page": 100}
    with Client(getattr(args, "base_url", None) or BASE_URL, headers,
                max_retries=getattr(args, "max_retries", 5)) as client:

        def save(rel: str, key: str | None = None, optional: bool = False) -> list[dict]:
            try:
                pages = link_pages(client, f"/{rel}", params)
            except CollectError as exc:
                if optional and getattr(exc, "status", None) in OPTIONAL:
                    print(f"burnpath collect github: skipped {rel}: {exc}", file=sys.stderr)
                    return []
                raise
            write_pages(root, f"{rel}.json", pages)
            found = items(pages, key)
            summary[f"github/{rel}.json"] = len(found)
            return found

        base = f"orgs/{org}"
        save(f"{base}/members")
        for team in save(f"{base}/teams"):
            save(f"{base}/teams/{team['slug']}/members")
        save(f"{base}/copilot/billing/seats", "seats", optional=True)
        save(f"{base}/personal-access-tokens", optional=True)
        save(f"{base}/installations", "installations")
    return summary
