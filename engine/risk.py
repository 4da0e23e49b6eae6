"""Explainable 0-100 risk scores, and the ranking built from them.

The model (queries/risk.yaml, docs/RISK.md) is banded: a node's most severe finding
sets its band (critical 80, high 60, medium 40, low 20, none 0) and everything else
(more findings, the sensitivity and size of what it reaches, the dollars an hour it
could burn, its owners' status) adds points *within* the band, squashed to less than
the band's width, so severity dominates: one critical outranks any pile of lows.

Scored: identity nodes (accounts, service accounts, credentials, OAuth clients and
grants, AI tools) and people. A person rolls up what they own, hold and their
accounts (band: the most severe finding on any of those; within: how many of them
carry findings, what the person can reach, and, for a departed person, the live
identities they still own). Other kinds score 0 with no factors.

Every score is the sum of its factors' weights (`RiskFactor.weight`), each with a
`name`, the measured `value` and the facts behind it (`detail`). Scores and the
ranking are computed once per store generation (and as-of) and cached.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .model import IDENTITY_KINDS, EdgeKind, NodeKind
from .traversal import NodeNotFound

SEVERITY_ORDER = ("critical", "high", "medium", "low")
PERSON = NodeKind.Person.value


@dataclass
class RiskFactor:
    reason: str
    weight: float
    detail: Any = None
    name: str = ""
    value: Any = None


@dataclass
class RiskScore:
    score: float
    factors: list[RiskFactor] = field(default_factory=list)


IDENTITY_KIND_NAMES = frozenset(k.value for k in IDENTITY_KINDS)
SCORED_KIND_NAMES = IDENTITY_KIND_NAMES | {PERSON}


@lru_cache(maxsize=1)
def weights() -> dict[str, Any]:
    from .rules.loader import load_data
    return load_data("risk.yaml")


def _log_points(value: float, per_decade: float, cap: float) -> float:
    return min(cap, per_decade * math.log10(1 + max(value, 0.0)))


def banded_score(band: str, raw: list[RiskFactor], w: dict[str, Any], inactive: bool = False,
                 band_detail: Any = None) -> RiskScore:
    """The score from the band and the raw within-band factors (their `weight` the raw
    points): within = band_width x (1 - exp(-sum / within_scale)), shared out in
    proportion to each factor's raw points, so the weights add up to the score."""
    base = float(w["bands"][band])
    width = float(w["band_width"])
    total_raw = sum(f.weight for f in raw if f.weight > 0)
    within = width * (1 - math.exp(-total_raw / float(w["within_scale"]))) if total_raw > 0 else 0.0
    factors: list[RiskFactor] = []
    if base > 0:
        factors.append(RiskFactor(reason=f"most severe finding: {band}", weight=base, name="severity", value=band,
                                  detail=band_detail))
    for f in raw:
        if f.weight <= 0:
            continue
        share = round(within * f.weight / total_raw, 2)
        if share > 0:
            factors.append(RiskFactor(reason=f.reason, weight=share, name=f.name, value=f.value,
                                      detail={**(f.detail or {}), "raw_points": round(f.weight, 2)}
                                      if isinstance(f.detail, dict) or f.detail is None else f.detail))
    if inactive:
        kept = sum(f.weight for f in factors if f.name != "severity")
        cut = round(kept * (1 - float(w["inactive_multiplier"])), 2)
        if cut > 0:
            factors.append(RiskFactor(reason="inactive (within-band points scaled down)", weight=-cut,
                                      name="inactive", value=False, detail={"multiplier": w["inactive_multiplier"]}))
    score = round(min(float(w["max_score"]), sum(f.weight for f in factors)), 2)
    return RiskScore(score=score, factors=factors)


def _findings_by_subject(engine) -> dict[str, list]:
    from .findings import all_findings

    def build():
        out: dict[str, list] = {}
        for f in all_findings(engine):
            out.setdefault(f.subject_id, []).append(f)
        return out
    return engine.cached(f"findings-by-subject@{engine.as_of}@{tuple(getattr(engine, 'rule_dirs', []))}", build)


def _worst(found: list) -> str:
    sev = {f.severity for f in found}
    return next((s for s in SEVERITY_ORDER if s in sev), "none")


def _findings_factor(found: list, w: dict[str, Any]) -> RiskFactor | None:
    if not found:
        return None
    pts = w["findings"]["points"]
    counts: dict[str, int] = {}
    for f in found:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    text = ", ".join(f"{counts[s]} {s}" for s in SEVERITY_ORDER if s in counts)
    return RiskFactor(reason=f"findings: {text}", weight=float(sum(pts[f.severity] for f in found)),
                      name="findings", value=len(found),
                      detail={"findings": [{"id": f.id, "rule": f.rule, "severity": f.severity} for f in found]})


