"""spendDaily: `spend` per UTC day, for charts over time. Same pricing and attribution
as `spend`, so each group's days add up to its total, and unpriced usage stays visible."""
from __future__ import annotations

from collections import defaultdict

import pytest

from api.execute import execute

GROUPS = ("person", "team", "credential", "tool", "project", "model", "environment")


def q(engine, doc, **variables):
    out = execute(engine, doc, variables)
    assert "errors" not in out, out
    return out["data"]


@pytest.mark.parametrize("group", GROUPS)
def test_days_add_up_to_spend(demo_engine, group):
    data = q(demo_engine, """query($g: String!) { spendDaily(groupBy: $g) { day key usd requests unpricedRequests }
                             spend(groupBy: $g) { key usd requests unpricedRequests } }""", g=group)
    days = data["spendDaily"]
    assert days == sorted(days, key=lambda r: (r["day"], r["key"] is None, r["key"] or ""))
    usd, requests, unpriced = defaultdict(float), defaultdict(int), defaultdict(int)
    for r in days:
        usd[r["key"]] += r["usd"]
        requests[r["key"]] += r["requests"]
        unpriced[r["key"]] += r["unpricedRequests"]
    totals = {r["key"]: r for r in data["spend"]}
    assert set(usd) <= set(totals)
    for key, row in totals.items():
        assert usd[key] == pytest.approx(row["usd"], abs=0.01 + 1e-6 * row["usd"]), key
        # Rows several groups share split their counts as whole numbers: within a few.
        assert abs(requests[key] - row["requests"]) <= 3 * len(days), key
        assert abs(unpriced[key] - row["unpricedRequests"]) <= 3 * len(days), key


def test_the_spike_and_the_window(demo_engine):
    key = "openai:api_key:key_support"
    data = q(demo_engine, '{ spendDaily(groupBy: "credential") { day key usd } }')
    support = {r["day"]: r["usd"] for r in data["spendDaily"] if r["key"] == key}
    spike = support.pop("2026-11-10")
    assert spike > 5 * max(v for d, v in support.items() if d < "2026-11-10")   # story 3: ~10x
    window = q(demo_engine, '{ spendDaily(groupBy: "credential", from: "2026-11-09", to: "2026-11-10") { day } }')
    assert {r["day"] for r in window["spendDaily"]} == {"2026-11-09", "2026-11-10"}


def test_unpriced_usage_is_counted_not_priced(demo_engine):
    rows = q(demo_engine, '{ spendDaily(groupBy: "model") { day key usd unpricedRequests unpricedTokens } }')["spendDaily"]
    unpriced = [r for r in rows if r["unpricedRequests"]]
    assert unpriced and all(r["usd"] == 0 and r["unpricedTokens"] > 0 for r in unpriced)


def test_bad_arguments(demo_engine):
    out = execute(demo_engine, '{ spendDaily(groupBy: "planet") { day } }')
    assert out["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    out = execute(demo_engine, '{ spendDaily(groupBy: "team", from: "2026-11-10", to: "2026-11-01") { day } }')
    assert out["errors"][0]["extensions"]["code"] == "BAD_INPUT"
