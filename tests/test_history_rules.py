"""Rules that need history, on both stores: connected-tools-expansion between two
sync runs, and new-model-endpoint / token-burn-anomaly judged against every stored
usage day rather than the latest export window."""
from __future__ import annotations

from datetime import date, timedelta

from engine.findings import findings
from engine.model import Edge, EdgeKind, Node, NodeKind, Records, UsageRow
from engine.service import Engine
from tests.neo4j_support import neo4j_engine, neo4j_url  # noqa: F401 (fixtures)
from tests.test_history import engine  # noqa: F401 (the fixture: each test on both stores)

T1, T2, T3 = "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"


def okta() -> Records:
    nodes, edges = [], []
    for who in ("ana", "bob", "cy"):
        nodes += [Node(id=f"person:{who}@x.io", kind=NodeKind.Person, properties={"email": f"{who}@x.io"}),
                  Node(id=f"okta:user:{who}", kind=NodeKind.Account, active=True, properties={"status": "ACTIVE"})]
        edges.append(Edge(src=f"person:{who}@x.io", dst=f"okta:user:{who}", kind=EdgeKind.HAS_ACCOUNT))
    nodes.append(Node(id="team:eng", kind=NodeKind.Team, properties={}))
    edges.append(Edge(src="person:ana@x.io", dst="team:eng", kind=EdgeKind.MEMBER_OF))
    return Records(source="okta", nodes=nodes, edges=edges)


def google(grants: dict[str, int], tool_grants: int = 0) -> Records:
    """`grants`: person -> how many apps their Google account consented to."""
    nodes, edges = [], []
    for who, n in grants.items():
        acct = f"google:user:{who}"
        nodes.append(Node(id=acct, kind=NodeKind.Account, active=True, properties={"email": f"{who}@x.io"}))
        edges.append(Edge(src=f"person:{who}@x.io", dst=acct, kind=EdgeKind.HAS_ACCOUNT))
        for i in range(n):
            client, token = f"google:oauth_client:app{i}", f"google:token:{who}:app{i}"
            nodes += [Node(id=client, kind=NodeKind.OAuthClient, properties={}),
                      Node(id=token, kind=NodeKind.OAuthGrant, active=True, properties={"scopes": ["x"]})]
            edges += [Edge(src=acct, dst=token, kind=EdgeKind.CONSENTED),
                      Edge(src=client, dst=token, kind=EdgeKind.HOLDS),
                      Edge(src=token, dst=f"saas:app{i}", kind=EdgeKind.GRANTS, properties={"access": "read"})]
    for i in range(tool_grants):
        token = f"google:token:bot:t{i}"
        nodes.append(Node(id=token, kind=NodeKind.OAuthGrant, active=True, properties={}))
        edges += [Edge(src="tool:bot", dst=token, kind=EdgeKind.HOLDS),
                  Edge(src=token, dst=f"data:d{i}", kind=EdgeKind.GRANTS, properties={"access": "read"})]
    nodes.append(Node(id="tool:bot", kind=NodeKind.AITool, properties={"approved": True}))
    return Records(source="google", nodes=nodes, edges=edges)


def subjects(eng: Engine, rule: str) -> dict[str, dict]:
    return {f.subject_id: f.evidence for f in findings(eng, rule=rule)}


