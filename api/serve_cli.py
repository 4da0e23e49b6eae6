"""`burnpath serve [--host] [--port]`: GraphQL (and GraphiQL) at /graphql."""
from __future__ import annotations

from .cli_options import CliError, add_store_options, open_engine


def add_parser(sub):
    sp = sub.add_parser("serve", help="serve GraphQL at /graphql (GraphiQL in a browser)")
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sp.add_argument("--port", type=int, default=8000, help="port to listen on")
    sp.add_argument("--no-graphiql", action="store_true", help="do not serve GraphiQL to browsers")
    sp.add_argument("--no-introspection", action="store_true", help="refuse schema introspection")
    sp.add_argument("--allow-local-admin", action="store_true",
                    help="with no API tokens in the store, let loopback callers also run mutations "
                    "(ingest, createToken); without it a tokenless server answers reads only")
    sp.add_argument("--processes", type=int, default=1, metavar="N",
                    help="worker processes, each with its own graph in memory")
    from .limits import add_limit_flags
    add_limit_flags(sp)
    add_store_options(sp)
    return sp


def run(args) -> int:
    from .limits import Limits
    from .serve import serve
    try:
        limits = Limits.from_args(args)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    engine = open_engine(args)
    return serve(engine, args.host, args.port, graphiql=not args.no_graphiql,
                 introspection=not args.no_introspection, limits=limits, processes=args.processes,
                 allow_local_admin=args.allow_local_admin)
