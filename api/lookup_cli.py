"""`burnpath lookup`: which credentials is this leaked secret?

The secret is read from stdin (a pipe: `pbpaste | burnpath lookup`, a PEM key file:
`burnpath lookup < key.pem`) or, on a terminal, from a prompt that does not echo it;
never from the command line, where it would stay in shell history and the process
list. It is hashed and compared (engine.lookup), then dropped: nothing prints, logs or
stores it. Prints each matching credential and how it matched; exit 0 when something
matched, 1 when nothing did.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys

from .cli_options import add_store_options, open_engine

REFUSE_ARGV = ("burnpath lookup: the secret is read from stdin or a prompt, never from the command line "
               "(it would stay in your shell history and the process list); nothing was looked up")


def add_parser(sub) -> argparse.ArgumentParser:
    sp = sub.add_parser(
        "lookup", help="find the credentials a leaked secret matches (reads the secret from stdin or a prompt)",
        description="Reads a secret from stdin (or a prompt that does not echo it) and prints the credentials "
                    "it matches: by sha256, by vendor prefix + last four, or by the vendor's redacted hint. "
                    "The secret is never stored, logged or printed. Exit 0: something matched; 1: nothing did.")
    add_store_options(sp, as_of=False, rules=False)
    sp.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    sp.add_argument("--exposures", action="store_true",
                    help="also list the secret-scanner findings (SecretExposure) it matches")
    # Anything else on the line is refused without being echoed (argparse's own error
    # would print it back).
    sp.add_argument("stray", nargs="*", help=argparse.SUPPRESS)
    return sp


def read_secret(stdin=None) -> str:
    stdin = stdin or sys.stdin
    if stdin.isatty():
        return getpass.getpass("Secret to look up (not echoed): ", stream=sys.stderr)
    return stdin.read()


def run(args) -> int:
    from engine.lookup import CREDENTIAL, EXPOSURE, lookup_secret
    if args.stray:
        print(REFUSE_ARGV, file=sys.stderr)
        return 2
    engine = open_engine(args)
    try:
        try:
            value = read_secret().strip()
        except (EOFError, KeyboardInterrupt):
            value = ""
        if not value:
            print("burnpath lookup: no secret given (pipe it to stdin, or type it at the prompt)", file=sys.stderr)
            return 2
        kinds = (CREDENTIAL, EXPOSURE) if args.exposures else (CREDENTIAL,)
        matches = lookup_secret(engine, value, kinds)
        del value
        rows = []
        for m in matches:
            view = engine.node(m.node_id)
            owners = [o.id for o in engine.owners(m.node_id)] if view is not None and view.kind == CREDENTIAL else []
            rows.append({"id": m.node_id, "kind": view.kind if view else None, "name": view.name if view else None,
                         "active": view.active if view else None, "matched_by": m.matched_by, "owners": owners})
    finally:
        engine.close()
    if args.format == "json":
        print(json.dumps({"matches": rows}, indent=2))
    elif not rows:
        print("no credential matches this secret")
    else:
        for r in rows:
            state = "active" if r["active"] else "inactive"
            owners = ", ".join(r["owners"]) or "no owner"
            print(f"{r['id']}  ({r['kind']}, {state}; {r['name'] or 'unnamed'})  matched by {r['matched_by']}; "
                  f"owners: {owners}")
    return 0 if rows else 1
