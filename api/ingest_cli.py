"""`burnpath ingest PATH... [--db URL]`: load snapshot directories or files."""
from __future__ import annotations

import os
import sys

from .cli_options import add_store_options, db_url, embedded_files, is_embedded, open_engine
from .ingest_progress import ingest_progress, wants_progress


def add_parser(sub):
    sp = sub.add_parser("ingest", help="load snapshot directories or files into the store",
                        description="Load snapshot directories (openai/, okta/, inventory/ ...) or "
                        "files inside one. Each source is one transaction: a file that cannot be "
                        "parsed stops the ingest with nothing of its source written.")
    sp.add_argument("paths", nargs="+", metavar="PATH", help="a snapshot directory or a file inside one")
    sp.add_argument("--quiet", "-q", action="store_true",
                    help="no progress display (it is shown only on a terminal anyway)")
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


def remove_new_store(url: str) -> None:
    """A first ingest that loaded nothing leaves no empty store behind (the next
    reading verb would otherwise find it and answer "no findings")."""
    for path in embedded_files(url):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def run(args) -> int:
    from ingest.errors import IngestError
    url = db_url(args)
    new_store = is_embedded(url) and not os.path.exists(url)
    engine = open_engine(args, must_exist=False)
    loaded = []
    try:
        with ingest_progress(wants_progress() and not args.quiet) as on_written:
            results = engine.ingest(args.paths, on_written=on_written)
        loaded = results
    except IngestError as exc:
        loaded = getattr(exc, "loaded", None) or []
        print_results(loaded)
        source = getattr(exc, "source", None)
        print(f"burnpath ingest: error: {exc}", file=sys.stderr)
        print(f"burnpath ingest: nothing of {source + '/' if source else 'it'} was written"
              + ("; the sources listed above were loaded" if loaded else ""), file=sys.stderr)
        return 1
    finally:
        engine.close()
        if new_store and not loaded:
            remove_new_store(url)
    print_results(results)
    return 0
