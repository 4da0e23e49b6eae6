"""Risk scores (weights from queries/risk.yaml) and the $/hour exposure model."""
from datetime import date

import pytest

from engine.exposure import credential_exposure
from engine.findings import facts_of
from engine.risk import all_risks, risk_of, weights
from engine.service import Engine
from rules_kit import G, K, N


def _graph(db_path):
    g = G(db_path)
    ana = g.person("ana@example.com")
    ben = g.person("ben@example.com", status="inactive", deactivated_at="2026-10-20T00:00:00Z")
    g.node("data:warehouse", N.DataSource, sensitivity="restricted")
    g.node("aws:iam_user:bot", N.ServiceAccount)
    g.edge(ana, K.OWNS, "aws:iam_user:bot")
    g.edge("aws:iam_user:bot", K.CAN_ACCESS, "data:warehouse", access="admin")
    for cid, active in (("aws:access_key:bot:1", True), ("aws:access_key:bot:2", False)):
        g.cred(cid, active=active)
        g.edge(cid, K.AUTHENTICATES_AS, "aws:iam_user:bot")
        g.node(f"gitleaks:finding:{cid[-1]}", N.SecretExposure)
        g.edge(cid, K.EXPOSED_IN, f"gitleaks:finding:{cid[-1]}")
    g.edge(ben, K.OWNS, g.cred("openai:api_key:bens"))
    g.edge(ana, K.OWNS, g.cred("openai:api_key:quiet"))
    # LiteLLM: a tpm limit priced at the key's most expensive model, capped by max_budget left
    g.edge(ana, K.OWNS, g.cred("litellm:key:limited", tpm_limit=100_000, max_budget=100, spend=90,
                               models=["gpt-4o-mini"]))
    g.spend("litellm:key:limited", date(2026, 11, 1), 1.0, model="gpt-4o")
    g.edge(ana, K.OWNS, g.cred("litellm:key:rpm", rpm_limit=60))
    g.spend("litellm:key:rpm", date(2026, 11, 1), 1.0, model="gpt-4o-mini")
    g.edge(ana, K.OWNS, g.cred("openai:api_key:peak"))
    g.series("openai:api_key:peak", [24.0, 48.0, 12.0], date(2026, 11, 1))
    # a monthly tool budget, most of it spent this month
    tool = g.tool("tool:budgeted", budget_usd_month=100)
    g.edge(ana, K.OWNS, tool)
    g.edge(tool, K.HOLDS, g.cred("openai:api_key:tool_key"))
    g.edge(ana, K.OWNS, "openai:api_key:tool_key")
    g.series("openai:api_key:tool_key", [480.0, 5.0], date(2026, 10, 30))   # Oct 30 (last month), Oct 31
    g.series("openai:api_key:tool_key", [95.0], date(2026, 11, 1))
    return g


def test_exposure_model(db_path):
    eng = _graph(db_path).engine()
    facts = facts_of(eng)
    lim = credential_exposure(facts, "litellm:key:limited")
    # 100k tpm x 60 = 6M tokens/h at gpt-4o blended 0.75x2.5 + 0.25x10 = $4.375/M -> $26.25/h, capped at $10 left
    assert lim["basis"] == "tpm_limit" and lim["model"] == "gpt-4o"
    assert lim["usd_per_hour"] == 10.0 and lim["capped_by"] == "litellm:key:limited.max_budget"
    rpm = credential_exposure(facts, "litellm:key:rpm")
    # 60 rpm x 60 x 2000 tokens = 7.2M tokens at gpt-4o-mini 0.2625/M
    assert rpm["basis"] == "rpm_limit" and rpm["usd_per_hour"] == pytest.approx(1.89)
    peak = credential_exposure(facts, "openai:api_key:peak")
    assert peak["basis"] == "observed_peak" and peak["usd_per_hour"] == pytest.approx(48 / 24 * 4)
    tool_key = credential_exposure(facts, "openai:api_key:tool_key")
    # peak $480/24x4 = $80/h, but only $5 of November's $100 tool budget is left
    assert tool_key["usd_per_hour"] == 5.0 and tool_key["capped_by"] == "tool:budgeted.budget_usd_month"
    quiet = credential_exposure(facts, "openai:api_key:quiet")
    assert quiet["basis"] == "unknown" and quiet["usd_per_hour"] == 0.0
    br = eng.blast_radius("tool:budgeted")
    assert br.spend_exposure_usd_per_hour == 5.0
    assert [d["credential"] for d in br.exposure_detail] == ["openai:api_key:tool_key"]
    eng.close()


def test_scores_are_explained_by_weighted_factors(db_path):
    eng = _graph(db_path).engine()
    w = weights()
    live = risk_of(eng, "aws:access_key:bot:1")
    by_name = {f.name: f for f in live.factors}
    assert by_name["severity"].value == "critical" and by_name["severity"].weight == w["bands"]["critical"]
    assert by_name["reach_sensitivity"].value == "restricted"
    assert by_name["reach_sensitivity"].detail["raw_points"] == w["blast_radius"]["sensitivity_points"]["restricted"]
    assert by_name["findings"].reason.startswith("findings: 1 critical")
    # additive: the weights are the score
    for nid in ("aws:access_key:bot:1", "aws:access_key:bot:2", "openai:api_key:bens", "person:ben@example.com"):
        r = risk_of(eng, nid)
        assert r.score == pytest.approx(sum(f.weight for f in r.factors), abs=0.011), nid
    dead = risk_of(eng, "aws:access_key:bot:2")          # revoked: a medium leak, not critical
    assert dead.score < live.score
    assert dead.factors[0].value == "medium" and dead.factors[-1].name == "inactive"
    bens = risk_of(eng, "openai:api_key:bens")
    assert {f.name: f.value for f in bens.factors}["owner_status"] == "inactive"
    quiet = risk_of(eng, "openai:api_key:quiet")
    assert quiet.score < bens.score < live.score
    assert risk_of(eng, "data:warehouse").factors == [] and risk_of(eng, "data:warehouse").score == 0
    # people roll up: ben left and still owns a live key
    ben = risk_of(eng, "person:ben@example.com")
    assert ben.score > 0 and "departed_owner" in {f.name for f in ben.factors}
    assert risk_of(eng, "person:ana@example.com").score >= w["bands"]["critical"]   # owns the leaked bot
    eng.close()


def test_every_identity_in_the_demo_has_a_bounded_score(demo_db):
    eng = Engine.open(str(demo_db))
    scores = all_risks(eng)
    assert len(scores) > 30
    assert all(0 <= s.score <= 100 for s in scores.values())
    leak = scores["anthropic:api_key:apikey_01DataAgent"]
    assert leak.score >= 60
    # the leaked, active key outranks a quiet approved tool with an owner
    assert leak.score > scores["tool:code-assistant"].score
    assert scores["aws:access_key:ci-bot:1"].score > scores["openai:api_key:key_stale"].score
    eng.close()


def test_fast_sensitivity_reach_matches_the_blast_radius(demo_db):
    eng = Engine.open(str(demo_db))
    facts = facts_of(eng)
    g = eng.graph()
    levels = {}
    for nid in g.ids:
        slow = facts.reaches_sensitivity(nid)[0]
        assert facts.reaches_level(nid) == slow, nid
        levels[slow] = levels.get(slow, 0) + 1
    assert levels.get("restricted", 0) > 5      # the check covers real reaches, not only "none"
    eng.close()
