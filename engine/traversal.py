"""Blast radius and its reverse over the CSR index: a level-synchronous BFS.

Each reached node gets its shortest depth, the strongest access any shortest path
delivers, and that path as evidence. Access along a path: an `explicit` edge caps it
at the edge's own level, `possess` (holding a key, owning a thing) restores full
control, `inherit` passes it on (see engine.model.EDGE_KINDS).

Ties between candidate parents of a node in one level go to the strongest access,
then the lowest parent index, then the lowest edge id, so answers never depend on
visiting order. Each level is a handful of numpy array operations over the CSR
slices of the frontier (the per-query work is proportional to what is reached, not
to the graph); Python only runs per reached node to build its evidence path and
`Reach`, and in reverse only for the (state, node) pairs the chosen paths use.
"""
from __future__ import annotations

import numpy as np

from .graph import EDGE_FLOW, EDGE_NAMES, MemoryGraph
from .model import Access
from .store.base import Reach

ACCESS_NAMES = {int(a): a.name for a in Access}
ADMIN = int(Access.admin)
_ACCESS_LIST = [ACCESS_NAMES[i] for i in range(max(ACCESS_NAMES) + 1)]


class NodeNotFound(LookupError):
    def __init__(self, node_id: str):
        super().__init__(f"no node with id {node_id!r}")
        self.node_id = node_id


_new = object.__new__


def _arrays(g: MemoryGraph, reverse: bool):
    """(indptr, neighbours, edge ids, kind, access, flow) per CSR position for one
    direction: the kind/access/flow columns gathered once per graph (a few bytes per
    traversable edge) so a level reads them with one fancy index each."""
    attr = "_trav_rev" if reverse else "_trav_fwd"
    got = g.__dict__.get(attr)
    if got is None:
        csr = g.rev if reverse else g.fwd
        kind = g.e_kind[csr.eids]
        got = (csr.indptr, csr.indices, csr.eids, kind, g.e_access[csr.eids].astype(np.int16),
               EDGE_FLOW[kind])
        g.__dict__[attr] = got
    return got


