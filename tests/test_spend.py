"""Spend: pricing, attribution, every groupBy summing to the same total (demo and random
data), reconciliation with invoices, and the GraphQL fields."""
from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest

from api.execute import execute
from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.pricing import Price, PriceBook, spellings
from engine.service import Engine
from engine.spend import GROUP_BYS, reconcile, spend
from ingest import aws_bedrock
from tests.conftest import DEMO


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's AI sources and inventory (and Bedrock) in a real SQLite file."""
    eng = Engine.open(str(tmp_path_factory.mktemp("spend") / "demo.db"))
    eng.ingest([DEMO / "openai", DEMO / "anthropic", DEMO / "litellm", DEMO / "inventory"])
    eng.store.load(aws_bedrock.ingest(DEMO / "aws"), complete=False)
    yield eng
    eng.close()


def _by_key(rows):
    return {r.key: r for r in rows}


def _totals(rows):
    return (round(sum(r.usd for r in rows), 4), sum(r.input_tokens for r in rows),
            sum(r.output_tokens for r in rows), sum(r.requests for r in rows),
            sum(r.unpriced_requests for r in rows), sum(r.unpriced_tokens for r in rows))


def test_every_group_by_sums_to_the_grand_total_on_the_demo(demo):
    totals = {g: _totals(spend(demo, g)) for g in GROUP_BYS}
    assert len(set(totals.values())) == 1, totals
    # Exactly: USD is whole micro-dollars per row, so no groupBy gains or loses a cent's
    # millionth to rounding.
    micros = {g: sum(round(r.usd * 1_000_000) for r in spend(demo, g)) for g in GROUP_BYS}
    assert len(set(micros.values())) == 1, micros
    usd = totals["model"][0]
    assert 3000 < usd < 6000
    for g in GROUP_BYS:
        rows = spend(demo, g)
        assert [r.usd for r in rows] == sorted((r.usd for r in rows), reverse=True)
        assert len({r.key for r in rows}) == len(rows)


def test_demo_attribution_follows_the_owners(demo):
    cred = _by_key(spend(demo, "credential"))
    person = _by_key(spend(demo, "person"))
    support = cred["openai:api_key:key_support"].usd
    # key_support: inventory owner li; the keyless Playground rows are li's own account.
    assert person["person:li@example.com"].usd == pytest.approx(support + cred[None].usd, abs=1e-4)
    assert person["person:ben@example.com"].usd == pytest.approx(cred["openai:api_key:key_ben"].usd, abs=1e-4)
    dev = (cred["openai:api_key:key_devshared"].usd + cred["litellm:key:9f2c1b7e4a"].usd
           + cred["litellm:key:3c8e5d2a71"].usd)
    assert person["person:dev@example.com"].usd == pytest.approx(dev, abs=1e-4)
    # key_mkt acts as a service account in a project with no owner: the org owner's.
    assert person["person:raj@example.com"].usd == pytest.approx(cred["openai:api_key:key_mkt"].usd, abs=1e-4)
    assert person["person:omar@contractor.example.net"].usd == pytest.approx(
        cred["anthropic:api_key:apikey_01OpsSumm"].usd, abs=1e-4)
    # Bedrock usage is its IAM user's, whom the inventory gives an owner.
    assert person["person:ana@example.com"].usd == pytest.approx(
        cred["anthropic:api_key:apikey_01DataAgent"].usd + cred["aws:iam_user:etl-bot"].usd, abs=1e-4)
    assert None not in person                      # every demo dollar has an owner person

    team = _by_key(spend(demo, "team"))
    assert team["team:support"].usd == pytest.approx(person["person:li@example.com"].usd, abs=1e-4)
    assert team["team:security"].usd == pytest.approx(person["person:raj@example.com"].usd, abs=1e-4)
    assert team["team:data-platform"].usd == pytest.approx(
        person["person:ana@example.com"].usd + person["person:dev@example.com"].usd
        + person["person:ben@example.com"].usd, abs=1e-4)
    # The contractor is in no inventory team: the null row, naming the key.
    assert team[None].usd == pytest.approx(person["person:omar@contractor.example.net"].usd, abs=1e-4)
    assert team[None].detail["unattributed"] == ["anthropic:api_key:apikey_01OpsSumm"]

    tool = _by_key(spend(demo, "tool"))
    half = cred["openai:api_key:key_devshared"].usd / 2       # held by two tools: split evenly
    assert tool["tool:code-assistant"].usd == pytest.approx(half, abs=1e-4)
    assert tool["tool:support-copilot"].usd == pytest.approx(support + half, abs=1e-4)
    assert tool["tool:data-agent"].usd == pytest.approx(
        cred["anthropic:api_key:apikey_01DataAgent"].usd + cred["litellm:key:9f2c1b7e4a"].usd, abs=1e-4)
    assert {"aws:iam_user:etl-bot", "openai:api_key:key_mkt"} <= set(tool[None].detail["unattributed"])

    env = _by_key(spend(demo, "environment"))
    assert env["dev"].usd == pytest.approx(cred["openai:api_key:key_devshared"].usd, abs=1e-4)
    assert env["staging"].usd == pytest.approx(cred["anthropic:api_key:apikey_01OpsSumm"].usd, abs=1e-4)

    project = _by_key(spend(demo, "project"))
    assert project["openai:project:proj_support"].usd == pytest.approx(support, abs=1e-4)
    assert project["anthropic:workspace:wrkspc_01DataAgents"].usd == pytest.approx(
        cred["anthropic:api_key:apikey_01DataAgent"].usd, abs=1e-4)


