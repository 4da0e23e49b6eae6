"""The whole-rule fast path (compiled conditions, engine.rules.bulk forms, bulk facts)
gives byte for byte what the straightforward path gives.

Every comparison runs each path on its own fresh Facts (memoised facts cannot carry
answers from one path into the other) and compares the findings as JSON text, so
evidence key order and shared lists count too. Generated orgs of several seeds, the
demo, and a hand-built org of shapes the generator never writes (empty client names,
budgets only on an owning team or a holding tool, scope lists with odd separators,
usage-only keys, an account billed with no key), each with retuned parameters that
make the bulk forms take their other branches; and what must NOT fire is held as
hard: subjects the bulk forms leave without hits are the reference's non-hits.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine.findings import _evaluate_rule, all_findings, evaluate_rule, rules_of
from engine.model import NodeKind, UsageRow
from engine.rules import bulk  # noqa: F401  (registers the bulk forms)
from engine.rules.checks import CHECKS
from engine.rules.conditions import _MISSING, Subject, compile_conditions, holds
from engine.rules.facts import Facts, _sorted_scopes, _split_scopes, _split_scopes_memo
from engine.rules.models import Condition
from engine.service import Engine

from rules_kit import G, K, N, TODAY

ROOT = Path(__file__).resolve().parent.parent


def _ingested(base: Path, people: int, seed: int) -> Engine:
    from synth.generate import generate
    generate(people, seed, base / "snap")
    eng = Engine.open(str(base / "org.db"))
    eng.ingest([base / "snap"])
    return eng


@pytest.fixture(scope="module", params=[(350, 7), (220, 19)], ids=["seed7", "seed19"])
def org(request, tmp_path_factory):
    people, seed = request.param
    eng = _ingested(tmp_path_factory.mktemp(f"bulk-{seed}"), people, seed)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    eng = Engine.open(str(tmp_path_factory.mktemp("bulk-demo") / "demo.db"))
    eng.ingest([ROOT / "fixtures" / "demo"])
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """Shapes the generator never writes, around the bulk forms' branches."""
    g = G(tmp_path_factory.mktemp("bulk-odd") / "odd.db")
    ana = g.person("ana@example.com")
    bo = g.person("bo@example.com", status="inactive", deactivated_at="2026-11-01T00:00:00Z")
    g.node("google:user:ana", N.Account)
    g.edge(ana, K.HAS_ACCOUNT, "google:user:ana")
    # grants: empty client_name with a displayText, both empty, a client only by native id,
    # a comma/tab separated scope text, dict scope items, a GitHub permissions mapping
    g.node("google:oauth_client:c1.apps", N.OAuthClient, name="Claude for Sheets")
    g.node("google:token:ana:c1.apps", N.OAuthGrant, scopes=["https://mail.google.com/", "openid"],
           client_id="c1.apps", client_name="", displayText="Claude")
    g.edge("google:user:ana", K.CONSENTED, "google:token:ana:c1.apps")
    g.edge("google:token:ana:c1.apps", K.GRANTS, "data:mail", scopes="https://mail.google.com/,\tprofile",
           access="read")
    g.node("data:mail", N.DataSource, sensitivity="restricted")
    g.node("okta:app:0oa1", N.OAuthClient, name="")
    g.node("okta:grant:g1", N.OAuthGrant, scopeId="okta.users.manage", client_id="0oa1", client_name="",
           displayText="")
    g.node("msgraph:oauth2_grant:g2", N.OAuthGrant, scope="Mail.ReadWrite,Files.Read.All  offline_access",
           client_id="sp-none")
    g.node("msgraph:oauth2_grant:g3", N.OAuthGrant,
           scopes=[{"value": "Directory.Read.All"}, {"scope": "User.Read"}, "Sites.FullControl.All"],
           clientId="openai-connector", client_name="ChatGPT")
    g.node("github:installation:7", N.OAuthGrant, permissions={"administration": "write"}, client_name="Bot")
    g.edge(g.tool("tool:approved-claude"), K.HOLDS, "google:oauth_client:c1.apps")
    # budgets: on an owning team two hops up, on a holding tool, none at all
    g.node("team:platform", N.Team)
    g.node("team:eng", N.Team, budget_usd_month=500)
    g.edge("team:platform", K.MEMBER_OF, "team:eng")
    g.edge("team:platform", K.OWNS, g.cred("openai:api_key:team-owned"))
    g.edge(g.tool("tool:capped", max_budget=100), K.HOLDS, g.cred("openai:api_key:tool-held"))
    g.edge(g.tool("tool:uncapped", approved=False), K.HOLDS, g.cred("openai:api_key:bare"))
    g.node("openai:project:p1", N.Project, environment="prod")
    g.edge("openai:api_key:bare", K.MEMBER_OF, "openai:project:p1")
    g.edge(bo, K.OWNS, "openai:api_key:bare")
    g.cred("openai:api_key:inactive", active=False)
    g.edge(ana, K.OWNS, "openai:api_key:inactive")
    g.node("aws:iam_user:bedrock", N.ServiceAccount)
    g.edge(g.cred("aws:access_key:AKIA1"), K.AUTHENTICATES_AS, "aws:iam_user:bedrock")
    for d in range(30):
        day = TODAY - timedelta(days=d)
        for cid in ("openai:api_key:team-owned", "openai:api_key:tool-held", "openai:api_key:bare",
                    "openai:api_key:inactive", "openai:api_key:usage-only"):
            g.spend(cid, day, 3.0 + d % 4, account="openai:user:u9" if d % 3 == 0 else None,
                    project="openai:project:p2" if d % 5 == 0 else None)
        g.usage.append(UsageRow(day=day, model="claude-3-5-sonnet", account_id="aws:iam_user:bedrock",
                                requests=5, vendor_usd=1.5, input_tokens=10, output_tokens=1))
        g.usage.append(UsageRow(day=day, model="gpt-4o" if d % 2 else "gpt-4o-mini",
                                project_id="openai:project:p1", requests=1, input_tokens=100, output_tokens=10))
    eng = g.engine()
    yield eng
    eng.close()


