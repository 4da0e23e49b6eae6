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


class _Side:
    """One direction (out or in): per kind, {node index: ([csr positions], [edges])}."""

    def __init__(self, graph: MemoryGraph, csr, owner_of_edge: np.ndarray):
        self.graph = graph
        self.csr = csr
        self.owner_of_edge = owner_of_edge
        self._kind_at: np.ndarray | None = None
        self.tables: dict[str, dict[int, tuple[list[int], list[EdgeView]]]] = {}

    def table(self, kind: str) -> dict[int, tuple[list[int], list[EdgeView]]]:
        found = self.tables.get(kind)
        if found is not None:
            return found
        out: dict[int, tuple[list[int], list[EdgeView]]] = {}
        code = EDGE_CODES.get(kind)
        if code is not None and len(self.csr.eids):
            if self._kind_at is None:
                self._kind_at = self.graph.e_kind[self.csr.eids]
            pos = np.nonzero(self._kind_at == code)[0]
            eids = self.csr.eids[pos]
            owners = self.owner_of_edge[eids]
            edges = self.graph.edges
            for p, e, o in zip(pos.tolist(), eids.tolist(), owners.tolist()):
                cell = out.get(o)
                if cell is None:
                    cell = out[o] = ([], [])
                cell[0].append(p)
                cell[1].append(edges[e])
        self.tables[kind] = out
        return out

    def edges(self, i: int, kinds: Iterable[str]) -> list[EdgeView]:
        kinds = list(dict.fromkeys(kinds))
        if len(kinds) == 1:
            cell = self.table(kinds[0]).get(i)
            return list(cell[1]) if cell else []
        cells = [c for c in (self.table(k).get(i) for k in kinds) if c]
        if not cells:
            return []
        if len(cells) == 1:
            return list(cells[0][1])
        # Several kinds: merge back into CSR order, as the graph returns them.
        return [e for _, e in heapq.merge(*(zip(c[0], c[1]) for c in cells), key=lambda t: t[0])]


class AdjacencyIndex:
    """node_view / in_edges / out_edges with MemoryGraph's signatures and answers, so it
    can stand in for the graph (engine.ownership takes either)."""

    def __init__(self, graph: MemoryGraph):
        self.g = graph
        self.index = graph.index
        self.views = graph.views
        self._out = _Side(graph, graph.out_all, graph.e_src)
        self._in = _Side(graph, graph.in_all, graph.e_dst)

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

    def out_table(self, kind: str) -> dict[int, tuple[list[int], list[EdgeView]]]:
        """{source index: (csr positions, edges)} of one kind: for bulk passes."""
        return self._out.table(kind)

    def in_table(self, kind: str) -> dict[int, tuple[list[int], list[EdgeView]]]:
        """{target index: (csr positions, edges)} of one kind."""
        return self._in.table(kind)
