"""The embedded store's graph: the columnar build from rows equals the view-by-view
build field for field, and the per-generation graph cache reloads exactly that graph
and is never used for other data (another generation, a rebuilt database, a damaged
file)."""
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from engine import graph_build, graph_cache
from engine.graph import MemoryGraph
from engine.graph_columns import EdgeColumns, ViewColumns
from engine.graph_index import adjacency
from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.store.sqlite import SQLiteStore
from engine.traversal import traverse

K = EdgeKind


def recs(source, nodes=(), edges=(), usage=()):
    return Records(source=source, nodes=list(nodes), edges=list(edges), usage=list(usage))


def days_of(store):
    day = store.last_usage_day()
    return [day] if day else []


def classic(store) -> MemoryGraph:
    return MemoryGraph(store.iter_nodes(include_removed=True), store.iter_edges(), days_of(store))


def assert_same_graph(a: MemoryGraph, b: MemoryGraph) -> None:
    assert a.ids == b.ids and a.index == b.index and a.as_of == b.as_of
    assert len(a.views) == len(b.views) and len(a.edges) == len(b.edges)
    for x, y in zip(a.views, b.views):
        assert x == y and list(x.properties) == list(y.properties), (x, y)
    for x, y in zip(a.edges, b.edges):
        assert x == y and list(x.properties) == list(y.properties), (x, y)
    for name in ("kinds", "e_src", "e_dst", "e_kind", "e_access"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    for csr in ("fwd", "rev", "out_all", "in_all"):
        for f in ("indptr", "indices", "eids"):
            assert np.array_equal(getattr(getattr(a, csr), f), getattr(getattr(b, csr), f)), (csr, f)
    assert a.by_kind == b.by_kind and list(a.by_kind) == list(b.by_kind)


def answers(g: MemoryGraph, ids) -> list:
    out = []
    for nid in ids:
        for rev in (False, True):
            out.append([(r.node_id, r.depth, r.access, r.path, r.edge_kinds) for r in traverse(g, nid, 8, rev)])
        out.append([(e.src, e.kind, e.dst, e.properties, e.sources) for e in g.out_edges(nid) + g.in_edges(nid)])
    return out


def copy_db(src, dst):
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    return dst


def awkward_store(path) -> SQLiteStore:
    """Multi-source nodes and edges, removed nodes and edges, an edge whose first
    contribution is removed and a later one live, stubs, links by email."""
    store = SQLiteStore(path)
    store.load(recs("okta", nodes=[
        Node(id="okta:user:1", kind=NodeKind.Account, active=True, properties={"email": "A@x.io", "created_at": "2026-01-02T00:00:00Z"}),
        Node(id="okta:user:2", kind=NodeKind.Account, active=True, properties={"email": "b@x.io"}),
        Node(id="okta:user:3", kind=NodeKind.Account, active=False, properties={"email": "c@x.io", "deactivated_at": "2026-02-01T00:00:00Z"}),
        Node(id="okta:group:g", kind=NodeKind.Team, properties={"name": "g"})],
        edges=[Edge(src="okta:user:1", dst="okta:group:g", kind=K.MEMBER_OF, properties={"role": "x"}),
               Edge(src="okta:user:2", dst="okta:group:g", kind=K.MEMBER_OF),
               Edge(src="okta:user:3", dst="okta:group:g", kind=K.MEMBER_OF),
               Edge(src="okta:user:2", dst="tool:t", kind=K.USES, properties={"seat": "s1"}),
               # lifted to the people: equal as Python keys, different as JSON
               Edge(src="okta:user:1", dst="tool:t", kind=K.USES, properties={"n": 1}),
               Edge(src="okta:user:3", dst="tool:t", kind=K.USES, properties={"n": True})]), True)
    store.load(recs("inventory", nodes=[
        Node(id="tool:t", kind=NodeKind.AITool, properties={"approved": True}),
        Node(id="person:c@x.io", kind=NodeKind.Person, properties={"email": "c@x.io"}),
        Node(id="okta:group:g", kind=NodeKind.Team, properties={"owner": "a@x.io"}),
        Node(id="data:d", kind=NodeKind.DataSource, properties={"sensitivity": "restricted"})],
        edges=[Edge(src="okta:user:1", dst="okta:group:g", kind=K.MEMBER_OF, properties={"role": "y", "extra": 1}),
               Edge(src="okta:user:2", dst="okta:group:g", kind=K.MEMBER_OF, properties={"z": 2}),
               Edge(src="tool:t", dst="openai:api_key:k", kind=K.HOLDS),
               Edge(src="openai:api_key:k", dst="data:d", kind=K.CAN_ACCESS, properties={"access": "write"}),
               Edge(src="okta:group:g", dst="data:d", kind=K.CAN_ACCESS, properties={"access": "bogus"})]), True)
    # Inventory drops its okta:user:2 edges and the person: removed rows. The okta
    # edge of user:2 stays live after inventory's (first by source order) removed one.
    store.load(recs("inventory", nodes=[
        Node(id="tool:t", kind=NodeKind.AITool, properties={"approved": True}),
        Node(id="okta:group:g", kind=NodeKind.Team, properties={"owner": "a@x.io"}),
        Node(id="data:d", kind=NodeKind.DataSource, properties={"sensitivity": "restricted"})],
        edges=[Edge(src="okta:user:1", dst="okta:group:g", kind=K.MEMBER_OF, properties={"role": "y", "extra": 1}),
               Edge(src="tool:t", dst="openai:api_key:k", kind=K.HOLDS),
               Edge(src="openai:api_key:k", dst="data:d", kind=K.CAN_ACCESS, properties={"access": "write"}),
               Edge(src="okta:group:g", dst="data:d", kind=K.CAN_ACCESS, properties={"access": "bogus"})],
        usage=[UsageRow(day=date(2026, 3, 1), model="gpt-4o", credential_id="openai:api_key:k",
                        input_tokens=1, output_tokens=1, requests=1)]), True)
    # Two leaks whose match evidence differs only by 1 versus true.
    h1, h2 = "a" * 64, "b" * 64
    store.load(recs("trufflehog", nodes=[
        Node(id="openai:api_key:k1", kind=NodeKind.Credential, properties={"sha256": h1}),
        Node(id="openai:api_key:k2", kind=NodeKind.Credential, properties={"sha256": h2}),
        Node(id="trufflehog:finding:1", kind=NodeKind.SecretExposure,
             properties={"sha256": h1, "scanner": "trufflehog", "verified": 1}),
        Node(id="trufflehog:finding:2", kind=NodeKind.SecretExposure,
             properties={"sha256": h2, "scanner": "trufflehog", "verified": True})]), True)
    # A GitHub account nobody links, and an edge whose every row is removed.
    store.load(recs("github", nodes=[Node(id="github:user:octo", kind=NodeKind.Account)],
                    edges=[Edge(src="github:user:octo", dst="okta:group:g", kind=K.MEMBER_OF)]), True)
    store.load(recs("github", nodes=[Node(id="github:user:octo", kind=NodeKind.Account)]), True)
    return store


def test_columnar_build_equals_view_build_on_awkward_rows(db_path):
    store = awkward_store(db_path)
    a, b = classic(store), graph_build.build(store, days_of(store))
    assert isinstance(b.edges, EdgeColumns) and not isinstance(a.edges, EdgeColumns)
    assert_same_graph(a, b)
    # what the awkward rows must have produced (so the equality is not vacuous)
    merged = next(e for e in b.out_edges("okta:user:1") if e.kind == "MEMBER_OF")
    assert merged.sources == ["inventory", "okta"] and merged.properties == {"role": "x", "extra": 1}
    first_removed = next(e for e in b.out_edges("okta:user:2") if e.kind == "MEMBER_OF")
    assert first_removed.sources == ["okta"] and first_removed.properties == {"z": 2}
    assert b.out_edges("github:user:octo") == []
    assert b.node_view("openai:api_key:k").properties == {"stub": True}
    assert {e.src for e in b.in_edges("okta:user:1", {"HAS_ACCOUNT"})} == {"person:a@x.io"}
    assert b.node_view("person:c@x.io").properties.get("stub") is True   # removed, then named by a link
    lifted = b.out_edges("person:b@x.io", {"USES"})
    assert [(e.dst, e.properties, e.sources) for e in lifted] == [
        ("tool:t", {"seat": "s1", "via_account": "okta:user:2"}, ["derived"])]
    leaks = {e.src: e.properties["verified"] for e in b.edges if e.kind == "EXPOSED_IN"}
    assert leaks == {"openai:api_key:k1": 1, "openai:api_key:k2": True}
    assert leaks["openai:api_key:k2"] is True and type(leaks["openai:api_key:k1"]) is int
    lifted_n = {e.src: e.properties["n"] for e in b.edges if e.kind == "USES" and "n" in e.properties
                and e.sources == ["derived"]}
    assert lifted_n == {"person:a@x.io": 1, "person:c@x.io": True}
    assert type(lifted_n["person:a@x.io"]) is int and lifted_n["person:c@x.io"] is True
    bogus = [i for i, e in enumerate(b.edges) if e.properties.get("access") == "bogus"]
    assert len(bogus) == 1 and b.e_access[bogus[0]] == 1        # an unknown level reads as read
    assert answers(a, a.ids) == answers(b, b.ids)


def test_columnar_build_equals_view_build_on_the_demo(demo_db):
    store = SQLiteStore(demo_db)
    a, b = classic(store), graph_build.build(store, days_of(store))
    assert any(e.sources == ["derived"] for e in b.edges)
    assert_same_graph(a, b)
    assert answers(a, a.ids[::3]) == answers(b, b.ids[::3])
    store.close()


def test_edges_materialise_once_and_agree_with_the_adjacency_index(demo_db):
    store = SQLiteStore(demo_db)
    g = graph_build.build(store, days_of(store))
    assert g.edges[5] is g.edges[5] and g.edges[-1] is g.edges[len(g.edges) - 1]
    assert g.edges[2:4] == [g.edges[2], g.edges[3]]
    idx = adjacency(g)
    for nid in g.ids[::7]:
        for kind in ("OWNS", "HOLDS", "MEMBER_OF"):
            got = idx.out_edges(nid, {kind})
            want = g.out_edges(nid, {kind})
            assert len(got) == len(want) and all(x is y for x, y in zip(got, want))
    store.close()


def test_cache_reloads_the_same_graph(demo_db, tmp_path):
    db = copy_db(demo_db, tmp_path / "demo.db")
    first = SQLiteStore(db)
    built = first.graph()
    assert first.graph_source == "rows" and graph_cache.cache_path(db).exists()
    second = SQLiteStore(db)
    cached = second.graph()
    assert second.graph_source == "cache"
    assert isinstance(cached.views, ViewColumns) and isinstance(cached.edges, EdgeColumns)
    assert_same_graph(built, cached)
    assert answers(built, built.ids) == answers(cached, cached.ids)
    for kind in [None] + sorted(built.by_kind):
        assert built.list_nodes(kind, 3, 20) == cached.list_nodes(kind, 3, 20)
        assert built.first_index_after(kind, "m") == cached.first_index_after(kind, "m")
    assert cached.node_view("nope") is None and cached.out_edges("nope") == []
    first.close()
    second.close()


def test_cache_is_not_used_for_another_generation(tmp_path):
    db = tmp_path / "a.db"
    store = SQLiteStore(db)
    store.load(recs("inventory", nodes=[Node(id="tool:one", kind=NodeKind.AITool)]), True)
    assert store.graph().node_view("tool:one") is not None
    store.load(recs("inventory", nodes=[Node(id="tool:two", kind=NodeKind.AITool)]), True)
    fresh = SQLiteStore(db)
    g = fresh.graph()
    assert fresh.graph_source == "rows"
    assert g.node_view("tool:two") is not None and g.node_view("tool:one") is None
    again = SQLiteStore(db)
    assert again.graph().node_view("tool:two") is not None and again.graph_source == "cache"
    # the same store object picks the new generation up too
    assert store.graph().node_view("tool:two") is not None


def test_cache_of_a_replaced_database_is_not_used(tmp_path):
    db = tmp_path / "a.db"
    store = SQLiteStore(db)
    store.load(recs("inventory", nodes=[Node(id="tool:old", kind=NodeKind.AITool)]), True)
    store.graph()
    store.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"a.db{suffix}").unlink(missing_ok=True)
    assert graph_cache.cache_path(db).exists()
    store = SQLiteStore(db)       # rebuilt: the same generation count, other data
    store.load(recs("inventory", nodes=[Node(id="tool:new", kind=NodeKind.AITool)]), True)
    g = store.graph()
    assert store.graph_source == "rows"
    assert g.node_view("tool:new") is not None and g.node_view("tool:old") is None


