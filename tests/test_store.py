"""The embedded store: a real SQLite file, one transaction per source load,
re-sync marks vanished records removed, reload gives equal graphs."""
import sqlite3
from datetime import date

import pytest

from engine.model import CostRow, Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.store.sqlite import SQLiteStore
from engine.store import StoreError, open_store


def recs(source="okta", nodes=(), edges=(), usage=(), settings=None):
    return Records(source=source, nodes=list(nodes), edges=list(edges), usage=list(usage),
                   settings=settings or {})


def person(addr, **props):
    return Node(id=f"person:{addr}", kind=NodeKind.Person, properties=props)


def test_wal_mode_and_schema(db_path):
    store = SQLiteStore(db_path)
    mode = sqlite3.connect(db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_load_and_read_back(db_path):
    store = SQLiteStore(db_path)
    res = store.load(recs(nodes=[person("a@x.io", email="a@x.io"),
                                 Node(id="okta:user:1", kind=NodeKind.Account, active=True)],
                          edges=[Edge(src="person:a@x.io", dst="okta:user:1", kind=EdgeKind.HAS_ACCOUNT)]),
                     complete=True)
    assert res.counts["nodes"] == 2 and res.counts["edges"] == 1
    view = store.get_node("person:a@x.io")
    assert view.kind == "Person" and view.properties["email"] == "a@x.io"
    assert view.properties["status"] == "active"  # derived: an active IdP account
    assert store.get_node("nope") is None


def test_resync_marks_vanished_removed_not_deleted(db_path):
    store = SQLiteStore(db_path)
    store.load(recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account),
                           Node(id="okta:user:2", kind=NodeKind.Account)],
                    edges=[Edge(src="okta:user:1", dst="okta:user:2", kind=EdgeKind.MEMBER_OF)]), True)
    res = store.load(recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account)]), True)
    assert res.removed["nodes"] == 1 and res.removed["edges"] == 1
    assert store.get_node("okta:user:2") is None
    kept = store.get_node("okta:user:2", include_removed=True)
    assert kept is not None and kept.removed_at is not None and not kept.active
    assert [e for e in store.iter_edges()] == []
    assert len(list(store.iter_edges(include_removed=True))) == 1
    # Seen again: alive again.
    store.load(recs(nodes=[Node(id="okta:user:2", kind=NodeKind.Account)]), True)
    assert store.get_node("okta:user:2").removed_at is None


def test_partial_load_removes_nothing(db_path):
    store = SQLiteStore(db_path)
    store.load(recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account),
                           Node(id="okta:user:2", kind=NodeKind.Account)]), True)
    res = store.load(recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account)]), complete=False)
    assert res.removed == {}
    assert store.get_node("okta:user:2") is not None


def test_resync_of_one_source_leaves_other_sources_alone(db_path):
    store = SQLiteStore(db_path)
    store.load(recs("okta", nodes=[person("a@x.io")]), True)
    store.load(recs("google", nodes=[person("a@x.io"), person("b@x.io")]), True)
    store.load(recs("google", nodes=[]), True)
    # okta still states a@x.io, so it stays; b@x.io was only google's.
    assert store.get_node("person:a@x.io") is not None
    assert store.get_node("person:b@x.io") is None


def test_enrichment_does_not_keep_removed_node_alive(db_path):
    store = SQLiteStore(db_path)
    store.load(recs("openai", nodes=[Node(id="openai:api_key:k", kind=NodeKind.Credential)]), True)
    store.load(recs("inventory", nodes=[Node(id="openai:api_key:k", kind=NodeKind.Credential,
                                             properties={"environment": "prod"}, enrichment=True)]), True)
    assert store.get_node("openai:api_key:k").properties["environment"] == "prod"
    store.load(recs("openai", nodes=[]), True)
    assert store.get_node("openai:api_key:k") is None


def test_failed_load_changes_nothing(db_path, monkeypatch):
    from engine.store import sqlite_load
    store = SQLiteStore(db_path)
    store.load(recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account, name="one")]), True)
    gen = store.generation()
    bad = recs(nodes=[Node(id="okta:user:1", kind=NodeKind.Account, name="changed"),
                      Node(id="okta:user:9", kind=NodeKind.Account)])
    # Force a failure after the node writes: an unserialisable setting value.
    bad.settings["x"] = object()
    bad.settings["x"] = float("nan")

    class Boom(Exception):
        pass

    # Fail after every row is written (in the removal step of the re-sync).
    original = sqlite_load._mark_removed

    def explode(*a, **k):
        original(*a, **k)
        raise Boom()

    monkeypatch.setattr(sqlite_load, "_mark_removed", explode)
    with pytest.raises(Boom):
        store.load(bad, True)
    monkeypatch.setattr(sqlite_load, "_mark_removed", original)
    assert store.generation() == gen
    assert store.get_node("okta:user:1").name == "one"
    assert store.get_node("okta:user:9") is None
    assert len(store.runs()) == 1


