"""findings(framework:, team:) and Finding.teams: the filters the web view's findings
table and the review report use. A team is the one spend attribution gives the
subject (owning team, else its owners' first team; a person's own)."""
from __future__ import annotations

from api.execute import execute


def q(engine, doc, **variables):
    out = execute(engine, doc, variables)
    assert "errors" not in out, out
    return out["data"]


ALL = "{ findings(first: 500) { totalCount nodes { id rule frameworks teams subject { id } } } }"


def test_framework_filter_is_exact(demo_engine):
    everything = q(demo_engine, ALL)["findings"]["nodes"]
    for fw in ("OWASP-NHI1", "OWASP-NHI2", "CSF-DE.CM-09", "OWASP-NHI10"):
        got = q(demo_engine, "query($f: String) { findings(framework: $f, first: 500) { totalCount nodes { id } } }", f=fw)
        want = [f["id"] for f in everything if fw in f["frameworks"]]
        assert [n["id"] for n in got["findings"]["nodes"]] == want and got["findings"]["totalCount"] == len(want)
    assert [f["rule"] for f in everything if "OWASP-NHI2" in f["frameworks"]] == ["leaked-credential"] * 2
    none = q(demo_engine, '{ findings(framework: "OWASP-NHI") { totalCount } }')   # a prefix is not a framework
    assert none["findings"]["totalCount"] == 0


def test_team_filter_follows_attribution(demo_engine):
    everything = q(demo_engine, ALL)["findings"]["nodes"]
    by_subject = {f["subject"]["id"]: f["teams"] for f in everything}
    # Story subjects: the leaked Anthropic key and the CI bot's key are the data
    # platform team's; the support key is the support team's (through its owner).
    assert by_subject["anthropic:api_key:apikey_01DataAgent"] == ["team:data-platform"]
    assert by_subject["openai:api_key:key_support"] == ["team:support"]
    for team in ("team:data-platform", "team:support", "team:nope"):
        got = q(demo_engine, "query($t: String) { findings(team: $t, first: 500) { totalCount nodes { id teams } } }", t=team)
        want = [f["id"] for f in everything if team in f["teams"]]
        assert [n["id"] for n in got["findings"]["nodes"]] == want
        assert all(team in n["teams"] for n in got["findings"]["nodes"])
    assert q(demo_engine, '{ findings(team: "team:nope") { totalCount } }')["findings"]["totalCount"] == 0


def test_filters_combine(demo_engine):
    got = q(demo_engine, '{ findings(team: "team:data-platform", severity: "critical", framework: "OWASP-NHI2") '
                         '{ nodes { rule severity subject { id } } } }')["findings"]["nodes"]
    # Both leaked keys are still active (critical) and the data platform team's (story 5).
    assert {n["subject"]["id"] for n in got} == {"anthropic:api_key:apikey_01DataAgent", "aws:access_key:ci-bot:1"}
    assert {(n["rule"], n["severity"]) for n in got} == {("leaked-credential", "critical")}