@pytest.mark.parametrize("damage", ["truncate", "garbage", "header"])
def test_damaged_cache_is_rebuilt(demo_db, tmp_path, damage):
    db = copy_db(demo_db, tmp_path / "demo.db")
    want = SQLiteStore(db).graph()
    path = graph_cache.cache_path(db)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    else:
        path.write_bytes(data[:15] + (10 ** 6).to_bytes(8, "little") + data[23:])
    store = SQLiteStore(db)
    got = store.graph()
    assert store.graph_source == "rows"
    assert_same_graph(want, got)
    assert SQLiteStore(db).graph() is not None     # and rewritten whole
    assert path.read_bytes()[:15] == graph_cache.MAGIC


def test_ingest_leaves_the_graph_cached_for_the_next_start(tmp_path):
    from engine.service import Engine
    from tests.conftest import DEMO
    db = tmp_path / "demo.db"
    eng = Engine.open(str(db))
    eng.ingest([DEMO])
    assert graph_cache.cache_path(db).exists()
    built = eng.graph()
    eng.close()
    store = SQLiteStore(db)
    assert_same_graph(built, store.graph())
    assert store.graph_source == "cache"


def test_threads_reading_columns_get_the_same_objects(demo_db, tmp_path):
    import random
    from concurrent.futures import ThreadPoolExecutor
    db = copy_db(demo_db, tmp_path / "demo.db")
    SQLiteStore(db).graph()
    g = SQLiteStore(db).graph()           # from the cache: nothing materialised yet
    assert isinstance(g.views, ViewColumns)

    def read(seed):
        order = list(range(len(g.edges)))
        random.Random(seed).shuffle(order)
        edges = {i: g.edges[i] for i in order}
        views = {i: g.views[i] for i in reversed(range(len(g.views)))}
        return edges, views

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, range(8)))
    for edges, views in results[1:]:
        assert all(edges[i] is results[0][0][i] for i in edges)
        assert all(views[i] is results[0][1][i] for i in views)


