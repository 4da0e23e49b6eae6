"""`burnpath token create|list|revoke`: manage the API tokens `serve` accepts."""
from __future__ import annotations

import sys

from .auth import TokenError, TokenStore


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
