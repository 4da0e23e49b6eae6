"""Per-edge-kind adjacency over a MemoryGraph, for analyses that ask "the OWNS edges
into X" hundreds of thousands of times (rule evaluation, ownership, spend).

MemoryGraph.in_edges/out_edges slice a numpy CSR row and filter it by kind in
Python on every call: fine for one query, costly when a rule pack asks it for every
subject, and quadratic-looking on hubs (a team with thousands of MEMBER_OF edges
asked for its few OWNS edges once per credential it owns). Here each edge kind is
split out once, with numpy, into {node index: [edges]} tables built on first use.

Answers are exactly MemoryGraph's: the same EdgeView objects in the same order (the
CSR order: by neighbour index, then edge position), so anything computed over this
index equals what the graph itself gives. Only the graph's public arrays are read.
"""
from __future__ import annotations

import heapq
import weakref
from typing import Iterable

import numpy as np

from .graph import EDGE_CODES, KIND_CODES, MemoryGraph
from .graph_columns import _loads as _decode
from .store.base import EdgeView, NodeView

_EMPTY: tuple = ()
# graph.kinds holds KIND_CODES: a node's kind without building its view.
_KIND_NAMES = [name for name, _ in sorted(KIND_CODES.items(), key=lambda kv: kv[1])]
_INDEXES: "weakref.WeakKeyDictionary[MemoryGraph, AdjacencyIndex]" = weakref.WeakKeyDictionary()




def adjacency(graph: MemoryGraph) -> "AdjacencyIndex":
    """The index of a graph, built once per graph object (one per store generation)."""
    index = _INDEXES.get(graph)
    if index is None:
        index = _INDEXES[graph] = AdjacencyIndex(graph)
    return index


class _KindTable:
    """The edges of one kind in one direction, in CSR order (so grouped by node):
    `ranges[i]` is the slice of `eids` (edge ids), `nbrs` (the node index at the
    other end) and `positions` (CSR positions) at node i. EdgeViews are fetched from
    the graph only when asked for (`at`): most questions need only the neighbours."""
    __slots__ = ("ranges", "eids", "nbrs", "positions", "_all")

    def __init__(self, ranges: dict[int, tuple[int, int]], eids: list[int], nbrs: list[int],
                 positions: list[int], all_edges):
        self.ranges = ranges
        self.eids = eids
        self.nbrs = nbrs
        self.positions = positions
        self._all = all_edges

    def at(self, i: int) -> list[EdgeView]:
        r = self.ranges.get(i)
        if r is None:
            return []
        return list(map(self._all.__getitem__, self.eids[r[0]:r[1]]))

    def slice(self, a: int, b: int) -> list[EdgeView]:
        return list(map(self._all.__getitem__, self.eids[a:b]))

    def neighbours(self, i: int) -> list[int]:
        r = self.ranges.get(i)
        return self.nbrs[r[0]:r[1]] if r is not None else []

    def nodes(self) -> Iterable[int]:
        return self.ranges.keys()


class _Side:
    """One direction (out or in) of the graph, split by edge kind on first use."""

    def __init__(self, graph: MemoryGraph, csr):
        self._graph = weakref.ref(graph)    # see AdjacencyIndex.g
        self.csr = csr
        self._kind_at: np.ndarray | None = None
        self.tables: dict[str, _KindTable] = {}

    @property
    def graph(self) -> MemoryGraph:
        return self._graph()

    def table(self, kind: str) -> _KindTable:
        found = self.tables.get(kind)
        if found is not None:
            return found
        code = EDGE_CODES.get(kind)
        csr = self.csr
        if code is None or not len(csr.eids):
            table = _KindTable({}, [], [], [], self.graph.edges)
        else:
            if self._kind_at is None:
                self._kind_at = self.graph.e_kind[csr.eids]
            # CSR positions ascend node by node, so the picked ones stay grouped by node.
            pos = np.nonzero(self._kind_at == code)[0]
            eids = csr.eids[pos]
            node_of_pos = np.searchsorted(csr.indptr, pos, side="right") - 1
            nodes, starts, counts = np.unique(node_of_pos, return_index=True, return_counts=True)
            ranges = dict(zip(nodes.tolist(), zip(starts.tolist(), (starts + counts).tolist())))
            table = _KindTable(ranges, eids.tolist(), csr.indices[pos].tolist(), pos.tolist(),
                               self.graph.edges)
        self.tables[kind] = table
        return table

    def edges(self, i: int, kinds: Iterable[str]) -> list[EdgeView]:
        if not isinstance(kinds, (list, tuple, set, frozenset)) or len(kinds) != 1:
            kinds = list(dict.fromkeys(kinds))
        if len(kinds) == 1:
            for kind in kinds:
                table = self.tables.get(kind) or self.table(kind)
                return table.at(i)
        picked = []
        for k in kinds:
            t = self.table(k)
            r = t.ranges.get(i)
            if r is not None:
                picked.append((t, r))
        if not picked:
            return []
        if len(picked) == 1:
            t, (a, b) = picked[0]
            return t.slice(a, b)
        # Several kinds: merge back into CSR order, as the graph returns them.
        return [e for _, e in heapq.merge(*(zip(t.positions[a:b], t.slice(a, b)) for t, (a, b) in picked),
                                           key=lambda pe: pe[0])]

    def neighbours(self, i: int, kind: str) -> list[int]:
        table = self.tables.get(kind) or self.table(kind)
        r = table.ranges.get(i)
        return table.nbrs[r[0]:r[1]] if r is not None else []


