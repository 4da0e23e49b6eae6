"""`burnpath runs`: the recorded ingest (sync) runs, newest first."""
from __future__ import annotations

import json


from .cli_options import add_store_options, open_engine


def add_parser(sub):
    sp = add_store_options(sub.add_parser("runs", help="list the recorded ingest runs, newest first"),
                           as_of=False, rules=False)
    sp.add_argument("--limit", type=int, default=20, help="runs to show (default 20; 0: all)")
    sp.add_argument("--json", action="store_true", help="print the runs as JSON")
    return sp


def _line(r: dict) -> str:
    state = ("complete" if r["complete"] else
             "FAILED" if r.get("error") else
             "INCOMPLETE (never finished)" if not r.get("finished_at") else "INCOMPLETE")
    counts = (f"+{r['added']} ~{r['changed']} -{r['removed']}" if r["complete"] or r.get("finished_at")
              else "")
    sources = ",".join(r["sources"]) or "-"
    warn = f" {len(r['warnings'])} warnings" if r["warnings"] else ""
    return f"{r['id']}  {r['at']}  {state:<11} {counts:<16} {r['files']:>5} files  {sources}{warn}"


def run(args) -> int:
    engine = open_engine(args)
    try:
        runs = engine.sync_runs()
        mixed = engine.mixed_state()
    finally:
        engine.close()
    shown = runs if args.limit == 0 else runs[:args.limit]
    if args.json:
        print(json.dumps({"runs": shown, "total": len(runs), "mixed": mixed}, indent=2, default=str))
        return 0
    if not runs:
        print("no ingest runs recorded")
        return 0
    print("run id                            observed at                       state       changes (nodes)   files  sources")
    for r in shown:
        print(_line(r))
        if r.get("error"):
            print(f"    error: {r['error']}")
    if len(runs) > len(shown):
        print(f"... and {len(runs) - len(shown)} older runs (--limit 0 shows all)")
    if mixed:
        print(f"\nwarning: {mixed['message']} (last complete run: {mixed['lastCompleteRun'] or 'none'})")
    return 0
