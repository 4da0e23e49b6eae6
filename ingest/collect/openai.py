"""`burnpath collect openai`: the OpenAI Admin API into `<out>/openai/...`.

Key: OPENAI_ADMIN_KEY (an admin key, `sk-admin-...`), from the environment only.
Listings page with `after=<last_id>` while `has_more`; usage and costs with
`page=<next_page>`. Projects include archived ones (their keys still matter)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from .ai_paging import follow, items_in, listing_cursor, report_cursor, window
from .http import Client, env_key, write_pages

BASE_URL = "https://api.openai.com/v1"
LIMIT = 100


def _unix(day) -> int:
    return int(datetime.combine(day, time(0), tzinfo=timezone.utc).timestamp())


def collect(out: Path, args) -> dict[str, int]:
    key = env_key("OPENAI_ADMIN_KEY")
    since, until = window(args)
    root = Path(out) / "openai"
    summary: dict[str, int] = {}
    with Client(getattr(args, "base_url", None) or BASE_URL, {"Authorization": f"Bearer {key}"},
                max_retries=getattr(args, "max_retries", 5)) as client:

        def listing(api_path: str, **params) -> list:
            pages = follow(client, api_path, {"limit": LIMIT, **params}, "after", listing_cursor())
            rel = f"{api_path}.json"
            write_pages(root, rel, pages)
            summary[f"openai/{rel}"] = items_in(pages, "data")
            return pages

        def report(api_path: str, **params) -> None:
            pages = follow(client, api_path, params, "page", report_cursor)
            rel = f"{api_path}.json"
            write_pages(root, rel, pages)
            summary[f"openai/{rel}"] = items_in(pages, "data")

        listing("organization/users")
        projects = listing("organization/projects", include_archived="true")
        for page in projects:
            for project in page.get("data") or []:
                pid = project.get("id")
                if not pid:
                    continue
                for part in ("users", "service_accounts", "api_keys"):
                    listing(f"organization/projects/{pid}/{part}")
        listing("organization/admin_api_keys")
        start, end = _unix(since), _unix(until + timedelta(days=1))
        report("organization/usage/completions", start_time=start, end_time=end, bucket_width="1d",
               group_by=["project_id", "user_id", "api_key_id", "model"], limit=31)
        report("organization/costs", start_time=start, end_time=end, bucket_width="1d",
               group_by=["project_id", "line_item"], limit=180)
    return summary
