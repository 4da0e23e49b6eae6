"""The traversal's two level implementations (plain Python for small levels, numpy
array operations for large ones) give the same answers as each other and as the
brute-force reference; and its lazily resolved Reach objects behave as plain ones."""
import dataclasses
import pickle
import random

import pytest

import engine.traversal as T
from engine.model import EdgeKind
from engine.store.base import Reach
from engine.store.sqlite import SQLiteStore
from tests.test_traversal import _reference, build, reach

K = EdgeKind


def answers(g, ids, depth):
    return [[(r.node_id, r.depth, r.access, r.path, r.edge_kinds) for r in T.traverse(g, nid, depth, rev)]
            for nid in ids for rev in (False, True)]


@pytest.mark.parametrize("small", [0, 10 ** 9])
@pytest.mark.parametrize("seed", range(6))
def test_each_level_implementation_matches_reference(tmp_path, monkeypatch, seed, small):
    monkeypatch.setattr(T, "_SMALL", small)
    rng = random.Random(100 + seed)
    nodes = [f"a:x:{i}" for i in range(30)]
    uniq = {}
    for _ in range(90):
        k, n1, n2 = rng.choice(list(EdgeKind)), rng.choice(nodes), rng.choice(nodes)
        access = rng.choice([None, "read", "write", "admin"]) if k in (K.CAN_ACCESS, K.GRANTS, K.CONTAINS) else None
        uniq[(n1, k, n2)] = (n1, k, n2, access)
    edges = sorted(uniq.values(), key=lambda e: (e[0], e[1].value, e[2]))
    store = build(tmp_path / "r.db", edges, nodes=nodes)
    for start in nodes[:12]:
        for depth in (1, 2, 8):
            for rev in (False, True):
                assert reach(store, start, depth, rev) == _reference(edges, start, depth, rev)


def test_level_implementations_agree_on_paths_of_the_demo(demo_db, monkeypatch):
    g = SQLiteStore(demo_db).graph()
    ids = g.ids
    monkeypatch.setattr(T, "_SMALL", 0)
    all_numpy = answers(g, ids, 8) + answers(g, ids, 2)
    monkeypatch.setattr(T, "_SMALL", 10 ** 9)
    all_python = answers(g, ids, 8) + answers(g, ids, 2)
    assert all_numpy == all_python
    assert sum(len(a) for a in all_numpy) > 1000         # not vacuous: the demo reaches far
    assert any(len(p) > 3 for a in all_numpy for (_, _, _, p, _) in a)


def test_lazy_reach_is_a_plain_reach(demo_db):
    g = SQLiteStore(demo_db).graph()
    r = next(r for r in T.traverse(g, "tool:drift-chat", 8) if r.depth >= 2)
    plain = Reach(r.node_id, r.depth, r.access, list(r.path), list(r.edge_kinds))
    assert isinstance(r, Reach) and r == plain and plain == r and not (r != plain)
    assert dataclasses.asdict(r) == dataclasses.asdict(plain)
    assert pickle.loads(pickle.dumps(r)) == plain and type(pickle.loads(pickle.dumps(r))) is Reach
    assert repr(r) == repr(plain)
    assert len(r.path) == r.depth + 1 and len(r.edge_kinds) == r.depth and r.path[0] == "tool:drift-chat"
    moved = dataclasses.replace(r, depth=9, path=["x"])
    assert moved.depth == 9 and moved.path == ["x"] and moved.edge_kinds == r.edge_kinds
    other = Reach(r.node_id, r.depth, r.access, list(r.path), list(r.edge_kinds) + ["X"])
    assert r != other and other != r


def test_node_kinds_are_aligned_with_the_answers(demo_db, monkeypatch):
    from engine.graph import KIND_CODES
    g = SQLiteStore(demo_db).graph()
    for small in (0, 10 ** 9):
        monkeypatch.setattr(T, "_SMALL", small)
        for nid in g.ids:
            for rev in (False, True):
                got = T.traverse(g, nid, 8, rev)
                assert len(got.node_kinds) == len(got)
                assert [KIND_CODES[g.node_view(r.node_id).kind] for r in got] == got.node_kinds.tolist()