def test_reingest_same_records_changes_nothing(db_path):
    store = SQLiteStore(db_path)
    r = recs(nodes=[person("a@x.io", email="a@x.io")],
             edges=[Edge(src="person:a@x.io", dst="team:t", kind=EdgeKind.MEMBER_OF)],
             usage=[UsageRow(day=date(2026, 1, 1), model="m", credential_id="k", input_tokens=5)])
    store.load(r, True)
    conn = sqlite3.connect(db_path)
    dump1 = [conn.execute(f"SELECT * FROM {t} ORDER BY 1,2").fetchall() for t in ("node_src", "edge_src")]
    res = store.load(r, True)
    dump2 = [conn.execute(f"SELECT * FROM {t} ORDER BY 1,2").fetchall() for t in ("node_src", "edge_src")]
    strip = lambda rows: [tuple(x for x in row if not (isinstance(x, str) and len(x) == 32)) for row in rows]
    assert [strip(d) for d in dump1] == [strip(d) for d in dump2]
    assert sum(res.removed.values()) == 0
    assert len(store.usage()) == 1


def test_reload_equality(db_path):
    store = SQLiteStore(db_path)
    store.load(recs(nodes=[person("a@x.io"), Node(id="tool:t", kind=NodeKind.AITool, name="T")],
                    edges=[Edge(src="person:a@x.io", dst="tool:t", kind=EdgeKind.OWNS)]), True)
    g1 = store.graph()
    store.close()
    again = SQLiteStore(db_path)
    g2 = again.graph()
    assert g1.ids == g2.ids
    assert [(v.id, v.kind, v.name, v.active, v.properties) for v in g1.views] == \
           [(v.id, v.kind, v.name, v.active, v.properties) for v in g2.views]
    assert [(e.src, e.kind, e.dst, e.properties) for e in g1.edges] == \
           [(e.src, e.kind, e.dst, e.properties) for e in g2.edges]


def test_usage_window_resync(db_path):
    store = SQLiteStore(db_path)
    day = lambda d: date(2026, 1, d)
    store.load(recs("openai", usage=[UsageRow(day=day(d), model="m", credential_id="k", requests=1)
                                     for d in (1, 2, 3)]), True)
    # Re-sync covering days 2..3 without day 3's model-m row: that row removed, day 1 kept.
    store.load(recs("openai", usage=[UsageRow(day=day(2), model="m", credential_id="k", requests=1),
                                     UsageRow(day=day(3), model="n", credential_id="k", requests=1)]), True)
    assert sorted((u.day.day, u.model) for u in store.usage()) == [(1, "m"), (2, "m"), (3, "n")]


def test_settings_and_meta(db_path):
    store = SQLiteStore(db_path)
    store.load(recs("inventory", settings={"price:m": {"input": 1.0, "output": 2.0}}), True)
    assert store.settings() == {"inventory": {"price:m": {"input": 1.0, "output": 2.0}}}
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"
    store.set_meta("k", None)
    assert store.get_meta("k") is None


def test_costs_roundtrip(db_path):
    store = SQLiteStore(db_path)
    store.load(Records(source="openai", costs=[CostRow(day=date(2026, 1, 1), scope_id="openai:project:p",
                                                       line_item="gpt-4o, input", usd=1.5)]), True)
    [c] = store.costs()
    assert c.usd == 1.5 and c.scope_id == "openai:project:p"


def test_open_store_errors(tmp_path):
    with pytest.raises(StoreError, match="unsupported URL scheme"):
        open_store("http://localhost/x")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "missing" / "x.db"))
    bad = tmp_path / "notadb.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a burnpath database"):
        open_store(str(bad))


def test_edge_to_removed_node_does_not_resurrect_it(db_path):
    store = SQLiteStore(db_path)
    store.load(recs("openai", nodes=[Node(id="openai:api_key:k", kind=NodeKind.Credential)]), True)
    store.load(recs("inventory", nodes=[Node(id="tool:t", kind=NodeKind.AITool)],
                    edges=[Edge(src="tool:t", dst="openai:api_key:k", kind=EdgeKind.HOLDS)]), True)
    assert store.blast_radius("tool:t", 8)[0].node_id == "openai:api_key:k"
    store.load(recs("openai", nodes=[]), True)
    assert store.get_node("openai:api_key:k") is None
    assert store.blast_radius("tool:t", 8) == []


def test_edge_to_unknown_node_makes_a_stub_of_the_guessed_kind(db_path):
    store = SQLiteStore(db_path)
    store.load(recs("inventory", nodes=[Node(id="tool:t", kind=NodeKind.AITool)],
                    edges=[Edge(src="tool:t", dst="openai:api_key:k", kind=EdgeKind.HOLDS)]), True)
    stub = store.get_node("openai:api_key:k")
    assert stub.kind == "Credential" and stub.properties.get("stub") is True
