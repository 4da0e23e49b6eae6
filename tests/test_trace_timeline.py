"""traceCompromise trusts every signal: the timeline (each event with its source),
totals since the compromise, exposure authors linked to people (a departed author
called out), and a command + console URL per revocation step; the same answers from
the embedded store and from a real Neo4j."""
from __future__ import annotations

import json
import shlex
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from api.execute import execute
from engine.model import ActivityRow, Records
from engine.revocation_commands import how_to
from engine.service import Engine
from engine.store.base import NodeView
from engine.trace import trace_compromise
from rules_kit import G, K, N

from tests.conftest import DEMO
from tests.neo4j_support import neo4j_url  # noqa: F401 (fixture)

SAVED = (Path(__file__).resolve().parent.parent / "queries" / "saved" / "leaked_key_trace.graphql").read_text()
AWS = "aws:access_key:ci-bot:1"
LEAK = "anthropic:api_key:apikey_01DataAgent"


def _trace(eng, node_id):
    out = execute(eng, SAVED, {"id": node_id})
    assert not out.get("errors"), out.get("errors")
    return out["data"]["traceCompromise"]


def _check_demo(eng) -> dict:
    aws = _trace(eng, AWS)
    kinds = [(e["kind"], e["source"]) for e in aws["timeline"]]
    # the credential report's last use (six weeks after the leak) is in the trace, named
    last = next(e for e in aws["timeline"] if e["kind"] == "last-use")
    assert last["source"] == "AWS IAM credential report (last_used_at)"
    assert last["at"] == "2026-11-13T21:40:00+00:00" and "service s3" in last["detail"]
    assert aws["usageSince"] == [] and aws["usdSince"] == 0        # no usage rows: the other signal tells
    assert [a["kind"] for a in aws["activitySince"]] == ["last-used"]
    # trufflehog's git email links the commit to Ben, who has left
    author = aws["exposureAuthors"][0]
    assert (author["person"], author["status"], author["departed"]) == ("person:ben@example.com", "inactive", True)
    assert author["name"] == "Ben Okafor" and author["email"] == "ben@example.com"
    assert ("author-departed", "Google Workspace, Microsoft Entra ID, Okta, SCIM") in kinds
    exposed = next(e for e in aws["timeline"] if e["kind"] == "exposed")
    assert exposed["source"] == "trufflehog report" and "Ben Okafor" in exposed["detail"]
    assert [e["kind"] for e in aws["timeline"]][:2] == ["created", "exposed"]
    step = aws["revocationPlan"][0]
    assert step["action"] == "revoke" and step["target"] == AWS
    argv = shlex.split(step["command"])
    assert argv[:3] == ["aws", "iam", "list-access-keys"] and "ci-bot" in argv
    assert "update-access-key --status Inactive --access-key-id {} --user-name ci-bot" in step["command"]
    assert "'CIB1'" in step["command"]            # the key's own last four pick it; its full id never shown
    assert step["url"].endswith("/users/details/ci-bot?section=security_credentials")
    assert all(s["command"] is None for s in aws["revocationPlan"] if s["action"] == "notify")

    leak = _trace(eng, LEAK)
    assert leak["usdSince"] == pytest.approx(sum(u["usd"] or 0 for u in leak["usageSince"]), abs=0.01)
    assert leak["usdSince"] > 400
    assert leak["inputTokensSince"] > 0 and leak["outputTokensSince"] > 0
    kinds = {e["kind"] for e in leak["timeline"]}
    assert {"created", "exposed", "first-use", "last-use", "anomaly"} <= kinds
    assert "author-departed" not in kinds and leak["exposureAuthors"][0]["status"] == "active"
    sources = {e["source"] for e in leak["timeline"] if e["kind"] in ("first-use", "last-use", "anomaly")}
    assert sources == {"Anthropic usage report"}
    first = leak["revocationPlan"][0]
    assert first["action"] == "rotate"
    assert "https://api.anthropic.com/v1/organizations/api_keys/apikey_01DataAgent" in first["command"]
    assert json.loads(shlex.split(first["command"])[-1]) == {"status": "inactive"}
    assert first["url"] == "https://console.anthropic.com/settings/keys"
    review = next(s for s in leak["revocationPlan"] if s["action"] == "review-usage")
    assert review["url"] == "https://console.anthropic.com/usage" and review["command"] is None
    ben = _trace(eng, "openai:api_key:key_ben")
    steps = {}
    for s in ben["revocationPlan"]:
        steps.setdefault(s["target"], s)
    assert steps["github:user:bokafor"]["command"] == "gh api -X DELETE /orgs/northwind/members/bokafor"
    assert steps["openai:api_key:key_ben"]["command"].startswith(
        "curl -sS -X DELETE https://api.openai.com/v1/organization/projects/proj_platform/api_keys/key_ben ")
    owner_left = next(e for e in ben["timeline"] if e["kind"] == "owner-departed")
    assert owner_left["node"] == "person:ben@example.com" and owner_left["at"].startswith("2026-10-20")
    return {"aws": aws, "leak": leak, "ben": ben}


def test_demo_trace_embedded(demo_db):
    eng = Engine.open(str(demo_db))
    _check_demo(eng)
    eng.close()


@pytest.mark.neo4j
def test_demo_trace_same_on_neo4j(demo_db, neo4j_url):  # noqa: F811
    sql = Engine.open(str(demo_db))
    expected = _check_demo(sql)
    sql.close()
    neo = Engine.open(neo4j_url)
    neo.ingest([DEMO])
    assert _check_demo(neo) == expected
    neo.close()


