"""Stores written before the current secret-reduction rule: their stored hints and
values are rewritten on the next load (both stores), so nothing of an old-style secret
is left in the file, its WAL, the graph cache or the database."""
from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

import engine.secret_scrub as scrub
from engine.secret_scrub import SCRUB_META_KEY, SCRUB_VERSION
from engine.service import Engine
from tests.identity_snap import snapshot
from tests.neo4j_support import neo4j_settings, wipe
from tests.secret_planting import leaks, pem, shapes
from tests.test_secrets_at_rest import dump_neo4j

INVENTORY = {"inventory/org.yaml": "people:\n  - {email: ana@example.com, name: Ana}\n"
                                   "ai_tools:\n  - {id: bot, name: Bot, owner: ana@example.com}\n"}


def old_style(tmp: Path, rng: random.Random):
    """A gitleaks report whose secrets the old rule kept nearly whole (a PEM key, a
    URI's password, an unknown key's start), and what was planted."""
    planted = [pem(rng, "RSA PRIVATE KEY"), *shapes(rng)[-20:]]
    report = [{"RuleID": "generic", "File": f"f{n}", "StartLine": n, "Commit": "c", "Secret": p.text,
               "Fingerprint": f"c:f{n}:generic:{n}", "Message": f"msg {p.text}"} for n, p in enumerate(planted)]
    return snapshot(tmp / "old", {"gitleaks/r.json": report}), planted


def write_old_store(load, monkeypatch) -> None:
    """What a burnpath before this rule wrote: the load without the scrub, and no mark."""
    with monkeypatch.context() as m:
        m.setattr(scrub, "scrub_records", lambda records: 0)
        load()


def test_sqlite_store_rewritten_on_next_load(tmp_path, monkeypatch):
    snap, planted = old_style(tmp_path, random.Random(7))
    db = tmp_path / "old.db"

    def first():
        eng = Engine.open(str(db))
        eng.ingest([snap / "gitleaks"])
        eng.close()
    write_old_store(first, monkeypatch)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DELETE FROM meta WHERE key=?", (SCRUB_META_KEY,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert leaks(db.read_bytes(), planted), "the old-style store holds the secrets (the test's premise)"

    eng = Engine.open(str(db))
    eng.ingest([snapshot(tmp_path / "next", INVENTORY) / "inventory"])
    exposures = eng.nodes("SecretExposure", 0, 100)[0]
    eng.close()
    assert len(exposures) == len(planted)
    pem_row = next(v.properties for v in exposures if v.properties["file"] == "f0")
    assert pem_row.get("prefix") in (None, "") and pem_row["redacted"].startswith("...")
    for f in (db, Path(f"{db}-wal"), Path(f"{db}.graph")):
        if f.exists():
            assert leaks(f.read_bytes(), planted) == [], f
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key=?", (SCRUB_META_KEY,)).fetchone() == (SCRUB_VERSION,)


def test_sqlite_store_at_the_current_rule_is_not_rescanned(tmp_path, monkeypatch):
    db = tmp_path / "new.db"
    eng = Engine.open(str(db))
    eng.ingest([snapshot(tmp_path / "a", INVENTORY) / "inventory"])
    calls = []
    monkeypatch.setattr(scrub, "rescrub_json", lambda *a, **k: calls.append(a))
    eng.ingest([snapshot(tmp_path / "b", INVENTORY) / "inventory"])
    eng.close()
    assert calls == []


@pytest.mark.neo4j
def test_neo4j_store_rewritten_on_next_load(tmp_path, monkeypatch):
    uri, user, password = neo4j_settings()
    wipe(uri, user, password)
    snap, planted = old_style(tmp_path, random.Random(11))

    def first():
        eng = Engine.open(uri)
        eng.ingest([snap / "gitleaks"])
        eng.close()
    write_old_store(first, monkeypatch)
    from neo4j import GraphDatabase
    with GraphDatabase.driver(uri, auth=(user, password)) as driver, driver.session() as s:
        s.run("MATCH (m:BurnpathMeta {key: $k}) DELETE m", k=SCRUB_META_KEY).consume()
    assert leaks(dump_neo4j(uri, user, password), planted), "the old-style store holds the secrets"

    eng = Engine.open(uri)
    eng.ingest([snapshot(tmp_path / "next", INVENTORY) / "inventory"])
    assert eng.nodes("SecretExposure", 0, 0)[1] == len(planted)
    eng.close()
    assert leaks(dump_neo4j(uri, user, password), planted) == []
    with GraphDatabase.driver(uri, auth=(user, password)) as driver, driver.session() as s:
        rec = s.run("MATCH (m:BurnpathMeta {key: $k}) RETURN m.value AS v", k=SCRUB_META_KEY).single()
    assert rec["v"] == SCRUB_VERSION
    assert json.dumps(rec["v"])
