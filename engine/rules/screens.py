"""Bulk screens in front of the checks: for a check, the ids of every subject it
could possibly hit, worked out in one pass over the facts' indexes, so the per-subject
check (which stays the only judge) runs on those alone.

A screen must return a superset of the subjects the check hits for these parameters
(or None: no screen). Each one below is a necessary condition read straight off its
check's code: what the check returns [] without. A check with no screen (owners,
grant scopes, lifecycle) runs on every subject: its memoised facts cost about what a
screen would. They only read the embedded
engine.rules.facts.Facts; evaluate_rule does not screen a store's own facts (a store
may answer the same questions differently). tests/test_rules_screens.py compares
screened and unscreened findings on a generated org.
"""
from __future__ import annotations

from typing import Any, Callable

from ..model import EdgeKind, NodeKind
from .checks import CHECKS, ai_vendor_of
from .facts import Facts

Screen = Callable[[Facts, dict[str, Any]], "set[str] | None"]


def screen(name: str):
    def register(fn: Screen) -> Screen:
        CHECKS[name].screen = fn
        return fn
    return register


def _ids(facts: Facts, indices) -> set[str]:
    ids = facts.graph.ids
    return {ids[i] for i in indices}


def _degree(table, i: int) -> int:
    r = table.ranges.get(i)
    return 0 if r is None else r[1] - r[0]


@screen("exposed")
def _exposed(facts: Facts, p: dict) -> set[str]:
    # exposures() are the EXPOSED_IN edges out of the credential.
    return _ids(facts, facts.adj.out_table(EdgeKind.EXPOSED_IN.value).nodes())


@screen("owner_departed_with_usage")
def _departed(facts: Facts, p: dict) -> set[str]:
    # No usage rows on the credential: nothing was spent after anyone left.
    return {cid for cid, rows in facts.usage_by_credential.items() if rows}


@screen("shared")
def _shared(facts: Facts, p: dict) -> set[str] | None:
    # Holders come from HOLDS edges and the accounts usage rows name: a credential
    # needs at least min(min_people, min_tools, 2) of them between the two.
    need = min(int(p["min_people"]), int(p["min_tools"]), 2) if p["min_people"] == int(p["min_people"]) \
        and p["min_tools"] == int(p["min_tools"]) else None
    if need is None or need <= 0:
        return None
    holds = facts.adj.in_table(EdgeKind.HOLDS.value)
    count: dict[str, int] = {}
    ids = facts.graph.ids
    for i, (a, b) in holds.ranges.items():
        count[ids[i]] = b - a
    for cid, rows in facts.usage_by_credential.items():
        accounts = {r.account_id for r in rows if r.account_id}
        if accounts:
            count[cid] = count.get(cid, 0) + len(accounts)
    return {cid for cid, n in count.items() if n >= need}


@screen("environment_mix")
def _environment_mix(facts: Facts, p: dict) -> set[str]:
    # Environments come one each from the credential itself, its MEMBER_OF targets
    # and its HOLDS holders (usage holders state none); two are needed.
    member_of = facts.adj.out_table(EdgeKind.MEMBER_OF.value)
    holds = facts.adj.in_table(EdgeKind.HOLDS.value)
    out = set()
    for i in set(member_of.nodes()) | set(holds.nodes()):
        n = _degree(member_of, i) + _degree(holds, i)
        if n >= 2:
            out.add(facts.graph.ids[i])
        elif n == 1:
            v = facts.graph.views[i]
            meta = v.properties.get("metadata")
            if facts.envs.normalise(v.properties.get("environment") or
                                    (meta.get("environment") if isinstance(meta, dict) else None)):
                out.add(v.id)
    return out


@screen("unclaimed_ai")
def _unclaimed_ai(facts: Facts, p: dict) -> set[str]:
    # A grant needs a client that is a known AI vendor's (judged on what the grant's
    # client is known by, as the check does); anything else needs usage rows.
    out = {k for k, rows in facts.usage_by_subject.items() if rows}
    for gid in facts.graph.by_kind.get(NodeKind.OAuthGrant.value, []):
        client_id, _, _, texts = facts.grant_client(gid)
        if ai_vendor_of(texts, client_id) is not None:
            out.add(gid)
    return out


@screen("no_budget_with_spend")
def _no_budget(facts: Facts, p: dict) -> set[str] | None:
    # Spend over min_spend_usd (0 or more) needs usage rows on the credential.
    if not float(p["min_spend_usd"]) >= 0:
        return None
    return {k for k, rows in facts.usage_by_subject.items() if rows}


@screen("spend_anomaly")
def _spend_anomaly(facts: Facts, p: dict) -> set[str] | None:
    # A firing day is at least dollar_floor_usd, and its trailing window needs
    # min_active_days days with spend: so the credential's positive spend adds up to
    # the floor (less a rounding margin) on at least that many days.
    floor = float(p["dollar_floor_usd"])
    if floor <= 0:
        return None
    need_days = int(p["min_active_days"])
    margin = floor * 1e-9 + 1e-9
    out = set()
    for cid, cells in facts._daily.items():
        positive = 0.0
        days = set()
        for (day, _), cell in cells.items():
            if cell["usd"] > 0:
                positive += cell["usd"]
                days.add(day)
        if positive >= floor - margin and len(days) >= need_days:
            out.add(cid)
    return out


@screen("new_model")
def _new_model(facts: Facts, p: dict) -> set[str]:
    # Two models (dated snapshots count as one, so two raw names at least) and a first
    # use min_history_days after the first day.
    need = int(p["min_history_days"])
    out = set()
    for cid, cells in facts._daily.items():
        models = {m for (_, m) in cells}
        if len(models) < 2:
            continue
        days = [d for (d, _) in cells]
        if (max(days) - min(days)).days >= need:
            out.add(cid)
    return out
