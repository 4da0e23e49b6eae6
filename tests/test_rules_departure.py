"""departed-person-active-account, access-after-departure, and
departed-owner-still-spending through teams and projects (every departed owner
listed), on hand-built graphs, on the embedded store and on a real Neo4j."""
from __future__ import annotations

from datetime import date

import pytest

from engine.findings import findings
from engine.model import Records
from engine.service import Engine
from rules_kit import G, K, N

from tests.neo4j_support import neo4j_url  # noqa: F401 (fixture)

LEFT = "2026-10-20T15:00:00Z"


def _org(db_path) -> G:
    g = G(db_path)
    ana = g.person("ana@example.com")
    ben = g.person("ben@example.com", status="inactive", deactivated_at=LEFT)
    cy = g.person("cy@example.com", status="inactive", deactivated_at="2026-11-01T00:00:00Z")
    omar = g.person("omar@contractor.example.net", status="unverified")
    # ben left; his GitHub membership and OpenAI user stay active, his Anthropic user was removed
    for acct, active, props in (("github:user:bokafor", True, {"login": "bokafor"}),
                                ("openai:user:ben", True, {"last_login_at": "2026-11-02T09:00:00Z"}),
                                ("anthropic:user:ben", False, {})):
        g.node(acct, N.Account, active=active, **props)
        g.edge(ben, K.HAS_ACCOUNT, acct)
    # ana (active) and omar (no IdP knows him) keep active vendor accounts: never a hit
    g.node("github:user:ana", N.Account, active=True)
    g.edge(ana, K.HAS_ACCOUNT, "github:user:ana")
    g.node("github:user:omar", N.Account, active=True)
    g.edge(omar, K.HAS_ACCOUNT, "github:user:omar")
    # an AWS key ben owns: no usage rows, but the credential report says it was used after
    g.edge(ben, K.OWNS, g.cred("aws:access_key:ben-ci:1", last_used_at="2026-12-01T08:00:00Z",
                               last_used_service="bedrock"))
    # a key ben owned, last used the morning he left (before): no hit
    g.edge(ben, K.OWNS, g.cred("aws:access_key:ben-ci:2", last_used_at="2026-10-20T09:00:00Z"))
    # a key acting as ben's OpenAI user, used on the departure day only (its bucket): no hit
    g.cred("openai:api_key:ben_user_key")
    g.edge("openai:api_key:ben_user_key", K.AUTHENTICATES_AS, "openai:user:ben")
    g.spend("openai:api_key:ben_user_key", date(2026, 10, 20), 4.0)
    # a team key: team:ml's named owners are ben and cy, both gone; spent after both left
    g.node("team:ml", N.Team)
    g.edge(ben, K.OWNS, "team:ml")
    g.edge(cy, K.OWNS, "team:ml")
    g.edge("team:ml", K.OWNS, g.cred("openai:api_key:team_ml"))
    # a team with one departed and one active owner: not departed ownership
    g.node("team:web", N.Team)
    g.edge(ben, K.OWNS, "team:web")
    g.edge(ana, K.OWNS, "team:web")
    g.edge("team:web", K.OWNS, g.cred("openai:api_key:team_web"))
    # a project whose owner left: its key resolves to ben through the project
    g.node("openai:project:p2", N.Project)
    g.edge(ben, K.OWNS, "openai:project:p2")
    g.cred("openai:api_key:in_p2")
    g.edge("openai:api_key:in_p2", K.MEMBER_OF, "openai:project:p2")
    # an Anthropic key ana owns but cy held, with Claude Code activity after cy left
    g.edge(ana, K.OWNS, g.cred("anthropic:api_key:cc"))
    g.edge(cy, K.HOLDS, "anthropic:api_key:cc")
    for d in range(1, 15):
        day = date(2026, 11, d)
        g.spend("openai:api_key:team_ml", day, 100.0)
        g.spend("openai:api_key:team_web", day, 100.0)
        g.spend("openai:api_key:in_p2", day, 5.0)
    return g


def _engine(db_path, url):
    """The org in the embedded store (url None) or a real Neo4j, with a day of Claude
    Code activity on the key cy held."""
    from engine.model import ActivityRow
    g = _org(db_path)
    eng = Engine.open(url or str(db_path))
    eng.store.load(Records(source="inventory", nodes=g.nodes, edges=g.edges, usage=g.usage,
                           activity=[ActivityRow(day=date(2026, 11, 3), actor_id="anthropic:api_key:cc",
                                                 kind="claude_code", properties={"num_sessions": 4})]),
                   complete=True)
    return eng


def _check(eng: Engine) -> None:
    def by(rule):
        return {f.subject_id: f for f in findings(eng, rule=rule)}

    active = by("departed-person-active-account")
    assert set(active) == {"github:user:bokafor", "openai:user:ben"}
    f = active["github:user:bokafor"]
    assert f.severity == "medium" and f.frameworks == ["OWASP-NHI1", "CSF-PR.AA-01"]
    assert f.evidence["person"] == "person:ben@example.com" and f.evidence["deactivated_at"] == LEFT

    after = by("access-after-departure")
    assert set(after) == {"aws:access_key:ben-ci:1", "openai:user:ben", "openai:api_key:team_ml",
                          "openai:api_key:in_p2", "anthropic:api_key:cc"}
    aws = after["aws:access_key:ben-ci:1"].evidence
    assert aws["sources"] == ["AWS IAM credential report (last_used_at)"]
    assert "service bedrock" in aws["departed"][0]["signals"][0]["detail"]
    assert after["openai:user:ben"].evidence["sources"] == ["OpenAI (last_login_at)"]
    cc = after["anthropic:api_key:cc"].evidence
    assert cc["person"] == "person:cy@example.com" and cc["sources"] == ["Anthropic Claude Code report"]
    assert cc["departed"][0]["relation"] == "held by them"
    team = after["openai:api_key:team_ml"]
    assert [d["person"] for d in team.evidence["departed"]] == ["person:ben@example.com", "person:cy@example.com"]
    assert team.severity == "critical"          # $1,400 after ben left
    assert team.frameworks == ["OWASP-NHI1", "CSF-DE.CM-03"]

    spending = by("departed-owner-still-spending")
    assert set(spending) == {"openai:api_key:team_ml", "openai:api_key:in_p2"}
    ev = spending["openai:api_key:team_ml"].evidence
    assert [o["person"] for o in ev["departed_owners"]] == ["person:ben@example.com", "person:cy@example.com"]
    assert ev["owner"] == "person:ben@example.com" and ev["first_day_after"] == "2026-11-01"
    assert [o["first_day_after"] for o in ev["departed_owners"]] == ["2026-11-01", "2026-11-02"]
    assert ev["departed_owners"][1]["usd_after"] == 1300.0
    assert spending["openai:api_key:in_p2"].evidence["via"] == "person:ben@example.com"


def test_departure_rules_embedded(db_path):
    eng = _engine(db_path, None)
    _check(eng)
    eng.close()


@pytest.mark.neo4j
def test_departure_rules_neo4j(db_path, neo4j_url):  # noqa: F811
    eng = _engine(db_path, neo4j_url)
    _check(eng)
    eng.close()
