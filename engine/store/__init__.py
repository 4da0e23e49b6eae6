"""Store selection: a path is the embedded store, a bolt:// or neo4j:// URL is Neo4j."""
from __future__ import annotations

import os

from .base import Store, StoreError

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def default_db() -> str:
    return os.environ.get("BURNPATH_DB") or "./burnpath.db"


def open_store(url: str | None = None) -> Store:
    url = url or default_db()
    if url.startswith(NEO4J_SCHEMES):
        from .neo4j import Neo4jStore
        return Neo4jStore(url, os.environ.get("NEO4J_USER", "neo4j"),
                          os.environ.get("NEO4J_PASSWORD", ""))
    if "://" in url:
        raise StoreError(f"--db {url!r}: unsupported URL scheme (use a file path, bolt:// or neo4j://)")
    from .sqlite import SQLiteStore
    return SQLiteStore(url)


__all__ = ["Store", "StoreError", "open_store", "default_db"]
