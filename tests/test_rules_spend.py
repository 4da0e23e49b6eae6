"""shadow-ai (usage), unbudgeted-credential, token-burn-anomaly and new-model-endpoint.

The anomaly tests use noisy but normal series (weekly seasonality, random noise, a
steady ramp, an idle key, a weekly batch job) that must not fire, and spikes that must."""
import math
import random
from datetime import date, timedelta

import pytest

from engine.rules.checks import ANOMALY_DEFAULTS, anomalous_days
from rules_kit import G, K, N, by_subject, subjects

START = date(2026, 10, 1)   # 45 days to 2026-11-14


def test_shadow_ai_usage(db_path):
    g = G(db_path)
    ok = g.tool("tool:support", environment="prod")
    g.node("openai:project:support", N.Project)
    g.node("openai:project:marketing", N.Project)
    for cid, proj in (("openai:api_key:claimed", "support"), ("openai:api_key:sibling", "support"),
                      ("openai:api_key:mkt", "marketing")):
        g.cred(cid)
        g.edge(cid, K.MEMBER_OF, f"openai:project:{proj}")
        g.spend(cid, date(2026, 11, 1), 12.5, project=f"openai:project:{proj}")
    g.edge(ok, K.HOLDS, "openai:api_key:claimed")
    # held only by an unapproved tool
    g.edge(g.tool("tool:unapproved", approved=False), K.HOLDS, g.cred("openai:api_key:side"))
    g.spend("openai:api_key:side", date(2026, 11, 1), 2.0)
    # Bedrock: usage stated per IAM identity, no key
    g.node("aws:iam_user:etl-bot", N.ServiceAccount)
    g.usage.append(__import__("engine.model", fromlist=["UsageRow"]).UsageRow(
        day=date(2026, 11, 3), model="anthropic.claude-3-5-sonnet-20240620-v1:0",
        account_id="aws:iam_user:etl-bot", input_tokens=1_000_000, output_tokens=100_000, requests=40))
    # a key with no usage is not shadow AI, whoever claims it
    g.cred("openai:api_key:idle")
    eng = g.engine()
    found = by_subject(eng, "shadow-ai")
    assert set(found) == {"openai:api_key:mkt", "openai:api_key:side", "aws:iam_user:etl-bot"}
    assert found["openai:api_key:mkt"].evidence["usage"]["usd"] == 12.5
    assert found["openai:api_key:mkt"].evidence["projects"] == ["openai:project:marketing"]
    # priced from tokens: 1M input x $3 + 0.1M output x $15
    assert found["aws:iam_user:etl-bot"].evidence["usage"]["usd"] == 4.5
    eng.close()


def test_unbudgeted_credential(db_path):
    g = G(db_path)
    g.node("openai:project:p", N.Project)
    g.node("openai:project:pb", N.Project, budget_usd_month=100)
    g.node("litellm:team:t", N.Team, max_budget=50)
    g.node("team:eng", N.Team)
    for cid in ("k:none", "k:tool_budget", "k:project_budget", "k:team_budget",
                "k:no_spend", "k:old_spend", "k:owned_by_budget_team"):
        g.cred(cid)
    g.cred("k:own_budget", budget_usd_month=20)
    g.cred("k:litellm_key", max_budget=10, spend=3.5)
    g.edge("k:none", K.MEMBER_OF, "openai:project:p")
    g.edge(g.tool("tool:b", budget_usd_month=500), K.HOLDS, "k:tool_budget")
    g.edge("k:project_budget", K.MEMBER_OF, "openai:project:pb")
    g.edge("k:team_budget", K.MEMBER_OF, "litellm:team:t")
    g.node("team:budgeted", N.Team, budget_usd_month=1000)
    g.edge("team:budgeted", K.OWNS, "k:owned_by_budget_team")
    for cid in ("k:none", "k:own_budget", "k:tool_budget", "k:project_budget", "k:team_budget",
                "k:litellm_key", "k:owned_by_budget_team"):
        g.spend(cid, date(2026, 11, 10), 5.0)
    g.spend("k:old_spend", date(2026, 9, 1), 5.0)       # outside the 30-day window
    g.cred("k:inactive_spender", active=False)
    g.spend("k:inactive_spender", date(2026, 11, 10), 5.0)
    eng = g.engine()
    found = by_subject(eng, "unbudgeted-credential")
    assert set(found) == {"k:none"}
    assert found["k:none"].evidence["spend_usd_window"] == 5.0
    eng.close()


# --- token-burn-anomaly -----------------------------------------------------

def _weekly(rng, base=40.0, weekend=0.3, noise=0.15, days=45):
    out = []
    for i in range(days):
        d = START + timedelta(days=i)
        level = base * (weekend if d.weekday() >= 5 else 1.0)
        out.append(level * math.exp(rng.gauss(0, noise)))
    return out


def _fires(values, **over):
    series = [(START + timedelta(days=i), v) for i, v in enumerate(values)]
    return [a["day"] for a in anomalous_days(series, {**ANOMALY_DEFAULTS, **over})]


