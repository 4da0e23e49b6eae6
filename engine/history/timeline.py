"""Sync runs as a timeline: resolving `--from`/`--to` (a run id or a time) and the
drift between two points of it (Engine.drift)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .drift import Drift, edge_drift, finding_drift, node_drift
from .statements import stamp

SEEN_RUNS = 12      # runs evaluated for a finding's first/last seen within a drift


class TimelineError(ValueError):
    """A `from`/`to` that names no run and is no time (a user's mistake)."""


def resolve(runs: list[dict], ref: str | datetime | None, default: int) -> tuple[str | None, str | None]:
    """(time, run id) of a reference: a sync run id (or unique prefix of one), else a
    time; None picks runs[default] (no such run: (None, None))."""
    if ref is None:
        if len(runs) >= -default:
            r = runs[default]
            return r["at"], r["id"]
        return None, None
    if isinstance(ref, str):
        hits = [r for r in runs if r["id"] == ref] or (
            [r for r in runs if r["id"].startswith(ref)] if len(ref) >= 4 else [])
        if len(hits) == 1:
            return hits[0]["at"], hits[0]["id"]
        if len(hits) > 1:
            raise TimelineError(f"{ref!r} is the start of several run ids; give more of it")
    try:
        t = stamp(ref)
    except ValueError:
        raise TimelineError(f"{ref!r} is neither a sync run id (see `burnpath runs`) nor an ISO "
                            "date or timestamp") from None
    # the run in force at that time, when there is one
    at_or_before = [r for r in runs if r["at"] <= t]
    return t, (at_or_before[-1]["id"] if at_or_before else None)


def drift(engine, frm=None, to=None, findings: bool = True) -> Drift:
    runs = engine.store.sync_runs()
    if not runs and (frm is None or to is None):
        loads = sorted(r["started_at"] for r in engine.store.runs())
        if not loads:
            raise TimelineError("nothing has been ingested into this store yet")
        runs = [{"id": None, "at": t} for t in loads]
    t1, r1 = resolve(runs, to, -1)
    t0, r0 = resolve(runs, frm, -2)
    if t0 is not None and t0 > t1:
        raise TimelineError(f"from ({t0}) is after to ({t1})")
    nodes, edges = engine.store.statements()
    nd, ed = node_drift(nodes, t0, t1), edge_drift(edges, t0, t1)
    fd = finding_drift([], [])
    if findings:
        fd = _finding_drift(engine, runs, t0, t1)
    return Drift(start=t0, end=t1, start_run=r0, end_run=r1, nodes=nd, edges=ed, findings=fd)


def _findings_at(engine, t: str) -> list:
    from ..findings import all_findings
    eng = engine.at(t, data_now=True)
    return eng.cached("history:findings", lambda: all_findings(eng))


def _finding_drift(engine, runs: list[dict], t0: str | None, t1: str):
    before = _findings_at(engine, t0) if t0 is not None else []
    after = _findings_at(engine, t1)
    out = finding_drift(before, after)
    # First and last seen among the runs of the window (the latest SEEN_RUNS of them).
    points = sorted({r["at"] for r in runs if (t0 is None or r["at"] >= t0) and r["at"] <= t1}
                    | {t for t in (t0, t1) if t is not None})[-SEEN_RUNS:]
    wanted = {f.id for f in before} | {f.id for f in after}
    for t in points:
        present = {f.id for f in (after if t == t1 else before if t == t0 else _findings_at(engine, t))}
        for fid in present & wanted:
            first, _ = out.seen.get(fid, (t, t))
            out.seen[fid] = (first, t)
    return out


def drift_doc(d: Drift, limit: int | None = None) -> dict[str, Any]:
    """A drift as plain JSON (the CLI's --json and the alert helper's payloads)."""
    def node(v):
        return {"id": v.id, "kind": v.kind, "name": v.name, "active": v.active}

    def edge(e):
        return {"source": e.src, "target": e.dst, "kind": e.kind}

    def change(c, doc):
        return {**doc(c.after), "changes": [{"field": k, "before": b, "after": a}
                                             for k, (b, a) in c.fields.items()]}

    def finding(f):
        first, last = d.findings.seen.get(f.id, (None, None))
        return {"id": f.id, "rule": f.rule, "severity": f.severity, "subject": f.subject_id,
                "firstSeen": first, "lastSeen": last}

    def cap(items):
        return items if limit is None else items[:limit]
    out: dict[str, Any] = {"from": d.start, "to": d.end, "fromRun": d.start_run, "toRun": d.end_run,
                           "counts": d.counts()}
    for name, part, doc in (("nodes", d.nodes, node), ("edges", d.edges, edge),
                            ("findings", d.findings, finding)):
        out[name] = {"added": cap([doc(v) for v in part.added]),
                     "removed": cap([doc(v) for v in part.removed]),
                     "changed": cap([change(c, doc) for c in part.changed])}
    return out
