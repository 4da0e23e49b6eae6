"""traceCompromise: a responder's checklist for one leaked key (or grant, or tool).

What it gathers: the resolved owners (each a node carrying its status), who holds
or used it, its secret-scanner exposures, its usage since `since` by day and model
(days unlike the baseline marked: the token-burn rule firing, a model's first use,
or spend well above the days before `since`; parameters in queries/risk.yaml
`trace:`), its blast radius with the $/hour exposure, and an ordered revocation
plan, each step with its reason:

1. revoke the subject (rotate it when an approved tool depends on it);
2. revoke the OAuth grants its blast radius reaches;
3. rotate the secrets it reaches second-order (credentials kept in data it can
   reach, STORES_SECRET), then any other credential it reaches;
4. disable holders that should not have it (unapproved tools, accounts of people
   who left); hand the replacement to the approved tools that hold it;
5. review the marked usage with the vendor;
6. notify the owners (assign one first when none is active).

`since` defaults to the earliest exposure of the subject, else 30 days before now.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from .model import NodeKind
from .revocation_commands import how_to
from .trace_timeline import activity_since, build_timeline, exposure_authors, exposure_time
from .traversal import NodeNotFound


@dataclass
class UsageDay:
    day: date
    model: str
    credential_id: str | None
    usd: float | None
    input_tokens: int
    output_tokens: int
    requests: int
    anomalous: bool = False
    note: str | None = None


@dataclass
class RevocationStep:
    order: int
    action: str             # revoke | rotate | revoke-grant | rotate-secret | notify | ...
    target_id: str
    reason: str
    command: str | None = None      # what to run (engine.revocation_commands)
    url: str | None = None          # the vendor console page for it


@dataclass
class CompromiseTrace:
    subject_id: str
    since: datetime | None
    owners: list[str]               # node ids (people, teams) with their status on the node
    holders: list[str]
    blast: Any                      # engine.service.BlastRadiusResult
    usage_since: list[UsageDay] = field(default_factory=list)
    revocation_plan: list[RevocationStep] = field(default_factory=list)
    exposures: list[str] = field(default_factory=list)
    timeline: list = field(default_factory=list)            # engine.trace_timeline.TimelineEvent
    exposure_authors: list = field(default_factory=list)    # engine.trace_timeline.ExposureAuthor
    activity: list = field(default_factory=list)            # (credential id, ActivitySignal) since
    usd_since: float = 0.0
    input_tokens_since: int = 0
    output_tokens_since: int = 0
    requests_since: int = 0
    unpriced_requests_since: int = 0


def _trace_config() -> dict[str, Any]:
    from .risk import weights
    return weights().get("trace", {})


def _exposure_time(facts, view) -> datetime | None:
    stamps = [t for _, x in facts.exposures(view.id) if x is not None
              and (t := exposure_time(x.properties or {})) is not None]
    return min(stamps) if stamps else None


def _credentials_of(facts, view) -> list[str]:
    """The credentials whose usage a trace shows: the subject, or what a tool holds."""
    if view.kind == NodeKind.Credential.value:
        return [view.id]
    if view.kind == NodeKind.AITool.value:
        from .model import EdgeKind
        return sorted(e.dst for e in facts.out_edges(view.id, EdgeKind.HOLDS)
                      if facts.kind_of(e.dst) == NodeKind.Credential.value)
    return []


def _usage_since(engine, facts, creds: list[str], since: datetime) -> list[UsageDay]:
    from .findings import rules_of
    from .rules.checks import ANOMALY_DEFAULTS, anomalous_days, dense_series
    cfg = _trace_config()
    rule = next((r for r in rules_of(engine) if r.id == "token-burn-anomaly"), None)
    params = {**ANOMALY_DEFAULTS, **(rule.parameters if rule else {})}
    start = since.date() if since is not None else date.min
    out: list[UsageDay] = []
    for cid in creds:
        daily = facts.daily_usd(cid)
        anomalies = {a["day"]: a for a in anomalous_days(dense_series(daily), params)}
        seen_before = any(d < start for d in daily)
        before = [daily.get(start - timedelta(days=i), 0.0)
                  for i in range(1, int(cfg.get("baseline_days", 14)) + 1)] if seen_before else []
        base = statistics.median(before) if seen_before else None
        first = {}
        from .rules.facts import normalise_model
        for m, d in facts.first_use(cid).items():
            first[m] = d
        history_start = min(first.values()) if first else None
        for (day, model), cell in sorted(facts.daily_by_model(cid).items()):
            if day < start:
                continue
            notes = []
            a = anomalies.get(day)
            if a is not None:
                notes.append(f"token-burn anomaly: ${a['usd']:,.2f} that day vs ${a['baseline_median_usd']:,.2f} baseline")
            nm = normalise_model(model)
            if first.get(nm) == day and history_start is not None and day > history_start:
                notes.append(f"first use of {nm} on this key")
            total = daily.get(day, 0.0)
            if (base is not None and total > float(cfg.get("above_baseline_ratio", 2.0)) * base
                    and total - base >= float(cfg.get("min_excess_usd", 5.0)) and a is None):
                notes.append(f"${total:,.2f} that day, {total / base:.1f}x the ${base:,.2f} median before "
                             f"{start.isoformat()}" if base > 0 else f"${total:,.2f} that day, none before")
            out.append(UsageDay(day=day, model=model, credential_id=cid,
                                usd=None if cell["unpriced"] and not cell["usd"] else round(cell["usd"], 4),
                                input_tokens=cell["input_tokens"], output_tokens=cell["output_tokens"],
                                requests=cell["requests"], anomalous=bool(notes),
                                note="; ".join(notes) if notes else None))
    out.sort(key=lambda u: (u.day, u.credential_id or "", u.model))
    return out


def _plan(engine, facts, view, blast, holders, owners, usage, exposures) -> list[dict[str, str]]:
    from .model import EdgeKind
    steps: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(action: str, target: str, reason: str) -> None:
        if (action, target) not in seen:
            seen.add((action, target))
            steps.append({"action": action, "target": target, "reason": reason})

    leak = f"exposed in {', '.join(exposures)}" if exposures else "suspected compromised"
    approved_holders = [h.id for h in holders if h.kind == NodeKind.AITool.value and facts.is_approved_tool(h.id)]
    if view.kind == NodeKind.Credential.value:
        if not view.active:
            add("confirm-revoked", view.id, f"{leak}; already inactive "
                f"({view.properties.get('inactive_reason') or view.properties.get('status') or 'vendor says inactive'}); "
                f"confirm with the vendor that it no longer authenticates")
        elif approved_holders:
            add("rotate", view.id, f"{leak} and still active: issue a replacement, then revoke this key "
                f"(approved tools depend on it: {', '.join(approved_holders)})")
        else:
            add("revoke", view.id, f"{leak} and still active: revoke it now")
    elif view.kind == NodeKind.OAuthGrant.value:
        add("revoke-grant", view.id, f"{leak}: revoke the grant so the client's tokens stop working")
    elif view.kind == NodeKind.AITool.value:
        add("disable", view.id, f"{leak}: disable the tool until its credentials are rotated")
    else:
        add("disable", view.id, f"{leak}: disable the identity until it is reviewed")

    reach = blast.reachable
    for r in sorted(reach, key=lambda r: (r.depth, r.node_id)):
        v = facts.node(r.node_id)
        if v is None or not v.active or v.kind != NodeKind.OAuthGrant.value:
            continue
        add("revoke-grant", r.node_id, f"reachable from {view.id} at depth {r.depth} "
            f"({' -> '.join(r.path)}): an attacker holding it can use this grant")
    creds = [(r, facts.node(r.node_id)) for r in sorted(reach, key=lambda r: (r.depth, r.node_id))]
    creds = [(r, v) for r, v in creds if v is not None and v.active and v.kind == NodeKind.Credential.value
             and r.node_id != view.id]
    for r, v in creds:
        if EdgeKind.STORES_SECRET.value in r.edge_kinds:
            store = r.path[r.edge_kinds.index(EdgeKind.STORES_SECRET.value)]
            add("rotate-secret", r.node_id, f"kept in {store}, which {view.id} reaches "
                f"({' -> '.join(r.path)}): assume the attacker read it")
    for r, v in creds:
        if EdgeKind.STORES_SECRET.value not in r.edge_kinds:
            add("rotate", r.node_id, f"reachable from {view.id} at depth {r.depth} ({' -> '.join(r.path)})")

    for h in holders:
        hv = facts.node(h.id)
        if hv is None:
            continue
        if h.kind == NodeKind.AITool.value:
            if facts.is_approved_tool(h.id):
                add("update-holder", h.id, f"approved tool holding {view.id}: give it the replacement, "
                    f"then confirm it no longer uses the old key")
            else:
                add("disable", h.id, f"holds {view.id} but is not an approved inventory tool")
        elif h.person:
            status, left = facts.person_status(h.person)
            if status != "active":
                add("disable", h.person, f"holds or used {view.id} but is {status}"
                    + (f" since {left}" if left else "") + ": disable their remaining accounts")

    marked = [u for u in usage if u.anomalous]
    if marked:
        usd = sum(u.usd or 0.0 for u in marked)
        days = sorted({u.day.isoformat() for u in marked})
        add("review-usage", view.id, f"{len(days)} day(s) unlike its baseline since the compromise "
            f"({', '.join(days[:6])}{'...' if len(days) > 6 else ''}; ${usd:,.2f}): ask the vendor for "
            f"request logs and dispute fraudulent spend")

    people = facts.owner_people(view.id)
    for o in people:
        if o.status != "inactive":
            continue
        for e in facts.out_edges(o.person, EdgeKind.HAS_ACCOUNT):
            acct = facts.node(e.dst)
            if acct is not None and acct.active:
                add("disable", e.dst, f"account of {o.person}, who owns {view.id} and left"
                    + (f" on {o.deactivated_at}" if o.deactivated_at else "") + ", is still active")
    if not any(o.status == "active" for o in people):
        add("assign-owner", view.id, "no active owner: assign one to carry the follow-up")
    for o in owners:
        ov = facts.node(o)
        if ov is not None and ov.kind == NodeKind.Team.value:
            add("notify", o, f"owning team of {view.id}")
            for p in people:
                if p.via == o and p.person != o:
                    add("notify", p.person, f"{'owner' if p.status == 'active' else p.status + ' owner'} of "
                        f"{o}, which owns {view.id}")
            continue
        status, left = facts.person_status(o)
        if status == "active":
            add("notify", o, f"owner of {view.id}")
        else:
            add("notify", o, f"owner of {view.id} is {status}" + (f" (since {left})" if left else "")
                + ": notify their manager or team instead")
    return steps


def trace_compromise(engine, node_id: str, since: datetime | None = None) -> CompromiseTrace:
    from .findings import facts_of
    view = engine.node(node_id)
    if view is None:
        raise NodeNotFound(node_id)
    facts = facts_of(engine)
    cfg = _trace_config()
    if since is None:
        since = _exposure_time(facts, view)
    if since is None and engine.as_of is not None:
        # never the wall clock: with no timestamps in the data there is no "30 days ago"
        since = datetime.combine(engine.as_of.date() - timedelta(days=int(cfg.get("default_lookback_days", 30))),
                                 time(0), tzinfo=timezone.utc)
    elif since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    owners = facts.owners(node_id)
    holders = facts.holders(node_id)
    exposures = [e.dst for e, _ in facts.exposures(node_id)]
    blast = engine.blast_radius(node_id)
    creds = _credentials_of(facts, view)
    usage = _usage_since(engine, facts, creds, since)
    steps = _plan(engine, facts, view, blast, holders, owners, usage, exposures)
    authors = exposure_authors(facts, exposures)
    timeline = build_timeline(engine, facts, view, since, exposures, authors, creds, usage)
    plan = []
    for i, s in enumerate(steps):
        how = how_to(s["action"], facts.node(s["target"]), facts)
        plan.append(RevocationStep(order=i + 1, action=s["action"], target_id=s["target"], reason=s["reason"],
                                   command=how.command, url=how.url))
    return CompromiseTrace(
        subject_id=node_id, since=since, owners=owners, holders=[h.id for h in holders], blast=blast,
        usage_since=usage, exposures=exposures, revocation_plan=plan,
        timeline=timeline, exposure_authors=authors, activity=activity_since(engine, facts, creds, since),
        usd_since=round(sum(u.usd or 0.0 for u in usage), 4),
        input_tokens_since=sum(u.input_tokens for u in usage),
        output_tokens_since=sum(u.output_tokens for u in usage),
        requests_since=sum(u.requests for u in usage),
        unpriced_requests_since=sum(u.requests for u in usage if u.usd is None))
