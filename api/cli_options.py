"""What every `burnpath` verb shares: the global options (`--db`, `--as-of`, `--rules`),
accepted before or after the verb, and opening the engine they name.

A verb module (`api/<verb>_cli.py`) calls `add_store_options(parser)` in its
`add_parser(sub)` when it reads or writes a store, and `open_engine(args)` in its
`run(args)`. The same options on the top-level parser (`burnpath --db X token create`)
are merged in by `merge_global_options` after parsing.
"""
from __future__ import annotations

import argparse
import os
from datetime import datetime

from engine.store import NEO4J_SCHEMES, default_db

DB_HELP = ("the store: an embedded db file path, or a bolt:// / neo4j:// URL for Neo4j "
           "(default: $BURNPATH_DB, else ./burnpath.db)")
AS_OF_HELP = ("'now' for time-based rules, an ISO date or timestamp "
              "(default: the latest timestamp in the data)")
RULES_HELP = "an extra rule directory (policy as code), repeatable (default: the bundled pack only)"
EXIT_USAGE = 2   # bad arguments, a store that does not exist, a bad rule file


class CliError(Exception):
    """A user error: printed as `burnpath <verb>: <message>` with no traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def add_store_options(parser: argparse.ArgumentParser, as_of: bool = True, rules: bool = True,
                      db_help: str = DB_HELP) -> argparse.ArgumentParser:
    """The global options this verb takes. SUPPRESS keeps a nested parser that was not
    given an option from overwriting the value an outer one parsed."""
    taken = {"db"}
    parser.add_argument("--db", default=argparse.SUPPRESS, metavar="URL", help=db_help)
    if as_of:
        parser.add_argument("--as-of", default=argparse.SUPPRESS, metavar="WHEN", help=AS_OF_HELP)
        taken.add("as_of")
    if rules:
        parser.add_argument("--rules", action="append", default=argparse.SUPPRESS, metavar="DIR",
                            help=RULES_HELP)
        taken.add("rules")
    parser.set_defaults(_store_options=frozenset(taken))
    return parser


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The same options before the verb; kept under their own names until merged."""
    g = parser.add_argument_group("global options (also accepted after the verb)")
    g.add_argument("--db", dest="global_db", default=None, metavar="URL", help=DB_HELP)
    g.add_argument("--as-of", dest="global_as_of", default=None, metavar="WHEN", help=AS_OF_HELP)
    g.add_argument("--rules", dest="global_rules", action="append", default=None, metavar="DIR",
                   help=RULES_HELP)


def merge_global_options(args: argparse.Namespace, verb: str) -> argparse.Namespace:
    """One value per option on `args` (after the verb wins over before it); a global
    option given to a verb that has no use for it is an error, not silently ignored."""
    taken = getattr(args, "_store_options", frozenset())
    for name, flag in (("db", "--db"), ("as_of", "--as-of"), ("rules", "--rules")):
        before = getattr(args, "global_" + name, None)
        if before is not None and name not in taken:
            raise CliError(f"{flag} does not apply to `burnpath {verb}`")
    if "db" in taken:
        args.db = getattr(args, "db", None) or args.global_db
    if "as_of" in taken:
        args.as_of = getattr(args, "as_of", None) or args.global_as_of
    if "rules" in taken:
        args.rules = (args.global_rules or []) + (getattr(args, "rules", None) or [])
    return args


def db_url(args) -> str:
    return getattr(args, "db", None) or default_db()


def is_embedded(url: str) -> bool:
    return not url.startswith(NEO4J_SCHEMES) and "://" not in url


def embedded_files(path: str) -> list[str]:
    """The files an embedded store is made of (the db, its WAL and shared memory, the graph cache)."""
    return [path + suffix for suffix in ("", "-wal", "-shm", ".graph")]


def require_store(url: str) -> None:
    """Reading a store that is not there is a mistake (a typo'd --db would otherwise
    create an empty store and answer "no findings"). Neo4j is a server: it exists."""
    if is_embedded(url) and not os.path.exists(url):
        hint = ("" if os.environ.get("BURNPATH_DB") or url != default_db()
                else " (run `burnpath ingest DIR` or `burnpath demo` first, or pass --db)")
        raise CliError(f"no store at {url}{hint}")


def parse_as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    from engine.derive import parse_ts
    ts = parse_ts(text)
    if ts is None:
        raise CliError(f"--as-of {text!r} is not an ISO date or timestamp")
    return ts


def open_engine(args, must_exist: bool = True):
    """The engine the verb's options name. `must_exist`: refuse a store that is not
    there (every verb but the ones that create one: ingest, demo, watch)."""
    from engine.rules import RuleError, load_rules
    from engine.service import Engine
    from engine.store import StoreError
    rule_dirs = getattr(args, "rules", None) or []
    try:
        load_rules(rule_dirs)   # a bad rule file stops here, naming the file and the problem
    except RuleError as exc:
        raise CliError(f"rules: {exc}") from exc
    url = db_url(args)
    if must_exist:
        require_store(url)
    as_of = parse_as_of(getattr(args, "as_of", None))
    try:
        return Engine.open(url, as_of=as_of, rule_dirs=rule_dirs)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
