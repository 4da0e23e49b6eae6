"""`burnpath generate --people N --out DIR`: a synthetic org in the snapshot layout."""
from __future__ import annotations

import json
from pathlib import Path

from .cli_options import CliError


def positive_int(text: str) -> int:
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def add_parser(sub):
    sp = sub.add_parser("generate", help="write a synthetic org snapshot (all sources)")
    sp.add_argument("--people", type=positive_int, required=True, help="people in the org (~6.4 graph nodes each)")
    sp.add_argument("--seed", type=int, default=1, help="random seed (the output is byte-identical for a seed)")
    sp.add_argument("--out", required=True, metavar="DIR", help="a new (or empty) directory to write")
    return sp


def run(args) -> int:
    from synth.generate import generate
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CliError(f"--out {out} already exists and is not an empty directory; "
                       "choose a new one (generate never overwrites)")
    stats = generate(people=args.people, seed=args.seed, out=out)
    print(json.dumps(stats, indent=2))
    return 0
