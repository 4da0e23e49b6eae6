"""The same data in the embedded store and in a real Neo4j must give the same answers:
node views, traversals from every node at every depth, rows, and the GraphQL the
users see (node, nodes pages, blastRadius, whoCanReach, spend, findings)."""
from __future__ import annotations

import pytest

from api.execute import execute
from engine.service import Engine
from engine.store.sqlite import SQLiteStore
from ingest.snapshot import plan, read_source

from tests.conftest import DEMO
from tests.neo4j_support import neo4j_engine, neo4j_store, neo4j_url  # noqa: F401 (fixtures)
from tests.parity_data import random_records, resync_without

pytestmark = pytest.mark.neo4j

NODE_FIELDS = "id kind name active properties sources removedAt owners { id } risk { score reasons }"
REACH_FIELDS = "node { id } depth access path pathEdges"
SPEND_GROUPS = ("person", "team", "credential", "tool", "project", "model", "environment")


def demo_loads():
    return [(read_source(load), load.complete) for load in plan([DEMO])]


def load_both(sql_engine: Engine, neo_engine: Engine, loads) -> None:
    for records, complete in loads:
        a = sql_engine.store.load(records, complete)
        b = neo_engine.store.load(records, complete)
        assert (a.counts, a.removed) == (b.counts, b.removed), records.source