def test_unpriced_usage_is_reported_never_silent(demo):
    ft = "ft:gpt-4o-mini-2024-07-18:northwind:mkt-tone:AbC123"
    model = _by_key(spend(demo, "model"))
    assert model[ft].usd == 0 and model[ft].unpriced_requests == model[ft].requests > 0
    assert model[ft].unpriced_tokens == model[ft].input_tokens + model[ft].output_tokens
    mkt = _by_key(spend(demo, "credential"))["openai:api_key:key_mkt"]
    assert mkt.detail["unpriced_models"] == [ft] and mkt.usd > 0
    support = _by_key(spend(demo, "credential"))["openai:api_key:key_support"]
    assert support.unpriced_requests == 0 and support.detail["unpriced_models"] == []
    # The inventory's dated override prices gpt-4o-2024-08-06; LiteLLM keeps its own figures.
    assert model["gpt-4o-2024-08-06"].usd > 0
    logged = sum(r["spend"] for r in json.loads((DEMO / "litellm/spend/logs.json").read_text())
                 if r["api_key"] == "3c8e5d2a71")
    assert _by_key(spend(demo, "credential"))["litellm:key:3c8e5d2a71"].usd == pytest.approx(logged, abs=1e-6)


def test_the_spike_day_and_windows(demo):
    def day(d):
        return _by_key(spend(demo, "credential", d, d))["openai:api_key:key_support"].usd
    assert day(date(2026, 11, 10)) > 8 * day(date(2026, 11, 9))
    assert 30 < day(date(2026, 10, 15)) < 50                       # ~$40/day on gpt-4o-mini
    october = _totals(spend(demo, "model", date(2026, 10, 1), date(2026, 10, 31)))[0]
    november = _totals(spend(demo, "person", date(2026, 11, 1), None))[0]
    assert october + november == pytest.approx(_totals(spend(demo, "team"))[0], abs=1e-3)
    assert spend(demo, "person", date(2026, 12, 1), None) == []


def test_reconciliation_shows_what_measured_usage_misses(demo):
    rows = {(r.source, r.scope): r for r in reconcile(demo)}
    weekdays = sum(1 for i in range(45) if (date(2026, 10, 1) + timedelta(days=i)).weekday() < 5)
    data = rows[("anthropic", "anthropic:workspace:wrkspc_01DataAgents")]
    assert data.difference_usd == pytest.approx(1.5 * weekdays, abs=0.01)   # web search
    assert abs(rows[("openai", "openai:project:proj_support")].difference_usd) < 0.05
    mkt = rows[("openai", "openai:project:proj_marketing")]
    assert mkt.difference_usd > 10 and mkt.unpriced_requests > 0           # the fine-tuned model
    # Invoices are never added to spend: spend is the measured side plus the sources
    # that have no invoice here (LiteLLM, Bedrock).
    cred = _by_key(spend(demo, "credential"))
    others = sum(cred[k].usd for k in ("litellm:key:9f2c1b7e4a", "litellm:key:3c8e5d2a71",
                                       "aws:iam_user:etl-bot"))
    measured = sum(r.measured_usd for r in reconcile(demo))
    assert _totals(spend(demo, "model"))[0] == pytest.approx(measured + others, abs=1e-3)