def _text(findings) -> str:
    return json.dumps([asdict(f) for f in findings], default=str)


def _both_ways(eng, rule, screened_fast=True):
    fast = evaluate_rule(rule, Facts(eng), screened=screened_fast)
    slow = _evaluate_rule(rule, Facts(eng), screened=False)
    return fast, slow


RETUNED = [
    ("unbudgeted-credential", {"min_spend_usd": 50.0, "spend_window_days": 7}),
    ("unbudgeted-credential", {"min_spend_usd": 0, "spend_window_days": 400}),
    ("stale-credential", {"unused_days": 3, "never_used_days": 0}),
    ("long-lived-credential", {"max_age_days": 5, "max_lifetime_days": 0}),
]


def _check_engine(eng, min_findings):
    total = 0
    for rule in rules_of(eng):
        fast, slow = _both_ways(eng, rule)
        assert _text(fast) == _text(slow), rule.id
        total += len(fast)
    by_id = {r.id: r for r in rules_of(eng)}
    for rule_id, params in RETUNED:
        tuned = by_id[rule_id].model_copy(update={"parameters": {**by_id[rule_id].parameters, **params}})
        fast, slow = _both_ways(eng, tuned)
        assert _text(fast) == _text(slow), (rule_id, params)
    assert total >= min_findings
    return total


def test_fast_path_equals_reference_on_generated_orgs(org):
    _check_engine(org, 100)


def test_fast_path_equals_reference_on_the_demo(demo):
    _check_engine(demo, 10)


def test_fast_path_equals_reference_on_odd_shapes(odd):
    _check_engine(odd, 5)
    fired = {(f.rule, f.subject_id) for f in all_findings(odd)}
    # what must fire...
    assert ("unbudgeted-credential", "openai:api_key:bare") in fired
    assert ("unbudgeted-credential", "openai:api_key:usage-only") in fired
    assert ("overprivileged-oauth-grant", "msgraph:oauth2_grant:g2") in fired
    assert ("shadow-ai", "aws:iam_user:bedrock") in fired
    # ...and what must not: a team cap two hops up, a holding tool's cap, an inactive
    # key, a grant whose AI client an approved tool holds
    for subject in ("openai:api_key:team-owned", "openai:api_key:tool-held", "openai:api_key:inactive"):
        assert ("unbudgeted-credential", subject) not in fired
    assert ("shadow-ai", "google:token:ana:c1.apps") not in fired


