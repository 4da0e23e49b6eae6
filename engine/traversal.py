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


def _best(nbrs: np.ndarray, vals: np.ndarray, parents: np.ndarray, eids: np.ndarray):
    """Per distinct neighbour, the candidate with the highest value, then the lowest
    parent index, then the lowest edge id. Returns positions into the candidates."""
    order = np.lexsort((eids, parents, -vals, nbrs))
    nb = nbrs[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = nb[1:] != nb[:-1]
    return order[first]


def traverse(g: MemoryGraph, node_id: str, max_depth: int, reverse: bool = False) -> list[Reach]:
    """Forward: one access value per node (every edge's effect is monotone, so the
    per-level maximum is the best over all shortest paths). Reverse: the access a
    reacher gets depends on whether a possess edge lies between it and the target,
    so two values are kept per node: F (a possess edge already fixed it) and U (not
    yet: the minimum of explicit edges so far); the reacher's access is max(F, U)."""
    if node_id not in g.index:
        raise NodeNotFound(node_id)
    if max_depth < 0:
        raise ValueError("maxDepth must be 0 or more")
    csr = g.rev if reverse else g.fwd
    n = len(g.ids)
    s = g.index[node_id]
    seen = np.zeros(n, dtype=bool)
    seen[s] = True
    # state -> {node: value}; forward uses only "U" (its single value).
    val = {"F": {s: -1}, "U": {s: ADMIN}}
    # (state, node) -> (parent, edge id, parent's state)
    parent: dict[tuple[str, int], tuple[int, int, str]] = {}
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
        plist = parents.tolist()
        p_u = np.fromiter((val["U"][p] for p in plist), dtype=np.int64, count=len(plist))
        if not reverse:
            cand_u = np.where(flows == 0, np.minimum(p_u, e_acc), np.where(flows == 2, ADMIN, p_u))
            chosen = _best(nbrs, cand_u, parents, eids)
            for v, p, e, a in zip(nbrs[chosen].tolist(), parents[chosen].tolist(),
                                  eids[chosen].tolist(), cand_u[chosen].tolist()):
                val["U"][v] = a
                val["F"][v] = -1
                parent[("U", v)] = (p, e, "U")
                depth_of[v] = depth
        else:
            p_f = np.fromiter((val["F"][p] for p in plist), dtype=np.int64, count=len(plist))
            possess = flows == 2
            cand_f = np.where(possess, np.maximum(p_f, p_u), p_f)
            # the parent state an F candidate continues: over a possess edge, whichever
            # of the parent's values was larger (F on ties)
            from_u = possess & (p_u > p_f)
            cand_u = np.where(possess, -1, np.where(flows == 0, np.where(p_u >= 0, np.minimum(p_u, e_acc), -1), p_u))
            chosen_f = _best(nbrs, cand_f, parents, eids)
            chosen_u = _best(nbrs, cand_u, parents, eids)
            for v, p, e, a, fu in zip(nbrs[chosen_f].tolist(), parents[chosen_f].tolist(),
                                      eids[chosen_f].tolist(), cand_f[chosen_f].tolist(),
                                      from_u[chosen_f].tolist()):
                val["F"][v] = a
                parent[("F", v)] = (p, e, "U" if fu else "F")
                depth_of[v] = depth
            for v, p, e, a in zip(nbrs[chosen_u].tolist(), parents[chosen_u].tolist(),
                                  eids[chosen_u].tolist(), cand_u[chosen_u].tolist()):
                val["U"][v] = a
                parent[("U", v)] = (p, e, "U")
        new_nodes = np.unique(nbrs)
        seen[new_nodes] = True
        frontier = new_nodes
    out: list[Reach] = []
    ids = g.ids
    for v, d in depth_of.items():
        f, u = val["F"].get(v, -1), val["U"].get(v, -1)
        state = "F" if f >= u else "U"
        access = max(f, u)
        path = [v]
        kinds = []
        cur = v
        while cur != s:
            p, e, pstate = parent[(state, cur)]
            kinds.append(EDGE_NAMES[g.e_kind[e]])
            path.append(p)
            cur, state = p, pstate
        if not reverse:
            path.reverse()
            kinds.reverse()
        out.append(Reach(node_id=ids[v], depth=d, access=ACCESS_NAMES[access],
                         path=[ids[i] for i in path], edge_kinds=kinds))
    out.sort(key=lambda r: (r.depth, r.node_id))
    return out
