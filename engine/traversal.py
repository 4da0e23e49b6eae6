"""Blast radius and its reverse over the CSR index: level-synchronous BFS in numpy.

Each reached node gets its shortest depth, the strongest access any shortest path
delivers, and that path as evidence. Access along a path: an `explicit` edge caps it
at the edge's own level, `possess` (holding a key, owning a thing) restores full
control, `inherit` passes it on (see engine.model.EDGE_KINDS).
"""
from __future__ import annotations

import numpy as np

from .graph import EDGE_FLOW, EDGE_NAMES, MemoryGraph
from .model import Access
from .store.base import Reach

ACCESS_NAMES = {int(a): a.name for a in Access}
ADMIN = int(Access.admin)


class NodeNotFound(LookupError):
    def __init__(self, node_id: str):
        super().__init__(f"no node with id {node_id!r}")
        self.node_id = node_id


def _expand(csr, frontier: np.ndarray):
    starts = csr.indptr[frontier]
    counts = csr.indptr[frontier + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return None
    parents = np.repeat(frontier, counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(starts, counts) + offsets
    return parents, csr.indices[pos], csr.eids[pos]


def traverse(g: MemoryGraph, node_id: str, max_depth: int, reverse: bool = False) -> list[Reach]:
    if node_id not in g.index:
        raise NodeNotFound(node_id)
    if max_depth < 0:
        raise ValueError("maxDepth must be 0 or more")
    csr = g.rev if reverse else g.fwd
    n = len(g.ids)
    s = g.index[node_id]
    seen = np.zeros(n, dtype=bool)
    seen[s] = True
    # For reverse walks, `frozen` marks a path already cut by a possess edge
    # (nearer the target), after which nothing further back can lower its access.
    acc = {s: ADMIN}
    frozen = {s: False}
    parent: dict[int, tuple[int, int]] = {}
    depth_of: dict[int, int] = {}
    frontier = np.array([s], dtype=np.int64)
    depth = 0
    while depth < max_depth and len(frontier):
        depth += 1
        got = _expand(csr, frontier)
        if got is None:
            break
        parents, nbrs, eids = got
        keep = ~seen[nbrs]
        parents, nbrs, eids = parents[keep], nbrs[keep], eids[keep]
        if not len(nbrs):
            break
        flows = EDGE_FLOW[g.e_kind[eids]]
        e_acc = g.e_access[eids].astype(np.int64)
        p_acc = np.fromiter((acc[p] for p in parents.tolist()), dtype=np.int64, count=len(parents))
        if not reverse:
            cand = np.where(flows == 0, np.minimum(p_acc, e_acc), np.where(flows == 2, ADMIN, p_acc))
            cand_frozen = np.zeros(len(cand), dtype=bool)
        else:
            p_frz = np.fromiter((frozen[p] for p in parents.tolist()), dtype=bool, count=len(parents))
            cand = np.where(p_frz | (flows != 0), p_acc, np.minimum(p_acc, e_acc))
            cand_frozen = p_frz | (flows == 2)
        # Best candidate per new node: strongest access, then lowest parent id, edge id.
        order = np.lexsort((eids, parents, -cand, nbrs))
        nbrs_s = nbrs[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = nbrs_s[1:] != nbrs_s[:-1]
        chosen = order[first]
        new_nodes = nbrs[chosen]
        seen[new_nodes] = True
        for v, p, e, a, f in zip(new_nodes.tolist(), parents[chosen].tolist(), eids[chosen].tolist(),
                                 cand[chosen].tolist(), cand_frozen[chosen].tolist()):
            parent[v] = (p, e)
            acc[v] = a
            frozen[v] = f
            depth_of[v] = depth
        frontier = np.unique(new_nodes)
    out: list[Reach] = []
    ids = g.ids
    for v, d in depth_of.items():
        path = [v]
        kinds = []
        cur = v
        while cur != s:
            p, e = parent[cur]
            kinds.append(EDGE_NAMES[g.e_kind[e]])
            path.append(p)
            cur = p
        if not reverse:
            path.reverse()
            kinds.reverse()
        out.append(Reach(node_id=ids[v], depth=d, access=ACCESS_NAMES[acc[v]],
                         path=[ids[i] for i in path], edge_kinds=kinds))
    out.sort(key=lambda r: (r.depth, r.node_id))
    return out
