"""Blast radius and its reverse over the CSR index: a level-synchronous BFS.

Each reached node gets its shortest depth, the strongest access any shortest path
delivers, and that path as evidence. Access along a path: an `explicit` edge caps it
at the edge's own level, `possess` (holding a key, owning a thing) restores full
control, `inherit` passes it on (see engine.model.EDGE_KINDS).

Ties between candidate parents of a node in one level go to the strongest access,
then the lowest parent index, then the lowest edge id, so answers never depend on
visiting order. Each node's neighbours come from one slice of the CSR arrays (the
edge id, kind and access packed into one integer per neighbour, built once per
graph); the per-query work is proportional to what is reached, not to the graph.
"""
from __future__ import annotations

import numpy as np

from .graph import EDGE_FLOW, EDGE_NAMES, MemoryGraph
from .model import Access
from .store.base import Reach

ACCESS_NAMES = {int(a): a.name for a in Access}
ADMIN = int(Access.admin)
_FLOW = [int(f) for f in EDGE_FLOW]      # edge kind code -> 0 explicit, 1 inherit, 2 possess


class NodeNotFound(LookupError):
    def __init__(self, node_id: str):
        super().__init__(f"no node with id {node_id!r}")
        self.node_id = node_id


def _reach(node_id: str, depth: int, access: str, path: list, kinds: list) -> Reach:
    """Reach(...) without the generated __init__'s keyword handling (a large share of
    a big blast radius is building these); the same object field for field."""
    r = _new(Reach)
    r.node_id, r.depth, r.access, r.path, r.edge_kinds = node_id, depth, access, path, kinds
    return r


_new = object.__new__


def _packed(g: MemoryGraph, reverse: bool):
    """(indptr as a list, neighbours, packed (edge id << 6 | kind << 2 | access)) for
    one direction, built on first use and kept on the graph."""
    attr = "_trav_rev" if reverse else "_trav_fwd"
    got = g.__dict__.get(attr)
    if got is None:
        csr = g.rev if reverse else g.fwd
        eids = csr.eids
        packed = (eids.astype(np.int64) << 6) | (g.e_kind[eids].astype(np.int64) << 2) \
            | g.e_access[eids].astype(np.int64)
        # Plain lists: slicing one per visited node is several times cheaper than
        # slicing numpy arrays and converting (a few hundred MB at 4M edges).
        got = (csr.indptr.tolist(), csr.indices.tolist(), packed.tolist())
        g.__dict__[attr] = got
    return got


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
    indptr, indices, packed = _packed(g, reverse)
    flow_of = _FLOW
    s = g.index[node_id]
    ids = g.ids
    names = EDGE_NAMES
    seen = {s}
    val_u = {s: ADMIN}
    val_f = {s: -1}
    # Evidence is built as the walk goes: (state, node) -> (path of ids, edge kinds),
    # each extending its chosen parent's, in walk order (source first).
    trail: dict[tuple[str, int], tuple[list, list]] = {("U", s): ([ids[s]], []), ("F", s): ([ids[s]], [])}
    depth_of: dict[int, int] = {}
    frontier = [s]
    depth = 0
    while depth < max_depth and frontier:
        depth += 1
        best_u: dict[int, tuple] = {}
        best_f: dict[int, tuple] = {}
        for p in frontier:
            lo, hi = indptr[p], indptr[p + 1]
            if lo == hi:
                continue
            pu = val_u[p]
            if not reverse:
                for v, m in zip(indices[lo:hi], packed[lo:hi]):
                    if v in seen:
                        continue
                    kind = (m >> 2) & 15
                    flow = flow_of[kind]
                    c = (pu if pu < (m & 3) else m & 3) if flow == 0 else (ADMIN if flow == 2 else pu)
                    cur = best_u.get(v)
                    if cur is None:
                        best_u[v] = (c, p, m >> 6, kind, "U")
                    elif c > cur[0] or (c == cur[0] and (p, m >> 6) < (cur[1], cur[2])):
                        best_u[v] = (c, p, m >> 6, kind, "U")
                continue
            pf = val_f[p]
            for v, m in zip(indices[lo:hi], packed[lo:hi]):
                if v in seen:
                    continue
                acc, kind, e = m & 3, (m >> 2) & 15, m >> 6
                flow = flow_of[kind]
                if flow == 2:
                    cf, from_u, cu = (pf if pf >= pu else pu), pu > pf, -1
                else:
                    cf, from_u = pf, False
                    cu = ((pu if pu < acc else acc) if pu >= 0 else -1) if flow == 0 else pu
                cur = best_f.get(v)
                if cur is None or cf > cur[0] or (cf == cur[0] and (p, e) < (cur[1], cur[2])):
                    best_f[v] = (cf, p, e, kind, "U" if from_u else "F")
                cur = best_u.get(v)
                if cur is None or cu > cur[0] or (cu == cur[0] and (p, e) < (cur[1], cur[2])):
                    best_u[v] = (cu, p, e, kind, "U")
        if not best_u:
            break
        for v, (c, p, e, kind, ps) in best_u.items():
            val_u[v] = c
            depth_of[v] = depth
            path, kinds = trail[(ps, p)]
            trail[("U", v)] = (path + [ids[v]], kinds + [names[kind]])
        if reverse:
            for v, (c, p, e, kind, ps) in best_f.items():
                val_f[v] = c
                path, kinds = trail[(ps, p)]
                trail[("F", v)] = (path + [ids[v]], kinds + [names[kind]])
        else:
            for v in best_u:
                val_f[v] = -1
        seen.update(best_u)
        frontier = sorted(best_u)
    out: list[Reach] = []
    for v, d in depth_of.items():
        f, u = val_f.get(v, -1), val_u.get(v, -1)
        path, kinds = trail[("F", v) if f >= u else ("U", v)]
        if reverse:       # reachers first: the path runs from the reacher to the target
            path, kinds = path[::-1], kinds[::-1]
        out.append(_reach(ids[v], d, ACCESS_NAMES[f if f >= u else u], path, kinds))
    out.sort(key=lambda r: (r.depth, r.node_id))
    return out
