"""The checked-in SDL (api/schema.graphql): `python -m api.export_schema [--check]`,
also `burnpath schema`. Tests fail when the code and the file drift."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SDL_FILE = Path(__file__).resolve().parent / "schema.graphql"


def sdl() -> str:
    from .schema import schema
    return schema.as_str().rstrip("\n") + "\n"


def run_export(args) -> int:
    text = sdl()
    if args.check:
        current = SDL_FILE.read_text() if SDL_FILE.exists() else ""
        if current != text:
            print(f"{SDL_FILE} is out of date: run `burnpath schema --out {SDL_FILE}` "
                  f"(or `python -m api.export_schema`)", file=sys.stderr)
            return 1
        print(f"{SDL_FILE} is up to date")
        return 0
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m api.export_schema", description=__doc__)
    p.add_argument("--out", default=str(SDL_FILE), help=f"where to write (default {SDL_FILE})")
    p.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    return run_export(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
