"""`burnpath collect SOURCE --out DIR`: a live pull from a vendor API into the snapshot layout."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub):
    sp = sub.add_parser("collect", help="live pull from a vendor API into the snapshot layout",
                        description="Pull SOURCE (openai, anthropic, litellm, okta, msgraph, google, "
                        "github) from its API into DIR/<source>/; keys come from environment "
                        "variables only.")
    sp.add_argument("source", help="the vendor to pull")
    sp.add_argument("--out", required=True, metavar="DIR", help="the snapshot directory to write")
    sp.add_argument("--base-url", default=None, help="override the vendor API base URL")
    sp.add_argument("--org", default=None, help="organisation (GitHub org, Okta domain...)")
    sp.add_argument("--max-retries", type=int, default=5, help="retries of a failed or throttled request")
    sp.add_argument("--since", default=None, help="first day of usage/cost reports (YYYY-MM-DD; default 30 days ago)")
    sp.add_argument("--until", default=None, help="last day of usage/cost reports (YYYY-MM-DD; default today)")
    return sp


def run(args) -> int:
    from ingest.collect import run_collect
    return run_collect(args.source, Path(args.out), args)
