"""`burnpath collect anthropic`: the Anthropic Admin API into `<out>/anthropic/...`.

Key: ANTHROPIC_ADMIN_KEY (`sk-ant-admin...`), from the environment only. Listings
page with `after_id=<last_id>` while `has_more`; reports with `page=<next_page>`.
The Claude Code report answers one day per request, so it is asked day by day over
the window and its non-empty pages saved as one array."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from .ai_paging import follow, items_in, listing_cursor, report_cursor, window
from .http import Client, env_key, write_pages

BASE_URL = "https://api.anthropic.com/v1"
API_VERSION = "2023-06-01"
LIMIT = 100


def collect(out: Path, args) -> dict[str, int]:
    key = env_key("ANTHROPIC_ADMIN_KEY", "ANTHROPIC_ADMIN_API_KEY")
    since, until = window(args)
    root = Path(out) / "anthropic"
    summary: dict[str, int] = {}
    headers = {"x-api-key": key, "anthropic-version": API_VERSION}
    with Client(getattr(args, "base_url", None) or BASE_URL, headers,
                max_retries=getattr(args, "max_retries", 5)) as client:

        def save(api_path: str, pages: list) -> list:
            rel = f"{api_path}.json"
            write_pages(root, rel, pages)
            summary[f"anthropic/{rel}"] = items_in(pages, "data")
            return pages

        def listing(api_path: str, **params) -> list:
            return save(api_path, follow(client, api_path, {"limit": LIMIT, **params}, "after_id",
                                         listing_cursor()))

        listing("organizations/users")
        workspaces = listing("organizations/workspaces", include_archived="true")
        for page in workspaces:
            for ws in page.get("data") or []:
                if ws.get("id"):
                    listing(f"organizations/workspaces/{ws['id']}/members")
        listing("organizations/api_keys")
        start = f"{since.isoformat()}T00:00:00Z"
        end = f"{(until + timedelta(days=1)).isoformat()}T00:00:00Z"
        save("organizations/usage_report/messages",
             follow(client, "organizations/usage_report/messages",
                    {"starting_at": start, "ending_at": end, "bucket_width": "1d",
                     # account_id / service_account_id: whose usage a row without a key is
                     "group_by[]": ["api_key_id", "workspace_id", "model", "account_id",
                                    "service_account_id"], "limit": 31},
                    "page", report_cursor))
        save("organizations/cost_report",
             follow(client, "organizations/cost_report",
                    {"starting_at": start, "ending_at": end,
                     "group_by[]": ["workspace_id", "description"], "limit": 31},
                    "page", report_cursor))
        code_pages = []
        day = since
        while day <= until:
            for page in follow(client, "organizations/usage_report/claude_code",
                               {"starting_at": day.isoformat(), "limit": 1000}, "page", report_cursor):
                if isinstance(page, dict) and page.get("data"):
                    code_pages.append(page)
            day += timedelta(days=1)
        save("organizations/usage_report/claude_code",
             code_pages or [{"data": [], "has_more": False, "next_page": None}])
    return summary