@pytest.mark.parametrize("seed", [1, 7])
def test_columnar_build_equals_view_build_on_random_loads_and_resyncs(tmp_path, seed):
    """Several sources stating the same edges, then a re-sync removing some of their
    endpoints: a merged edge whose endpoint is gone must simply not be kept."""
    from tests.parity_data import random_records, resync_without
    store = SQLiteStore(tmp_path / "r.db")
    loads = random_records(seed)
    for r in loads:
        store.load(r, complete=True)
    assert_same_graph(classic(store), graph_build.build(store, days_of(store)))
    vendor, idp, _ = loads
    store.load(resync_without(idp, 3), complete=True)
    store.load(resync_without(vendor, 4), complete=False)
    a, b = classic(store), graph_build.build(store, days_of(store))
    assert_same_graph(a, b)
    assert answers(a, a.ids) == answers(b, b.ids)


# --- the edge rows read by a child process ------------------------------------------
def built_both_ways(store) -> tuple[MemoryGraph, MemoryGraph]:
    """(one process, edge rows read by a child process), asserting the child was used."""
    store.parallel_build = False
    here = graph_build.build(store, days_of(store))
    store.parallel_build = True
    graph_build.last_fallback = None
    phases: dict = {}
    there = graph_build.build(store, days_of(store), phases)
    assert graph_build.last_fallback is None and "edges in the child (its CPU)" in phases
    return here, there