def test_graphql_fields(demo):
    out = execute(demo, '{ spend(groupBy: "team", from: "2026-11-10", to: "2026-11-10") '
                        '{ key usd inputTokens outputTokens requests unpricedRequests unpricedTokens detail } }')
    assert "errors" not in out, out
    rows = out["data"]["spend"]
    assert rows[0]["key"] == "team:support" and rows[0]["usd"] > 300
    bad = execute(demo, '{ spend(groupBy: "planet") { key } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    rec = execute(demo, "{ spendReconciliation { source scope invoiceUsd measuredUsd differenceUsd unpricedRequests } }")
    assert "errors" not in rec, rec
    assert {r["source"] for r in rec["data"]["spendReconciliation"]} == {"openai", "anthropic"}
    act = execute(demo, '{ claudeCodeActivity(actor: "person:dev@example.com", from: "2026-11-02", to: "2026-11-06") '
                        '{ day actor sessions linesAdded toolActionsAccepted estimatedCostUsd } }')
    assert "errors" not in act, act
    days = act["data"]["claudeCodeActivity"]
    assert [d["day"] for d in days] == [f"2026-11-0{i}" for i in range(2, 7)]
    assert all(d["actor"] == "person:dev@example.com" and d["sessions"] > 0 for d in days)
    wrong = execute(demo, '{ spendReconciliation(from: "2026-11-02", to: "2026-11-01") { scope } }')
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_INPUT"


# ---------------------------------------------------------------------------- pricing
def test_model_name_matching():
    assert spellings("gpt-4o-2024-08-06")[-1] == "gpt-4o"
    assert spellings("us.anthropic.claude-3-5-sonnet-20240620-v1:0")[-1] == "claude-3-5-sonnet"
    assert spellings("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-70b-instruct-v1:0")[-1] \
        == "llama3-1-70b-instruct"
    assert spellings("ft:gpt-4o-mini-2024-07-18:org::x") == ["ft:gpt-4o-mini-2024-07-18:org::x"]
    book = PriceBook()
    assert book.lookup("openai/gpt-4o-mini").model == "gpt-4o-mini"
    assert book.lookup("claude-sonnet-4-5-20250929").model == "claude-sonnet-4-5"
    assert book.lookup("o3-mini-2025-01-31").model == "o3-mini"       # not o3
    assert book.lookup("gpt-4o-mini-2024-07-18").model == "gpt-4o-mini"   # not gpt-4o
    assert book.lookup("totally-new-model") is None
    assert book.lookup("ft:gpt-4o-mini-2024-07-18:org::x") is None
    assert book.as_of == "2026-11-01"


def test_overrides_win_and_keep_cache_rates():
    book = PriceBook({"gpt-4o": Price("gpt-4o", 1.0, 2.0, source="inventory"),
                      "ft:m:x": Price("ft:m:x", 5.0, 6.0, source="inventory")})
    p = book.lookup("gpt-4o-2024-08-06")
    assert (p.input, p.output, p.cached_input, p.source) == (1.0, 2.0, 1.25, "inventory")
    assert book.lookup("ft:m:x").input == 5.0
    assert book.lookup("gpt-4o-mini").source.startswith("bundled")
    # cached and cache-written input are parts of input, each at its own rate
    price = Price("m", input=2.0, output=10.0, cached_input=0.5, cache_write=2.5)
    assert price.usd(1_000_000, 100_000, 400_000, 100_000) == pytest.approx(
        (500_000 * 2 + 400_000 * 0.5 + 100_000 * 2.5 + 100_000 * 10) / 1e6)


def _tiny(tmp_path, prices=None):
    eng = Engine.open(str(tmp_path / "t.db"))
    rec = Records(source="openai", nodes=[Node(id="openai:api_key:k", kind=NodeKind.Credential)],
                  usage=[UsageRow(day=date(2026, 11, 1), model="gpt-4o", credential_id="openai:api_key:k",
                                  input_tokens=1_000_000, output_tokens=1_000_000, requests=3),
                         UsageRow(day=date(2026, 11, 1), model="litellm-routed", credential_id="openai:api_key:k",
                                  input_tokens=10, output_tokens=10, requests=1, vendor_usd=0.75)])
    eng.store.load(rec, complete=True)
    if prices:
        eng.store.load(Records(source="inventory", settings={f"price:{m}": p for m, p in prices.items()}),
                       complete=True)
    return eng


def test_inventory_prices_override_the_bundled_table(tmp_path):
    eng = _tiny(tmp_path)
    [row] = spend(eng, "credential")
    assert row.usd == pytest.approx(2.5 + 10 + 0.75)
    eng.store.load(Records(source="inventory", settings={"price:gpt-4o": {"input": 1, "output": 1}}), complete=True)
    [row] = spend(eng, "credential")
    assert row.usd == pytest.approx(2.0 + 0.75)
    eng.close()


def test_team_owned_credential_and_missing_owner(tmp_path):
    eng = Engine.open(str(tmp_path / "t.db"))
    nodes = [Node(id="openai:api_key:team_key", kind=NodeKind.Credential),
             Node(id="openai:api_key:lonely", kind=NodeKind.Credential),
             Node(id="team:ml", kind=NodeKind.Team), Node(id="person:a@x.io", kind=NodeKind.Person)]
    edges = [Edge(src="team:ml", dst="openai:api_key:team_key", kind=EdgeKind.OWNS),
             Edge(src="person:a@x.io", dst="team:ml", kind=EdgeKind.OWNS)]
    usage = [UsageRow(day=date(2026, 11, 1), model="gpt-4o", credential_id=c, input_tokens=1000, output_tokens=10,
                      requests=1) for c in ("openai:api_key:team_key", "openai:api_key:lonely")]
    eng.store.load(Records(source="inventory", nodes=nodes, edges=edges, usage=usage), complete=True)
    team, person = _by_key(spend(eng, "team")), _by_key(spend(eng, "person"))
    # A key a team owns is the team's, not its owner's first team; it names no person.
    assert set(team) == {"team:ml", None}
    assert team["team:ml"].input_tokens == 1000
    assert team[None].detail["unattributed"] == ["openai:api_key:lonely"]
    assert set(person) == {None}
    assert person[None].detail["unattributed"] == ["openai:api_key:lonely", "openai:api_key:team_key"]
    eng.close()


# ------------------------------------------------------------------------ random data
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_org_every_group_by_agrees(tmp_path, seed):
    rng = random.Random(seed)
    people = [f"person:p{i}@x.io" for i in range(12)]
    teams = [f"team:t{i}" for i in range(4)]
    tools = [f"tool:tool{i}" for i in range(5)]
    projects = [f"openai:project:pr{i}" for i in range(3)]
    creds = [f"openai:api_key:k{i}" for i in range(40)]
    envs = ["prod", "dev", "staging", None]
    nodes = [Node(id=p, kind=NodeKind.Person) for p in people]
    nodes += [Node(id=t, kind=NodeKind.Team) for t in teams]
    nodes += [Node(id=t, kind=NodeKind.AITool, properties={"environment": e} if (e := rng.choice(envs)) else {})
              for t in tools]
    nodes += [Node(id=p, kind=NodeKind.Project) for p in projects]
    edges = []
    for p in people:
        for t in rng.sample(teams, rng.randint(0, 2)):
            edges.append(Edge(src=p, dst=t, kind=EdgeKind.MEMBER_OF))
    for pr in projects:
        if rng.random() < 0.6:
            edges.append(Edge(src=rng.choice(people), dst=pr, kind=EdgeKind.OWNS))
    for c in creds:
        props = {"project_id": rng.choice(projects)} if rng.random() < 0.8 else {}
        if rng.random() < 0.4:
            props["environment"] = rng.choice(["prod", "dev"])
        nodes.append(Node(id=c, kind=NodeKind.Credential, properties=props))
        if "project_id" in props:
            edges.append(Edge(src=c, dst=props["project_id"], kind=EdgeKind.MEMBER_OF))
        r = rng.random()
        if r < 0.3:
            for p in rng.sample(people, rng.randint(1, 3)):
                edges.append(Edge(src=p, dst=c, kind=EdgeKind.OWNS))
        elif r < 0.45:
            edges.append(Edge(src=rng.choice(teams), dst=c, kind=EdgeKind.OWNS))
        for t in rng.sample(tools, rng.choice([0, 0, 1, 2, 3])):
            edges.append(Edge(src=t, dst=c, kind=EdgeKind.HOLDS))
    models = ["gpt-4o", "gpt-4o-mini-2024-07-18", "o3", "mystery-model", "claude-3-5-haiku-20241022"]
    usage = []
    for _ in range(600):
        cred = rng.choice(creds + [None])
        usage.append(UsageRow(
            day=date(2026, 10, 1) + timedelta(days=rng.randint(0, 44)), model=rng.choice(models),
            credential_id=cred, project_id=rng.choice(projects + [None]),
            input_tokens=rng.randint(0, 10**7), output_tokens=rng.randint(0, 10**6),
            cached_input_tokens=rng.randint(0, 1000), requests=rng.randint(0, 500),
            vendor_usd=rng.choice([None, None, None, round(rng.random() * 5, 4)]),
            properties={"bucket_key": str(rng.random())}))
    eng = Engine.open(str(tmp_path / "r.db"))
    eng.store.load(Records(source="openai", nodes=nodes, edges=edges, usage=usage), complete=True)
    window = (date(2026, 10, 5), date(2026, 11, 2))
    for start, end in ((None, None), window):
        totals = {g: _totals(spend(eng, g, start, end)) for g in GROUP_BYS}
        assert len(set(totals.values())) == 1, totals
    assert _totals(spend(eng, "model"))[4] > 0          # the mystery model is unpriced, and counted
    eng.close()
