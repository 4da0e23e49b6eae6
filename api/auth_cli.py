"""`burnpath token create|list|revoke`: manage the API tokens `serve` accepts."""
from __future__ import annotations

import sys

from .auth import ROLES, TokenError, TokenStore
from .cli_options import add_store_options, open_engine


def add_parser(sub):
    sp = sub.add_parser("token", help="manage the API tokens serve accepts",
                        description="API tokens for `burnpath serve`, stored only as salted HMACs.")
    add_store_options(sp, as_of=False, rules=False)
    tsub = sp.add_subparsers(dest="token_command", required=True, metavar="{create,list,revoke}",
                            help="what to do with tokens")
    tc = add_store_options(tsub.add_parser("create", help="create a token; it is printed once, on stdout"),
                           as_of=False, rules=False)
    tc.add_argument("--role", choices=list(ROLES), required=True,
                    help="reader: queries only; admin: also mutations (ingest, tokens)")
    tc.add_argument("--name", default=None, help="a label shown in `token list`")
    add_store_options(tsub.add_parser("list", help="list tokens (never their secrets)"),
                      as_of=False, rules=False)
    tr = add_store_options(tsub.add_parser("revoke", help="revoke a token by id"), as_of=False, rules=False)
    tr.add_argument("token_id", help="the id `token create` or `token list` printed")
    return sp


def run(args) -> int:
    engine = open_engine(args)
    try:
        return run_token(engine, args)
    finally:
        engine.close()


def run_token(engine, args) -> int:
    tokens = TokenStore(engine.store)
    command = args.token_command
    if command == "create":
        try:
            rec, raw = tokens.create(args.role, args.name)
        except TokenError as exc:
            print(f"burnpath token: {exc}", file=sys.stderr)
            return 1
        # The token alone on stdout (for `TOKEN=$(burnpath token create ...)`); the rest on stderr.
        print(f"created token {rec.id} (role {rec.role}"
              + (f", name {rec.name}" if rec.name else "") + "); it is shown only this once:",
              file=sys.stderr)
        print(raw)
        print("send it as the header `Authorization: Bearer <token>`", file=sys.stderr)
        return 0
    if command == "list":
        rows = tokens.list()
        if not rows:
            print("no API tokens (serve answers without authentication, on loopback only)")
            return 0
        header = ("ID", "ROLE", "NAME", "CREATED", "STATUS")
        table = [header] + [(r.id, r.role, r.name or "-", r.created_at,
                             "active" if r.active else f"revoked {r.revoked_at}") for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        return 0
    if command == "revoke":
        try:
            rec = tokens.revoke(args.token_id)
        except TokenError as exc:
            print(f"burnpath token: {exc}", file=sys.stderr)
            return 1
        print(f"revoked token {rec.id} ({rec.role}) at {rec.revoked_at}")
        return 0
    print(f"burnpath token: unknown command {command!r}", file=sys.stderr)
    return 2
