"""The banded risk model (queries/risk.yaml, docs/RISK.md): severity dominates (one
critical outranks any pile of lows), people roll up what they own and hold, and
`riskiest` / `nodes(orderBy: RISK)` rank once per data generation, the same on the
embedded store and a real Neo4j."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from api.execute import execute
from engine.model import Records
from engine.risk import RiskFactor, banded_score, ranking, risk_of, weights
from engine.service import Engine
from rules_kit import G, K, N

from tests.neo4j_support import neo4j_url  # noqa: F401 (fixture)

BANDS = ("critical", "high", "medium", "low", "none")
raw_points = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=40)


@settings(max_examples=300, deadline=None)
@given(worse=st.sampled_from(BANDS[:-1]), gap=st.integers(1, 4), pile=raw_points, inactive=st.booleans())
def test_a_worse_band_outranks_any_pile_of_points(worse, gap, pile, inactive):
    w = weights()
    better = BANDS[min(BANDS.index(worse) + gap, len(BANDS) - 1)]
    bare = banded_score(worse, [], w, inactive=True)
    piled = banded_score(better, [RiskFactor(reason=f"r{i}", weight=p, name="x") for i, p in enumerate(pile)], w,
                         inactive=inactive)
    assert bare.score > piled.score
    assert piled.score == pytest.approx(sum(f.weight for f in piled.factors), abs=0.011)
    assert 0 <= piled.score < 100


def _pile_rules(dir_: Path, n: int) -> Path:
    """n organisation rules, each a low finding on the `pile` key."""
    dir_.mkdir()
    for i in range(n):
        (dir_ / f"pile-{i}.yaml").write_text(
            f"id: pile-{i}\ntitle: pile {i}\ndescription: a low finding\nseverity: low\n"
            f"frameworks: [CSF-GV.RR-02]\nmatch:\n  kinds: [Credential]\n"
            f"  where: [{{field: id, eq: 'openai:api_key:pile'}}]\nremediation: none\n")
    return dir_


def _records(db_path) -> Records:
    g = G(db_path)
    ana = g.person("ana@example.com")
    ben = g.person("ben@example.com", status="inactive", deactivated_at="2026-10-01T00:00:00Z")
    g.person("zoe@example.com")                                   # owns nothing, reaches nothing
    quiet = g.person("quinn@example.com")
    g.edge(quiet, K.OWNS, g.cred("openai:api_key:clean"))         # a clean, used-today key
    g.spend("openai:api_key:clean", date(2026, 11, 14), 0.0)
    g.edge(quiet, K.OWNS, g.tool("tool:quinn", environment="dev", budget_usd_month=10))
    g.edge("tool:quinn", K.HOLDS, "openai:api_key:clean")
    # the leak: one critical finding, nothing else
    g.edge(ana, K.OWNS, g.cred("anthropic:api_key:leaked", last_used_at="2026-11-14T00:00:00Z"))
    g.node("gitleaks:finding:x", N.SecretExposure)
    g.edge("anthropic:api_key:leaked", K.EXPOSED_IN, "gitleaks:finding:x")
    # ben left and still owns a live key (with no findings of its own but orphaned-identity)
    g.edge(ben, K.OWNS, g.cred("openai:api_key:bens", last_used_at="2026-09-30T00:00:00Z"))
    # the pile: lows everywhere, a wide blast radius into internal data, heavy spend
    g.edge(ana, K.OWNS, g.cred("openai:api_key:pile", tpm_limit=10_000_000, max_budget=1_000_000,
                               last_used_at="2026-11-14T00:00:00Z"))
    g.edge(ana, K.OWNS, g.tool("tool:pile-tool", environment="prod"))     # an approved tool claims it
    g.edge("tool:pile-tool", K.HOLDS, "openai:api_key:pile")
    for i in range(40):
        g.node(f"data:wiki{i}", N.DataSource, sensitivity="internal")
        g.edge("openai:api_key:pile", K.CAN_ACCESS, f"data:wiki{i}", access="admin")
    g.series("openai:api_key:pile", [500.0] * 10, date(2026, 11, 5), model="gpt-4o")
    return Records(source="inventory", nodes=g.nodes, edges=g.edges, usage=g.usage)


def _open(url: str, records: Records, rule_dir: Path) -> Engine:
    eng = Engine.open(url, rule_dirs=[rule_dir])
    eng.store.load(records, complete=True)
    return eng


def _check(eng: Engine) -> list:
    leaked, pile = risk_of(eng, "anthropic:api_key:leaked"), risk_of(eng, "openai:api_key:pile")
    assert leaked.factors[0].value == "critical"
    assert sum(f.value for f in pile.factors if f.name == "findings") >= 30      # the pile of lows...
    assert pile.factors[0].value == "low"
    assert {f.name for f in pile.factors} >= {"reach_sensitivity", "spend_rate", "blast_radius"}
    assert leaked.score > pile.score                                             # ...is below one critical
    top = execute(eng, '{ riskiest(kind: "Credential", first: 1) { nodes { id } totalCount } }')["data"]["riskiest"]
    assert top["nodes"][0]["id"] == "anthropic:api_key:leaked"
    people = execute(eng, '{ riskiest(kind: "Person", first: 10) { nodes { id risk { score factors { name } } } } }')
    scores = {n["id"]: n["risk"] for n in people["data"]["riskiest"]["nodes"]}
    assert scores["person:ben@example.com"]["score"] > 0                          # left, still owns a live key
    assert "departed_owner" in {f["name"] for f in scores["person:ben@example.com"]["factors"]}
    assert scores["person:ana@example.com"]["score"] >= weights()["bands"]["critical"]
    assert scores["person:zoe@example.com"] == {"score": 0.0, "factors": []}
    assert scores["person:quinn@example.com"] == {"score": 0.0, "factors": []}   # owns a clean key
    ranked = ranking(eng)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    # pages of riskiest walk the same order as the ranking; orderBy: RISK lists every node
    walked, after = [], None
    while True:
        page = execute(eng, "query($a: String) { riskiest(first: 3, after: $a) { nodes { id } "
                            "pageInfo { endCursor hasNextPage } } }", {"a": after})["data"]["riskiest"]
        walked += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == [nid for nid, _ in ranked]
    every = execute(eng, "{ nodes(orderBy: RISK, first: 500) { nodes { id } totalCount } "
                         "byId: nodes(first: 500) { totalCount } }")["data"]
    ids = [n["id"] for n in every["nodes"]["nodes"]]
    assert every["nodes"]["totalCount"] == every["byId"]["totalCount"] == len(ids)
    assert ids[:len(ranked)] == walked and ids[len(ranked):] == sorted(ids[len(ranked):])
    return ranked


def test_ranking_embedded(db_path, tmp_path):
    eng = _open(str(db_path), _records(db_path), _pile_rules(tmp_path / "rules", 30))
    _check(eng)
    eng.close()


@pytest.mark.neo4j
def test_ranking_same_on_neo4j(db_path, tmp_path, neo4j_url):  # noqa: F811
    rules = _pile_rules(tmp_path / "rules", 30)
    sql = _open(str(db_path), _records(db_path), rules)
    expected = _check(sql)
    sql.close()
    neo = _open(neo4j_url, _records(db_path), rules)
    assert _check(neo) == expected
    neo.close()


def test_demo_ranking(demo_db):
    eng = Engine.open(str(demo_db))
    top = [nid for nid, _ in ranking(eng, "Credential")][:2]
    assert top == ["anthropic:api_key:apikey_01DataAgent", "aws:access_key:ci-bot:1"]   # the two live leaks
    people = dict(ranking(eng, "Person"))
    assert people["person:ben@example.com"] > 0
    assert all(s > 0 for s in people.values())          # every demo person owns or holds a finding
    eng.close()
