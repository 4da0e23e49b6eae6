"""Explainable 0-100 risk scores for identity nodes (accounts, service accounts,
credentials, OAuth clients and grants, AI tools).

The formula and every weight live in queries/risk.yaml: points for the findings
about the node (by severity), for its blast radius (size, and the most sensitive data
it reaches), for the dollars an hour it exposes (engine.exposure), and for its
owners' status; summed, capped at `max_score`, and scaled down for an inactive node.
Each factor is returned with its points and the facts behind them. Scores are cached
per store generation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import IDENTITY_KINDS
from .traversal import NodeNotFound


@dataclass
class RiskFactor:
    reason: str
    weight: float
    detail: Any = None


@dataclass
class RiskScore:
    score: float
    factors: list[RiskFactor] = field(default_factory=list)


IDENTITY_KIND_NAMES = frozenset(k.value for k in IDENTITY_KINDS)


@lru_cache(maxsize=1)
def weights() -> dict[str, Any]:
    from .rules.loader import load_data
    return load_data("risk.yaml")


def _log_points(value: float, per_decade: float, cap: float) -> float:
    return round(min(cap, per_decade * math.log10(1 + max(value, 0.0))), 2)


def _findings_by_subject(engine) -> dict[str, list]:
    from .findings import all_findings

    def build():
        out: dict[str, list] = {}
        for f in all_findings(engine):
            out.setdefault(f.subject_id, []).append(f)
        return out
    return engine.cached(f"findings-by-subject@{engine.as_of}@{tuple(getattr(engine, 'rule_dirs', []))}", build)


def compute_risk(engine, node_id: str) -> RiskScore:
    from .findings import facts_of
    w = weights()
    facts = facts_of(engine)
    view = facts.node(node_id)
    if view is None:
        raise NodeNotFound(node_id)
    if view.kind not in IDENTITY_KIND_NAMES:
        return RiskScore(score=0.0, factors=[])
    factors: list[RiskFactor] = []

    fw = w["findings"]
    found = _findings_by_subject(engine).get(node_id, [])
    if found:
        raw = sum(fw["points"][f.severity] for f in found)
        pts = min(float(fw["max_points"]), float(raw))
        counts: dict[str, int] = {}
        for f in found:
            counts[f.severity] = counts.get(f.severity, 0) + 1
        factors.append(RiskFactor(
            reason="findings: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: list(fw["points"]).index(kv[0]))),
            weight=pts, detail={"findings": [{"id": f.id, "rule": f.rule, "severity": f.severity} for f in found],
                                "points_per_severity": fw["points"], "cap": fw["max_points"]}))

    bw = w["blast_radius"]
    reach = facts.reach(node_id, int(bw.get("max_depth", 8)))
    if reach:
        pts = _log_points(len(reach), float(bw["points_per_decade"]), float(bw["max_points"]))
        if pts > 0:
            factors.append(RiskFactor(reason=f"blast radius reaches {len(reach)} nodes", weight=pts,
                                      detail={"reachable": len(reach)}))
        level, where = facts.reaches_sensitivity(node_id)
        spts = float(bw["sensitivity_points"].get(level, 0))
        if spts > 0:
            factors.append(RiskFactor(reason=f"reaches {level} data", weight=spts,
                                      detail={"sensitivity": level, "data_sources": where}))

    from .exposure import spend_exposure
    from .service import BlastRadiusResult
    usd, detail = spend_exposure(engine, BlastRadiusResult(source=view, max_depth=int(bw.get("max_depth", 8)),
                                                           reachable=reach))
    sw = w["spend_exposure"]
    if usd:
        pts = _log_points(usd, float(sw["points_per_decade"]), float(sw["max_points"]))
        if pts > 0:
            factors.append(RiskFactor(reason=f"could burn ${usd:,.2f}/hour", weight=pts,
                                      detail={"usd_per_hour": usd, "credentials": detail}))

    status = facts.owner_status(node_id)
    opts = float(w["owner_status"]["points"].get(status, 0))
    if opts > 0:
        label = {"none": "no owner", "inactive": "owner inactive (departed)",
                 "unverified": "owner unverified (no identity provider knows them)"}.get(status, status)
        factors.append(RiskFactor(reason=label, weight=opts,
                                  detail={"owners": [{"person": o.person, "status": o.status}
                                                     for o in facts.owner_people(node_id)]}))

    total = min(float(w["max_score"]), sum(f.weight for f in factors))
    if not view.active and total > 0:
        kept = round(total * float(w["inactive_multiplier"]), 2)
        factors.append(RiskFactor(reason="inactive (scaled down)", weight=round(kept - total, 2),
                                  detail={"multiplier": w["inactive_multiplier"]}))
        total = kept
    return RiskScore(score=round(total, 1), factors=factors)


def risk_of(engine, node_id: str) -> RiskScore:
    cache = engine.cached(f"risk@{engine.as_of}@{tuple(getattr(engine, 'rule_dirs', []))}", dict)
    if node_id not in cache:
        cache[node_id] = compute_risk(engine, node_id)
    return cache[node_id]


def all_risks(engine) -> dict[str, RiskScore]:
    """Scores for every identity node, by id."""
    from .findings import facts_of
    facts = facts_of(engine)
    return {v.id: risk_of(engine, v.id) for v in facts.subjects(sorted(IDENTITY_KIND_NAMES))}
