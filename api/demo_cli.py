"""`burnpath demo`: the bundled demo org in the store the next command finds, then served.

The demo writes to the default store (`$BURNPATH_DB`, else ./burnpath.db) so that
`burnpath findings` or `burnpath query` right after it read the demo. It replaces
only a store an earlier demo made (marked in the store's meta); a user's own store
there is refused unless `--force`.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from .cli_options import CliError, db_url, embedded_files, is_embedded

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
DEMO_MARK = "demo_store"   # meta key an embedded store made by `burnpath demo` carries


def add_parser(sub):
    sp = sub.add_parser("demo", help="load the bundled demo org into the default store and serve it",
                        description="Load fixtures/demo into the store the next command's default "
                        "--db finds ($BURNPATH_DB, else ./burnpath.db) and serve GraphQL. An earlier "
                        "demo store there is replaced; any other store is refused unless --force.")
    sp.add_argument("--db", default=None, help="where to create the demo store, an embedded db path "
                    "(default: $BURNPATH_DB, else ./burnpath.db)")
    sp.add_argument("--force", action="store_true", help="replace the file at --db even when it is "
                    "not an earlier demo store")
    sp.add_argument("--host", default="127.0.0.1", help="address to serve on")
    sp.add_argument("--port", type=int, default=8000, help="port to serve on")
    sp.add_argument("--no-serve", action="store_true", help="load and exit")
    return sp


def is_demo_store(path: str) -> bool:
    """Read the mark without the store machinery (which would create or migrate it)."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key=?", (DEMO_MARK,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return bool(row)


def clear_for_demo(path: str, force: bool) -> None:
    if os.path.exists(path) and not force and not is_demo_store(path):
        raise CliError(f"{path} exists and is not a store an earlier `burnpath demo` made; "
                       "refusing to replace it. Pass --db NEW.db for the demo, or --force to replace it")
    for p in embedded_files(path):
        if os.path.exists(p):
            os.unlink(p)


def run(args) -> int:
    from engine.service import Engine
    from engine.store import default_db
    from .ingest_cli import print_results
    from .serve import serve
    db = db_url(args)
    if not is_embedded(db):
        raise CliError("the demo loads into an embedded store (a file path); for Neo4j run "
                       f"`burnpath ingest {DEMO_DIR} --db {db}`")
    clear_for_demo(db, args.force)
    engine = Engine.open(db)
    engine.store.set_meta(DEMO_MARK, "1")
    print_results(engine.ingest([DEMO_DIR]))
    url = f"http://{args.host}:{args.port}/graphql"
    here = "" if db == default_db() else f" --db {db}"   # what the next command needs to find it
    print(f"\nburnpath demo: {db} is ready; GraphQL (and GraphiQL in a browser) at {url}\n")
    print("Try:")
    print('  { blastRadius(id: "tool:drift-chat") { reachable { node { id kind } depth access path } '
          'dataSources { id } spendExposureUsdPerHour } }')
    print('  { spend(groupBy: "team") { key usd inputTokens outputTokens requests } }')
    print(f"\nor from a shell: burnpath findings{here} --severity critical")
    print(f"                 burnpath query{here} '{{ nodes(kind: \"AITool\") {{ totalCount nodes {{ id name }} }} }}'\n")
    if args.no_serve:
        engine.close()
        return 0
    return serve(engine, args.host, args.port)
