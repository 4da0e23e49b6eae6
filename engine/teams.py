"""The team a node answers to, as spend attribution puts it (engine.spend.Attributor):
the team that owns it, else its owner people's first inventory team; a person's
own first team. Used to filter and group findings by team (web views, report)."""
from __future__ import annotations

from .model import NodeKind


def attributor(engine):
    """The store's attribution answers (Neo4j: Cypher), one per data generation."""
    from .spend import Attributor

    def build():
        provider = getattr(engine.store, "spend_attributor", None)
        return provider(engine) if provider is not None else Attributor(engine)
    return engine.cached("teams:attributor", build)


def teams_of(engine, node_id: str) -> list[str]:
    """Team node ids (`team:<id>`) the node answers to; [] when none."""
    attrib = attributor(engine)
    view = attrib.node_view(node_id)
    if view is not None and view.kind == NodeKind.Team.value:
        return [node_id]
    if view is not None and view.kind == NodeKind.Person.value:
        team = attrib.first_team(node_id)
        return [team] if team else []
    return sorted({t for t in attrib.teams(node_id) if t})