@pytest.mark.parametrize("name", sorted(n for n, c in CHECKS.items() if c.bulk is not None))
def test_bulk_form_equals_the_check_on_every_subject(org, odd, name):
    """Unscreened: every subject of the check's kinds, hits and non-hits alike."""
    check = CHECKS[name]
    hit = miss = 0
    for eng in (org, odd):
        views = Facts(eng).subjects(check.kinds)
        got = check.bulk(Facts(eng), views, dict(check.defaults))
        ref = Facts(eng)
        want = [check.fn(ref, v, dict(check.defaults)) for v in views]
        assert len(got) == len(views)
        for v, a, b in zip(views, got, want):
            assert json.dumps([asdict(h) for h in a], default=str) == \
                json.dumps([asdict(h) for h in b], default=str), (name, v.id)
        hit += sum(1 for h in want if h)
        miss += sum(1 for h in want if not h)
    assert hit > 0 and miss > 0         # non-hits are compared too


def test_bulk_facts_equal_their_per_node_answers(org, odd):
    for eng in (org, odd):
        facts, ref = Facts(eng), Facts(eng)
        g = eng.graph()
        grants = facts.subjects([NodeKind.OAuthGrant.value])
        assert grants
        assert facts.grants_in_bulk(grants) == [ref.grant(v.id) for v in grants]
        nodes = [n for k in ("Credential", "AITool", "Project", "Team", "ServiceAccount")
                 for n in g.by_kind.get(k, [])] + list(facts.usage_only)
        answers = [facts.has_budget_above(n) for n in nodes]
        assert answers == [bool(ref.budgets_above(n)) for n in nodes]
        assert any(answers) and not all(answers)
        u = facts._usage
        for key in u.by_subject.names:
            assert u.row_dicts(u.recent_rows(key, 20)) == ref.recent_usage(key, 20)
            assert u.recent_rows(key, 3) == [r for r in u.recent_rows(key, 10**6)][-3:]
        assert u.recent_rows("no:such:subject", 20) == []


@pytest.mark.parametrize("value", [
    None, "", "a b", "a,b\tc\nd", "single", ["x", "y y", "z"], ["p", "q", ""], ["a\tb"], [],
    [{"value": "V"}, {"scope": "S"}, {"name": "N"}, "t"], {"contents": "write", "admin": "read"},
    ("a", "b c"), {"x", }, 7, ["u", 3],
])
def test_scope_split_memo_equals_split(value):
    for _ in range(2):      # first computed, then from the memo
        assert list(_split_scopes_memo(value)) == _split_scopes(value)
    scopes = _split_scopes(value)
    assert _sorted_scopes(scopes) == sorted(set(scopes))


_NOW = datetime(2026, 11, 14, 23, tzinfo=timezone.utc)
_VALUES = [_MISSING, None, True, False, 0, 1, 2.5, 10, 1000, 10**18 + 1, -3, "", "x", "X", "restricted", 2**53 + 1, 2.0**53,
           "confidential", "internal", "none", "public", "2026-01-01T00:00:00Z", "2026-11-14", [], ["a"],
           ["a", "b"], {"k": 1}, float("nan")]
_CONDS = [
    {"eq": True}, {"eq": False}, {"eq": 1}, {"eq": "x"}, {"eq": "X"}, {"ne": "x"}, {"ne": 1},
    {"exists": True}, {"exists": False}, {"gt": 5}, {"gte": 1000}, {"lt": 2.5}, {"lte": 0},
    {"gte": "restricted"}, {"gt": "internal"}, {"lt": "confidential"}, {"gte": "2026-06-01T00:00:00Z"},
    {"gte": True}, {"gte": 2**53}, {"gt": 2.0**53}, {"in": ["x", 1]}, {"not_in": ["x"]}, {"contains": "a"}, {"matches": "^r"},
    {"older_than_days": 30}, {"newer_than_days": 400}, {"gte": 1, "lte": 100}, {"exists": True, "ne": ""},
]