def _band_detail(found: list, band: str) -> dict[str, Any]:
    return {"findings": [{"id": f.id, "rule": f.rule, "subject": f.subject_id} for f in found
                         if f.severity == band][:20]}


def _reach_factors(engine, facts, view, w: dict[str, Any], size: bool = True) -> list[RiskFactor]:
    from .exposure import spend_exposure
    from .service import BlastRadiusResult
    bw = w["blast_radius"]
    out: list[RiskFactor] = []
    reach = facts.reach(view.id, int(bw.get("max_depth", 8)))
    if reach:
        if size:
            pts = _log_points(len(reach), float(bw["points_per_decade"]), float(bw["max_points"]))
            if pts > 0:
                out.append(RiskFactor(reason=f"blast radius reaches {len(reach)} nodes", weight=pts,
                                      name="blast_radius", value=len(reach), detail={"reachable": len(reach)}))
        # The level from the one bulk pass (Facts.reaches_level); the sources behind it
        # only when it scores.
        level = facts.reaches_level(view.id)
        spts = float(bw["sensitivity_points"].get(level, 0))
        if spts > 0:
            level, where = facts.reaches_sensitivity(view.id)
            out.append(RiskFactor(reason=f"reaches {level} data", weight=spts, name="reach_sensitivity",
                                  value=level, detail={"sensitivity": level, "data_sources": where}))
    usd, detail = spend_exposure(engine, BlastRadiusResult(source=view, max_depth=int(bw.get("max_depth", 8)),
                                                           reachable=reach))
    sw = w["spend_exposure"]
    if usd:
        pts = _log_points(usd, float(sw["points_per_decade"]), float(sw["max_points"]))
        if pts > 0:
            out.append(RiskFactor(reason=f"could burn ${usd:,.2f}/hour", weight=pts, name="spend_rate", value=usd,
                                  detail={"usd_per_hour": usd, "credentials": detail[:20]}))
    return out


OWNER_LABELS = {"none": "no owner", "inactive": "owner inactive (departed)",
                "unverified": "owner unverified (no identity provider knows them)"}


def _identity_risk(engine, facts, view, w: dict[str, Any], by_subject: dict[str, list]) -> RiskScore:
    found = by_subject.get(view.id, [])
    band = _worst(found)
    raw = [f for f in (_findings_factor(found, w),) if f is not None]
    raw += _reach_factors(engine, facts, view, w)
    status = facts.owner_status(view.id)
    opts = float(w["owner_status"]["points"].get(status, 0))
    if opts > 0:
        raw.append(RiskFactor(reason=OWNER_LABELS.get(status, status), weight=opts, name="owner_status", value=status,
                              detail={"owners": [{"person": o.person, "status": o.status}
                                                 for o in facts.owner_people(view.id)]}))
    return banded_score(band, raw, w, inactive=not view.active, band_detail=_band_detail(found, band))


def _person_links(engine, facts) -> dict[str, dict[str, set[str]]]:
    """person -> {"owns", "holds", "accounts"}: node ids, built once per generation.
    A person owns what they own directly (or through the service account or project
    ownership resolves through) and what a team they are a named owner of owns; a
    team's plain members do not own its keys (a big team would own everything)."""
    def build():
        ident = facts.subjects(sorted(IDENTITY_KIND_NAMES))
        links: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"owns": set(), "holds": set(),
                                                                     "accounts": set()})
        named: dict[str, list[str]] = {}

        def named_owners(team: str) -> list[str]:
            if team not in named:
                named[team] = sorted({p for e in facts.in_edges(team, EdgeKind.OWNS)
                                      if (p := facts.person_of(e.src)) is not None})
            return named[team]

        cred_like = {NodeKind.Credential.value, NodeKind.OAuthGrant.value}
        team = NodeKind.Team.value
        for v in ident:
            for o in facts.owners(v.id):
                kind = facts.kind_of(o)
                if kind == PERSON:
                    links[o]["owns"].add(v.id)
                elif kind == team:
                    for p in named_owners(o):
                        links[p]["owns"].add(v.id)
            if v.kind in cred_like:
                for h in facts.holders(v.id):
                    if h.person:
                        links[h.person]["holds"].add(v.id)
        for p in facts.subjects([PERSON]):
            for e in facts.out_edges(p.id, EdgeKind.HAS_ACCOUNT):
                links[p.id]["accounts"].add(e.dst)
                for g in facts.out_edges(e.dst, EdgeKind.HOLDS, EdgeKind.CONSENTED):
                    links[p.id]["holds"].add(g.dst)
        return dict(links)
    return engine.cached(f"risk-person-links@{engine.as_of}", build)


