"""Whole-rule forms of the checks: for a list of subjects, exactly the hits the
per-subject check (engine.rules.checks) would give each, worked out from bulk passes
over the embedded facts (usage columns, per-kind adjacency, memoised owners) and
with the evidence shared work done once.

Only evaluate_rule's fast path on the embedded engine.rules.facts.Facts calls them
(a store's own facts take the per-subject path). Each one is held to its check by
tests/test_rules_bulk.py: same hits, evidence and messages, on generated orgs.
"""
from __future__ import annotations

from typing import Any, Callable

from ..model import EdgeKind
from ..store.base import NodeView
from .checks import CHECKS, Hit
from .facts import Facts

_CONSENTED = EdgeKind.CONSENTED.value
_HOLDS = EdgeKind.HOLDS.value
_AUTHENTICATES_AS = EdgeKind.AUTHENTICATES_AS
_MEMBER_OF = EdgeKind.MEMBER_OF.value

Bulk = Callable[[Facts, list[NodeView], dict[str, Any]], list[list[Hit]]]


def bulk(name: str):
    def register(fn: Bulk) -> Bulk:
        CHECKS[name].bulk = fn
        return fn
    return register


@bulk("sensitive_scopes")
def _sensitive_scopes(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    from .checks import _sensitive_hits, ai_vendor_of
    consented = facts.adj.in_table(_CONSENTED)
    index = facts.graph.index
    edge_dicts = facts.adj.edge_dicts
    out: list[list[Hit]] = []
    said: dict[tuple, str] = {}
    for view, g in zip(views, facts.grants_in_bulk(views)):
        key = tuple(g.scopes)
        found = _sensitive_hits(key)
        if not found:
            out.append([])
            continue
        hits = [dict(h) for h in found]
        granted = said.get(key)
        if granted is None:
            granted = said[key] = ", ".join(h["granted"] for h in hits)
        vendor = ai_vendor_of(g.texts, g.client_id)
        i = index[view.id]
        edges = g.opens + (edge_dicts(i, _CONSENTED, False) if i in consented.ranges else [])
        out.append([Hit({"sensitive_scopes": hits, "scopes": g.scopes, "client_id": g.client_id,
                         "client_name": g.client_name, "client": g.client_node, "consented_by": g.consented_by,
                         "ai_vendor": vendor["vendor"] if vendor else None, "active": bool(view.active),
                         "edges": edges},
                        message=f"{view.id}: grants {granted}" + (f" to {g.client_name}" if g.client_name else ""))])
    return out


@bulk("no_budget_with_spend")
def _no_budget(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    from datetime import timedelta
    from .checks import _now, iso
    window = int(p["spend_window_days"])
    floor = p["min_spend_usd"]
    now_text = iso(_now(facts))
    index = facts.graph.index
    edge_dicts = facts.adj.edge_dicts
    # Facts.spend_usd's window and rounding, its per-subject sums read once.
    start = None if facts.as_of is None else facts.as_of.date() - timedelta(days=window - 1)
    usd = facts._subject_usd(start)
    out: list[list[Hit]] = []
    for view in views:
        if not view.active:
            out.append([])
            continue
        spent = round(usd.get(view.id, 0.0), 6)
        if not spent > floor or facts.has_budget_above(view.id):
            out.append([])
            continue
        i = index.get(view.id)
        above = [] if i is None else edge_dicts(i, _MEMBER_OF, True) + edge_dicts(i, _HOLDS, False)
        out.append([Hit({"spend_usd_window": round(spent, 2), "window_days": window,
                         "checked": above, "now": now_text},
                        message=f"{view.id}: ${spent:,.2f} in {window} days, no budget above it")])
    return out


@bulk("unclaimed_ai")
def _unclaimed_ai(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    # The check's own steps, in its order.
    from .checks import _now, ai_vendor_of, iso, sensitive_scopes_of, usage_usd_text
    from .kinds import Account, Credential, OAuthGrant, ServiceAccount
    now_text = iso(_now(facts))
    u = facts._usage
    has_usage = u.by_subject.of
    grants = [v for v in views if v.kind == OAuthGrant]
    granted = dict(zip((v.id for v in grants), facts.grants_in_bulk(grants)))
    claims = facts.claims
    summaries = facts.usage_summaries()
    usage_projects = facts.usage_projects_all()
    out: list[list[Hit]] = []
    for view in views:
        kind = view.kind
        nid = view.id
        if kind == OAuthGrant:
            g = granted[nid]
            vendor = ai_vendor_of(g.texts, g.client_id)
            if vendor is None:
                out.append([])
                continue
            claimed = claims(nid) + (claims(g.client_node) if g.client_node else [])
            if claimed:
                out.append([])
                continue
            out.append([Hit({"ai_vendor": vendor["vendor"], "matched": vendor["matched"], "client_id": g.client_id,
                             "client_name": g.client_name, "client": g.client_node, "scopes": g.scopes,
                             "sensitive_scopes": [h["granted"] for h in sensitive_scopes_of(g.scopes)],
                             "consented_by": g.consented_by, "edges": g.opens},
                            message=f"{nid}: OAuth grant to {vendor['vendor']} ({g.client_name or g.client_id}) "
                                    f"that no approved tool claims")])
            continue
        if nid not in has_usage:
            out.append([])
            continue
        claimed = list(claims(nid))       # a copy: claims() answers are memoised
        projects = facts.projects_of(nid) if kind == Credential else []
        if kind == Credential:
            projects = sorted(set(projects) | set(usage_projects(nid)))
            for proj in projects:
                claimed += claims(proj)
        if kind == ServiceAccount or kind == Account:
            for src in facts._src_ids(nid, _AUTHENTICATES_AS):
                claimed += claims(src)
        if claimed:
            out.append([])
            continue
        summary = summaries(nid)
        out.append([Hit({"usage": summary, "projects": projects,
                         "usage_rows": u.row_dicts(u.recent_rows(nid, 20)), "now": now_text},
                        message=f"{nid}: {usage_usd_text(summary)} of AI usage on {summary['days']} days "
                                f"({', '.join(summary['models'])}) that no approved tool claims")])
    return out


def _owner_people_memo(facts: Facts):
    """owner -> the OwnerFacts it stands for (Facts._people_for_owner, in the memo
    Facts.owner_people itself fills)."""
    per_owner = facts.__dict__.setdefault("_memo_people_for_owner", {})

    def people(owner: str):
        found = per_owner.get(owner)
        if found is None:
            found = per_owner[owner] = facts._people_for_owner(owner)
        return found
    return people


@bulk("owner_departed_with_usage")
def _departed(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    # Only a credential with usage and an owner who stands for an inactive person (or a
    # team / project resolving to one) can hit; the rest skip the check itself.
    from .checks import owner_departed_with_usage
    people = _owner_people_memo(facts)
    used = facts.usage_by_credential
    out: list[list[Hit]] = []
    for view in views:
        maybe = view.id in used and any(f.status == "inactive" and f.deactivated_at
                                        for o in facts.owners(view.id) for f in people(o))
        out.append(owner_departed_with_usage(facts, view, p) if maybe else [])
    return out


@bulk("no_active_owner")
def _no_active_owner(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    # An active subject is a hit unless one of its resolved owners stands for an
    # active person (owner_people merges the owners' people by person, whose status
    # is the person's own, so "some owner's people include an active one" is the
    # same test); hits go through the check itself for their evidence.
    from .checks import no_active_owner
    people = _owner_people_memo(facts)
    active: dict[str, bool] = {}
    out: list[list[Hit]] = []
    for view in views:
        if not view.active:
            out.append([])
            continue
        owned = False
        for o in facts.owners(view.id):
            found = active.get(o)
            if found is None:
                found = active[o] = any(f.status == "active" for f in people(o))
            if found:
                owned = True
                break
        out.append([] if owned else no_active_owner(facts, view, p))
    return out


@bulk("long_lived")
def _long_lived(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    # The check's tests with "now", its cutoffs and its text worked out once.
    from datetime import timedelta
    from .checks import _now, iso, parse_ts
    now = _now(facts)
    if now is None:
        return [[] for _ in views]
    cutoff = now - timedelta(days=p["max_age_days"])
    longest = timedelta(days=p["max_lifetime_days"])
    now_text = iso(now)
    out: list[list[Hit]] = []
    for view in views:
        if not view.active:
            out.append([])
            continue
        props = view.properties
        created = parse_ts(props.get("created_at"))
        if created is None or not created < cutoff:
            out.append([])
            continue
        expires = parse_ts(props.get("expires_at"))
        lifetime = None if expires is None else (expires - created).days
        if expires is not None and not expires - created > longest:
            out.append([])
            continue
        age = (now - created).days
        out.append([Hit({"now": now_text, "created_at": iso(created), "expires_at": iso(expires),
                         "age_days": age, "lifetime_days": lifetime},
                        message=f"{view.id}: {age} days old, " +
                                ("no expiry" if expires is None else f"expires {lifetime} days after creation"))])
    return out


@bulk("stale")
def _stale(facts: Facts, views: list[NodeView], p: dict) -> list[list[Hit]]:
    from datetime import datetime, timedelta
    from .checks import _now, iso, parse_ts
    now = _now(facts)
    if now is None:
        return [[] for _ in views]
    unused = now - timedelta(days=p["unused_days"])
    never = now - timedelta(days=p["never_used_days"])
    now_text = iso(now)
    midnight = datetime.min.time()
    last_day = facts.last_usage_day
    out: list[list[Hit]] = []
    for view in views:
        if not view.active:
            out.append([])
            continue
        props = view.properties
        stated = parse_ts(props.get("last_used_at"))
        day = last_day(view.id)
        seen = datetime.combine(day, midnight, tzinfo=now.tzinfo) if day else None
        last = stated if seen is None else seen if stated is None else max(stated, seen)
        if last is not None:
            if last < unused:
                idle = (now - last).days
                created = parse_ts(props.get("created_at"))
                out.append([Hit({"now": now_text, "last_used_at": iso(stated),
                                 "last_usage_day": day.isoformat() if day else None, "created_at": iso(created),
                                 "idle_days": idle, "threshold_days": p["unused_days"]},
                                message=f"{view.id}: last used {iso(last)}, {idle} days before now")])
            else:
                out.append([])
            continue
        created = parse_ts(props.get("created_at"))
        if created is not None and created < never:
            age = (now - created).days
            out.append([Hit({"now": now_text, "last_used_at": iso(stated),
                             "last_usage_day": day.isoformat() if day else None, "created_at": iso(created),
                             "never_used": True, "age_days": age, "threshold_days": p["never_used_days"]},
                            message=f"{view.id}: never used, created {iso(created)} ({age} days ago)")])
        else:
            out.append([])
    return out
