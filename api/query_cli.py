"""`burnpath query [--var NAME=VALUE ...] QUERY`: a GraphQL document run in-process."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli_options import CliError, add_store_options, open_engine


def add_parser(sub):
    sp = sub.add_parser("query", help="run a GraphQL document in-process and print the JSON response",
                        description="Run a GraphQL document against the store and print the JSON "
                        "response; exit status 1 when it has errors.")
    sp.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="a variable (VALUE parsed as JSON when it is JSON, else a string), repeatable")
    sp.add_argument("query", help="the document's text, @FILE to read it from a file, or - for stdin")
    add_store_options(sp)
    return sp


def read_query(text: str) -> str:
    if text == "-":
        return sys.stdin.read()
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            return path.read_text()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    return text


def parse_vars(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--var {pair!r} is not NAME=VALUE")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def run(args) -> int:
    from .execute import execute
    document, variables = read_query(args.query), parse_vars(args.var)
    engine = open_engine(args)
    try:
        result = execute(engine, document, variables)
    finally:
        engine.close()
    print(json.dumps(result, indent=2, default=str))
    return 1 if result.get("errors") else 0
