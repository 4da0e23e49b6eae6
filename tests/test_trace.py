"""traceCompromise: owners, holders, usage since (anomalies marked), blast radius, and
an ordered revocation plan with reasons; on a hand-built graph and the demo's leak."""
from datetime import date, datetime, timezone

import pytest

from engine.service import Engine
from engine.trace import trace_compromise
from engine.traversal import NodeNotFound
from rules_kit import G, K, N


def _graph(db_path):
    g = G(db_path)
    ana = g.person("ana@example.com")
    ben = g.person("ben@example.com", status="inactive", deactivated_at="2026-10-20T00:00:00Z")
    g.node("github:user:bokafor", N.Account, active=True)
    g.edge(ben, K.HAS_ACCOUNT, "github:user:bokafor")
    key = g.cred("anthropic:api_key:leaky")
    g.edge(ana, K.OWNS, key)
    agent = g.tool("tool:agent", environment="prod")
    g.edge(agent, K.HOLDS, key)
    g.edge(g.tool("tool:rogue", approved=False), K.HOLDS, key)
    g.edge(ben, K.HOLDS, key)
    # the key acts as a workspace service account that can read a store holding another secret
    g.node("anthropic:workspace:w", N.Project)
    g.edge(key, K.AUTHENTICATES_AS, "anthropic:workspace:w")
    g.node("data:vault", N.DataSource, sensitivity="restricted")
    g.edge("anthropic:workspace:w", K.CAN_ACCESS, "data:vault", access="read")
    g.edge("data:vault", K.STORES_SECRET, g.cred("aws:access_key:bot:1"))
    g.node("okta:grant:g1", N.OAuthGrant, active=True)
    g.edge("anthropic:workspace:w", K.HOLDS, "okta:grant:g1")
    g.node("gitleaks:finding:f1", N.SecretExposure, date="2026-11-08T10:00:00Z")
    g.edge(key, K.EXPOSED_IN, "gitleaks:finding:f1", match="prefix+last4")
    g.series(key, [14.0] * 38 + [68, 70, 66, 15, 69, 2, 72], date(2026, 10, 1), model="claude-sonnet-4")
    g.spend(key, date(2026, 11, 12), 3.0, model="claude-opus-4")
    return g


def test_trace_reads_as_a_checklist(db_path):
    eng = _graph(db_path).engine()
    t = trace_compromise(eng, "anthropic:api_key:leaky")
    assert t.since == datetime(2026, 11, 8, 10, tzinfo=timezone.utc)     # the exposure
    assert t.owners == ["person:ana@example.com"]
    assert set(t.holders) == {"tool:agent", "tool:rogue", "person:ben@example.com"}
    assert t.exposures == ["gitleaks:finding:f1"]
    days = [(u.day.isoformat(), u.model, u.anomalous) for u in t.usage_since]
    assert days[0][0] == "2026-11-08" and all(d >= "2026-11-08" for d, _, _ in days)
    marked = {d for d, _, a in days if a}
    assert {"2026-11-08", "2026-11-09", "2026-11-10", "2026-11-12"} <= marked
    assert "2026-11-11" not in marked and "2026-11-13" not in marked        # back at baseline, and below
    opus = next(u for u in t.usage_since if u.model == "claude-opus-4")
    assert opus.anomalous and "first use of claude-opus-4" in opus.note
    plan = [(s.order, s.action, s.target_id) for s in t.revocation_plan]
    assert plan[0] == (1, "rotate", "anthropic:api_key:leaky")               # an approved tool depends on it
    actions = [(a, tgt) for _, a, tgt in plan]
    assert actions.index(("revoke-grant", "okta:grant:g1")) < actions.index(("rotate-secret", "aws:access_key:bot:1"))
    assert ("update-holder", "tool:agent") in actions
    assert ("disable", "tool:rogue") in actions                             # unapproved holder
    assert ("disable", "person:ben@example.com") in actions                 # departed holder
    assert ("review-usage", "anthropic:api_key:leaky") in actions
    assert actions[-1] == ("notify", "person:ana@example.com")
    assert [s.order for s in t.revocation_plan] == list(range(1, len(plan) + 1))
    secret = next(s for s in t.revocation_plan if s.action == "rotate-secret")
    assert "data:vault" in secret.reason
    assert all(s.reason for s in t.revocation_plan)
    assert t.blast.spend_exposure_usd_per_hour > 0
    eng.close()


def test_since_argument_and_unknown_ids(db_path):
    eng = _graph(db_path).engine()
    t = trace_compromise(eng, "anthropic:api_key:leaky", since=datetime(2026, 11, 12))
    assert {u.day.isoformat() for u in t.usage_since} == {"2026-11-12", "2026-11-13", "2026-11-14"}
    with pytest.raises(NodeNotFound):
        trace_compromise(eng, "anthropic:api_key:nope")
    eng.close()


def test_no_exposure_defaults_to_30_days_before_now(db_path):
    g = G(db_path)
    g.cred("k:plain")
    g.series("k:plain", [5.0] * 45, date(2026, 10, 1))
    eng = g.engine()
    t = trace_compromise(eng, "k:plain")
    assert t.since == datetime(2026, 10, 15, tzinfo=timezone.utc)
    assert min(u.day for u in t.usage_since) == date(2026, 10, 15)
    assert [s.action for s in t.revocation_plan] == ["revoke", "assign-owner"]
    eng.close()


def test_demo_leaked_key_trace(demo_db):
    eng = Engine.open(str(demo_db))
    t = trace_compromise(eng, "anthropic:api_key:apikey_01DataAgent")
    assert t.since.date() == date(2026, 11, 8)
    assert t.owners == ["person:ana@example.com"]
    assert t.holders == ["tool:data-agent"]
    assert len(t.exposures) == 1 and t.exposures[0].startswith("gitleaks:finding:")
    assert t.usage_since and all(u.day >= date(2026, 11, 8) for u in t.usage_since)
    assert all(u.anomalous for u in t.usage_since)          # usage jumped after the leak
    steps = [(s.action, s.target_id) for s in t.revocation_plan]
    assert steps[0] == ("rotate", "anthropic:api_key:apikey_01DataAgent")
    assert ("update-holder", "tool:data-agent") in steps
    assert steps[-1] == ("notify", "person:ana@example.com")
    eng.close()
