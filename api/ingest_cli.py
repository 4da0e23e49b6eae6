"""`burnpath ingest PATH... [--db URL]`: load snapshot directories or files."""
from __future__ import annotations

import sys

from .cli_options import add_store_options, open_engine


def add_parser(sub):
    sp = sub.add_parser("ingest", help="load snapshot directories or files into the store",
                        description="Load snapshot directories (openai/, okta/, inventory/ ...) or "
                        "files inside one. Each source is one transaction: a file that cannot be "
                        "parsed stops the ingest with nothing of its source written.")
    sp.add_argument("paths", nargs="+", metavar="PATH", help="a snapshot directory or a file inside one")
    add_store_options(sp)
    return sp


def print_results(results, out=None) -> None:
    out = out or sys.stdout
    for r in results:
        counts = ", ".join(f"{v} {k}" for k, v in r.counts.items() if v)
        removed = ", ".join(f"{v} {k}" for k, v in r.removed.items() if v)
        mode = "complete re-sync" if r.complete else "partial"
        print(f"{r.source}: loaded {counts or 'nothing'} ({mode})"
              + (f"; marked removed {removed}" if removed else ""), file=out)
        for w in r.warnings[:20]:
            print(f"  warning: {w}", file=out)
        if len(r.warnings) > 20:
            print(f"  ... and {len(r.warnings) - 20} more warnings", file=out)


def run(args) -> int:
    from ingest.errors import IngestError
    engine = open_engine(args, must_exist=False)
    try:
        results = engine.ingest(args.paths)
    except IngestError as exc:
        print_results(getattr(exc, "loaded", []))
        source = getattr(exc, "source", None)
        print(f"burnpath ingest: error: {exc}", file=sys.stderr)
        print(f"burnpath ingest: nothing of {source + '/' if source else 'it'} was written"
              + ("; the sources listed above were loaded" if getattr(exc, "loaded", None) else ""),
              file=sys.stderr)
        return 1
    finally:
        engine.close()
    print_results(results)
    return 0
