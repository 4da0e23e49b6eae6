"""Checks that need history: what a subject could reach at the previous sync run
against what it reaches now (engine.history).

`connected_tools_growth`: a person, team or AI tool whose OAuth grants, connected
apps (the SaaS app a grant opens, else its OAuth client) or reachable data sources grew by at least a
threshold between the sync run before the latest one and now. Only subjects an
edge added or changed between the two runs could have grown are measured (worked
out once per evaluation from the stores' statements), so a store with one run, or
two runs with no new edges, costs nothing.
"""
from __future__ import annotations

from typing import Any

from ..model import NodeKind
from ..store.base import NodeView
from .checks import Hit, check
from .facts import Facts
from .kinds import AITool, Account, DataSource, OAuthClient, OAuthGrant, Person, Team as TEAM

SUBJECT_KINDS = (Person, TEAM, AITool)
SAAS = NodeKind.SaaSApp.value
SHOWN = 20          # ids listed per set in evidence


def _previous_run(engine) -> tuple[dict, dict] | None:
    """(the run before the latest, the latest) of the runs the engine's store knows."""
    runs = [r for r in engine.store.sync_runs() if r["complete"]]
    return (runs[-2], runs[-1]) if len(runs) >= 2 else None


def _kind(graph, node_id: str) -> str | None:
    v = graph.node_view(node_id)
    return v.kind if v is not None else None


def connected(engine, subject_id: str) -> dict[str, set[str]]:
    """{grants, apps, data} a subject holds or reaches: over traversable edges from it
    (a team: from its members), plus OAuth grants its accounts consented to (and what
    they open), plus the OAuth clients those grants were given to."""
    graph = engine.graph()
    view = graph.node_view(subject_id)
    out = {"grants": set(), "apps": set(), "data": set()}
    if view is None:
        return out
    starts = [subject_id]
    if view.kind == TEAM:
        starts += [r.node_id for r in engine.store.who_can_reach(subject_id, 1)
                   if _kind(graph, r.node_id) in (Person, Account)]
    reached = set(starts)
    for s in starts:
        reached.update(r.node_id for r in engine.store.blast_radius(s, 8))
    consented = {e.dst for n in list(reached) if _kind(graph, n) == Account
                 for e in graph.out_edges(n, {"CONSENTED"})}
    for g in consented - reached:
        reached.add(g)
        reached.update(r.node_id for r in engine.store.blast_radius(g, 8))
    for n in reached:
        k = _kind(graph, n)
        if k == OAuthGrant:
            out["grants"].add(n)
            # A grant connects one app: the SaaS app it opens, else the client it was given to.
            if not any(_kind(graph, e.dst) == SAAS for e in graph.out_edges(n, {"GRANTS"})):
                out["apps"].update(e.src for e in graph.in_edges(n, {"HOLDS"})
                                   if _kind(graph, e.src) == OAuthClient)
        elif k == SAAS:
            out["apps"].add(n)
        elif k == DataSource:
            out["data"].add(n)
    return out


def _candidates(engine) -> tuple[set[str], Any, dict, dict] | None:
    """Subjects an edge added or changed between the two runs could have grown, the
    engine at the earlier run, and the two runs (None: fewer than two runs)."""
    from ..history.drift import edge_drift
    pair = _previous_run(engine)
    if pair is None:
        return None
    before, latest = pair
    _, edges = engine.store.statements()
    drift = edge_drift(edges, before["at"], latest["at"])
    touched = {e.src for e in drift.added} | {c.after.src for c in drift.changed}
    graph = engine.graph()
    out: set[str] = set()
    for src in touched:
        if graph.node_view(src) is None:
            continue
        reachers = {src} | {r.node_id for r in engine.store.who_can_reach(src, 8)}
        for n in reachers:
            k = _kind(graph, n)
            if k in SUBJECT_KINDS:
                out.add(n)
            if k in (Person, Account):
                out.update(e.dst for e in graph.out_edges(n, {"MEMBER_OF"}) if _kind(graph, e.dst) == TEAM)
        if _kind(graph, src) == Account:         # a new consent: its person's growth
            out.update(e.src for e in graph.in_edges(src, {"HAS_ACCOUNT"}))
    return out, engine.at(before["at"], data_now=True), before, latest


@check("connected_tools_growth", (Person, TEAM, AITool), min_added_grants=3, min_added_apps=3,
       min_added_data=5)
def connected_tools_growth(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """A subject whose OAuth grants, connected apps or reachable data sources grew by
    at least min_added_grants / min_added_apps / min_added_data (any one of them; 0
    turns a measure off). A grant counts one app: the SaaS app it opens, else its client. between the previous sync run and the latest."""
    engine = facts.engine
    found = engine.cached(f"connected-tools-candidates@{engine.as_of}", lambda: _candidates(engine))
    if found is None or view.id not in found[0]:
        return []
    candidates, then, before, latest = found
    now_sets, then_sets = connected(engine, view.id), connected(then, view.id)
    added = {k: sorted(now_sets[k] - then_sets[k]) for k in now_sets}
    limits = {"grants": p["min_added_grants"], "apps": p["min_added_apps"], "data": p["min_added_data"]}
    grew = [k for k, n in limits.items() if n and len(added[k]) >= n]
    if not grew:
        return []
    evidence = {"from_run": before["id"], "from": before["at"], "to_run": latest["id"], "to": latest["at"],
                "grew": grew, "thresholds": limits,
                **{f"{k}_before": len(then_sets[k]) for k in now_sets},
                **{f"{k}_after": len(now_sets[k]) for k in now_sets},
                **{f"added_{k}": added[k][:SHOWN] for k in now_sets},
                **{f"added_{k}_count": len(added[k]) for k in now_sets}}
    parts = ", ".join(f"+{len(added[k])} {'connected apps' if k == 'apps' else 'data sources' if k == 'data' else 'OAuth grants'}"
                      for k in grew)
    return [Hit(evidence, message=f"{view.id}: {parts} since run {before['id'][:8]}")]
