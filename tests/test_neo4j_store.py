"""The Neo4j store against a real server: what users see in Cypher, re-sync removal,
one transaction per load (a failure mid-load leaves nothing), idempotent schema,
and the messages a user gets for a wrong port, password or database."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from neo4j import GraphDatabase

from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.store import StoreError, open_store
from engine.store.neo4j import Neo4jStore
from tests.conftest import ROOT, free_port
from tests.neo4j_support import neo4j_settings, neo4j_store, neo4j_url  # noqa: F401 (fixtures)

pytestmark = pytest.mark.neo4j


def okta(*, with_bob: bool = True, bob_active: bool = True) -> Records:
    r = Records(source="okta")
    r.nodes += [Node(id="person:ana@example.com", kind=NodeKind.Person, name="Ana"),
                Node(id="okta:user:1", kind=NodeKind.Account, active=True,
                     properties={"email": "ana@example.com", "profile": {"dept": "eng"}})]
    r.edges += [Edge(src="person:ana@example.com", dst="okta:user:1", kind=EdgeKind.HAS_ACCOUNT),
                Edge(src="okta:user:1", dst="saas:crm", kind=EdgeKind.CAN_ACCESS,
                     properties={"access": "write"})]
    if with_bob:
        r.nodes += [Node(id="person:bob@example.com", kind=NodeKind.Person),
                    Node(id="okta:user:2", kind=NodeKind.Account, active=bob_active,
                         properties={"deactivated_at": "2025-05-01T00:00:00Z"} if not bob_active else {})]
        r.edges += [Edge(src="person:bob@example.com", dst="okta:user:2", kind=EdgeKind.HAS_ACCOUNT),
                    Edge(src="okta:user:2", dst="saas:crm", kind=EdgeKind.CAN_ACCESS)]
    return r


def cypher(query: str, **params) -> list[dict]:
    uri, user, password = neo4j_settings()
    with GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF") as d:
        records, _, _ = d.execute_query(query, params)
    return [r.data() for r in records]


def snapshot() -> list:
    """Everything in the database, comparable."""
    nodes = cypher("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = cypher("MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS t, b.id AS b, properties(r) AS p")
    key = repr
    return sorted(map(key, nodes)) + sorted(map(key, rels))


def test_users_see_labels_types_and_merged_properties(neo4j_store):
    neo4j_store.load(okta(bob_active=False), complete=True)
    rows = cypher("MATCH (p:Node:Person)-[:HAS_ACCOUNT]->(a:Node:Account)-[r:CAN_ACCESS]->(s:SaaSApp) "
                  "WHERE r.live RETURN p.id AS p, p.status AS status, p.active AS active, a.email AS email, "
                  "a.profile AS profile, r.access AS access, s.stub AS stub ORDER BY p")
    assert rows == [
        {"p": "person:ana@example.com", "status": "active", "active": True, "email": "ana@example.com",
         "profile": '{"dept":"eng"}', "access": "write", "stub": True},
        {"p": "person:bob@example.com", "status": "inactive", "active": False, "email": None,
         "profile": None, "access": None, "stub": True},
    ]
    bob = cypher("MATCH (p:Person {id: 'person:bob@example.com'}) RETURN p.deactivated_at AS d")
    assert bob == [{"d": "2025-05-01T00:00:00Z"}]
    # Bookkeeping rows are not graph nodes.
    assert cypher("MATCH (n:Node) WHERE n:IngestRun OR n:BurnpathMeta RETURN count(n) AS c") == [{"c": 0}]
    assert neo4j_store.get_node("okta:user:1").properties == {"email": "ana@example.com",
                                                             "profile": {"dept": "eng"}}


def test_complete_resync_marks_only_what_the_source_dropped(neo4j_store):
    neo4j_store.load(okta(), complete=True)
    inv = Records(source="inventory", nodes=[Node(id="okta:user:2", kind=NodeKind.Account,
                                                  enrichment=True, properties={"note": "contractor"})],
                  edges=[Edge(src="okta:user:1", dst="saas:crm", kind=EdgeKind.CAN_ACCESS,
                              properties={"access": "admin"})])
    neo4j_store.load(inv, complete=True)
    result = neo4j_store.load(okta(with_bob=False), complete=True)
    assert result.removed["nodes"] == 2 and result.removed["edges"] == 2
    # Bob and his account are removed (enrichment alone does not keep the account),
    # kept with removed_at, and out of the graph.
    assert neo4j_store.get_node("okta:user:2") is None
    gone = neo4j_store.get_node("okta:user:2", include_removed=True)
    assert gone.removed_at is not None and gone.properties["note"] == "contractor"
    assert cypher("MATCH (n:Node {id: 'person:bob@example.com'}) RETURN n.live AS live, "
                  "n.removed_at IS NOT NULL AS removed") == [{"live": False, "removed": True}]
    # An edge two sources state merges them (sources in name order, later wins).
    rows = cypher("MATCH (:Node {id: 'okta:user:1'})-[r:CAN_ACCESS]->() RETURN r.sources AS s, "
                  "r.access AS a, r.removed_at AS rm, r.live AS live")
    assert rows == [{"s": ["inventory", "okta"], "a": "write", "rm": None, "live": True}]
    # Bob's edge is removed and no longer walked.
    rows = cypher("MATCH (:Node {id: 'okta:user:2'})-[r:CAN_ACCESS]->() RETURN r.sources AS s, "
                  "r.removed_at IS NOT NULL AS rm, r.live AS live")
    assert rows == [{"s": [], "rm": True, "live": False}]
    reach = {r.node_id: r.access for r in neo4j_store.who_can_reach("saas:crm", 8)}
    assert reach == {"okta:user:1": "write", "person:ana@example.com": "write"}
    # A partial load upserts and removes nothing.
    partial = neo4j_store.load(Records(source="okta", nodes=[Node(id="okta:user:9", kind=NodeKind.Account)]),
                               complete=False)
    assert partial.removed == {}
    assert neo4j_store.get_node("okta:user:1") is not None


def test_traversal_edge_cases(neo4j_store):
    from engine.traversal import NodeNotFound
    neo4j_store.load(okta(), complete=True)
    with pytest.raises(NodeNotFound):
        neo4j_store.blast_radius("no:such:node", 3)
    with pytest.raises(NodeNotFound):
        neo4j_store.blast_radius_many(["person:ana@example.com", "no:such:node"], 3)
    with pytest.raises(ValueError):
        neo4j_store.who_can_reach("saas:crm", -1)
    assert neo4j_store.blast_radius("person:ana@example.com", 0) == []
    assert neo4j_store.who_can_reach("person:ana@example.com", 8) == []    # nothing reaches a person
    many = neo4j_store.blast_radius_many(["person:bob@example.com", "person:ana@example.com"], 1)
    assert {k: [r.node_id for r in v] for k, v in many.items()} == {
        "person:bob@example.com": ["okta:user:2"], "person:ana@example.com": ["okta:user:1"]}


def test_usage_window_resync(neo4j_store):
    from datetime import date
    def usage(days, tokens):
        return Records(source="openai", usage=[UsageRow(day=date(2025, 1, d), model="gpt-4o",
                                                        credential_id="openai:api_key:k", input_tokens=tokens)
                                               for d in days])
    neo4j_store.load(usage([1, 2, 3, 4], 10), complete=True)
    result = neo4j_store.load(usage([3, 4], 99), complete=True)
    # Days 3..4 were replaced (same keys, new values), 1..2 are older history and stay.
    assert result.removed["usage"] == 0
    assert [(u.day.day, u.input_tokens) for u in neo4j_store.usage()] == [(1, 10), (2, 10), (3, 99), (4, 99)]
    result = neo4j_store.load(Records(source="openai", usage=[UsageRow(
        day=date(2025, 1, 4), model="gpt-4o-mini", credential_id="openai:api_key:k")]), complete=True)
    assert result.removed["usage"] == 1   # day 4's gpt-4o row vanished from the window
    assert [(u.day.day, u.model) for u in neo4j_store.usage()] == [
        (1, "gpt-4o"), (2, "gpt-4o"), (3, "gpt-4o"), (4, "gpt-4o-mini")]
    assert neo4j_store.get_meta("as_of") == "2025-01-04T00:00:00+00:00"


def usage_mix() -> list[Records]:
    """Usage rows that exercise every part of spend's aggregation: vendor figures beside
    token-priced rows on one key, cache reads and writes (and more of them than input:
    the per-row clamp), no credential, several days per key, two sources."""
    from datetime import date
    rows = []
    for d in range(1, 6):
        rows += [UsageRow(day=date(2025, 2, d), model="gpt-4o", credential_id="openai:api_key:a",
                          project_id="openai:project:p", input_tokens=1000 * d, output_tokens=7 * d,
                          cached_input_tokens=300, requests=d),
                 UsageRow(day=date(2025, 2, d), model="gpt-4o", credential_id="openai:api_key:a",
                          project_id="openai:project:p", input_tokens=10, cached_input_tokens=8,
                          requests=1, properties={"bucket_key": "b", "cache_creation_input_tokens": 5}),
                 UsageRow(day=date(2025, 2, d), model="gpt-4o", project_id="openai:project:p",
                          input_tokens=50, output_tokens=5, requests=2),
                 UsageRow(day=date(2025, 2, d), model="claude-3-5-sonnet-20240620",
                          account_id="okta:user:1", input_tokens=900, output_tokens=90, requests=3,
                          properties={"cache_creation_input_tokens": 100 + d})]
    litellm = [UsageRow(day=date(2025, 2, d), model="gpt-4o", credential_id="litellm:key:x",
                        input_tokens=100, output_tokens=10, requests=1, vendor_usd=0.1 * d + 1e-9 * d)
               for d in range(1, 6)]
    litellm.append(UsageRow(day=date(2025, 2, 2), model="gpt-4o", credential_id="litellm:key:x",
                            input_tokens=5, requests=1, properties={"bucket_key": "unpriced-here"}))
    return [Records(source="openai", usage=rows), Records(source="litellm", usage=litellm)]


def test_usage_totals_are_one_cypher_query_equal_to_the_default(neo4j_store, tmp_path):
    from datetime import date
    from engine.store.base import usage_totals_of
    from engine.store.sqlite import SQLiteStore
    sql = SQLiteStore(tmp_path / "totals.db")
    for records in usage_mix():
        neo4j_store.load(records, complete=True)
        sql.load(records, complete=True)
    # A re-sync drops day 5's no-credential row: removed rows must not count.
    openai = usage_mix()[0]
    openai.usage = [u for u in openai.usage if not (u.day.day == 5 and u.credential_id is None
                                                     and u.account_id is None)]
    neo4j_store.load(openai, complete=True)
    sql.load(openai, complete=True)

    queries: list[str] = []
    real_query = neo4j_store._query
    def counting_query(cypher, **params):
        queries.append(cypher)
        return real_query(cypher, **params)
    def no_rows(*_a, **_k):
        raise AssertionError("usage_totals must not read the rows")
    neo4j_store._query = counting_query
    neo4j_store.usage = no_rows
    windows = [(None, None), (date(2025, 2, 2), date(2025, 2, 4)), (date(2025, 2, 5), None),
               (None, date(2025, 1, 1))]
    got = {}
    for start, end in windows:
        queries.clear()
        got[(start, end)] = neo4j_store.usage_totals(start, end)
        assert len(queries) == 1 and "sum(" in queries[0], queries
    del neo4j_store._query, neo4j_store.usage
    for (start, end), totals in got.items():
        assert totals == usage_totals_of(neo4j_store.usage(start, end)) == sql.usage_totals(start, end)
    everything = got[(None, None)]
    assert got[(None, date(2025, 1, 1))] == []
    by_key = {(t.source, t.credential_id, t.account_id, t.vendor): t for t in everything}
    clamped = by_key[("openai", "openai:api_key:a", None, False)]
    # Per row: uncached = max(10 - 8 - 5, 0) = 0 on the cache-heavy rows.
    assert clamped.rows == 10 and clamped.priced_uncached == sum(1000 * d - 300 for d in range(1, 6))
    assert clamped.priced_cached == 5 * 300 + 5 * 8 and clamped.priced_written == 25
    assert clamped.input_tokens == sum(1000 * d for d in range(1, 6)) + 50
    vendor = by_key[("litellm", "litellm:key:x", None, True)]
    assert vendor.rows == 5 and vendor.vendor_usd == pytest.approx(1.5 + 1.5e-8, abs=1e-15)
    assert by_key[("litellm", "litellm:key:x", None, False)].vendor_usd is None
    assert by_key[("openai", None, None, False)].rows == 4          # day 5's was removed
    assert by_key[("openai", None, "okta:user:1", False)].priced_written == sum(100 + d for d in range(1, 6))
    # Rows stored before `cache_write_tokens` existed: aggregated from the rows instead.
    cypher("MATCH (u:UsageRow) REMOVE u.cache_write_tokens")
    assert neo4j_store.usage_totals() == everything
    sql.close()


def test_failed_load_rolls_back_everything(neo4j_url):
    uri, user, password = neo4j_settings()
    store = Neo4jStore(uri, user, password, batch_size=2)
    try:
        store.load(okta(), complete=True)
        before, gen = snapshot(), store.generation()
        # Many small batches commit nothing on their own: the last node's id is too
        # large for the id index, so the server refuses it after the others were sent.
        bad = okta(with_bob=False)
        bad.nodes += [Node(id=f"okta:user:{i}", kind=NodeKind.Account) for i in range(10, 20)]
        bad.nodes.append(Node(id="okta:user:" + "x" * 40_000, kind=NodeKind.Account))
        with pytest.raises(StoreError, match="refused the okta load; nothing of it was written"):
            store.load(bad, complete=True)
        assert snapshot() == before
        assert store.generation() == gen
        assert store.get_node("okta:user:10") is None
        assert store.get_node("okta:user:2") is not None   # the failed re-sync removed nothing
        # The store still works after the failure.
        store.load(okta(with_bob=False), complete=True)
        assert store.get_node("okta:user:2") is None
    finally:
        store.close()


def test_schema_is_created_once_and_again_idempotently(neo4j_store):
    def schema():
        names = {r["name"] for r in cypher("SHOW CONSTRAINTS YIELD name")}
        names |= {r["name"] for r in cypher("SHOW INDEXES YIELD name")}
        return {n for n in names if n.startswith("burnpath_")}
    first = schema()
    assert {"burnpath_node_id", "burnpath_usage_uid", "burnpath_node_kind"} <= first
    neo4j_store.ensure_schema()
    uri, user, password = neo4j_settings()
    Neo4jStore(uri, user, password).close()
    assert schema() == first
    # Dropped by someone: the next open recreates it.
    cypher("DROP CONSTRAINT burnpath_node_id")
    assert "burnpath_node_id" not in schema()
    Neo4jStore(uri, user, password).close()
    assert schema() == first
    # The constraint holds: a second node with the same id is refused.
    neo4j_store.load(okta(with_bob=False), complete=True)
    with pytest.raises(Exception, match="already exists"):
        cypher("CREATE (:Node {id: 'okta:user:1'})")


def test_error_messages(neo4j_url, monkeypatch):
    uri, user, password = neo4j_settings()
    port = free_port()
    with pytest.raises(StoreError, match=rf"cannot reach Neo4j at bolt://127.0.0.1:{port}"):
        Neo4jStore(f"bolt://127.0.0.1:{port}", user, password)
    with pytest.raises(StoreError, match="rejected the credentials of user 'neo4j'.*NEO4J_PASSWORD"):
        Neo4jStore(uri, "neo4j", password + "-wrong")
    with pytest.raises(StoreError, match="has no database 'nosuchdb'"):
        Neo4jStore(uri.rstrip("/") + "/nosuchdb", user, password)
    # Selected by URL through the environment, as the CLI does.
    monkeypatch.setenv("NEO4J_USER", user)
    monkeypatch.setenv("NEO4J_PASSWORD", password)
    store = open_store(uri)
    assert isinstance(store, Neo4jStore)
    store.close()


def test_cli_reports_a_wrong_password(neo4j_url):
    uri, user, password = neo4j_settings()
    env = {**os.environ, "NEO4J_USER": user, "NEO4J_PASSWORD": "nope"}
    out = subprocess.run([sys.executable, "-m", "api.cli", "query", "--db", uri, "{ nodes { totalCount } }"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "rejected the credentials" in out.stderr
    assert "Traceback" not in out.stderr


def test_ci_fails_instead_of_skipping_without_a_server(tmp_path):
    test = tmp_path / "test_needs_neo4j.py"
    test.write_text("from tests.neo4j_support import neo4j_url\n\n"
                    "def test_x(neo4j_url):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "NEO4J_URI"}
    def run(ci: str | None):
        e = dict(env, PYTHONPATH=str(ROOT))
        if ci is None:
            e.pop("CI", None)
        else:
            e["CI"] = ci
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test),
                               "--rootdir", str(tmp_path)], env=e, capture_output=True, text=True,
                              cwd=tmp_path, timeout=120)
    local = run(None)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    ci = run("true")
    assert ci.returncode != 0 and "must run in CI" in ci.stdout, ci.stdout