class AdjacencyIndex:
    """node_view / in_edges / out_edges with MemoryGraph's signatures and answers, so it
    can stand in for the graph (engine.ownership takes either)."""

    def __init__(self, graph: MemoryGraph):
        # Weak: _INDEXES (and ownership's resolvers) are keyed weakly by the graph, so
        # a value holding it strongly would keep every generation's graph alive.
        self._graph = weakref.ref(graph)
        self.index = graph.index
        self.views = graph.views
        self.ids = graph.ids
        self._kinds = graph.kinds.tolist()
        self._props_memo: dict[int, dict] = {}
        self._out = _Side(graph, graph.out_all)
        self._in = _Side(graph, graph.in_all)

    @property
    def g(self) -> MemoryGraph:
        return self._graph()

    def node_view(self, node_id: str) -> NodeView | None:
        i = self.index.get(node_id)
        return None if i is None else self.views[i]

    def kind_of(self, node_id: str) -> str | None:
        i = self.index.get(node_id)
        return None if i is None else _KIND_NAMES[self._kinds[i]]

    def out_edges(self, node_id: str, kinds: Iterable[str] | None = None) -> list[EdgeView]:
        if kinds is None:
            return self.g.out_edges(node_id)
        i = self.index.get(node_id)
        return [] if i is None else self._out.edges(i, kinds)

    def in_edges(self, node_id: str, kinds: Iterable[str] | None = None) -> list[EdgeView]:
        if kinds is None:
            return self.g.in_edges(node_id)
        i = self.index.get(node_id)
        return [] if i is None else self._in.edges(i, kinds)

    # --- by index and id, no EdgeViews (for bulk passes) ---------------------------
    def kind_at(self, i: int) -> str:
        return _KIND_NAMES[self._kinds[i]]

    def out_nbrs(self, i: int, kind: str) -> list[int]:
        """Node indexes at the end of node i's out-edges of one kind (CSR order)."""
        return self._out.neighbours(i, kind)

    def in_nbrs(self, i: int, kind: str) -> list[int]:
        return self._in.neighbours(i, kind)

    def all_nbrs(self, i: int, out: bool = True) -> tuple[list[int], list[int]]:
        """(neighbour indexes, edge kind codes) of every edge out of (or into) node i,
        in CSR order."""
        csr = self.g.out_all if out else self.g.in_all
        a, b = csr.indptr[i], csr.indptr[i + 1]
        return csr.indices[a:b].tolist(), self.g.e_kind[csr.eids[a:b]].tolist()

    def edge_dicts(self, i: int, kind: str, out: bool = True) -> list[dict]:
        """engine.rules.facts.edge_dict of node i's edges of one kind (CSR order). When
        the graph keeps its edges as columns (engine.graph_columns.EdgeColumns), read
        from them without building an EdgeView per edge: each distinct properties text
        is decoded once (and an edge already built is read as built)."""
        side = self._out if out else self._in
        table = side.tables.get(kind) or side.table(kind)
        r = table.ranges.get(i)
        if r is None:
            return []
        me = self.ids[i]
        eids = table.eids[r[0]:r[1]]
        nbrs = table.nbrs[r[0]:r[1]]
        ids = self.ids
        result = []
        for eid, j in zip(eids, nbrs):
            props = self.edge_props(eid)
            d = {"src": me, "kind": kind, "dst": ids[j]} if out else {"src": ids[j], "kind": kind, "dst": me}
            if props:
                d["properties"] = dict(props)
            result.append(d)
        return result

    def edge_props(self, eid: int) -> dict:
        """The properties of edge `eid` (shared: read, do not change)."""
        edges = self.g.edges
        made = getattr(edges, "_made", None)
        texts = getattr(edges, "props", None)
        codes = getattr(edges, "pcode", None)
        if made is None or texts is None or codes is None:
            return edges[eid].properties
        built = made[eid]
        if built is not None:
            return built.properties
        code = int(codes[eid])
        found = self._props_memo.get(code)
        if found is None:
            found = self._props_memo[code] = _decode(texts[code])
        return found

    def out_ids(self, node_id: str, kind: str) -> list[str]:
        i = self.index.get(node_id)
        if i is None:
            return []
        ids = self.ids
        return [ids[j] for j in self._out.neighbours(i, kind)]

    def in_ids(self, node_id: str, kind: str) -> list[str]:
        i = self.index.get(node_id)
        if i is None:
            return []
        ids = self.ids
        return [ids[j] for j in self._in.neighbours(i, kind)]

    def out_table(self, kind: str) -> _KindTable:
        """The edges of one kind by source node index: for bulk passes."""
        return self._out.table(kind)

    def in_table(self, kind: str) -> _KindTable:
        """The edges of one kind by target node index."""
        return self._in.table(kind)
