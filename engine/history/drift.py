"""What changed between two times: nodes, edges (from the stores' statements) and
findings (the rule pack evaluated on the graph as it stood at each end).

A node or edge is added when it is in the graph at `end` and not at `start`, removed
the other way round, changed when its kind, active flag or a property that matters
(engine.history.versions.MATTERS) differs; each change lists the field with its
value before and after. Only keys some statement of which began or ended between
the two times are merged, so a drift costs the size of the change plus one read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..store.base import EdgeView, NodeView
from .statements import edge_views_at, node_views_at, touched_between
from .versions import changed_fields

# Kinds named "identities" in summaries (people, their accounts, keys, grants, tools).
IDENTITY_KINDS = ("Person", "Account", "ServiceAccount", "Credential", "OAuthClient", "OAuthGrant",
                  "AITool")


@dataclass
class Change:
    """One element that changed: `fields` is {name: (before, after)}."""
    before: Any
    after: Any
    fields: dict[str, tuple[Any, Any]]


@dataclass
class ElementDrift:
    added: list = field(default_factory=list)      # views at `end`
    removed: list = field(default_factory=list)    # views at `start`
    changed: list[Change] = field(default_factory=list)


def _view_doc(v: NodeView | EdgeView) -> dict:
    if isinstance(v, NodeView):
        return {"kind": v.kind, "active": v.active, "properties": v.properties}
    return {"properties": v.properties}


def _compare(before: dict, after: dict) -> ElementDrift:
    out = ElementDrift()
    for key in sorted(set(before) | set(after), key=str):
        b, a = before.get(key), after.get(key)
        if b is None:
            out.added.append(a)
        elif a is None:
            out.removed.append(b)
        else:
            fields = changed_fields(_view_doc(b), _view_doc(a))
            if fields:
                out.changed.append(Change(b, a, fields))
    return out


def node_drift(statements: list, start: str | None, end: str) -> ElementDrift:
    keys = touched_between(statements, start, end)
    mine = [s for s in statements if s.id in keys]
    before = {v.id: v for v in node_views_at(mine, start)} if start is not None else {}
    after = {v.id: v for v in node_views_at(mine, end)}
    return _compare(before, after)


def edge_drift(statements: list, start: str | None, end: str) -> ElementDrift:
    keys = touched_between(statements, start, end)
    mine = [s for s in statements if s.key in keys]
    key = lambda e: (e.src, e.kind, e.dst)      # noqa: E731
    before = {key(e): e for e in edge_views_at(mine, start)} if start is not None else {}
    after = {key(e): e for e in edge_views_at(mine, end)}
    return _compare(before, after)


@dataclass
class FindingDrift:
    added: list = field(default_factory=list)      # Findings at `end`
    removed: list = field(default_factory=list)    # Findings at `start`
    changed: list[Change] = field(default_factory=list)
    # finding id -> (first seen, last seen) among the runs looked at
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)


def finding_drift(before: list, after: list) -> FindingDrift:
    b = {f.id: f for f in before}
    a = {f.id: f for f in after}
    out = FindingDrift()
    for fid in sorted(set(b) | set(a)):
        if fid not in b:
            out.added.append(a[fid])
        elif fid not in a:
            out.removed.append(b[fid])
        elif b[fid].severity != a[fid].severity:
            out.changed.append(Change(b[fid], a[fid], {"severity": (b[fid].severity, a[fid].severity)}))
    return out


@dataclass
class Drift:
    start: str | None                 # the `from` time (None: before anything was stored)
    end: str
    start_run: str | None
    end_run: str | None
    nodes: ElementDrift
    edges: ElementDrift
    findings: FindingDrift

    def counts(self) -> dict[str, dict[str, int]]:
        return {name: {"added": len(d.added), "removed": len(d.removed), "changed": len(d.changed)}
                for name, d in (("nodes", self.nodes), ("edges", self.edges), ("findings", self.findings))}
