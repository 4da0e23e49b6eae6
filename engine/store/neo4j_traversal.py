"""Blast radius and who-can-reach on Neo4j in one round trip per walk (or per batch
of walks): the database finds what lies within reach, the engine's own traversal
picks the answers.

One Cypher query per walk finds, with a bounded variable-length pattern over the
live traversable relationships (Neo4j plans it as a pruning breadth-first expand),
every node within `max_depth - 1` hops of the start nodes, and returns the live
traversable relationships leaving them (entering them, for who-can-reach). Those
relationships are all a breadth-first walk of `max_depth` levels can use, so
engine.traversal.traverse, run over just them, gives exactly the embedded store's
answer: same access flow, same tie-breaks (parent id, then stored edges by kind
before derived ones in derivation order: the relationships' `_ord`).
"""
from __future__ import annotations

import numpy as np

from ..graph import CSR, EDGE_CODES, KIND_CODES
from .base import Reach

_TYPES: str = ""


def _types() -> str:
    global _TYPES
    if not _TYPES:
        from .neo4j import TRAVERSABLE_TYPES
        _TYPES = "|".join(TRAVERSABLE_TYPES)
    return _TYPES


class Subgraph:
    """The few attributes of engine.graph.MemoryGraph that engine.traversal reads,
    over a neighbourhood: ids in id order with their kind codes, edges numbered in the
    graph's order within each (source, target) pair, forward and reverse CSR indexes."""

    def __init__(self, node_kinds: dict[str, str], edges: list[tuple]):
        # edges: (src, dst, kind, access code, order key)
        ids = sorted(node_kinds)
        self.ids = ids
        self.index = {nid: i for i, nid in enumerate(ids)}
        self.kinds = np.fromiter((KIND_CODES.get(node_kinds[i], 0) for i in ids), dtype=np.int8, count=len(ids))
        edges = sorted(edges, key=lambda e: (e[0], e[1], e[4]))
        n, idx = len(ids), self.index
        self.e_src = np.fromiter((idx[e[0]] for e in edges), dtype=np.int32, count=len(edges))
        self.e_dst = np.fromiter((idx[e[1]] for e in edges), dtype=np.int32, count=len(edges))
        self.e_kind = np.fromiter((EDGE_CODES[e[2]] for e in edges), dtype=np.int8, count=len(edges))
        self.e_access = np.fromiter((e[3] for e in edges), dtype=np.int8, count=len(edges))
        eids = np.arange(len(edges), dtype=np.int64)
        self.fwd = CSR(n, self.e_src, self.e_dst, eids)
        self.rev = CSR(n, self.e_dst, self.e_src, eids)


def neighbourhood_query(reverse: bool, max_depth: int) -> str:
    """Cypher: the live traversable relationships a walk of `max_depth` levels from
    the start nodes `$ids` can use, as (src, dst, kind, access, order key)."""
    t = _types()
    if reverse:
        near = f"(s)<-[:{t}*0..{max_depth - 1} {{live: true}}]-(p:Node)"
        step = f"(p)<-[r:{t}]-(n:Node)"
        ends = "n.id AS src, p.id AS dst, n.kind AS skind, p.kind AS dkind"
    else:
        near = f"(s)-[:{t}*0..{max_depth - 1} {{live: true}}]->(p:Node)"
        step = f"(p)-[r:{t}]->(n:Node)"
        ends = "p.id AS src, n.id AS dst, p.kind AS skind, n.kind AS dkind"
    return (f"UNWIND $ids AS id MATCH (s:Node {{id: id}}) WHERE s.live "
            f"MATCH {near} WITH DISTINCT p "
            f"MATCH {step} WHERE r.live "
            f"RETURN {ends}, type(r) AS kind, r._acc AS acc, r._ord AS ord")


_FOUND = ("UNWIND $ids AS id MATCH (n:Node {id: id}) WHERE n.live "
          "RETURN n.id AS src, null AS dst, null AS kind, null AS acc, null AS ord, n.kind AS skind, "
          "null AS dkind")


def walk_many(store, starts: list[str], max_depth: int, reverse: bool) -> dict[str, list[Reach]]:
    """traverse() of each start over the neighbourhood read in one query, which also
    says which starts exist."""
    from ..traversal import NodeNotFound, traverse

    # The start nodes that exist come first (rows without a target), then the edges.
    # All in one collected list: one record, not one per edge, is far less driver work.
    query = _FOUND if max_depth <= 0 else _FOUND + " UNION ALL " + neighbourhood_query(reverse, max_depth)
    query = f"CALL {{ {query} }} RETURN collect([src, dst, kind, acc, ord, skind, dkind]) AS rows"

    def run(tx):
        kinds, edges = {}, []
        for src, dst, kind, acc, order, skind, dkind in tx.run(query, ids=starts).single()["rows"]:
            kinds[src] = skind
            if dst is not None:
                kinds[dst] = dkind
                edges.append((src, dst, kind, acc, order))
        return kinds, edges

    try:
        with store._session() as s:
            kinds, edges = s.execute_read(run)
    except Exception as exc:
        raise store._error(exc) from exc
    gone = [s for s in starts if s not in kinds]
    if gone:
        raise NodeNotFound(gone[0])
    if max_depth < 0:
        raise ValueError("maxDepth must be 0 or more")
    graph = Subgraph(kinds, edges)
    return {start: traverse(graph, start, max_depth, reverse=reverse) for start in starts}
