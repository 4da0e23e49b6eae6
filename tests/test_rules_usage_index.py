"""The rule facts' columnar usage (engine.rules.usage) and memoised owner resolution
(engine.ownership.OwnerResolver) give exactly what the record-by-record reference
gives: same rows, same USD to the last bit, same owners for every node.

The references below are the straightforward computations over Store.usage()
records and over graph edges that the fast paths replaced."""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from engine.findings import facts_of
from engine.model import UsageRow
from engine.ownership import _resolve, owners_of, resolver_for
from engine.rules.facts import Facts, edge_dict
from engine.service import Engine
from engine.spend import priced_usage
from engine.store.base import UsageColumns, usage_columns_of

from rules_kit import G, N, K, TODAY

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from synth.generate import generate
    base = tmp_path_factory.mktemp("usage-index")
    generate(300, 5, base / "snap")
    eng = Engine.open(str(base / "org.db"))
    eng.ingest([base / "snap"])
    yield eng
    eng.close()


@pytest.fixture()
def odd(tmp_path):
    """Rows the generator never writes: cache writes as text (two rows of one key
    and day, told apart by their bucket), an unpriced model, a
    vendor figure beside tokens, account-only and project-only rows, a key no source
    lists, and rows after "now"."""
    g = G(tmp_path / "odd.db")
    g.cred("openai:api_key:a")
    g.node("openai:project:p", N.Project)
    g.node("openai:user:u", N.Account)
    g.edge("openai:api_key:a", K.MEMBER_OF, "openai:project:p")
    rows = [
        dict(model="claude-3-5-sonnet-20240620", credential_id="openai:api_key:a", input_tokens=5000,
             output_tokens=700, cached_input_tokens=1200, properties={"cache_creation_input_tokens": "300", "bucket_key": "text"}),
        dict(model="claude-3-5-sonnet-20240620", credential_id="openai:api_key:a", input_tokens=10,
             output_tokens=5, cached_input_tokens=40, properties={"cache_creation_input_tokens": 2.9, "bucket_key": "float"}),
        dict(model="gpt-4o", credential_id="openai:api_key:a", account_id="openai:user:u", input_tokens=123457,
             output_tokens=99991, vendor_usd=0.1 + 0.2),
        dict(model="no-such-model-xyz", credential_id="openai:api_key:a", input_tokens=100, output_tokens=1),
        dict(model="gpt-4o-mini", project_id="openai:project:p", input_tokens=333333, output_tokens=77777),
        dict(model="gpt-4o-mini", account_id="openai:user:u", input_tokens=1, output_tokens=1),
        dict(model="gpt-4o-2024-08-06", credential_id="openai:api_key:ghost", input_tokens=999999,
             output_tokens=31, properties={"cache_creation_input_tokens": None}),
    ]
    for d in range(40):
        for r in rows:
            g.usage.append(UsageRow(day=TODAY - timedelta(days=d), requests=d + 1, **r))
    g.usage.append(UsageRow(day=TODAY + timedelta(days=3), model="gpt-4o", credential_id="openai:api_key:a",
                            input_tokens=10**6, output_tokens=10**6))
    eng = g.engine(as_of=None)
    eng._as_of = __import__("datetime").datetime(2026, 11, 14, 23, tzinfo=__import__("datetime").timezone.utc)
    yield eng
    eng.close()


def _reference(engine):
    """The record-by-record facts: priced rows, rows per subject and credential, daily
    cells, last days and windowed spend."""
    facts = facts_of(engine)
    end = facts.as_of.date() if facts.as_of is not None else None
    priced = priced_usage(engine, None, end)
    by_sub, by_cred = defaultdict(list), defaultdict(list)
    for p in priced:
        r = p.record
        key = r.credential_id or r.project_id or r.account_id
        if key:
            by_sub[key].append(p)
        if r.credential_id:
            by_cred[r.credential_id].append(p)
    return facts, priced, by_sub, by_cred


def _cells(rows):
    cells = {}
    for p in rows:
        r = p.record
        cell = cells.setdefault((r.day, r.model), {"usd": 0.0, "unpriced": False, "input_tokens": 0,
                                                   "output_tokens": 0, "requests": 0})
        if p.priced:
            cell["usd"] += p.usd
        else:
            cell["unpriced"] = True
        cell["input_tokens"] += r.input_tokens
        cell["output_tokens"] += r.output_tokens
        cell["requests"] += r.requests
    return cells


