"""The fast rule path gives the same answers as the straightforward one.

Rule evaluation is sped up three ways: per-kind edge tables (engine.graph_index)
standing in for MemoryGraph's in/out edges, bulk screens (engine.rules.screens) that
let a check run only on subjects it could hit, and one-pass vendor regexes. Each is
checked here against the plain path on a generated org (and the demo), including
retuned parameters that change what a screen may drop.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from engine.findings import evaluate_rule, facts_of, rules_of
from engine.graph_index import adjacency
from engine.model import EdgeKind, NodeKind
from engine.ownership import owners_of
from engine.rules import checks
from engine.rules.facts import Facts
from engine.service import Engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    from synth.generate import generate
    base = tmp_path_factory.mktemp("screens")
    generate(400, 3, base / "snap")
    eng = Engine.open(str(base / "org.db"))
    eng.ingest([base / "snap"])
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    eng = Engine.open(str(tmp_path_factory.mktemp("demo") / "demo.db"))
    eng.ingest([ROOT / "fixtures" / "demo"])
    yield eng
    eng.close()


def _plain(findings):
    return [asdict(f) for f in findings]


def _same_both_ways(eng, rules):
    facts = facts_of(eng)
    assert type(facts) is Facts
    total = 0
    for rule in rules:
        fast = _plain(evaluate_rule(rule, facts, screened=True))
        slow = _plain(evaluate_rule(rule, facts, screened=False))
        assert fast == slow, rule.id
        total += len(fast)
    return total


def test_screened_findings_equal_unscreened_on_a_generated_org(org):
    rules = rules_of(org)
    assert _same_both_ways(org, rules) > 100
    # The org exercises the screens: most rules fire somewhere.
    facts = facts_of(org)
    fired = {r.id for r in rules if evaluate_rule(r, facts)}
    assert {"shadow-ai", "overprivileged-oauth-grant", "leaked-credential", "orphaned-identity",
            "unbudgeted-credential", "stale-credential"} <= fired


def test_screens_drop_subjects_yet_keep_every_hit(org):
    facts = facts_of(org)
    dropped = 0
    for rule in rules_of(org):
        check = checks.CHECKS[rule.match.check.name] if rule.match.check else None
        if check is None or check.screen is None:
            continue
        params = {**check.defaults, **rule.parameters, **rule.match.check.params}
        keep = check.screen(facts, params)
        if keep is None:
            continue
        subjects = facts.subjects(rule.match.kinds)
        dropped += sum(1 for v in subjects if v.id not in keep)
        hit = {f.subject_id for f in evaluate_rule(rule, facts, screened=False)}
        assert hit <= keep, (rule.id, sorted(hit - keep)[:5])
    assert dropped > 1000       # they do cut the work


@pytest.mark.parametrize("rule_id,params", [
    ("over-shared-credential", {"min_people": 1, "min_tools": 1}),
    ("over-shared-credential", {"min_people": 0, "min_tools": 3}),
    ("over-shared-credential", {"min_people": 1.5, "min_tools": 2}),
    ("token-burn-anomaly", {"dollar_floor_usd": 0.0, "min_active_days": 2, "min_baseline_days": 2,
                            "min_ratio": 1.1, "mad_multiplier": 0.5}),
    ("token-burn-anomaly", {"dollar_floor_usd": 1.0, "min_active_days": 1, "min_baseline_days": 1,
                            "min_ratio": 1.0, "mad_multiplier": 0.1}),
    ("new-model-endpoint", {"min_history_days": 0}),
    ("new-model-endpoint", {"min_history_days": 3}),
    ("unbudgeted-credential", {"min_spend_usd": 0, "spend_window_days": 365}),
    ("environment-mixing", {"production": "dev"}),
])
def test_retuned_parameters_keep_screens_exact(org, rule_id, params):
    rule = next(r for r in rules_of(org) if r.id == rule_id)
    tuned = rule.model_copy(update={"parameters": {**rule.parameters, **params}})
    facts = facts_of(org)
    fast = _plain(evaluate_rule(tuned, facts, screened=True))
    slow = _plain(evaluate_rule(tuned, facts, screened=False))
    assert fast == slow


def test_screened_findings_equal_unscreened_on_the_demo(demo):
    assert _same_both_ways(demo, rules_of(demo)) > 10


def test_adjacency_answers_exactly_as_the_graph(org):
    g = org.graph()
    adj = adjacency(g)
    assert adjacency(g) is adj
    kinds = [k.value for k in EdgeKind]
    combos = [[k] for k in kinds] + [["AUTHENTICATES_AS", "MEMBER_OF"], ["MEMBER_OF", "CAN_ACCESS"],
                                     ["OWNS", "HOLDS", "MEMBER_OF"], []]
    checked = 0
    for nid in g.ids:
        for combo in combos:
            want_out = g.out_edges(nid, set(combo))
            want_in = g.in_edges(nid, set(combo))
            got_out = adj.out_edges(nid, combo)
            got_in = adj.in_edges(nid, combo)
            assert [id(e) for e in got_out] == [id(e) for e in want_out], (nid, combo)
            assert [id(e) for e in got_in] == [id(e) for e in want_in], (nid, combo)
            checked += len(want_out) + len(want_in)
        assert adj.out_edges(nid) == g.out_edges(nid)
    assert checked > 5000
    assert adj.out_edges("no:such:node", ["OWNS"]) == [] and adj.node_view("no:such:node") is None
    # A returned list is the caller's own.
    some = next(n for n in g.ids if adj.in_edges(n, ["MEMBER_OF"]))
    adj.in_edges(some, ["MEMBER_OF"]).clear()
    assert adj.in_edges(some, ["MEMBER_OF"]) == g.in_edges(some, {"MEMBER_OF"})


def test_owners_through_the_index_equal_owners_through_the_graph(org):
    g = org.graph()
    adj = adjacency(g)
    facts = facts_of(org)
    ids = [n for k in (NodeKind.Credential, NodeKind.ServiceAccount, NodeKind.AITool, NodeKind.OAuthGrant)
           for n in g.by_kind.get(k.value, [])]
    assert len(ids) > 500
    for nid in ids:
        assert owners_of(adj, nid) == owners_of(g, nid) == facts.owners(nid)


def _vendor_reference(texts, client_id):
    """ai_vendor_of without the one-pass screens: vendor by vendor, word by word."""
    vendors, patterns = checks._vendor_matchers()
    hay = " ".join(texts).lower()
    for name, ids, words in vendors:
        if client_id and str(client_id) in ids:
            return {"vendor": name, "matched": f"client id {client_id}"}
        for label, rx in words:
            if rx.search(hay):
                return {"vendor": name, "matched": label}
    for label, rx in patterns:
        for text in texts:
            if not text.startswith(("http://", "https://")) and rx.search(text):
                return {"vendor": text, "matched": f"name pattern {label}"}
    return None


@pytest.mark.parametrize("texts,client_id", [
    (["Acme Expenses", "https://acme.example.com"], None),
    (["Otter.ai"], None),
    (["Meeting notes", "https://otter.ai/login"], None),
    (["openai.com.evil.example"], None),
    (["notopenai.com"], None),
    (["Acme AI Notes"], None),
    (["https://x.example/GPT"], None),
    (["MailGPT"], None),
    (["Read", "AI"], None),                 # a name only across two texts
    (["Payroll"], "no-such-client"),
    (["claude"], None),
    (["Claudette"], None),
    (["tl;dv recorder"], None),
    (["deepseek.com"], "12345"),
])
def test_vendor_match_equals_the_word_by_word_loop(texts, client_id):
    checks._ai_vendor.cache_clear()
    assert checks.ai_vendor_of(texts, client_id) == _vendor_reference(texts, client_id)


def test_vendor_match_equals_reference_on_every_generated_grant(org):
    facts = facts_of(org)
    grants = org.graph().by_kind.get(NodeKind.OAuthGrant.value, [])
    found = 0
    for gid in grants:
        g = facts.grant(gid)
        assert facts.grant_client(gid) == (g.client_id, g.client_name, g.client_node, g.texts)
        want = _vendor_reference(g.texts, g.client_id)
        assert checks.ai_vendor_of(g.texts, g.client_id) == want
        found += want is not None
    assert found > 0 and len(grants) - found > 0


def test_subjects_among_is_subjects_restricted(org):
    facts = facts_of(org)
    for kinds in (["Credential"], ["Credential", "Project", "Account", "OAuthGrant"],
                  ["Credential", "Credential"], ["Team"]):
        every = facts.subjects(kinds)
        ids = {v.id for v in every[::3]} | {"no:such:node", "person:nobody@example.com"}
        ids |= set(list(facts.usage_only)[:5])
        want = [v for v in every if v.id in ids]
        got = facts.subjects_among(kinds, ids)
        assert [id(v) for v in got] == [id(v) for v in want], kinds
    assert facts.usage_only     # the org has keys only usage names