def assert_store_parity(sql: SQLiteStore, neo, depths=range(1, 9)) -> int:
    """Every read of the Store interface; returns how many traversals were compared."""
    assert neo.generation() == sql.generation()
    for removed in (False, True):
        assert list(neo.iter_nodes(removed)) == list(sql.iter_nodes(removed))
        assert list(neo.iter_edges(removed)) == list(sql.iter_edges(removed))
    graph = sql.graph()
    ever = {v.id for v in sql.iter_nodes(include_removed=True)} | set(graph.ids)
    for nid in sorted(ever) + ["no:such:node"]:
        assert neo.get_node(nid) == sql.get_node(nid), nid
        assert neo.get_node(nid, include_removed=True) == sql.get_node(nid, include_removed=True), nid
    for kind in [None, *sorted(graph.by_kind), "Nope"]:
        for offset, limit in ((0, 5), (3, 4), (0, 10_000), (10_000, 5)):
            assert neo.list_nodes(kind, offset, limit) == sql.list_nodes(kind, offset, limit)
    assert neo.usage() == sql.usage()
    # Spend's input: aggregated by one Cypher query on Neo4j, in Python on SQLite.
    assert neo.usage_totals() == sql.usage_totals()
    days = sorted({u.day for u in sql.usage()})
    if days:
        mid = days[len(days) // 2]
        for start, end in ((mid, None), (None, mid), (mid, mid)):
            assert neo.usage_totals(start, end) == sql.usage_totals(start, end), (start, end)
    assert neo.costs() == sql.costs()
    assert neo.activity() == sql.activity()
    assert neo.settings() == sql.settings()
    # Runs started in the same second order by their random ids: compare as sets.
    def runs(store):
        return sorted(repr((r["source"], r["complete"], r["counts"], r["removed"])) for r in store.runs())
    assert runs(neo) == runs(sql)
    assert neo.get_meta("as_of") == (graph.as_of.isoformat() if graph.as_of else None)
    n = 0
    for nid in graph.ids:
        for depth in depths:
            assert neo.blast_radius(nid, depth) == sql.blast_radius(nid, depth), (nid, depth)
            assert neo.who_can_reach(nid, depth) == sql.who_can_reach(nid, depth), (nid, depth)
            n += 2
    return n


def graphql_documents(engine: Engine) -> list[tuple[str, dict]]:
    graph = engine.graph()
    docs = [(f"query($id: ID!) {{ node(id: $id) {{ {NODE_FIELDS} }} }}", {"id": nid})
            for nid in graph.ids + ["no:such:node"]]
    for kind in [None, *sorted(graph.by_kind)]:
        docs.append(("query($kind: String, $after: String) { nodes(kind: $kind, first: 7, after: $after) "
                     "{ totalCount nodes { id kind active } pageInfo { hasNextPage endCursor } } }",
                     {"kind": kind, "after": None}))
    for nid in graph.ids:
        docs.append((f"query($id: ID!) {{ blastRadius(id: $id, maxDepth: 8) {{ source {{ id }} "
                     f"reachable {{ {REACH_FIELDS} }} dataSources {{ node {{ id }} }} "
                     f"saasApps {{ node {{ id }} }} credentials {{ node {{ id }} }} "
                     f"spendExposureUsdPerHour }} }}", {"id": nid}))
        docs.append((f"query($id: ID!) {{ whoCanReach(id: $id, maxDepth: 8) {{ {REACH_FIELDS} }} }}",
                     {"id": nid}))
    for group in SPEND_GROUPS:
        docs.append(("query($g: String!) { spend(groupBy: $g) { key usd inputTokens outputTokens requests } }",
                     {"g": group}))
    docs.append(("{ findings(first: 500) { totalCount nodes { id rule title severity subject { id } "
                 "evidence frameworks } } }", {}))
    # Search (Cypher on Neo4j, the in-memory texts on SQLite), paged 3 at a time.
    for q in ("xk9q", "EXAMPLE.COM", "ci-bot", "sk-", "", "  Ana ", "no-such-text", "1", "@"):
        for kind in (None, "Credential", "Person"):
            docs.append(("query($q: String!, $kind: String, $after: String) { nodes(search: $q, kind: $kind, "
                         "first: 3, after: $after) { totalCount nodes { id kind } pageInfo { hasNextPage endCursor } } }",
                         {"q": q, "kind": kind, "after": None}))
    for group in SPEND_GROUPS:
        docs.append(("query($g: String!) { spendDaily(groupBy: $g) { day key usd inputTokens outputTokens requests "
                     "unpricedRequests unpricedTokens } }", {"g": group}))
    teams = [t for t in graph.ids if t.startswith("team:")][:3]
    for team in teams:
        docs.append(("query($t: String) { findings(team: $t, first: 500) { totalCount nodes { id teams } } }", {"t": team}))
    docs.append(('{ findings(framework: "OWASP-NHI1", first: 500) { totalCount nodes { id } } }', {}))
    return docs


def run_paged(engine: Engine, doc: str, variables: dict) -> list[dict]:
    """A document's result; `nodes` pages are followed to the end."""
    out = [execute(engine, doc, variables)]
    while "nodes(" in doc and out[-1].get("data") and out[-1]["data"]["nodes"]["pageInfo"]["hasNextPage"]:
        variables = {**variables, "after": out[-1]["data"]["nodes"]["pageInfo"]["endCursor"]}
        out.append(execute(engine, doc, variables))
    return out


def assert_graphql_parity(sql_engine: Engine, neo_engine: Engine) -> int:
    docs = graphql_documents(sql_engine)
    for doc, variables in docs:
        assert run_paged(neo_engine, doc, variables) == run_paged(sql_engine, doc, variables), (doc, variables)
    return len(docs)


@pytest.fixture
def sql_engine(tmp_path):
    eng = Engine(SQLiteStore(tmp_path / "parity.db"))
    yield eng
    eng.close()


def test_demo_parity(sql_engine, neo4j_engine):
    load_both(sql_engine, neo4j_engine, demo_loads())
    assert len(sql_engine.graph()) > 50, "the demo should load"
    traversals = assert_store_parity(sql_engine.store, neo4j_engine.store)
    assert traversals == 2 * 8 * len(sql_engine.graph())
    assert assert_graphql_parity(sql_engine, neo4j_engine) > 3 * len(sql_engine.graph())
    # The demo's headline story, answered by the Cypher BFS.
    reach = {r.node_id: r for r in neo4j_engine.store.blast_radius("tool:drift-chat", 8)}
    if "data:warehouse" in reach:
        assert reach["data:warehouse"].depth == 5


@pytest.mark.parametrize("seed", [1, 7])
def test_random_graph_parity(sql_engine, neo4j_engine, seed):
    loads = random_records(seed)
    load_both(sql_engine, neo4j_engine, [(r, True) for r in loads])
    # Every depth is compared on the demo; here the shallow ones and the full one.
    assert_store_parity(sql_engine.store, neo4j_engine.store, depths=(1, 2, 8))
    # A complete re-sync that dropped things, then a partial load on top.
    vendor, idp, _ = loads
    load_both(sql_engine, neo4j_engine, [(resync_without(idp, 3), True),
                                         (resync_without(vendor, 4), False)])
    assert_store_parity(sql_engine.store, neo4j_engine.store, depths=(1, 8))
    assert_graphql_parity(sql_engine, neo4j_engine)
    # Many walks at once (rule facts): the same as one by one, on both stores.
    ids = sql_engine.graph().ids
    one_by_one = {i: sql_engine.store.blast_radius(i, 8) for i in ids}
    assert neo4j_engine.store.blast_radius_many(ids, 8) == one_by_one
    assert sql_engine.store.blast_radius_many(ids, 8) == one_by_one
    # Nothing trivial: some traversal reaches several levels with mixed access levels.
    accesses = {r.access for nid in sql_engine.graph().ids
                for r in neo4j_engine.store.blast_radius(nid, 8)}
    assert accesses == {"read", "write", "admin"}
