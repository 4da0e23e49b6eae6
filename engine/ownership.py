"""Who owns what (contract): direct OWNS edges, else through the identity a credential
acts as (a user-owned key is its user's; a service account's owners), else through
the project or team it belongs to. Account owners resolve to their person."""
from __future__ import annotations

from .model import EdgeKind, NodeKind

_OWNS = {EdgeKind.OWNS.value}
_HAS_ACCOUNT = {EdgeKind.HAS_ACCOUNT.value}
_STEPS = (
    ({EdgeKind.AUTHENTICATES_AS.value}, (NodeKind.ServiceAccount.value, NodeKind.Account.value)),
    ({EdgeKind.MEMBER_OF.value, EdgeKind.CAN_ACCESS.value}, (NodeKind.Project.value, NodeKind.Team.value)),
)


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
    return _resolve(graph, node_id, depth=0)


def _resolve(graph, node_id: str, depth: int) -> list[str]:
    found = direct_owners(graph, node_id)
    if found or depth > 3:
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
