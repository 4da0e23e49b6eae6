"""Who owns what (contract): direct OWNS edges, else through the identity a credential
acts as (a user-owned key is its user's; a service account's owners), else through
the project or team it belongs to. Account owners resolve to their person.

`owners_of` answers on anything with node_view / in_edges / out_edges (the graph, a
store's own reader). On the in-memory graph it goes through an OwnerResolver: the
same rules over node indexes and per-kind neighbour lists (engine.graph_index), with
every intermediate answer memoised, so the projects, teams and service accounts that
thousands of keys resolve through are worked out once each."""
from __future__ import annotations

import weakref

from .model import EdgeKind, NodeKind

_OWNS = {EdgeKind.OWNS.value}
_HAS_ACCOUNT = {EdgeKind.HAS_ACCOUNT.value}
_STEPS = (
    ({EdgeKind.AUTHENTICATES_AS.value}, (NodeKind.ServiceAccount.value, NodeKind.Account.value)),
    ({EdgeKind.MEMBER_OF.value, EdgeKind.CAN_ACCESS.value}, (NodeKind.Project.value, NodeKind.Team.value)),
)
_MAX_DEPTH = 3


def _as_owner(graph, node_id: str) -> str:
    """An owning account stands for its person when one is linked."""
    view = graph.node_view(node_id)
    if view is not None and view.kind == NodeKind.Account.value:
        people = sorted(e.src for e in graph.in_edges(node_id, _HAS_ACCOUNT))
        if people:
            return people[0]
    return node_id


def direct_owners(graph, node_id: str) -> list[str]:
    return sorted({_as_owner(graph, e.src) for e in graph.in_edges(node_id, _OWNS)})


def owners_of(engine_or_graph, node_id: str) -> list[str]:
    """Resolved owners of a node: persons, teams (or unlinked accounts), sorted."""
    graph = engine_or_graph.graph() if hasattr(engine_or_graph, "graph") else engine_or_graph
    resolver = resolver_for(graph)
    if resolver is not None:
        return list(resolver.owners(node_id))
    return _resolve(graph, node_id, depth=0)


def _resolve(graph, node_id: str, depth: int) -> list[str]:
    """The rules, straight over edges (any graph-like reader; the reference)."""
    found = direct_owners(graph, node_id)
    if found or depth > _MAX_DEPTH:
        return found
    for kinds, targets in _STEPS:
        out: set[str] = set()
        for e in graph.out_edges(node_id, kinds):
            view = graph.node_view(e.dst)
            if view is None or view.kind not in targets:
                continue
            if view.kind == NodeKind.Account.value:
                out.add(_as_owner(graph, e.dst))    # a key acting as a user is that user's
            elif view.kind == NodeKind.Team.value and not direct_owners(graph, e.dst):
                out.add(e.dst)                      # a team with no named owner owns it as a team
            else:
                out.update(_resolve(graph, e.dst, depth + 1))
        if out:
            return sorted(out)
    return []


_RESOLVERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def resolver_for(graph) -> "OwnerResolver | None":
    """The memoised resolver of an in-memory graph (MemoryGraph or its AdjacencyIndex),
    one per graph object; None for any other reader."""
    from .graph import MemoryGraph
    from .graph_index import AdjacencyIndex, adjacency
    if isinstance(graph, AdjacencyIndex):
        graph = graph.g
    if not isinstance(graph, MemoryGraph):
        return None
    found = _RESOLVERS.get(graph)
    if found is None:
        found = _RESOLVERS[graph] = OwnerResolver(adjacency(graph))
    return found


_ACCOUNT = NodeKind.Account.value
_NONE: list[str] = []       # shared "no direct owner" answer (callers copy, never change it)
_TEAM = NodeKind.Team.value
_STEP_TARGETS = tuple((tuple(kinds), frozenset(targets)) for kinds, targets in _STEPS)


