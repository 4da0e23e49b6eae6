"""`burnpath serve`: uvicorn on the FastAPI app, after the open-mode bind check.

With `--processes N` (N > 1) uvicorn runs N worker processes on the one port, each
with its own engine and in-memory graph: GraphQL execution is CPU-bound Python, so
one process uses one core however many threads it has.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from typing import Optional

import uvicorn

from engine.service import Engine

from .app import create_app
from .auth import TokenStore, bind_refusal
from . import http_guard
from .limits import Limits

SPEC_ENV = "BURNPATH_SERVE_SPEC"  # how the parent tells worker processes what to serve


def serve(engine: Engine, host: str, port: int, graphiql: bool = True, introspection: bool = True,
          limits: Optional[Limits] = None, processes: int = 1, allow_local_admin: bool = False) -> int:
    refusal = bind_refusal(host, TokenStore(engine.store).any())
    if refusal:
        print(f"burnpath serve: {refusal}", file=sys.stderr)
        return 2
    limits = limits or Limits.from_env()
    if processes > 1:
        as_of = engine._as_of.isoformat() if engine._as_of else None
        os.environ[SPEC_ENV] = json.dumps({
            "db": engine.store.url, "as_of": as_of, "rule_dirs": list(getattr(engine, "rule_dirs", [])),
            "graphiql": graphiql, "introspection": introspection, "limits": asdict(limits),
            "allow_local_admin": allow_local_admin})
        engine.close()
        _run_processes(host, port, processes, limits)
        return 0
    app = create_app(engine, graphiql=graphiql, introspection=introspection, limits=limits,
                     warm_up=True, allow_local_admin=allow_local_admin)
    engine.preload()  # load before the first request
    # Our own JSON access log replaces uvicorn's (which would not know role or operation).
    config = uvicorn.Config(app, host=host, port=port, log_level="info", access_log=False,
                            http=http_guard.PROTOCOL)
    http_guard.configure(config, limits)
    uvicorn.Server(config).run()
    return 0


def _run_processes(host: str, port: int, processes: int, limits: Limits) -> None:
    """What uvicorn.run does for workers > 1, plus TCP_NODELAY on the listening
    socket: worker processes get it through a duplicated socket that asyncio does
    not recognise as TCP, so without it every response waits ~40 ms on Nagle's
    algorithm against the client's delayed ACK. Accepted sockets inherit it."""
    import socket
    from uvicorn.supervisors import Multiprocess
    config = uvicorn.Config("api.serve:worker_app", factory=True, host=host, port=port,
                            workers=processes, log_level="info", access_log=False,
                            http=http_guard.PROTOCOL)
    http_guard.configure(config, limits)
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()


def worker_app():
    """The app of one worker process (`--processes`), built from the parent's spec."""
    from engine.derive import parse_ts
    spec = json.loads(os.environ[SPEC_ENV])
    engine = Engine.open(spec["db"], as_of=parse_ts(spec["as_of"]), rule_dirs=spec["rule_dirs"])
    engine.preload()
    return create_app(engine, graphiql=spec["graphiql"], introspection=spec["introspection"],
                      limits=Limits(**spec["limits"]), warm_up=True,
                      allow_local_admin=spec.get("allow_local_admin", False))
