"""Fixtures for tests that need a real Neo4j (marked `neo4j`).

The server comes from $NEO4J_URI (with $NEO4J_USER / $NEO4J_PASSWORD); `.ci/run`
starts one (.ci/neo4j/start.sh). Without NEO4J_URI the tests are skipped locally,
but under CI=true they fail: CI must never pass by skipping them.

Isolation: every test gets an empty database (all nodes and relationships deleted
before it runs; constraints and indexes are kept, they are idempotent anyway).
"""
from __future__ import annotations

import os

import pytest


def neo4j_settings() -> tuple[str, str, str]:
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        message = "NEO4J_URI is not set (start one with .ci/neo4j/start.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true but {message}: the Neo4j tests must run in CI", pytrace=False)
        pytest.skip(message)
    return uri, os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", "")


def wipe(uri: str, user: str, password: str) -> None:
    from neo4j import GraphDatabase
    with GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        with driver.session() as s:
            # The pre-5.23 subquery form, so any Neo4j 5 server works.
            s.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


@pytest.fixture
def neo4j_url():
    """The server's URL, with the database emptied first."""
    uri, user, password = neo4j_settings()
    wipe(uri, user, password)
    return uri


@pytest.fixture
def neo4j_store(neo4j_url):
    from engine.store.neo4j import Neo4jStore
    uri, user, password = neo4j_settings()
    store = Neo4jStore(uri, user, password)
    yield store
    store.close()


@pytest.fixture
def neo4j_engine(neo4j_url):
    from engine.service import Engine
    uri, user, password = neo4j_settings()
    os.environ.setdefault("NEO4J_USER", user)
    eng = Engine.open(uri)
    yield eng
    eng.close()