def assert_same_columns(a: MemoryGraph, b: MemoryGraph) -> None:
    """Beyond equal views and edges: the same property and source tables and codes
    (so the cache file does not depend on which process read the rows)."""
    assert_same_graph(a, b)
    assert a.edges.props == b.edges.props and a.edges.sources == b.edges.sources
    assert np.array_equal(a.edges.pcode, b.edges.pcode) and np.array_equal(a.edges.scode, b.edges.scode)


def test_child_process_read_equals_one_process_read_on_awkward_rows(db_path):
    store = awkward_store(db_path)
    here, there = built_both_ways(store)
    assert_same_columns(here, there)
    assert_same_graph(classic(store), there)
    assert answers(here, here.ids) == answers(there, there.ids)


@pytest.mark.parametrize("seed", [3, 11])
def test_child_process_read_equals_one_process_read_after_resyncs(tmp_path, seed):
    from tests.parity_data import random_records, resync_without
    store = SQLiteStore(tmp_path / "r.db")
    loads = random_records(seed)
    for r in loads:
        store.load(r, complete=True)
    vendor, idp, _ = loads
    store.load(resync_without(idp, 2), complete=True)
    store.load(resync_without(vendor, 5), complete=False)
    here, there = built_both_ways(store)
    assert_same_columns(here, there)
    assert_same_graph(classic(store), there)


