"""`burnpath collect SOURCE --out DIR`: live pulls from vendor APIs, written in the
snapshot layout so `burnpath ingest DIR` reads them back. The only network code."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

# source -> module under ingest/collect/ exposing `collect(out: Path, args) -> dict`
COLLECTORS = {
    "openai": "ingest.collect.openai",
    "anthropic": "ingest.collect.anthropic",
    "litellm": "ingest.collect.litellm",
    "okta": "ingest.collect.okta",
    "msgraph": "ingest.collect.msgraph",
    "google": "ingest.collect.google",
    "github": "ingest.collect.github",
}


class CollectError(Exception):
    """A pull failed; the message says which endpoint and why (never a key)."""


def run_collect(source: str, out: Path, args) -> int:
    if source not in COLLECTORS:
        print(f"burnpath collect: unknown source {source!r} (one of {', '.join(COLLECTORS)})",
              file=sys.stderr)
        return 2
    module = importlib.import_module(COLLECTORS[source])
    try:
        summary = module.collect(out, args)
    except CollectError as exc:
        print(f"burnpath collect {source}: error: {exc}", file=sys.stderr)
        return 1
    for path, count in sorted(summary.items()):
        print(f"{path}: {count}")
    return 0