@pytest.mark.parametrize("field", ["reaches_sensitivity", "evidence.v", "properties.v", "active", "name"])
def test_compiled_conditions_equal_holds(field):
    from engine.store.base import NodeView
    rng = random.Random(5)

    class _Facts:       # what the getters read: a fixed value per field
        def __init__(self, value):
            self.value = value

        def reaches_level(self, node_id):
            return self.value

    for ops in _CONDS:
        cond = Condition.model_validate({"field": field, **ops})
        test = compile_conditions([cond])
        for value in _VALUES:
            if field == "active" and value is _MISSING:
                continue
            props = {} if value is _MISSING else {"v": value}
            view = NodeView(id="n:1", kind="Credential", name=None if value is _MISSING else
                            (value if isinstance(value, str) else None), active=value if isinstance(value, bool)
                            else None, properties=props, sources=[])
            evidence = dict(props)
            facts = _Facts("none" if value is _MISSING else value)
            try:
                want = holds(cond, Subject(facts, view, evidence), _NOW)
            except ValueError:      # a timestamp out of range fails the same way
                with pytest.raises(ValueError):
                    test(facts, view, evidence, _NOW)
                continue
            assert test(facts, view, evidence, _NOW) == want, (field, ops, value)
    # several conditions at once, in random orders, read each field once
    conds = [Condition.model_validate({"field": field, **ops}) for ops in rng.sample(_CONDS, 6)]
    for value in _VALUES:
        if value is _MISSING:
            continue
        view = NodeView(id="n:1", kind="Credential", name=None, active=None, properties={"v": value}, sources=[])
        facts = _Facts(value)
        for k in range(1, 4):
            pick = conds[:k]
            try:
                want = all(holds(c, Subject(facts, view, {"v": value}), _NOW) for c in pick)
            except ValueError:
                continue
            assert compile_conditions(pick)(facts, view, {"v": value}, _NOW) == want


def test_primed_owner_resolution_equals_node_by_node(org, odd):
    """OwnerResolver.prime (every node's direct owners from the edge arrays) answers
    as the unprimed resolver and the reference walk over edges, for every node."""
    from engine.graph_index import adjacency
    from engine.ownership import OwnerResolver, _resolve
    for eng in (org, odd):
        g = eng.graph()
        plain, primed = OwnerResolver(adjacency(g)), OwnerResolver(adjacency(g))
        primed.prime()
        owned = 0
        for nid in g.ids:
            want = _resolve(g, nid, 0)
            assert plain.owners(nid) == want == primed.owners(nid), nid
            owned += bool(want)
        assert owned > 0 and owned < len(g.ids)
        assert primed.owners("no:such:node") == []


def test_claims_by_index_equal_claims_by_id(org, odd):
    for eng in (org, odd):
        facts = Facts(eng)
        g = eng.graph()
        nodes = [n for k in ("Credential", "Project", "OAuthClient", "OAuthGrant", "Account")
                 for n in g.by_kind.get(k, [])]
        fast = {n: list(facts.claims(n)) for n in nodes}
        # the straightforward walk: holders that are approved tools, and a project's
        # member credentials' claims
        def ref(n):
            tools = {h for h in facts._src_ids(n, K.HOLDS) if facts.is_approved_tool(h)}
            if facts.kind_of(n) == "Project":
                for m in facts._src_ids(n, K.MEMBER_OF):
                    if facts.kind_of(m) == "Credential":
                        tools.update(ref(m))
            return sorted(tools)
        assert fast == {n: ref(n) for n in nodes}
        assert any(fast.values()) and not all(fast.values())


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
def test_shadow_ai_leaves_memoised_claims_as_they_were(org, demo, fast):
    """The shadow-AI check widens a credential's claims with its projects' (and an
    account's with its keys'); that widening is its own, not the memoised answer
    every later claims() caller (other subjects, a project's members) reads."""
    rule = next(r for r in rules_of(org) if r.id == "shadow-ai")
    widened = 0
    for eng in (org, demo):
        g = eng.graph()
        nodes = [n for k in ("Credential", "Project", "OAuthClient", "OAuthGrant", "Account",
                             "ServiceAccount") for n in g.by_kind.get(k, [])]
        want = {n: list(Facts(eng).claims(n)) for n in nodes}
        facts = Facts(eng)
        before = {n: list(facts.claims(n)) for n in nodes}
        evaluate_rule(rule, facts, fast=fast)
        assert {n: facts.claims(n) for n in nodes} == before == want
        # the check had something to widen: a credential whose project has claims its own lacks
        widened += sum(1 for n in g.by_kind.get("Credential", [])
                       for p in facts.projects_of(n) if set(want.get(p, [])) - set(want[n]))
    assert widened > 0
