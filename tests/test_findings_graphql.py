"""`findings` pagination and filters and `traceCompromise` on the demo's leaked key, over
a real HTTP server."""
import pytest

from api.app import create_app
from engine.service import Engine
from tests.conftest import LiveServer, gql_data as data

LEAK = "anthropic:api_key:apikey_01DataAgent"


@pytest.fixture(scope="module")
def server(demo_db):
    eng = Engine.open(str(demo_db))
    with LiveServer(create_app(eng)) as srv:
        yield srv
    eng.close()


PAGE = """query($first: Int, $after: String, $rule: String, $severity: String, $subject: ID) {
  findings(first: $first, after: $after, rule: $rule, severity: $severity, subject: $subject) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id rule title severity subject { id kind } evidence frameworks } } }"""


def test_findings_paginate_to_the_same_set(server):
    everything = data(server.graphql(PAGE, {"first": 500}))["findings"]
    total = everything["totalCount"]
    assert total == len(everything["nodes"]) > 20
    seen, after = [], None
    while True:
        page = data(server.graphql(PAGE, {"first": 7, "after": after}))["findings"]
        assert page["totalCount"] == total
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [n["id"] for n in everything["nodes"]]
    first = everything["nodes"][0]
    assert first["severity"] == "critical" and first["frameworks"] and first["evidence"]["summary"]


def test_findings_filters(server):
    got = data(server.graphql(PAGE, {"rule": "leaked-credential"}))["findings"]
    assert {n["subject"]["id"] for n in got["nodes"]} == {LEAK, "aws:access_key:ci-bot:1"}
    assert got["nodes"][0]["subject"]["kind"] == "Credential"
    assert all(n["frameworks"] == ["OWASP-NHI2"] for n in got["nodes"])
    crit = data(server.graphql(PAGE, {"severity": "critical"}))["findings"]
    assert crit["totalCount"] == 2 and {n["severity"] for n in crit["nodes"]} == {"critical"}
    subj = data(server.graphql(PAGE, {"subject": "openai:api_key:key_support"}))["findings"]
    assert {n["rule"] for n in subj["nodes"]} == {"token-burn-anomaly", "new-model-endpoint", "long-lived-credential"}
    body = server.graphql(PAGE, {"severity": "urgent"}).json()
    assert body["errors"] and "unknown severity" in body["errors"][0]["message"]
    body = server.graphql(PAGE, {"rule": "no-such-rule"}).json()
    assert body["errors"] and "unknown rule 'no-such-rule'" in body["errors"][0]["message"]


TRACE = """query($id: ID!, $since: DateTime) { traceCompromise(id: $id, since: $since) {
  subject { id } since owners { id active properties } holders { id }
  exposures { id }
  usageSince { day model usd anomalous note }
  blastRadius { reachable { node { id } depth } spendExposureUsdPerHour }
  revocationPlan { order action target reason targetNode { id } } } }"""


def test_trace_of_the_demo_leak_over_http(server):
    t = data(server.graphql(TRACE, {"id": LEAK}))["traceCompromise"]
    assert t["subject"]["id"] == LEAK and t["since"].startswith("2026-11-08")
    assert [o["id"] for o in t["owners"]] == ["person:ana@example.com"]
    assert t["owners"][0]["active"] is True and t["owners"][0]["properties"]["status"] == "active"
    assert [h["id"] for h in t["holders"]] == ["tool:data-agent"]
    assert t["exposures"][0]["id"].startswith("gitleaks:finding:")
    assert t["usageSince"] and all(u["day"] >= "2026-11-08" for u in t["usageSince"])
    assert any(u["anomalous"] and u["note"] for u in t["usageSince"])
    assert t["blastRadius"]["spendExposureUsdPerHour"] > 0
    plan = t["revocationPlan"]
    assert [s["order"] for s in plan] == list(range(1, len(plan) + 1))
    assert (plan[0]["action"], plan[0]["target"]) == ("rotate", LEAK)
    assert plan[-1]["action"] == "notify" and plan[-1]["targetNode"]["id"] == "person:ana@example.com"
    assert all(s["reason"] for s in plan)
    later = data(server.graphql(TRACE, {"id": LEAK, "since": "2026-11-12T00:00:00Z"}))["traceCompromise"]
    assert {u["day"] for u in later["usageSince"]} == {"2026-11-12", "2026-11-13", "2026-11-14"}


def test_trace_unknown_id(server):
    body = server.graphql(TRACE, {"id": "anthropic:api_key:nope"}).json()
    assert body["data"] is None or body["data"]["traceCompromise"] is None
    assert "no node with id" in body["errors"][0]["message"]


def test_risk_on_node_and_exposure_on_blast_radius(server):
    d = data(server.graphql('{ node(id: "%s") { risk { score reasons factors { reason weight } } } '
                            'blastRadius(id: "tool:data-agent") { spendExposureUsdPerHour } }' % LEAK))
    assert d["node"]["risk"]["score"] >= 60
    assert any(r.startswith("findings:") for r in d["node"]["risk"]["reasons"])
    assert d["blastRadius"]["spendExposureUsdPerHour"] > 0