@pytest.mark.parametrize("seed", range(40))
def test_noisy_normal_series_do_not_fire(seed):
    rng = random.Random(seed)
    assert _fires(_weekly(rng)) == []                                    # weekly seasonality + noise
    assert _fires(_weekly(rng, weekend=0.1, noise=0.25)) == []           # strong weekends, more noise
    assert _fires([30 * 1.03 ** i * math.exp(rng.gauss(0, 0.1)) for i in range(45)]) == []   # ramp 3%/day
    assert _fires([200 + 20 * i + rng.gauss(0, 15) for i in range(45)]) == []  # linear growth
    assert _fires([rng.choice([0, 0, 0.2, 1.5, 3.0]) for _ in range(45)]) == []   # idle key: dollar floor
    # a weekly batch job: the same $60 run every Monday, nothing between
    assert _fires([60.0 if (START + timedelta(days=i)).weekday() == 0 else 0.0 for i in range(45)]) == []


@pytest.mark.parametrize("seed", range(20))
def test_spikes_fire(seed):
    rng = random.Random(seed)
    values = _weekly(rng)
    spike_day = 30 + seed % 10
    if (START + timedelta(days=spike_day)).weekday() >= 5:
        spike_day += 2
    values[spike_day] = 40.0 * 10
    fired = _fires(values)
    assert START + timedelta(days=spike_day) in fired
    assert all(d >= START + timedelta(days=spike_day) for d in fired)


def test_new_key_has_no_baseline_and_short_history_does_not_fire():
    assert _fires([40.0] * 5 + [400.0]) == []
    assert _fires([40.0] * 7 + [400.0]) == [START + timedelta(days=7)]


def test_token_burn_anomaly_findings(db_path):
    g = G(db_path)
    rng = random.Random(7)
    g.series("openai:api_key:spiky", [v if i != 40 else 400.0 for i, v in enumerate(_weekly(rng))], START)
    g.series("openai:api_key:steady", _weekly(random.Random(8)), START)
    g.series("openai:api_key:tiny", [0.5] * 40 + [9.0] * 5, START)
    eng = g.engine()
    found = {f.id: f for f in __import__("engine.findings", fromlist=["findings"]).findings(
        eng, rule="token-burn-anomaly")}
    assert set(found) == {"token-burn-anomaly:openai:api_key:spiky:2026-11-10"}
    ev = found["token-burn-anomaly:openai:api_key:spiky:2026-11-10"].evidence
    assert ev["usd"] == 400.0 and ev["ratio"] > 5 and ev["window"] == ["2026-10-27", "2026-11-09"]
    assert ev["usage"][0]["day"] == "2026-11-10"
    assert found["token-burn-anomaly:openai:api_key:spiky:2026-11-10"].severity == "high"
    eng.close()


# --- new-model-endpoint -------------------------------------------------------

def test_new_model_endpoint(db_path):
    g = G(db_path)
    # 35 days of gpt-4o-mini, then o3 from 2026-11-05
    g.series("k:support", [40.0] * 45, START)
    g.series("k:support", [None] * 35 + [5.0] * 10, START, model="o3")
    # first ever day uses two models: both are the baseline
    g.series("k:two_at_start", [10.0] * 45, START, model="gpt-4o")
    g.series("k:two_at_start", [1.0] * 45, START, model="gpt-4o-mini")
    # a second model on day 10: too little history
    g.series("k:day10", [10.0] * 45, START)
    g.series("k:day10", [None] * 9 + [1.0] * 36, START, model="o3-mini")
    # a dated snapshot of a model it already uses is not new
    g.series("k:snapshot", [10.0] * 45, START, model="gpt-4o")
    g.series("k:snapshot", [None] * 30 + [1.0] * 15, START, model="gpt-4o-2024-11-20")
    # day 14 exactly counts; a key that starts late is measured from its own first day
    g.series("k:late", [None] * 20 + [3.0] * 25, START)
    g.series("k:late", [None] * 34 + [1.0] * 11, START, model="claude-sonnet-4")
    eng = g.engine()
    found = {f.id: f for f in __import__("engine.findings", fromlist=["findings"]).findings(
        eng, rule="new-model-endpoint")}
    assert set(found) == {"new-model-endpoint:k:support:o3", "new-model-endpoint:k:late:claude-sonnet-4"}
    ev = found["new-model-endpoint:k:support:o3"].evidence
    assert ev["first_day"] == "2026-11-05" and ev["history_days"] == 35
    assert ev["prior_models"] == ["gpt-4o-mini"]
    assert found["new-model-endpoint:k:late:claude-sonnet-4"].evidence["history_days"] == 14
    eng.close()


def test_as_of_hides_later_usage(db_path):
    from datetime import datetime, timezone
    g = G(db_path)
    g.cred("openai:api_key:spiky")
    g.series("openai:api_key:spiky", [40.0] * 40 + [400.0] * 5, START)
    eng = g.engine(as_of=datetime(2026, 11, 5, 12, tzinfo=timezone.utc))
    assert subjects(eng, "token-burn-anomaly") == set()       # the spike is after "now"
    eng.close()