def _person_risk(engine, facts, view, w: dict[str, Any], by_subject: dict[str, list],
                 links: dict[str, dict[str, set[str]]]) -> RiskScore:
    pw = w["person"]
    link = links.get(view.id, {"owns": set(), "holds": set(), "accounts": set()})
    related = sorted(link["owns"] | link["holds"] | link["accounts"])
    found = list(by_subject.get(view.id, []))
    risky: dict[str, list] = {}
    for nid in related:
        fs = by_subject.get(nid)
        if fs:
            risky[nid] = fs
            found += fs
    band = _worst(found)
    raw: list[RiskFactor] = []
    if risky:
        def how(nid):
            return "/".join(k for k in ("owns", "holds", "accounts") if nid in link[k])
        pts = min(float(pw["max_identity_points"]), float(pw["per_risky_identity"]) * len(risky))
        worst = {nid: _worst(fs) for nid, fs in risky.items()}
        raw.append(RiskFactor(reason=f"owns, holds or has {len(risky)} identities with findings", weight=pts,
                              name="identities_with_findings", value=len(risky),
                              detail={"identities": [{"id": nid, "via": how(nid), "worst": worst[nid],
                                                      "findings": len(risky[nid])}
                                                     for nid in sorted(risky, key=lambda n: (
                                                         SEVERITY_ORDER.index(worst[n]), n))][:20]}))
    status, left = facts.person_status(view.id)
    if status == "inactive":
        live = [nid for nid in sorted(link["owns"]) if (v := facts.node(nid)) is not None and v.active]
        if live:
            pts = float(pw["departed_owner_of_live"]) + min(float(pw["max_live_points"]),
                                                           float(pw["per_live"]) * len(live))
            raw.append(RiskFactor(reason=f"departed{' on ' + left if left else ''} and still owns "
                                         f"{len(live)} live identit{'y' if len(live) == 1 else 'ies'}",
                                  weight=pts, name="departed_owner", value=len(live),
                                  detail={"deactivated_at": left, "live": live[:20]}))
    # What they can reach through their accounts (sensitivity, $/hour; not its size:
    # everyone reaches something).
    raw += _reach_factors(engine, facts, view, w, size=False)
    return banded_score(band, raw, w, band_detail=_band_detail(found, band))


def compute_risk(engine, node_id: str) -> RiskScore:
    return _Scorer(engine).score(node_id)


class _Scorer:
    """What scoring reads, fetched once for a batch of nodes (facts, findings by
    subject, people's links) instead of once per node."""

    def __init__(self, engine):
        from .findings import facts_of
        self.engine = engine
        self.facts = facts_of(engine)
        self.w = weights()
        self.by_subject = _findings_by_subject(engine)
        self._links = None

    def score(self, node_id: str) -> RiskScore:
        view = self.facts.node(node_id)
        if view is None:
            raise NodeNotFound(node_id)
        if view.kind == PERSON:
            if self._links is None:
                self._links = _person_links(self.engine, self.facts)
            return _person_risk(self.engine, self.facts, view, self.w, self.by_subject, self._links)
        if view.kind not in IDENTITY_KIND_NAMES:
            return RiskScore(score=0.0, factors=[])
        return _identity_risk(self.engine, self.facts, view, self.w, self.by_subject)


def _key(engine) -> str:
    return f"{engine.as_of}@{tuple(getattr(engine, 'rule_dirs', []))}"


def risk_of(engine, node_id: str) -> RiskScore:
    cache = engine.cached(f"risk@{_key(engine)}", dict)
    if node_id not in cache:
        cache[node_id] = compute_risk(engine, node_id)
    return cache[node_id]


def all_risks(engine) -> dict[str, RiskScore]:
    """Scores for every scored node (identities and people), by id."""
    cache = engine.cached(f"risk@{_key(engine)}", dict)
    scorer = _Scorer(engine)
    out = {}
    for v in scorer.facts.subjects(sorted(SCORED_KIND_NAMES)):
        found = cache.get(v.id)
        if found is None:
            found = cache[v.id] = scorer.score(v.id)
        out[v.id] = found
    return out


def ranking(engine, kind: str | None = None) -> list[tuple[str, float]]:
    """(node id, score) of every scored node (of one kind), highest score first, ties
    by id: computed once per data generation, then sliced by callers."""
    def build_all():
        scores = all_risks(engine)
        return sorted(((nid, s.score) for nid, s in scores.items()), key=lambda t: (-t[1], t[0]))

    ranked = engine.cached(f"risk-ranking@{_key(engine)}", build_all)
    if kind is None:
        return ranked

    def build_kind():
        from .findings import facts_of
        facts = facts_of(engine)
        return [t for t in ranked if facts.kind_of(t[0]) == kind]
    return engine.cached(f"risk-ranking@{_key(engine)}@{kind}", build_kind)
