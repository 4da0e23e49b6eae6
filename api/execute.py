"""Run a GraphQL document in-process against the same schema `serve` uses."""
from __future__ import annotations

from typing import Any

from engine.service import Engine

from .schema import schema as default_schema


def execute(engine: Engine, document: str, variables: dict[str, Any] | None = None,
            schema=None) -> dict[str, Any]:
    result = (schema or default_schema).execute_sync(
        document, variable_values=variables or {}, context_value={"engine": engine, "request": None})
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [e.formatted for e in result.errors]
    return out