def test_child_process_read_of_the_demo_through_the_cache(demo_db, tmp_path):
    db = copy_db(demo_db, tmp_path / "demo.db")
    one = SQLiteStore(db)
    one.parallel_build = False
    want = one.graph()
    graph_cache.cache_path(db).unlink()
    two = SQLiteStore(db)
    two.parallel_build = True
    got = two.graph()
    assert two.graph_source == "rows" and "edges in the child (its CPU)" in two.graph_timings["phases"]
    assert_same_columns(want, got)
    three = SQLiteStore(db)
    assert_same_columns(want, three.graph())
    assert three.graph_source == "cache"
    for s in (one, two, three):
        s.close()


def test_child_that_read_another_store_state_is_not_used(tmp_path):
    """A load committed after this process's snapshot began but before the child read:
    the child sees the next generation, so its rows are dropped and the edges read
    here, in the snapshot the nodes came from."""
    db = tmp_path / "a.db"
    store = SQLiteStore(db)
    store.load(recs("inventory", nodes=[Node(id="tool:one", kind=NodeKind.AITool)],
                    edges=[Edge(src="tool:one", dst="data:d1", kind=K.CAN_ACCESS)]), True)
    writer = SQLiteStore(db)
    with store.read_snapshot():
        before = store.graph_key()
        assert store.generation() == before[0]        # the snapshot is pinned here
        writer.load(recs("inventory", nodes=[Node(id="tool:two", kind=NodeKind.AITool)],
                         edges=[Edge(src="tool:two", dst="data:d2", kind=K.CAN_ACCESS)]), True)
        store.parallel_build = True
        graph_build.last_fallback = None
        phases: dict = {}
        g = graph_build.build(store, days_of(store), phases)
        assert store.graph_key() == before
        want = classic(store)
    assert graph_build.last_fallback and "another store state" in graph_build.last_fallback
    assert "edge child failed: read here" in phases
    assert_same_graph(want, g)
    assert g.node_view("tool:one") is not None and g.node_view("tool:two") is None
    assert g.node_view("data:d2") is None and [e.dst for e in g.out_edges("tool:one")] == ["data:d1"]
    # outside the snapshot both are there, through the child again
    graph_build.last_fallback = None
    fresh = graph_build.build(store, days_of(store))
    assert graph_build.last_fallback is None
    assert fresh.node_view("tool:two") is not None and fresh.node_view("data:d2") is not None
    writer.close()
    store.close()


