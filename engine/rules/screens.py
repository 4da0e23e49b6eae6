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

import numpy as np

from ..model import EdgeKind, NodeKind
from .checks import CHECKS, ai_vendor_of
from .facts import Facts

_CRED = NodeKind.Credential.value
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
    return set(facts.usage_by_credential)


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
    for cid in facts.usage_by_credential:
        accounts = facts.usage_accounts(cid)
        if accounts:
            count[cid] = count.get(cid, 0) + len(accounts)
    return {cid for cid, n in count.items() if n >= need}


@screen("environment_mix")
def _environment_mix(facts: Facts, p: dict) -> set[str]:
    # Environments come one each from the credential itself, its MEMBER_OF targets
    # and its HOLDS holders (usage holders state none); two are needed. Only
    # credentials are subjects (a stub with no edges has no second environment).
    member_of = facts.adj.out_table(EdgeKind.MEMBER_OF.value)
    holds = facts.adj.in_table(EdgeKind.HOLDS.value)
    kind_at = facts.adj.kind_at
    out = set()
    for i in set(member_of.nodes()) | set(holds.nodes()):
        if kind_at(i) != _CRED:
            continue
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
    out = set(facts.usage_by_subject)
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
    return set(facts.usage_by_subject)


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
    cred, day, _, usd = facts._usage.credential_cells()
    positive = usd > 0
    n = len(facts._usage.by_credential.names)
    total = np.bincount(cred[positive], weights=usd[positive], minlength=n)
    days = np.bincount(np.unique(cred[positive] * (int(day.max(initial=0)) + 1) + day[positive])
                       // (int(day.max(initial=0)) + 1), minlength=n)
    names = facts._usage.by_credential.names
    return {names[c] for c in np.nonzero((total >= floor - margin) & (days >= need_days))[0].tolist()}


@screen("new_model")
def _new_model(facts: Facts, p: dict) -> set[str]:
    # Two models (dated snapshots count as one, so two raw names at least) and a first
    # use min_history_days after the first day.
    need = int(p["min_history_days"])
    cred, day, model, _ = facts._usage.credential_cells()
    n = len(facts._usage.by_credential.names)
    if not len(cred):
        return set()
    # Cells come sorted by credential: per credential, its day span and distinct models.
    bounds = np.searchsorted(cred, np.arange(n + 1))
    present = np.nonzero(bounds[1:] > bounds[:-1])[0]
    starts = bounds[present]
    span = np.maximum.reduceat(day, starts) - np.minimum.reduceat(day, starts)
    n_models = np.bincount(cred[np.unique(cred * (int(model.max()) + 1) + model, return_index=True)[1]],
                           minlength=n)[present]
    keep = present[(n_models >= 2) & (span >= need)]
    # A new model is first used `need` days after the key's first use, counting cells
    # with any use: so some raw model (dated snapshots merge into it) first used that
    # late must exist among the cells with use.
    active = facts._usage.cell_active()
    a_cred, a_day, a_model = cred[active], day[active], model[active]
    late = np.zeros(n, dtype=bool)
    if len(a_cred):
        start = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(start, a_cred, a_day)
        pair = a_cred * (int(model.max()) + 1) + a_model
        pairs, first_at = np.unique(pair, return_inverse=True)
        first = np.full(len(pairs), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, first_at.reshape(-1), a_day)
        pair_cred = pairs // (int(model.max()) + 1)
        late[pair_cred[first - start[pair_cred] >= need]] = True
    names = facts._usage.by_credential.names
    return {names[c] for c in keep[late[keep]].tolist()}
