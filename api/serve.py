"""`burnpath serve`: uvicorn on the FastAPI app, after the open-mode bind check."""
from __future__ import annotations

import sys
from typing import Optional

import uvicorn

from engine.service import Engine

from .app import create_app
from .auth import TokenStore, bind_refusal
from .limits import Limits


def serve(engine: Engine, host: str, port: int, graphiql: bool = True, introspection: bool = True,
          limits: Optional[Limits] = None) -> int:
    refusal = bind_refusal(host, TokenStore(engine.store).any())
    if refusal:
        print(f"burnpath serve: {refusal}", file=sys.stderr)
        return 2
    limits = limits or Limits.from_env()
    app = create_app(engine, graphiql=graphiql, introspection=introspection, limits=limits,
                     warm_up=True)
    engine.graph()  # load before the first request
    # Our own JSON access log replaces uvicorn's (which would not know role or operation).
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0
