"""No secret value at rest or in any answer (issue 18, part 1), as a property.

Secrets of every detector shape (vendor keys of every known prefix, PEM RSA/EC/OpenSSH
keys, credentialed URIs and connection strings, JWTs, `password=` pairs) and random
strings are planted into every field of every source that can carry one: both
scanners' reports in all their shapes, vendors' key listings (a raw key where the
redacted value belongs), unmapped fields of identity sources and inventory. After a
real ingest, no 8-character window of any planted secret (beyond what the rule shows:
a known vendor prefix, a URI's scheme, user and host) may appear in the SQLite file,
its WAL, `<db>.graph`, the Neo4j database, the logs, stdout/stderr, any GraphQL answer
(node properties, findings evidence, traces) or any `burnpath findings` format.
"""
from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from api.cli import main
from api.execute import execute
from engine.service import Engine
from tests.identity_snap import DEMO
from tests.neo4j_support import neo4j_settings, wipe
from tests.secret_planting import leaks, plant

SOURCES = ("openai", "anthropic", "litellm", "okta", "msgraph", "gitleaks", "trufflehog", "inventory")
NODES_PAGE = ("query($after: String) { nodes(first: 500, after: $after) { pageInfo { hasNextPage endCursor } "
              "nodes { id name properties } } }")
FINDINGS_PAGE = ("query($after: String) { findings(first: 500, after: $after) { pageInfo { hasNextPage endCursor } "
                 "nodes { id title evidence subject { id name properties } } } }")
TRACE = ("query($id: ID!) { traceCompromise(id: $id) { owners { id } holders { id properties } "
         "exposures { id name properties } revocationPlan { action target reason } usageSince { note } } }")


def demo_snapshot(root: Path, seed: int):
    snap = root / "snap"
    for s in SOURCES:
        shutil.copytree(DEMO / s, snap / s)
    return snap, plant(snap, random.Random(seed))


def _pages(eng, query: str, field: str) -> list[str]:
    out, after = [], None
    while True:
        body = execute(eng, query, {"after": after})
        assert "errors" not in body, body["errors"][:2]
        out.append(json.dumps(body))
        page = body["data"][field]
        if not page["pageInfo"]["hasNextPage"]:
            return out
        after = page["pageInfo"]["endCursor"]


def answers(eng) -> str:
    """Every GraphQL answer a client could ask for about the planted data."""
    texts = _pages(eng, NODES_PAGE, "nodes") + _pages(eng, FINDINGS_PAGE, "findings")
    ids = [n["id"] for t in texts[:1] for n in json.loads(t)["data"]["nodes"]["nodes"]]
    creds = [v.id for v in eng.nodes("Credential", 0, 10_000)[0]]
    for cid in creds:
        texts.append(json.dumps(execute(eng, TRACE, {"id": cid})))
    assert ids and creds
    return "\n".join(texts)


def _cli(capsys, argv: list[str]) -> str:
    code = main(argv)
    out = capsys.readouterr()
    assert code in (0, 3), (argv, out.err[-2000:])
    return out.out + out.err


def check_sqlite(tmp: Path, seed: int, capsys, caplog) -> None:
    snap, planted = demo_snapshot(tmp, seed)
    db = tmp / "planted.db"
    caplog.set_level(logging.DEBUG)
    seen = _cli(capsys, ["ingest", str(snap), "--db", str(db)])
    for fmt in ("table", "json", "csv", "sarif"):
        seen += _cli(capsys, ["findings", "--db", str(db), "--format", fmt])
    eng = Engine.open(str(db))
    try:
        seen += answers(eng)
        # the scanners' findings are there (the test would pass vacuously otherwise)
        assert eng.nodes("SecretExposure", 0, 0)[1] >= len(planted)
        assert eng.node("tool:planted-tool") is not None
    finally:
        eng.close()
    seen += "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(seen, planted) == []
    files = [db, Path(f"{db}-wal"), Path(f"{db}.graph")]
    assert files[0].exists() and files[2].exists()
    for f in files:
        if f.exists():
            assert leaks(f.read_bytes(), planted) == [], f


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_no_planted_secret_in_sqlite_files_logs_or_answers(seed, capsys, caplog):
    with tempfile.TemporaryDirectory() as tmp:
        check_sqlite(Path(tmp), seed, capsys, caplog)


@pytest.mark.neo4j
def test_no_planted_secret_in_neo4j(tmp_path, capsys, caplog):
    uri, user, password = neo4j_settings()
    wipe(uri, user, password)
    snap, planted = demo_snapshot(tmp_path, 20261208)
    caplog.set_level(logging.DEBUG)
    seen = _cli(capsys, ["ingest", str(snap), "--db", uri])
    for fmt in ("table", "json", "csv", "sarif"):
        seen += _cli(capsys, ["findings", "--db", uri, "--format", fmt])
    eng = Engine.open(uri)
    try:
        seen += answers(eng)
        assert eng.nodes("SecretExposure", 0, 0)[1] >= len(planted)
    finally:
        eng.close()
    seen += "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(seen, planted) == []
    dump = dump_neo4j(uri, user, password)
    assert dump.count("\nid=") > 100
    assert leaks(dump, planted) == []


def dump_neo4j(uri: str, user: str, password: str) -> str:
    """Every property of every node and relationship in the database, as text."""
    from neo4j import GraphDatabase
    with GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as driver:
        with driver.session() as s:
            rows = [r["p"] for r in s.run("MATCH (n) RETURN properties(n) AS p")]
            rows += [r["p"] for r in s.run("MATCH ()-[r]->() RETURN properties(r) AS p")]
    assert rows
    # values as they are (no JSON escaping: a PEM key's lines stay lines)
    return "\n".join(f"{k}={v}" for p in rows for k, v in p.items())
