"""`burnpath schema [--out FILE] [--check]`: the GraphQL SDL."""
from __future__ import annotations


def add_parser(sub):
    sp = sub.add_parser("schema", help="print the GraphQL SDL (or --check it against api/schema.graphql)")
    sp.add_argument("--out", default=None, help="write to this file instead of stdout")
    sp.add_argument("--check", action="store_true", help="exit 1 when api/schema.graphql is out of date")
    return sp


def run(args) -> int:
    from .export_schema import run_export
    return run_export(args)