class OwnerResolver:
    """_resolve's answers by node index, each intermediate one computed once. Lists it
    returns are shared: callers copy before handing them out."""

    def __init__(self, adj):
        self.adj = adj
        self.ids = adj.ids
        self._as: dict[int, str] = {}
        self._direct: dict[int, list[str]] = {}
        self._resolved: dict[tuple[int, int], list[str]] = {}
        self._primed: dict | None = None

    def owners(self, node_id: str) -> list[str]:
        i = self.adj.index.get(node_id)
        if i is None:
            return []
        return self.resolve(i, 0)

    def as_owner(self, i: int) -> str:
        found = self._as.get(i)
        if found is None:
            found = self.ids[i]
            if self.adj.kind_at(i) == _ACCOUNT:
                people = self.adj.in_nbrs(i, EdgeKind.HAS_ACCOUNT.value)
                if people:
                    found = min(self.ids[j] for j in people)
            self._as[i] = found
        return found

    def direct(self, i: int) -> list[str]:
        table = self._direct
        found = table.get(i)
        if found is None:
            if table is self._primed:
                return _NONE        # a primed table holds every node with an OWNS edge into it
            found = table[i] = sorted({self.as_owner(j) for j in self.adj.in_nbrs(i, EdgeKind.OWNS.value)})
        return found

    def prime(self) -> None:
        """Every node's direct owners at once, from the edge arrays: the owners of
        its OWNS edges, an account standing for its least linked person (graph ids
        are sorted, so least index is least id, and index order is id order). What
        direct() gives node by node, for rule passes that ask for most nodes."""
        if self._primed is not None:
            return
        import numpy as np
        from .graph import EDGE_CODES, KIND_CODES
        g = self.adj.g
        src, dst, kind = g.e_src, g.e_dst, g.e_kind
        n = len(self.ids)
        stands = np.arange(n, dtype=np.int64)
        has = np.nonzero(kind == EDGE_CODES[EdgeKind.HAS_ACCOUNT.value])[0]
        if len(has):
            acct, person = dst[has].astype(np.int64), src[has].astype(np.int64)
            acct_kind = g.kinds[acct] == KIND_CODES[_ACCOUNT]
            acct, person = acct[acct_kind], person[acct_kind]
            order = np.lexsort((person, acct))
            acct, person = acct[order], person[order]
            first = np.ones(len(acct), dtype=bool)
            first[1:] = acct[1:] != acct[:-1]
            stands[acct[first]] = person[first]
        owns = np.nonzero(kind == EDGE_CODES[EdgeKind.OWNS.value])[0]
        owned, owner = dst[owns].astype(np.int64), stands[src[owns].astype(np.int64)]
        pairs = np.unique(owned * n + owner)
        owned, owner = (pairs // n).tolist(), (pairs % n).tolist()
        ids = self.ids
        direct: dict[int, list[str]] = {}
        for i, j in zip(owned, owner):
            found = direct.get(i)
            if found is None:
                direct[i] = [ids[j]]
            else:
                found.append(ids[j])
        # Swapped in whole, then marked: a reader holding the old table computes as before.
        self._direct = direct
        self._primed = direct

    def resolve(self, i: int, depth: int) -> list[str]:
        found = self.direct(i)
        if found or depth > _MAX_DEPTH:
            return found
        key = (i, depth)
        done = self._resolved.get(key)
        if done is not None:
            return done
        adj = self.adj
        result: list[str] = []
        for kinds, targets in _STEP_TARGETS:
            out: set[str] = set()
            for kind in kinds:
                for j in adj.out_nbrs(i, kind):
                    k = adj.kind_at(j)
                    if k not in targets:
                        continue
                    if k == _ACCOUNT:
                        out.add(self.as_owner(j))
                    elif k == _TEAM and not self.direct(j):
                        out.add(self.ids[j])
                    else:
                        out.update(self.resolve(j, depth + 1))
            if out:
                result = sorted(out)
                break
        self._resolved[key] = result
        return result