def _row(p):
    r = p.record
    return {"source": r.source, "day": r.day.isoformat(), "model": r.model, "credential_id": r.credential_id,
            "project_id": r.project_id, "account_id": r.account_id, "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens, "requests": r.requests,
            "usd": round(p.usd, 4) if p.priced else None, **({} if p.priced else {"price": "unpriced"})}


def _assert_usage_facts_exact(engine):
    facts, priced, by_sub, by_cred = _reference(engine)
    assert type(facts) is Facts
    # The same rows, each with the same USD (bit for bit).
    assert facts.usage == [p.record for p in priced]
    assert [facts.row_usd(r) for r in facts.usage] == [p.usd if p.priced else None for p in priced]
    assert set(facts.usage_by_subject) == set(by_sub) and set(facts.usage_by_credential) == set(by_cred)
    start = facts.as_of.date() - timedelta(days=29)
    checked = 0
    for key, rows in by_sub.items():
        assert facts.usage_rows(key) == [p.record for p in rows]
        total = 0.0
        for p in rows:
            if p.record.day >= start:
                total += p.usd if p.priced else 0.0
        assert facts.spend_usd(key, 30) == round(total, 6)
        assert facts.spend_usd(key) == round(sum((p.usd if p.priced else 0.0) for p in rows), 6)
        assert facts.last_usage_day(key) == max(p.record.day for p in rows)
        days = sorted({p.record.day for p in rows})
        want = {
            "usd": round(sum((p.usd if p.priced else 0.0) for p in rows), 2), "days": len(days),
            "first_day": days[0].isoformat(), "last_day": days[-1].isoformat(),
            "models": sorted({p.record.model for p in rows}), "requests": sum(p.record.requests for p in rows),
            "sources": sorted({p.record.source for p in rows})}
        unpriced = sorted({p.record.model for p in rows if not p.priced})
        if unpriced:     # a model with no price is said, never a silent $0
            want.update(price="unpriced", unpriced_models=unpriced)
        assert facts.usage_summary(key) == want
        assert facts.usage_summaries()(key) == want
        assert facts.recent_usage(key, 20) == [
            _row(p) for p in sorted(rows, key=lambda p: (p.record.day, p.record.model))[-20:]]
        assert facts.usage_projects(key) == sorted({p.record.project_id for p in rows if p.record.project_id})
        checked += 1
    for cid, rows in by_cred.items():
        assert facts.daily_by_model(cid) == _cells(rows)
        assert facts.usage_accounts(cid) == sorted({p.record.account_id for p in rows if p.record.account_id})
    # What has no usage answers as empty, not as an error.
    for missing in ("no:such:node", "openai:api_key:never-used"):
        assert facts.usage_rows(missing) == [] and facts.spend_usd(missing, 30) == 0.0
        assert facts.usage_summary(missing) is None and facts.recent_usage(missing) == []
        assert facts.daily_by_model(missing) == {} and facts.last_usage_day(missing) is None
        assert not facts.has_usage(missing) and missing not in facts.usage_by_credential
    return checked


def test_usage_columns_are_the_usage_rows(org):
    store = org.store
    cols = store.usage_columns()
    rows = store.usage()
    ref = usage_columns_of(rows)
    assert len(cols) == len(rows) > 1000
    for f in dataclasses.fields(UsageColumns):
        if f.name not in ("properties", "parse"):
            assert list(getattr(cols, f.name)) == list(getattr(ref, f.name)), f.name
    assert all(cols.record(i) == rows[i] for i in range(len(rows)))
    window = store.usage_columns(rows[100].day, rows[-100].day)
    assert [window.record(i) for i in range(len(window))] == store.usage(rows[100].day, rows[-100].day)


def test_usage_facts_equal_the_record_reference_on_a_generated_org(org):
    assert _assert_usage_facts_exact(org) > 100


