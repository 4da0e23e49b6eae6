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

from .graph import EDGE_CODES, MemoryGraph
from .store.base import EdgeView, NodeView

_EMPTY: tuple = ()
_INDEXES: "weakref.WeakKeyDictionary[MemoryGraph, AdjacencyIndex]" = weakref.WeakKeyDictionary()


def adjacency(graph: MemoryGraph) -> "AdjacencyIndex":
    """The index of a graph, built once per graph object (one per store generation)."""
    index = _INDEXES.get(graph)
    if index is None:
        index = _INDEXES[graph] = AdjacencyIndex(graph)
    return index


class _KindTable:
    """The edges of one kind in one direction, in CSR order (so grouped by node):
    `ranges[i]` is the slice of `edges` (and of their CSR `positions`) at node i."""
    __slots__ = ("ranges", "edges", "positions")

    def __init__(self, ranges: dict[int, tuple[int, int]], edges: list[EdgeView], positions: list[int]):
        self.ranges = ranges
        self.edges = edges
        self.positions = positions

    def at(self, i: int) -> list[EdgeView]:
        r = self.ranges.get(i)
        return self.edges[r[0]:r[1]] if r is not None else []

    def nodes(self) -> Iterable[int]:
        return self.ranges.keys()


class _Side:
    """One direction (out or in) of the graph, split by edge kind on first use."""

    def __init__(self, graph: MemoryGraph, csr):
        self.graph = graph
        self.csr = csr
        self._kind_at: np.ndarray | None = None
        self.tables: dict[str, _KindTable] = {}

    def table(self, kind: str) -> _KindTable:
        found = self.tables.get(kind)
        if found is not None:
            return found
        code = EDGE_CODES.get(kind)
        csr = self.csr
        if code is None or not len(csr.eids):
            table = _KindTable({}, [], [])
        else:
            if self._kind_at is None:
                self._kind_at = self.graph.e_kind[csr.eids]
            # CSR positions ascend node by node, so the picked ones stay grouped by node.
            pos = np.nonzero(self._kind_at == code)[0]
            eids = csr.eids[pos]
            node_of_pos = np.searchsorted(csr.indptr, pos, side="right") - 1
            nodes, starts, counts = np.unique(node_of_pos, return_index=True, return_counts=True)
            ranges = dict(zip(nodes.tolist(), zip(starts.tolist(), (starts + counts).tolist())))
            all_edges = self.graph.edges
            edges = list(map(all_edges.__getitem__, eids.tolist()))
            table = _KindTable(ranges, edges, pos.tolist())
        self.tables[kind] = table
        return table

    def edges(self, i: int, kinds: Iterable[str]) -> list[EdgeView]:
        if not isinstance(kinds, (list, tuple, set, frozenset)) or len(kinds) != 1:
            kinds = list(dict.fromkeys(kinds))
        if len(kinds) == 1:
            for kind in kinds:
                table = self.tables.get(kind) or self.table(kind)
                r = table.ranges.get(i)
                return table.edges[r[0]:r[1]] if r is not None else []
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
            return t.edges[a:b]
        # Several kinds: merge back into CSR order, as the graph returns them.
        return [e for _, e in heapq.merge(*(zip(t.positions[a:b], t.edges[a:b]) for t, (a, b) in picked),
                                           key=lambda pe: pe[0])]


class AdjacencyIndex:
    """node_view / in_edges / out_edges with MemoryGraph's signatures and answers, so it
    can stand in for the graph (engine.ownership takes either)."""

    def __init__(self, graph: MemoryGraph):
        self.g = graph
        self.index = graph.index
        self.views = graph.views
        self._out = _Side(graph, graph.out_all)
        self._in = _Side(graph, graph.in_all)

    def node_view(self, node_id: str) -> NodeView | None:
        i = self.index.get(node_id)
        return None if i is None else self.views[i]

    def kind_of(self, node_id: str) -> str | None:
        i = self.index.get(node_id)
        return None if i is None else self.views[i].kind

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

    def out_table(self, kind: str) -> _KindTable:
        """The edges of one kind by source node index: for bulk passes."""
        return self._out.table(kind)

    def in_table(self, kind: str) -> _KindTable:
        """The edges of one kind by target node index."""
        return self._in.table(kind)
