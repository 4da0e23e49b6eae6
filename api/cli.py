"""The `burnpath` command line.

Each verb lives in its own module `api/<verb>_cli.py` exposing `add_parser(sub)`
(it calls `sub.add_parser("<verb>", help=...)`, adds its arguments, calls
`cli_options.add_store_options(parser)` when it uses a store, and returns the
parser) and `run(args) -> int` (the exit status). Register a verb by adding its
module to VERBS. Global options (`--db`, `--as-of`, `--rules`) are accepted before
or after the verb. User errors raise `cli_options.CliError` and print one line,
never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .cli_options import CliError, add_global_options, merge_global_options

# One line per verb, in the order `burnpath --help` lists them.
VERBS = [
    "api.demo_cli",
    "api.ingest_cli",
    "api.query_cli",
    "api.findings_cli",
    "api.runs_cli",
    "api.drift_cli",
    "api.lookup_cli",
    "api.serve_cli",
    "api.collect_cli",
    "api.alert_cli",
    "api.watch_cli",
    "api.auth_cli",        # token
    "api.generate_cli",
    "api.schema_cli",
    "api.report_cli",
]

EXIT_INTERRUPTED = 130


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default in its help, unless the help already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) \
                or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


class VerbParser(argparse.ArgumentParser):
    """Every verb parser (and nested ones, which inherit the class) formats help the same way."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def version() -> str:
    try:
        from importlib.metadata import version as dist_version
        return dist_version("burnpath")
    except Exception:  # noqa: BLE001 - a source tree without installed metadata
        return "0.0.0+source"


def build_parser() -> argparse.ArgumentParser:
    p = VerbParser(prog="burnpath", description="Identity risk graph for AI tools that bill by token usage.",
                   epilog="Run `burnpath VERB --help` for a verb's options.")
    p.add_argument("--version", action="version", version=f"burnpath {version()}")
    add_global_options(p)
    sub = p.add_subparsers(dest="command", required=True, metavar="VERB", parser_class=VerbParser)
    for name in VERBS:
        module = importlib.import_module(name)
        verb_parser = module.add_parser(sub)
        verb_parser.set_defaults(_run=module.run)
    return p


def _quiet_broken_pipe() -> None:
    """The reader went away (`burnpath findings | head`): exit quietly. Point stdout at
    devnull so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verb = args.command
    try:
        merge_global_options(args, verb)
        return int(args._run(args) or 0)
    except CliError as exc:
        print(f"burnpath {verb}: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except KeyboardInterrupt:
        print(f"\nburnpath {verb}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