def test_usage_facts_equal_the_record_reference_on_odd_rows(odd):
    assert _assert_usage_facts_exact(odd) == 4
    facts = facts_of(odd)
    # Rows after "now" are a replay's future: not seen.
    assert all(r.day <= TODAY for r in facts.usage)
    assert "openai:api_key:ghost" in facts.usage_only
    # Text and fractional cache writes are read as the record path reads them.
    sonnet = [r for r in facts.usage if r.model.startswith("claude")]
    assert sonnet and all(facts.row_usd(r) is not None for r in sonnet)
    price = facts.prices.lookup("claude-3-5-sonnet-20240620")
    text = next(r for r in sonnet if r.properties["cache_creation_input_tokens"] == "300")
    assert facts.row_usd(text) == price.usd(5000, 700, 1200, 300) != price.usd(5000, 700, 1200, 0)
    unpriced = [r for r in facts.usage if r.model == "no-such-model-xyz"]
    assert unpriced and all(facts.row_usd(r) is None for r in unpriced)


def test_memoised_owner_resolution_equals_the_edge_walk(org):
    g = org.graph()
    resolver = resolver_for(g)
    assert resolver is resolver_for(g) and resolver_for(object()) is None
    with_owners = 0
    for nid in g.ids:
        want = _resolve(g, nid, 0)
        assert resolver.owners(nid) == want, nid
        assert owners_of(g, nid) == want and owners_of(org, nid) == want
        with_owners += bool(want)
    assert with_owners > 1000
    assert owners_of(g, "no:such:node") == []
    # A caller's list is its own.
    some = next(n for n in g.ids if owners_of(g, n))
    owners_of(g, some).clear()
    assert owners_of(g, some) == _resolve(g, some, 0)


class _EdgeWalkFacts(Facts):
    """Facts whose private helpers go through the public edge primitives (what a
    store's own facts subclass gets): no per-kind index shortcuts, no screens."""


def test_indexed_facts_find_exactly_what_the_edge_walk_finds(org):
    from engine.findings import evaluate_rule, rules_of
    fast = facts_of(org)
    slow = _EdgeWalkFacts(org)
    assert fast._indexed and not slow._indexed
    total = 0
    for rule in rules_of(org):
        got = [dataclasses.asdict(f) for f in evaluate_rule(rule, fast)]
        want = [dataclasses.asdict(f) for f in evaluate_rule(rule, slow)]
        assert got == want, rule.id
        total += len(got)
    assert total > 300
    for nid in org.graph().ids[::5]:
        assert fast.owners(nid) == slow.owners(nid)
        assert fast.owner_people(nid) == slow.owner_people(nid)
        assert fast.kind_of(nid) == slow.kind_of(nid)


def test_index_neighbours_equal_the_graph_edges(org):
    from engine.graph_index import adjacency
    from engine.model import EdgeKind
    g = org.graph()
    adj = adjacency(g)
    seen = 0
    for i, nid in enumerate(g.ids[::3]):
        i = g.index[nid]
        assert adj.kind_at(i) == adj.kind_of(nid) == g.views[i].kind
        outs, ins = g.out_edges(nid), g.in_edges(nid)
        out_nbrs, out_kinds = adj.all_nbrs(i, out=True)
        in_nbrs, in_kinds = adj.all_nbrs(i, out=False)
        assert [g.ids[j] for j in out_nbrs] == [e.dst for e in outs]
        assert [g.ids[j] for j in in_nbrs] == [e.src for e in ins]
        assert [list(EdgeKind)[k].value for k in out_kinds] == [e.kind for e in outs]
        assert [list(EdgeKind)[k].value for k in in_kinds] == [e.kind for e in ins]
        for kind in (k.value for k in EdgeKind):
            assert adj.out_ids(nid, kind) == [e.dst for e in g.out_edges(nid, {kind})]
            assert adj.in_ids(nid, kind) == [e.src for e in g.in_edges(nid, {kind})]
            assert adj.edge_dicts(i, kind) == [edge_dict(e) for e in g.out_edges(nid, {kind})]
            assert adj.edge_dicts(i, kind, out=False) == [edge_dict(e) for e in g.in_edges(nid, {kind})]
        seen += len(outs) + len(ins)
    assert seen > 3000
    assert adj.out_ids("no:such:node", "OWNS") == [] == adj.in_ids("no:such:node", "HOLDS")
