"""The shortcuts the ingest takes at scale change nothing stored:

- records built without re-validation (engine.model.trusted_*) equal validated ones;
- Okta's full user objects repeated in group listings re-emit the records of the last
  identical statement, and a differing copy in between still wins and loses as before;
- the store's row preparation (sqlite_load.prepare) merges repeated statements as
  before, leaves the records' own dicts alone, and keeps the last row of a repeated
  usage key.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import date

from engine.model import (Edge, EdgeKind, Node, NodeKind, Records, UsageRow, trusted_edge,
                          trusted_node, trusted_usage)
from engine.store.sqlite import SQLiteStore
from engine.store.sqlite_load import prepare
from ingest import okta
from tests.conftest import write


def test_trusted_records_equal_validated_ones():
    for name in ("Ana", None, 42):
        a = trusted_node("okta:user:1", NodeKind.Account, name, False, {"status": "X"})
        b = Node(id="okta:user:1", kind=NodeKind.Account, name=name, active=False,
                 properties={"status": "X"})
        assert a == b and a.model_dump() == b.model_dump() and a.name == b.name
    assert trusted_node("p", NodeKind.Person) == Node(id="p", kind=NodeKind.Person)
    assert trusted_edge("a", "b", EdgeKind.OWNS, {"x": 1}) == Edge(src="a", dst="b", kind=EdgeKind.OWNS,
                                                                  properties={"x": 1})
    u = trusted_usage(date(2026, 1, 2), "m", "k", None, None, 1, 2, 0, 3, 4, {"vendor": "v"})
    v = UsageRow(day=date(2026, 1, 2), model="m", credential_id="k", input_tokens=1, output_tokens=2,
                 requests=3, vendor_usd=4, properties={"vendor": "v"})
    assert u == v and type(u.vendor_usd) is float and u.key() == v.key()
    assert trusted_node("x", NodeKind.Team) != Node(id="x", kind=NodeKind.Team, name="other")


def _user(status: str, login: str = "ana@x.io", title: str = "eng") -> dict:
    return {"id": "00u1", "status": status, "created": "2025-01-01T00:00:00.000Z",
            "statusChanged": "2025-06-01T00:00:00.000Z",
            "profile": {"login": login, "email": login, "firstName": "Ana", "title": title}}


def test_okta_repeated_users_store_what_each_statement_says(tmp_path):
    root = tmp_path / "okta"
    v1 = "api/v1"
    write(root / v1 / "users.json", json.dumps([_user("ACTIVE")]))
    write(root / v1 / "groups.json", json.dumps([{"id": g, "profile": {"name": g}} for g in "abc"]))
    # a: identical to the users listing; b: a changed copy; c: the first copy again.
    write(root / v1 / "groups/a/users.json", json.dumps([_user("ACTIVE")]))
    write(root / v1 / "groups/b/users.json", json.dumps([_user("SUSPENDED", title="ops")]))
    write(root / v1 / "groups/c/users.json", json.dumps([_user("ACTIVE")]))
    rec = okta.ingest(root)
    accounts = [n for n in rec.nodes if n.id == "okta:user:00u1"]
    assert len(accounts) == 4                                  # every statement counted
    assert accounts[1] is accounts[0] and accounts[3] is not accounts[2]
    assert accounts[2].properties["status"] == "SUSPENDED"
    assert accounts[3] == accounts[0]
    store = SQLiteStore(tmp_path / "x.db")
    rec.source = "okta"
    store.load(rec, complete=True)
    row = sqlite3.connect(tmp_path / "x.db").execute(
        "SELECT active, properties FROM node_src WHERE id='okta:user:00u1'").fetchone()
    props = json.loads(row[1])
    # ACTIVE, SUSPENDED, ACTIVE: the last statement's values win; `active` keeps the
    # strictest (inactive) as merging always has.
    assert props["status"] == "ACTIVE" and props["profile"]["title"] == "eng"
    assert props["deactivated_at"] == "2025-06-01T00:00:00Z"     # only the suspended copy says it
    assert row[0] == 0
    edges = sqlite3.connect(tmp_path / "x.db").execute(
        "SELECT COUNT(*) FROM edge_src WHERE kind='MEMBER_OF' AND src='okta:user:00u1'").fetchone()
    assert edges == (3,)


def test_prepare_merges_as_before_and_keeps_records_intact():
    a_props, e_props = {"x": 1}, {"s": ["a"]}
    a = Node(id="n", kind=NodeKind.Account, name="A", active=True, properties=a_props)
    b = Node(id="n", kind=NodeKind.Account, name=None, active=False, properties={"y": 2})
    e1 = Edge(src="n", dst="t", kind=EdgeKind.MEMBER_OF, properties=e_props)
    e2 = Edge(src="n", dst="t", kind=EdgeKind.MEMBER_OF, properties={"role": "r"})
    day = date(2026, 3, 1)
    u1 = UsageRow(day=day, model="m", credential_id="k", input_tokens=1)
    u2 = UsageRow(day=day, model="m", credential_id="k", input_tokens=2)
    other = UsageRow(day=day, model="a", credential_id="k", input_tokens=9)
    rec = Records(source="s", nodes=[a, b, a], edges=[e1, e2, e1], usage=[u1, other, u2])
    prep = prepare(rec)
    (node,) = prep.nodes
    assert node[:5] == ("n", "s", "Account", "A", 0) and json.loads(node[5]) == {"x": 1, "y": 2}
    (edge,) = prep.edges
    assert json.loads(edge[4]) == {"s": ["a"], "role": "r"}
    assert a.properties == {"x": 1} and e1.properties == {"s": ["a"]}    # not merged into
    # Key order; a repeated key keeps its rows' order, so the last one written wins.
    assert [r[7] for r in prep.usage] == [9, 1, 2]
    assert prep.counts == {"nodes": 3, "edges": 3, "usage": 3, "costs": 0, "activity": 0, "settings": 0}


def test_repeated_usage_key_stores_the_last_row(tmp_path):
    day = date(2026, 3, 1)
    rows = [UsageRow(day=day, model="m", credential_id="k", input_tokens=n) for n in (5, 1, 3)]
    store = SQLiteStore(tmp_path / "x.db")
    store.load(Records(source="s", usage=rows), complete=True)
    assert [u.input_tokens for u in store.usage()] == [3]


def test_prepared_usage_keys_are_the_rows_keys():
    from engine.store.sqlite import _dumps, _key
    day = date(2026, 3, 1)
    rows = [UsageRow(day=day, model="m", credential_id="k", properties={"vendor": "s"}),
            UsageRow(day=day, model="m", project_id="p", account_id="a",
                     properties={"vendor": "s", "bucket_key": "b1", "x": 1}),
            UsageRow(day=date(2026, 3, 2), model="m", properties={})]
    prep = prepare(Records(source="s", usage=rows))
    by_key = {r[1]: r for r in prep.usage}
    for u in rows:
        row = by_key[_key(u.key())]
        assert row[2] == u.day.isoformat() and row[12] == _dumps(u.properties)