def _best(v: np.ndarray, value: np.ndarray, pos: np.ndarray, n_nodes: int, n_pos: int) -> np.ndarray:
    """Per distinct target in `v`, the candidate with the highest value, then the lowest
    CSR position (for one target, position order is (parent index, edge id) order: rows
    are laid out by parent, a row's entries by (neighbour, edge id)). Returns the chosen
    candidates' indices, ordered by target."""
    pos_bits = max(int(n_pos).bit_length(), 1)
    key = (v.astype(np.int64) << (pos_bits + 3)) | ((3 - value).astype(np.int64) << pos_bits) | pos
    order = np.argsort(key, kind="stable")
    sv = v[order]
    first = np.ones(len(sv), dtype=bool)
    first[1:] = sv[1:] != sv[:-1]
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
    indptr, indices, eids, kind_at, acc_at, flow_at = _arrays(g, reverse)
    n, n_pos = len(g.ids), len(indices)
    s = g.index[node_id]
    seen = np.zeros(n, dtype=bool)
    seen[s] = True
    frontier = np.array([s], dtype=np.int64)
    fu = np.array([ADMIN], dtype=np.int16)     # U value of each frontier node
    ff = np.array([-1], dtype=np.int16)        # F value (reverse only)
    # Per level: new nodes (ascending) and, per state, value, parent node, edge kind;
    # for F also whether the parent's trail was its U one.
    levels: list[tuple] = []
    depth = 0
    while depth < max_depth and len(frontier):
        depth += 1
        starts = indptr[frontier]
        counts = indptr[frontier + 1] - starts
        total = int(counts.sum())
        if not total:
            break
        if total <= _SMALL:
            level = _small_level(frontier, fu, ff, starts, counts, seen, indices, kind_at, acc_at, flow_at,
                                 reverse)
            if level is None:
                break
            levels.append(level)
            new = np.array(level[0], dtype=np.int64)
            seen[new] = True
            frontier, fu = new, np.array(level[1], dtype=np.int16)
            ff = np.array(level[4], dtype=np.int16) if reverse else np.full(len(new), -1, dtype=np.int16)
            continue
        ppos = np.repeat(np.arange(len(frontier)), counts)
        pos = np.arange(total, dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
        v = indices[pos]
        keep = ~seen[v]
        if not keep.all():
            v, pos, ppos = v[keep], pos[keep], ppos[keep]
            if not len(v):
                break
        flow = flow_at[pos]
        acc = acc_at[pos]
        pu = fu[ppos]
        if not reverse:
            c = np.where(flow == 0, np.minimum(pu, acc), np.where(flow == 2, ADMIN, pu))
            sel = _best(v, c, pos, n, n_pos)
            new = v[sel]
            u_val = c[sel]
            levels.append((new, u_val, frontier[ppos[sel]], kind_at[pos[sel]], None, None, None, None))
            f_val = np.full(len(new), -1, dtype=np.int16)
        else:
            pf = ff[ppos]
            poss = flow == 2
            cf = np.where(poss, np.maximum(pf, pu), pf)
            from_u = poss & (pu > pf)
            cu = np.where(poss, -1, np.where(flow == 0, np.where(pu >= 0, np.minimum(pu, acc), -1), pu))
            sel_u = _best(v, cu, pos, n, n_pos)
            sel_f = _best(v, cf, pos, n, n_pos)
            new = v[sel_u]
            u_val, f_val = cu[sel_u], cf[sel_f]
            levels.append((new, u_val, frontier[ppos[sel_u]], kind_at[pos[sel_u]],
                           f_val, frontier[ppos[sel_f]], kind_at[pos[sel_f]], from_u[sel_f]))
        seen[new] = True
        frontier, fu, ff = new, u_val, f_val
    return _evidence(g, s, levels, reverse)


class _Trail:
    """One traversal's parent links: a reached node's evidence path is resolved from
    them when first read (most callers never read most paths). up_u[v] = (parent,
    edge kind) of v's U trail, which extends the parent's U trail; up_f[v] = (parent,
    edge kind, whether it extends the parent's U trail) of v's F trail (reverse only)."""
    __slots__ = ("ids", "src", "up_u", "up_f", "reverse")

    def __init__(self, ids: list[str], src: int, reverse: bool):
        self.ids, self.src, self.reverse = ids, src, reverse
        self.up_u: dict[int, tuple] = {}
        self.up_f: dict[int, tuple] = {}

    def resolve(self, v: int, use_f: bool) -> tuple[list[str], list[str]]:
        nodes, kinds = [v], []
        up_u, up_f, src = self.up_u, self.up_f, self.src
        while v != src:
            if use_f:
                v, k, from_u = up_f[v]
                use_f = not from_u
            else:
                v, k = up_u[v]
            nodes.append(v)
            kinds.append(EDGE_NAMES[k])
        ids = self.ids
        if self.reverse:      # reachers first: the path runs from the reacher to the target
            return [ids[x] for x in nodes], kinds
        return [ids[x] for x in reversed(nodes)], kinds[::-1]


class _LazyReach(Reach):
    """A Reach whose path and edge kinds come from its traversal's parent links on
    first read; equal to (and compared field for field with) a plain Reach."""

    def _resolve(self) -> None:
        trail, v, use_f = self._lazy
        self._path, self._kinds = trail.resolve(v, use_f)

    @property
    def path(self) -> list[str]:
        try:
            return self._path
        except AttributeError:
            self._resolve()
            return self._path

    @path.setter
    def path(self, value: list[str]) -> None:
        self._path = value

    @property
    def edge_kinds(self) -> list[str]:
        try:
            return self._kinds
        except AttributeError:
            self._resolve()
            return self._kinds

    @edge_kinds.setter
    def edge_kinds(self, value: list[str]) -> None:
        self._kinds = value

    def _fields(self) -> tuple:
        return self.node_id, self.depth, self.access, self.path, self.edge_kinds

    def __eq__(self, other):
        if not isinstance(other, Reach):
            return NotImplemented
        return self._fields() == (other.node_id, other.depth, other.access, other.path, other.edge_kinds)

    __hash__ = None

    def __repr__(self) -> str:
        return (f"Reach(node_id={self.node_id!r}, depth={self.depth!r}, access={self.access!r}, "
                f"path={self.path!r}, edge_kinds={self.edge_kinds!r})")

    def __reduce__(self):
        return (Reach, self._fields())


# Below this many candidate edges a level is cheaper in plain Python than as a dozen
# numpy calls (most blast radii are a handful of nodes).
_SMALL = 48


def _small_level(frontier, fu, ff, starts, counts, seen, indices, kind_at, acc_at, flow_at, reverse):
    """One level as the numpy path computes it, candidate by candidate: parents and
    their CSR positions are visited in ascending order, so keeping the first of the
    best values is the lowest-position tie-break. Returns the level tuple (lists) or
    None when nothing new is reached."""
    best_u: dict[int, tuple] = {}
    best_f: dict[int, tuple] = {}
    pfs = ff.tolist() if reverse else [-1] * len(frontier)
    for p, pu, pf, lo, cnt in zip(frontier.tolist(), fu.tolist(), pfs, starts.tolist(), counts.tolist()):
        if not cnt:
            continue
        hi = lo + cnt
        for v, flow, acc, kind in zip(indices[lo:hi].tolist(), flow_at[lo:hi].tolist(),
                                      acc_at[lo:hi].tolist(), kind_at[lo:hi].tolist()):
            if seen[v]:
                continue
            if not reverse:
                c = (pu if pu < acc else acc) if flow == 0 else (ADMIN if flow == 2 else pu)
                cur = best_u.get(v)
                if cur is None or c > cur[0]:
                    best_u[v] = (c, p, kind)
                continue
            if flow == 2:
                cf, from_u, cu = (pf if pf >= pu else pu), pu > pf, -1
            else:
                cf, from_u = pf, False
                cu = ((pu if pu < acc else acc) if pu >= 0 else -1) if flow == 0 else pu
            cur = best_f.get(v)
            if cur is None or cf > cur[0]:
                best_f[v] = (cf, p, kind, from_u)
            cur = best_u.get(v)
            if cur is None or cu > cur[0]:
                best_u[v] = (cu, p, kind)
    if not best_u:
        return None
    new = sorted(best_u)
    u = [best_u[v] for v in new]
    if not reverse:
        return (new, [x[0] for x in u], [x[1] for x in u], [x[2] for x in u], None, None, None, None)
    f = [best_f[v] for v in new]
    return (new, [x[0] for x in u], [x[1] for x in u], [x[2] for x in u],
            [x[0] for x in f], [x[1] for x in f], [x[2] for x in f], [x[3] for x in f])


def _list(x) -> list:
    return x if isinstance(x, list) else x.tolist()


class ReachList(list):
    """traverse()'s answer: a plain list of Reach, plus `node_kinds`, the graph's kind
    code of each entry (aligned, for bulk filters that need no node view)."""
    node_kinds: np.ndarray


def _evidence(g: MemoryGraph, s: int, levels: list[tuple], reverse: bool) -> list[Reach]:
    """Reach objects in (depth, node id) order (levels ascend, and node index order is
    id order); each one's path is its chosen state's trail (F when F >= U, else U),
    resolved on first read."""
    ids, acc_names = g.ids, _ACCESS_LIST
    trail = _Trail(ids, s, reverse)
    up_u, up_f = trail.up_u, trail.up_f
    out = ReachList()
    reached = [np.asarray(level[0], dtype=np.int64) for level in levels]
    out.node_kinds = g.kinds[np.concatenate(reached)] if reached else g.kinds[:0]
    append = out.append
    new_reach = _new
    cls = _LazyReach
    for depth, (new, u_val, u_par, u_kind, f_val, f_par, f_kind, f_from_u) in enumerate(levels, 1):
        vs = _list(new)
        up_u.update(zip(vs, zip(_list(u_par), _list(u_kind))))
        if not reverse:
            for v, val in zip(vs, _list(u_val)):
                r = new_reach(cls)
                r.node_id, r.depth, r.access, r._lazy = ids[v], depth, acc_names[val], (trail, v, False)
                append(r)
            continue
        up_f.update(zip(vs, zip(_list(f_par), _list(f_kind), _list(f_from_u))))
        for v, u, f in zip(vs, _list(u_val), _list(f_val)):
            r = new_reach(cls)
            use_f = f >= u
            r.node_id, r.depth, r.access, r._lazy = ids[v], depth, acc_names[f if use_f else u], (trail, v, use_f)
            append(r)
    return out