def test_child_that_fails_reports_why(tmp_path):
    from engine.graph_rows import ChildReader
    reader = ChildReader(str(tmp_path / "missing" / "x.db"))
    assert reader.result() is None
    assert "OperationalError" in reader.error
    assert reader.proc.returncode is not None


def test_small_stores_read_their_edges_here(db_path):
    store = awkward_store(db_path)
    assert store.edge_reader_path() is None            # a few pages: a child costs more
    store.parallel_build = True
    assert store.edge_reader_path() == str(db_path)
    store.parallel_build = False
    assert store.edge_reader_path() is None
    assert SQLiteStore(":memory:").edge_reader_path() is None


def test_edge_split_gives_this_process_about_its_share(tmp_path):
    from tests.parity_data import random_records
    store = SQLiteStore(tmp_path / "r.db")
    for r in random_records(5):
        store.load(r, complete=True)
    rows = store.raw_edge_rows().fetchall()
    bound = store.edge_split(0.25)
    mine = store.raw_edge_rows(bound).fetchall()
    assert mine == [r for r in rows if r[0] >= bound] and 0 < len(mine) < len(rows)
    assert len(mine) >= len(rows) // 4 and min(r[0] for r in mine) == bound
    assert store.edge_split(0.0) is None and store.edge_split(1.0) is None
    # the split read (child below the bound, this process the rest) equals one read
    store.parallel_build = False
    want = graph_build.build(store, days_of(store))
    for share in (0.25, 0.9):
        graph_build.PARENT_EDGE_SHARE, saved = share, graph_build.PARENT_EDGE_SHARE
        try:
            store.parallel_build = True
            graph_build.last_fallback = None
            got = graph_build.build(store, days_of(store))
        finally:
            graph_build.PARENT_EDGE_SHARE = saved
        assert graph_build.last_fallback is None
        assert_same_columns(want, got)


def test_a_cache_that_cannot_be_written_still_serves_the_graph(demo_db, tmp_path):
    db = copy_db(demo_db, tmp_path / "demo.db")
    graph_cache.cache_path(db).mkdir()          # nothing can be renamed over a directory
    store = SQLiteStore(db)
    g = store.graph()
    assert store.graph_source == "rows" and graph_cache.cache_path(db).is_dir()
    assert not hasattr(g, "view_records")        # the build's serialised views are dropped
    assert_same_graph(classic(store), g)
    assert not list(tmp_path.glob("demo.db.graph.tmp-*"))
    store.close()


def test_child_process_reads_a_store_named_by_a_relative_path(demo_db, tmp_path, monkeypatch):
    """`--db` defaults to ./burnpath.db: the child (which runs from the package root)
    must read that file, not one of the same name relative to its own directory."""
    work = tmp_path / "work"
    work.mkdir()
    copy_db(demo_db, work / "burnpath.db")
    monkeypatch.chdir(work)
    store = SQLiteStore("burnpath.db")
    try:
        here, there = built_both_ways(store)
        assert_same_columns(here, there)
    finally:
        store.close()
    assert not (Path(graph_build.__file__).resolve().parent.parent / "burnpath.db").exists()
