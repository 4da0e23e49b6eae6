"""The FastAPI app serving the GraphQL schema at /graphql (GraphiQL in a browser)."""
from __future__ import annotations

from fastapi import FastAPI, Request
from strawberry.fastapi import GraphQLRouter

from engine.service import Engine

from .schema import schema as default_schema


def create_app(engine: Engine, schema=None, graphiql: bool = True) -> FastAPI:
    app = FastAPI(title="burnpath", description="Identity risk graph for AI tools")

    async def context(request: Request) -> dict:
        return {"engine": engine, "request": request}

    router = GraphQLRouter(schema or default_schema, context_getter=context,
                           graphql_ide="graphiql" if graphiql else None)
    app.include_router(router, prefix="/graphql")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict:
        engine.graph()
        return {"status": "ready", "generation": engine.store.generation()}

    return app