def _graph(db_path) -> Engine:
    g = G(db_path)
    ana = g.person("ana@example.com")
    key = g.cred("anthropic:api_key:cc", last_used_at="2026-11-01T08:00:00Z")
    g.edge(ana, K.OWNS, key)
    g.node("gitleaks:finding:f1", N.SecretExposure, date="2026-11-05T10:00:00Z", author="Mallory",
           email="mallory@elsewhere.example", file="a.py", line=3, repository="acme/app")
    g.edge(key, K.EXPOSED_IN, "gitleaks:finding:f1")
    g.series(key, [3.0] * 14, date(2026, 11, 1), model="claude-sonnet-4")
    dead = g.cred("openai:api_key:dead", active=False, status="revoked", revoked_at="2026-11-10T12:00:00Z",
                  project_id="openai:project:p1")
    g.edge(ana, K.OWNS, dead)
    eng = Engine.open(str(db_path))
    eng.store.load(Records(source="inventory", nodes=g.nodes, edges=g.edges, usage=g.usage,
                           activity=[ActivityRow(day=date(2026, 11, d), actor_id=key, kind="claude_code",
                                                 properties={"num_sessions": d}) for d in (4, 6, 9)]),
                   complete=True)
    return eng


def test_every_signal_with_its_source(db_path):
    eng = _graph(db_path)
    t = trace_compromise(eng, "anthropic:api_key:cc")
    assert t.since == datetime(2026, 11, 5, 10, tzinfo=timezone.utc)
    # the vendor's last_used_at is before the leak: not a use since; Claude Code days on/after it are
    uses = {(e.kind, e.source, e.at.date().isoformat()) for e in t.timeline if e.kind.endswith("-use")}
    assert uses == {("first-use", "inventory usage", "2026-11-05"),   # the rows' own source
                    ("last-use", "inventory usage", "2026-11-14"),
                    ("first-use", "Anthropic Claude Code report", "2026-11-06"),
                    ("last-use", "Anthropic Claude Code report", "2026-11-09")}
    assert not any(s.kind == "last-used" for _, s in t.activity)
    assert t.usd_since == pytest.approx(30.0) and t.requests_since == 1000
    assert t.input_tokens_since == 10_000 and t.output_tokens_since == 1000
    # an author nobody in the graph is: named, not linked
    (a,) = t.exposure_authors
    assert (a.name, a.email, a.person_id, a.status) == ("Mallory", "mallory@elsewhere.example", None, None)
    dead = trace_compromise(eng, "openai:api_key:dead")
    revoked = [e for e in dead.timeline if e.kind == "revoked"]
    assert len(revoked) == 1 and revoked[0].at == datetime(2026, 11, 10, 12, tzinfo=timezone.utc)
    assert dead.revocation_plan[0].action == "confirm-revoked"
    assert dead.revocation_plan[0].command is None and dead.revocation_plan[0].url == "https://platform.openai.com/api-keys"
    eng.close()


def _view(nid, **props):
    return NodeView(id=nid, kind="Credential", name=None, active=True, properties=props, sources=[])


@pytest.mark.parametrize("nid, props, action, wants", [
    ("openai:admin_api_key:ak1", {}, "revoke", "DELETE https://api.openai.com/v1/organization/admin_api_keys/ak1"),
    ("openai:api_key:k1", {}, "revoke", "/projects/<project_id>/api_keys/k1"),
    ("okta:grant:oag1", {"user_id": "00u9"}, "revoke-grant", '"$OKTA_ORG_URL"/api/v1/users/00u9/grants/oag1'),
    ("msgraph:oauth2_grant:Lq7", {}, "revoke-grant",
     "az rest --method DELETE --url https://graph.microsoft.com/v1.0/oauth2PermissionGrants/Lq7"),
    ("msgraph:app_role_assignment:ara1", {"resource_id": "sp9"}, "revoke-grant",
     "v1.0/servicePrincipals/sp9/appRoleAssignedTo/ara1"),
    ("google:token:1100:804-x.apps.googleusercontent.com", {}, "revoke-grant",
     "admin/directory/v1/users/1100/tokens/804-x.apps.googleusercontent.com"),
    ("github:pat:2001", {"org": "northwind"}, "revoke",
     "gh api -X POST /orgs/northwind/personal-access-tokens/2001 -f action=revoke"),
    ("litellm:key:9f2c", {}, "revoke", '"$LITELLM_URL"/key/delete'),
    ("aws:access_key:etl-bot:2", {}, "rotate", "aws iam list-access-keys --user-name etl-bot && "),
])
def test_commands_per_vendor(nid, props, action, wants):
    how = how_to(action, _view(nid, **props))
    assert wants in how.command
    assert shlex.split(how.command)        # parses as one shell command line
    assert how_to("notify", _view(nid, **props)).command is None


def test_hostile_ids_cannot_inject_a_command():
    how = how_to("revoke", _view("litellm:key:x'; rm -rf ~; echo '"))
    argv = shlex.split(how.command)
    assert json.loads(argv[-1]) == {"keys": ["x'; rm -rf ~; echo '"]}
    how = how_to("revoke", _view("aws:access_key:bob$(id):1", key_id="AKIA...;rm"))
    assert "--user-name 'bob$(id)'" in how.command and ";rm" not in how.command
    how = how_to("revoke", _view("openai:api_key:k/../../users", project_id="openai:project:p 1"))
    assert "/projects/p%201/api_keys/k%2F..%2F..%2Fusers" in how.command
