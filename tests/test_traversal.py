"""Blast radius and who-can-reach: depth limits, cycles, self-loops, access levels,
missing nodes, reverse; checked against a brute-force reference."""
import random

import pytest

from engine.model import Edge, EdgeKind, Node, NodeKind, Records
from engine.store.sqlite import SQLiteStore
from engine.traversal import NodeNotFound, traverse

K = EdgeKind


def build(db_path, edges, nodes=()):
    store = SQLiteStore(db_path)
    ids = {s for s, _, _, _ in edges} | {d for _, _, d, _ in edges} | set(nodes)
    rec = Records(source="inventory",
                  nodes=[Node(id=i, kind=NodeKind.DataSource if i.startswith("data:") else NodeKind.Account)
                         for i in sorted(ids)],
                  edges=[Edge(src=s, dst=d, kind=k, properties={"access": a} if a else {})
                         for s, k, d, a in edges])
    store.load(rec, True)
    return store


def reach(store, node, depth=8, reverse=False):
    return {r.node_id: (r.depth, r.access) for r in traverse(store.graph(), node, depth, reverse)}


def test_chain_depth_limits(db_path):
    store = build(db_path, [("a:x:1", K.HOLDS, "a:x:2", None), ("a:x:2", K.HOLDS, "a:x:3", None),
                            ("a:x:3", K.HOLDS, "a:x:4", None)])
    assert set(reach(store, "a:x:1", 0)) == set()
    assert set(reach(store, "a:x:1", 1)) == {"a:x:2"}
    assert set(reach(store, "a:x:1", 2)) == {"a:x:2", "a:x:3"}
    assert reach(store, "a:x:1")["a:x:4"][0] == 3


def test_cycles_and_self_loops_terminate(db_path):
    store = build(db_path, [("a:x:1", K.HOLDS, "a:x:2", None), ("a:x:2", K.HOLDS, "a:x:1", None),
                            ("a:x:2", K.HOLDS, "a:x:2", None), ("a:x:1", K.HOLDS, "a:x:1", None)])
    assert reach(store, "a:x:1") == {"a:x:2": (1, "admin")}
    assert reach(store, "a:x:1", reverse=True) == {"a:x:2": (1, "admin")}


def test_non_traversable_edges_are_not_followed(db_path):
    store = build(db_path, [("a:x:1", K.EXPOSED_IN, "a:x:2", None), ("a:x:1", K.CONSENTED, "a:x:3", None),
                            ("a:x:1", K.USES, "a:x:4", None), ("a:x:1", K.OWNS, "a:x:5", None)])
    assert set(reach(store, "a:x:1")) == {"a:x:5"}


def test_access_is_bottlenecked_and_restored_by_possession(db_path):
    # tool -read-> app -contains(write)-> data -stores-> key -acts as-> bot -admin-> warehouse
    store = build(db_path, [
        ("tool:t", K.CAN_ACCESS, "saas:app", "read"),
        ("saas:app", K.CONTAINS, "data:crm", "write"),
        ("data:crm", K.STORES_SECRET, "aws:access_key:bot:1", None),
        ("aws:access_key:bot:1", K.AUTHENTICATES_AS, "aws:iam_user:bot", None),
        ("aws:iam_user:bot", K.CAN_ACCESS, "data:wh", "admin"),
    ])
    r = reach(store, "tool:t")
    assert r["saas:app"] == (1, "read")
    assert r["data:crm"] == (2, "read")          # write on the app's side, but we only read the app
    assert r["aws:access_key:bot:1"] == (3, "admin")  # holding a key is full use of it
    assert r["data:wh"] == (5, "admin")


def test_strongest_access_among_shortest_paths(db_path):
    store = build(db_path, [("a:x:s", K.CAN_ACCESS, "a:x:m1", "read"), ("a:x:s", K.CAN_ACCESS, "a:x:m2", "write"),
                            ("a:x:m1", K.MEMBER_OF, "a:x:t", None), ("a:x:m2", K.MEMBER_OF, "a:x:t", None)])
    [t] = [r for r in traverse(store.graph(), "a:x:s", 8) if r.node_id == "a:x:t"]
    assert t.access == "write" and t.path == ["a:x:s", "a:x:m2", "a:x:t"]
    assert t.edge_kinds == ["CAN_ACCESS", "MEMBER_OF"]


