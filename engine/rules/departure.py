"""Checks about people who left: their accounts that stay active, and anything of
theirs (an account, a credential they own, hold or act as) used after they left.

"Departed" is the contract's person status `inactive`: every identity-provider
account that knows them is deactivated; the departure time is the latest
`deactivated_at` among those accounts. Use after it comes from every activity signal
(engine.activity): usage rows, the vendor's own last-used time and service, last
sign-in, Claude Code activity; each named in the evidence with its source.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..activity import activity_after, signal_dict
from ..derive import parse_ts
from ..ids import IDENTITY_PROVIDERS, source_of
from ..model import EdgeKind as K
from ..store.base import NodeView
from .checks import Hit, check, iso
from .facts import Facts, edge_dict
from .kinds import Account as ACCOUNT, Credential as CRED


def _departed(facts: Facts, person: str | None) -> tuple[str, str | None] | None:
    if person is None:
        return None
    status, left = facts.person_status(person)
    return (person, left) if status == "inactive" else None


def people_behind(facts: Facts, view: NodeView) -> list[dict[str, Any]]:
    """Departed people a node belongs to, each with how: the person of an account, the
    people whose account a credential acts as or who hold it, and its departed owners."""
    found: dict[str, dict[str, Any]] = {}

    def add(person: str | None, relation: str) -> None:
        d = _departed(facts, person)
        if d is not None and d[1] and person not in found:
            found[person] = {"person": person, "deactivated_at": d[1], "relation": relation}

    if view.kind == ACCOUNT:
        add(facts.person_of(view.id), "their account")
    else:
        for e in facts.out_edges(view.id, K.AUTHENTICATES_AS):
            add(facts.person_of(e.dst), f"acts as their account {e.dst}")
        for h in facts.holders(view.id):
            if h.person:
                add(h.person, "held by them" if h.via == "HOLDS" else "used by them")
    for o in facts.departed_owners(view.id):
        add(o.person, "owned by them" if o.via == o.person else f"owned by them through {o.via}")
    return [found[k] for k in sorted(found)]


@check("departed_account_active", (ACCOUNT,))
def departed_account_active(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """An account still active in its source whose person has left (inactive in every
    identity provider that knows them)."""
    if not view.active or source_of(view.id) in IDENTITY_PROVIDERS:
        return []
    person = facts.person_of(view.id)
    d = _departed(facts, person)
    if d is None:
        return []
    idp = [edge_dict(e) for e in facts.out_edges(person, K.HAS_ACCOUNT)]
    props = view.properties or {}
    last = {k: props.get(k) for k in ("last_used_at", "last_activity_at", "last_login_at") if props.get(k)}
    left = d[1]
    return [Hit({"person": person, "deactivated_at": left, "account": view.id, "source": source_of(view.id),
                 "account_status": props.get("status"), **last, "edges": idp, "now": iso(facts.as_of)},
                message=f"{view.id} is still active in {source_of(view.id)}, but {person} left"
                        + (f" on {left}" if left else ""))]


@check("used_after_departure", (ACCOUNT, CRED))
def used_after_departure(facts: Facts, view: NodeView, p: dict) -> list[Hit]:
    """An account or credential of a departed person (their account, a credential that
    acts as their account, that they hold or used, or that they own) with activity
    after the departure, from any signal: usage rows, the vendor's last-used time,
    last sign-in, Claude Code activity."""
    people = people_behind(facts, view)
    if not people:
        return []
    engine = facts.engine
    hits = []
    for who in people:
        left: datetime | None = parse_ts(who["deactivated_at"])
        if left is None:
            continue
        signals = activity_after(engine, facts, view, left)
        if facts.as_of is not None:
            signals = [s for s in signals if s.at <= facts.as_of]
        if not signals:
            continue
        usd = sum(s.usd or 0.0 for s in signals if s.kind == "usage")
        hits.append({**who, "signals": [signal_dict(s) for s in signals],
                     "sources": sorted({s.source for s in signals}),
                     "first_after": iso(signals[0].at), "last_after": iso(signals[-1].at), "usd_after": usd})
    if not hits:
        return []
    first = hits[0]
    usd = round(max(h["usd_after"] for h in hits), 2)
    for h in hits:
        h["usd_after"] = round(h["usd_after"], 2)
    return [Hit({"departed": hits, "person": first["person"], "deactivated_at": first["deactivated_at"],
                 "first_after": first["first_after"], "last_after": max(h["last_after"] for h in hits),
                 "usd_after": usd, "sources": sorted({s for h in hits for s in h["sources"]}),
                 "now": iso(facts.as_of)},
                message=f"{view.id}: used after {', '.join(h['person'] for h in hits)} left "
                        f"(last {max(h['last_after'] for h in hits)}, from {', '.join(first['sources'])})")]

