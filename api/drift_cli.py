"""`burnpath drift [--from RUN|TIME] [--to RUN|TIME]`: what changed between two runs."""
from __future__ import annotations

import json

SHOWN = 50      # items printed per list (all of them with --json)


from .cli_options import CliError, add_store_options, open_engine


def add_parser(sub):
    sp = add_store_options(sub.add_parser("drift", help="what changed between two ingest runs"), as_of=False)
    sp.add_argument("--from", dest="frm", default=None, metavar="RUN|TIME",
                    help="a run id (see `burnpath runs`) or a time (default: the run before the last)")
    sp.add_argument("--to", default=None, metavar="RUN|TIME", help="a run id or a time (default: the last run)")
    sp.add_argument("--no-findings", action="store_true", help="nodes and edges only (no rule evaluation)")
    sp.add_argument("--json", action="store_true", help="print the drift as JSON")
    return sp


def _value(v) -> str:
    text = json.dumps(v, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 80 else text[:77] + "..."


def run(args) -> int:
    from engine.history.timeline import TimelineError, drift_doc
    from .redact import redact
    engine = open_engine(args)
    try:
        d = engine.drift(args.frm, args.to, findings=not args.no_findings)
    except TimelineError as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.close()
    doc = redact(drift_doc(d))
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return 0
    print(f"drift from {doc['from'] or 'the beginning'} ({doc['fromRun'] or '-'}) "
          f"to {doc['to']} ({doc['toRun'] or '-'})")
    if not any(n for c in doc["counts"].values() for n in c.values()):
        print("no change")
        return 0
    for part in ("nodes", "edges", "findings"):
        for what in ("added", "removed", "changed"):
            items = doc[part][what]
            if not items:
                continue
            print(f"{part} {what} ({len(items)}):")
            for item in items[:SHOWN]:
                if part == "nodes":
                    label = f"{item['id']} ({item['kind']})"
                elif part == "edges":
                    label = f"{item['source']} -{item['kind']}-> {item['target']}"
                else:
                    label = (f"{item['id']} [{item['severity']}] first seen {item['firstSeen'] or '-'}, "
                             f"last seen {item['lastSeen'] or '-'}")
                print(f"  {label}")
                for c in item.get("changes", []):
                    print(f"      {c['field']}: {_value(c['before'])} -> {_value(c['after'])}")
            if len(items) > SHOWN:
                print(f"  ... and {len(items) - SHOWN} more (--json lists all)")
    return 0