def test_reverse_paths_run_from_reacher_to_target_with_forward_access(db_path):
    store = build(db_path, [
        ("tool:t", K.CAN_ACCESS, "saas:app", "read"),
        ("saas:app", K.CONTAINS, "data:crm", "write"),
        ("data:crm", K.STORES_SECRET, "aws:access_key:bot:1", None),
        ("aws:access_key:bot:1", K.AUTHENTICATES_AS, "aws:iam_user:bot", None),
        ("aws:iam_user:bot", K.CAN_ACCESS, "data:wh", "admin"),
    ])
    rev = {r.node_id: r for r in traverse(store.graph(), "data:wh", 8, reverse=True)}
    assert rev["tool:t"].path == ["tool:t", "saas:app", "data:crm", "aws:access_key:bot:1",
                                  "aws:iam_user:bot", "data:wh"]
    assert rev["tool:t"].depth == 5 and rev["tool:t"].access == "admin"
    rev_crm = {r.node_id: r for r in traverse(store.graph(), "data:crm", 8, reverse=True)}
    assert rev_crm["tool:t"].access == "read" and rev_crm["saas:app"].access == "write"


def test_missing_node_is_a_clear_error(db_path):
    store = build(db_path, [("a:x:1", K.HOLDS, "a:x:2", None)])
    with pytest.raises(NodeNotFound, match="no node with id 'a:x:nope'"):
        traverse(store.graph(), "a:x:nope", 8)


def test_isolated_node_reaches_nothing(db_path):
    store = build(db_path, [("a:x:1", K.HOLDS, "a:x:2", None)], nodes=["a:x:lonely"])
    assert reach(store, "a:x:lonely") == {}


def _reference(edges, start, depth, reverse):
    """Brute force: BFS by levels over Python sets, strongest access among shortest paths."""
    from engine.graph import edge_access
    from engine.model import EDGE_KINDS, AccessFlow
    adj = {}
    for s, k, d, a in edges:
        if not k.traversable:
            continue
        acc = edge_access(k.value, {"access": a} if a else {})
        flow = EDGE_KINDS[k].flow
        if reverse:
            adj.setdefault(d, []).append((s, flow, acc))
        else:
            adj.setdefault(s, []).append((d, flow, acc))
    # Enumerate every shortest path (small graphs) and take the best access over them.
    dist = {start: 0}
    frontier = [start]
    for level in range(1, depth + 1):
        nxt = []
        for u in frontier:
            for v, _, _ in adj.get(u, []):
                if v not in dist:
                    dist[v] = level
                    nxt.append(v)
        frontier = nxt

    def paths_to(v):  # lists of (flow, acc) from start to v along shortest paths
        if v == start:
            return [[]]
        out = []
        for u, lst in adj.items():
            if dist.get(u, -9) != dist[v] - 1:
                continue
            for w, flow, acc in lst:
                if w == v:
                    out += [p + [(flow, acc)] for p in paths_to(u)]
        return out

    def forward_access(steps):  # steps in forward order
        a = 3
        for flow, acc in steps:
            a = min(a, acc) if flow is AccessFlow.explicit else (3 if flow is AccessFlow.possess else a)
        return a

    names = {1: "read", 2: "write", 3: "admin"}
    result = {}
    for v, d in dist.items():
        if v == start:
            continue
        best = max(forward_access(list(reversed(p)) if reverse else p) for p in paths_to(v))
        result[v] = (d, names[best])
    return result


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_match_reference(tmp_path, seed):
    rng = random.Random(seed)
    nodes = [f"a:x:{i}" for i in range(25)]
    kinds = list(EdgeKind)
    edges = set()
    for _ in range(60):
        k = rng.choice(kinds)
        edges.add((rng.choice(nodes), k, rng.choice(nodes),
                   rng.choice([None, "read", "write", "admin"]) if k in (K.CAN_ACCESS, K.GRANTS, K.CONTAINS) else None))
    edges = sorted(edges, key=lambda e: (e[0], e[1].value, e[2], str(e[3])))
    # one access per (src, kind, dst): the store merges duplicates
    uniq = {}
    for e in edges:
        uniq[(e[0], e[1], e[2])] = e
    edges = list(uniq.values())
    store = build(tmp_path / "r.db", edges, nodes=nodes)
    from engine.graph import edge_access
    from engine.model import EDGE_KINDS, AccessFlow
    acc_of = {(s, k.value, d): edge_access(k.value, {"access": a} if a else {}) for s, k, d, a in edges}
    names = {1: "read", 2: "write", 3: "admin"}
    for start in nodes[:10]:
        for depth in (1, 3, 8):
            for rev in (False, True):
                assert reach(store, start, depth, rev) == _reference(edges, start, depth, rev)
                # the evidence path exists edge by edge and delivers the reported access
                for r in traverse(store.graph(), start, depth, rev):
                    a = 3
                    for (u, v), kind in zip(zip(r.path, r.path[1:]), r.edge_kinds):
                        assert (u, kind, v) in acc_of
                        flow = EDGE_KINDS[EdgeKind(kind)].flow
                        a = min(a, acc_of[(u, kind, v)]) if flow is AccessFlow.explicit else (
                            3 if flow is AccessFlow.possess else a)
                    assert names[a] == r.access and len(r.path) == r.depth + 1
