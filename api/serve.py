"""`burnpath serve`: uvicorn on the FastAPI app."""
from __future__ import annotations

import uvicorn

from engine.service import Engine

from .app import create_app


def serve(engine: Engine, host: str, port: int, graphiql: bool = True, introspection: bool = True) -> int:
    app = create_app(engine, graphiql=graphiql)
    engine.graph()  # load before the first request
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
