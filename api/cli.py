"""The `burnpath` command line (contract verbs: ingest, query, serve, demo, collect)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def _as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    from engine.derive import parse_ts
    ts = parse_ts(text)
    if ts is None:
        raise SystemExit(f"burnpath: --as-of {text!r} is not an ISO date or timestamp")
    return ts


def _engine(args):
    from engine.service import Engine
    from engine.store import StoreError
    from engine.rules import RuleError, load_rules
    rule_dirs = getattr(args, "rules", None) or []
    try:
        load_rules(rule_dirs)   # a bad rule file stops here, naming the file and the problem
    except RuleError as exc:
        raise SystemExit(f"burnpath: rules: {exc}") from exc
    try:
        return Engine.open(args.db, as_of=_as_of(getattr(args, "as_of", None)), rule_dirs=rule_dirs)
    except StoreError as exc:
        raise SystemExit(f"burnpath: {exc}") from exc


def _print_results(results) -> None:
    for r in results:
        counts = ", ".join(f"{v} {k}" for k, v in r.counts.items() if v)
        removed = ", ".join(f"{v} {k}" for k, v in r.removed.items() if v)
        mode = "complete re-sync" if r.complete else "partial"
        print(f"{r.source}: loaded {counts or 'nothing'} ({mode})" + (f"; marked removed {removed}" if removed else ""))
        for w in r.warnings[:20]:
            print(f"  warning: {w}")
        if len(r.warnings) > 20:
            print(f"  ... and {len(r.warnings) - 20} more warnings")


def cmd_ingest(args) -> int:
    from ingest.errors import IngestError
    engine = _engine(args)
    try:
        results = engine.ingest(args.paths)
    except IngestError as exc:
        _print_results(getattr(exc, "loaded", []))
        source = getattr(exc, "source", None)
        print(f"burnpath ingest: error: {exc}", file=sys.stderr)
        print(f"burnpath ingest: nothing of {source + '/' if source else 'it'} was written"
              + ("; the sources listed above were loaded" if getattr(exc, "loaded", None) else ""),
              file=sys.stderr)
        return 1
    finally:
        engine.close()
    _print_results(results)
    return 0


def _read_query(text: str) -> str:
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text()
        except OSError as exc:
            raise SystemExit(f"burnpath query: cannot read {path}: {exc.strerror}") from exc
    return text


def _parse_vars(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"burnpath query: --var {pair!r} is not NAME=VALUE")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def cmd_query(args) -> int:
    from .execute import execute
    engine = _engine(args)
    try:
        result = execute(engine, _read_query(args.query), _parse_vars(args.var))
    finally:
        engine.close()
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("errors") else 0


def cmd_serve(args) -> int:
    from .serve import serve
    engine = _engine(args)
    from .limits import Limits
    try:
        limits = Limits.from_args(args)
    except ValueError as exc:
        raise SystemExit(f"burnpath serve: {exc}") from exc
    return serve(engine, args.host, args.port, graphiql=not args.no_graphiql,
                 introspection=not args.no_introspection, limits=limits, processes=args.processes)


def cmd_schema(args) -> int:
    from .export_schema import run_export
    return run_export(args)


def cmd_demo(args) -> int:
    from engine.service import Engine
    from .serve import serve
    db = Path(args.db or "./burnpath-demo.db")
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db) + suffix)
        if p.exists():
            p.unlink()
    engine = Engine.open(str(db))
    results = engine.ingest([DEMO_DIR])
    for r in results:
        print(f"{r.source}: loaded " + ", ".join(f"{v} {k}" for k, v in r.counts.items() if v))
    url = f"http://{args.host}:{args.port}/graphql"
    print(f"\nburnpath demo: {db} is ready; GraphQL (and GraphiQL in a browser) at {url}\n")
    print("Try:")
    print('  { blastRadius(id: "tool:drift-chat") { reachable { node { id kind } depth access path } '
          'dataSources { id } spendExposureUsdPerHour } }')
    print('  { spend(groupBy: "team") { key usd inputTokens outputTokens requests } }')
    print(f"\nor from a shell: burnpath query --db {db} '{{ nodes(kind: \"AITool\") {{ totalCount nodes {{ id name }} }} }}'\n")
    if args.no_serve:
        return 0
    return serve(engine, args.host, args.port)


def cmd_collect(args) -> int:
    from ingest.collect import run_collect
    return run_collect(args.source, Path(args.out), args)


def cmd_findings(args) -> int:
    from .findings_cli import run_findings
    engine = _engine(args)
    try:
        return run_findings(engine, args)
    finally:
        engine.close()


def cmd_generate(args) -> int:
    from synth.generate import generate
    stats = generate(people=args.people, seed=args.seed, out=Path(args.out))
    print(json.dumps(stats, indent=2))
    return 0


def cmd_token(args) -> int:
    from .auth_cli import run_token
    engine = _engine(args)
    try:
        return run_token(engine, args)
    finally:
        engine.close()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="burnpath", description="Identity risk graph for AI tools "
                                "that bill by token usage.")
    sub = p.add_subparsers(dest="command", required=True)

    def with_db(sp):
        sp.add_argument("--db", default=None, help="embedded db path or bolt:// / neo4j:// URL "
                        "(default $BURNPATH_DB, else ./burnpath.db)")
        sp.add_argument("--as-of", default=None, help="'now' for time-based rules (default: the "
                        "latest timestamp in the data)")
        sp.add_argument("--rules", action="append", default=[], help="extra rule directory (policy as code)")
        return sp

    sp = with_db(sub.add_parser("ingest", help="load snapshot directories or files"))
    sp.add_argument("paths", nargs="+")
    sp.set_defaults(func=cmd_ingest)

    sp = with_db(sub.add_parser("query", help="run a GraphQL document in-process"))
    sp.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    sp.add_argument("query", help="the document, @file, or - for stdin")
    sp.set_defaults(func=cmd_query)

    sp = with_db(sub.add_parser("serve", help="serve GraphQL at /graphql"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--no-graphiql", action="store_true")
    sp.add_argument("--no-introspection", action="store_true")
    sp.add_argument("--processes", type=int, default=1, metavar="N",
                    help="worker processes, each with its own graph in memory (default 1)")
    from .limits import add_limit_flags
    add_limit_flags(sp)
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("schema", help="print the GraphQL SDL (or --check it against api/schema.graphql)")
    sp.add_argument("--out", default=None, help="write to this file instead of stdout")
    sp.add_argument("--check", action="store_true", help="exit 1 when api/schema.graphql is out of date")
    sp.set_defaults(func=cmd_schema)

    sp = sub.add_parser("demo", help="load the bundled demo org into a fresh db and serve it")
    sp.add_argument("--db", default=None, help="where to create the demo db (default ./burnpath-demo.db)")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--no-serve", action="store_true", help="load and exit")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("collect", help="live pull from a vendor API into the snapshot layout")
    sp.add_argument("source")
    sp.add_argument("--out", required=True)
    sp.add_argument("--base-url", default=None, help="override the vendor API base URL")
    sp.add_argument("--org", default=None, help="organisation (GitHub org, Okta domain...)")
    sp.add_argument("--max-retries", type=int, default=5)
    sp.add_argument("--since", default=None, help="first day of usage/cost reports (YYYY-MM-DD; default 30 days ago)")
    sp.add_argument("--until", default=None, help="last day of usage/cost reports (YYYY-MM-DD; default today)")
    sp.set_defaults(func=cmd_collect)

    sp = with_db(sub.add_parser("findings", help="evaluate the rules and print findings"))
    sp.add_argument("--rule", default=None)
    sp.add_argument("--severity", default=None)
    sp.add_argument("--subject", default=None)
    sp.add_argument("--format", choices=["table", "json", "csv", "sarif"], default="table")
    sp.set_defaults(func=cmd_findings)

    sp = sub.add_parser("generate", help="write a synthetic org snapshot")
    sp.add_argument("--people", type=int, required=True)
    sp.add_argument("--seed", type=int, default=1)
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_generate)

    from . import lookup_cli
    with_db(lookup_cli.add_parser(sub)).set_defaults(func=lambda a: lookup_cli.run(a, _engine))

    sp = with_db(sub.add_parser("token", help="manage API tokens for serve"))
    tsub = sp.add_subparsers(dest="token_command", required=True)
    tc = tsub.add_parser("create")
    tc.add_argument("--role", choices=["reader", "admin"], required=True)
    tc.add_argument("--name", default=None)
    tsub.add_parser("list")
    tr = tsub.add_parser("revoke")
    tr.add_argument("token_id")
    sp.set_defaults(func=cmd_token)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