def test_connected_tools_expansion(engine):
    rule = "connected-tools-expansion"
    engine.load_records([(okta(), True), (google({"ana": 1, "bob": 1, "cy": 2}, tool_grants=1), True)],
                        synced_at=T1)
    assert subjects(engine, rule) == {}                 # one run: nothing to compare
    engine.load_records([(okta(), True), (google({"ana": 4, "bob": 3, "cy": 2}, tool_grants=6), True)],
                        synced_at=T2)
    got = subjects(engine, rule)
    # ana +3 grants and apps; her team with her; the tool +5 grants and +5 data sources
    assert set(got) == {"person:ana@x.io", "team:eng", "tool:bot"}
    ana = got["person:ana@x.io"]
    assert (ana["grants_before"], ana["grants_after"], ana["added_grants_count"]) == (1, 4, 3)
    assert "grants" in ana["grew"] and "apps" in ana["grew"]
    assert ana["added_grants"] == [f"google:token:ana:app{i}" for i in (1, 2, 3)]
    assert got["tool:bot"]["grew"] == ["grants", "data"] and got["tool:bot"]["added_data_count"] == 5
    # bob +2 (under the threshold), cy unchanged: nothing. A third run with no change:
    engine.load_records([(okta(), True), (google({"ana": 4, "bob": 3, "cy": 2}, tool_grants=6), True)],
                        synced_at=T3)
    assert subjects(engine, rule) == {}
    # As of the second run, the expansion is what it was then.
    assert set(subjects(engine.at("2026-03-02T12:00:00Z"), rule)) == {"person:ana@x.io", "team:eng", "tool:bot"}


def openai_usage(days: list[date], model_of=lambda d: "gpt-4o", usd_of=lambda d: 10.0, key="k1") -> Records:
    cred = f"openai:api_key:{key}"
    nodes = [Node(id=cred, kind=NodeKind.Credential, active=True,
                  properties={"status": "active", "created_at": "2026-01-01T00:00:00Z"})]
    usage = [UsageRow(day=d, model=model_of(d), credential_id=cred, input_tokens=1000, requests=10,
                      vendor_usd=usd_of(d)) for d in days]
    return Records(source="litellm", nodes=nodes, usage=usage)


def span(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def test_new_model_endpoint_judged_against_stored_history(engine):
    rule = "new-model-endpoint"
    d0 = date(2026, 1, 1)
    # export 1: days 0-19 on gpt-4o; export 2 (a 10-day window): days 20-29, o3 from day 25
    engine.load_records([(openai_usage(span(d0, 20)), True)], synced_at=T1)
    late = d0 + timedelta(days=25)
    engine.load_records([(openai_usage(span(d0 + timedelta(days=20), 10),
                                       model_of=lambda d: "o3" if d >= late else "gpt-4o"), True)], synced_at=T2)
    got = findings(engine, rule=rule)
    assert [(f.subject_id, f.evidence["model"], f.evidence["history_start"]) for f in got] == [
        ("openai:api_key:k1", "o3", d0.isoformat())]
    # the same second export alone (a fresh store): 5 days of history, not 14 -> nothing
    assert findings_on_fresh(engine, rule, [openai_usage(span(d0 + timedelta(days=20), 10),
                                                         model_of=lambda d: "o3" if d >= late else "gpt-4o")]) == []


def test_token_burn_anomaly_judged_against_stored_history(engine):
    rule = "token-burn-anomaly"
    d0 = date(2026, 1, 1)
    spike = d0 + timedelta(days=21)
    engine.load_records([(openai_usage(span(d0, 20)), True)], synced_at=T1)
    second = openai_usage(span(d0 + timedelta(days=20), 3), usd_of=lambda d: 900.0 if d == spike else 10.0)
    engine.load_records([(second, True)], synced_at=T2)
    got = findings(engine, rule=rule)
    assert [(f.subject_id, f.evidence["day"]) for f in got] == [("openai:api_key:k1", spike.isoformat())]
    assert got[0].evidence["baseline_median_usd"] == 10.0
    # the second export alone has no 7-day baseline: nothing
    assert findings_on_fresh(engine, rule, [second]) == []
    # and a steady key across both exports: nothing
    engine.load_records([(openai_usage(span(d0 + timedelta(days=20), 3)), True)], synced_at=T3)
    assert findings(engine, rule=rule) == []


def findings_on_fresh(engine: Engine, rule: str, loads: list[Records]) -> list:
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        fresh = Engine.open(f"{d}/fresh.db")
        try:
            fresh.load_records([(r, True) for r in loads], synced_at=T1)
            return findings(fresh, rule=rule)
        finally:
            fresh.close()
