"""GitHub org: members, nested teams, fine-grained PATs, app installations, Copilot seats."""
from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.github import ingest
from tests.identity_snap import copy_demo, in_edges, load, out_edges, snapshot

ORG = "github:org:northwind"


@pytest.fixture
def demo(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "github") / "github")
    yield eng
    eng.close()


def test_members_and_nested_teams(demo):
    members = in_edges(demo, ORG, "MEMBER_OF")
    assert set(members) == {f"github:user:{u}" for u in ("ana-silva", "bokafor", "devk", "liwei", "rajp")}
    assert demo.node(ORG).kind == "Project"
    assert out_edges(demo, "github:team:northwind/data", "MEMBER_OF") == {"github:team:northwind/platform": {}}
    assert set(in_edges(demo, "github:team:northwind/data", "MEMBER_OF")) == {
        "github:user:ana-silva", "github:user:bokafor"}
    assert demo.node("github:user:bokafor").properties["login"] == "bokafor"


def test_fine_grained_pats(demo):
    pat = demo.node("github:pat:2001")
    assert pat.kind == "Credential" and pat.active is True
    p = pat.properties
    assert p["created_at"] == "2026-09-15T10:00:00Z" and p["last_used_at"] == "2026-11-12T03:14:00Z"
    assert "expires_at" not in p and p["permissions"]["repository"]["contents"] == "write"
    assert "repository.contents:write" in p["scopes"]
    assert in_edges(demo, pat.id, "OWNS") == {"github:user:bokafor": {}}
    assert out_edges(demo, pat.id, "AUTHENTICATES_AS") == {"github:user:bokafor": {}}
    assert out_edges(demo, pat.id, "CAN_ACCESS")[ORG]["access"] == "write"
    old = demo.node("github:pat:2002")
    assert old.active is False and old.properties["expires_at"] == "2026-10-01T09:00:00Z"
    assert out_edges(demo, old.id, "CAN_ACCESS")[ORG]["access"] == "read"


def test_installations(demo):
    inst = demo.node("github:installation:41000001")
    assert inst.kind == "OAuthGrant" and inst.active is True
    assert inst.properties["client_name"] == "renovate" and "contents:write" in inst.properties["scopes"]
    assert in_edges(demo, inst.id, "HOLDS") == {"github:app:2740": {}}
    assert demo.node("github:app:2740").kind == "OAuthClient"
    assert out_edges(demo, inst.id, "GRANTS")[ORG]["access"] == "write"


def test_copilot_seats_are_uses_with_last_activity(demo):
    tool = demo.node("github:copilot")
    assert tool.kind == "AITool"
    users = in_edges(demo, "github:copilot", "USES")
    assert users["github:user:bokafor"]["last_activity_at"] == "2026-10-17T18:20:00Z"
    assert users["github:user:ana-silva"]["last_activity_at"] == "2026-11-14T15:02:00Z"
    # no inventory here: the logins link to no one, so no person-level USES
    assert not any(src.startswith("person:") for src in users)


def test_seats_to_teams_skipped_and_suspended_install(tmp_path):
    snap = snapshot(tmp_path, {
        "github/orgs/acme/copilot/billing/seats.json": {"total_seats": 2, "seats": [
            {"assignee": {"login": "Mona", "id": 1, "type": "User"}, "last_activity_at": None},
            {"assignee": {"slug": "all", "type": "Team"}}]},
        "github/orgs/acme/installations.json": {"total_count": 1, "installations": [
            {"id": 9, "app_id": 3, "app_slug": "x", "permissions": {"administration": "admin"},
             "suspended_at": "2026-01-01T00:00:00Z"}]}})
    rec = ingest(snap / "github")
    uses = [e for e in rec.edges if e.kind.value == "USES"]
    assert [(e.src, e.dst) for e in uses] == [("github:user:mona", "github:copilot")]
    inst = next(n for n in rec.nodes if n.id == "github:installation:9")
    assert inst.active is False and inst.properties["status"] == "suspended"
    grants = next(e for e in rec.edges if e.kind.value == "GRANTS")
    assert grants.dst == "github:org:acme" and grants.properties["access"] == "admin"


def test_bad_inputs_name_the_file(tmp_path):
    snap = snapshot(tmp_path, {"github/orgs/acme/personal-access-tokens.json": [{"id": 5, "owner": None}]})
    with pytest.raises(IngestError, match="personal-access-tokens.json: personal access token 5 without"):
        ingest(snap / "github")
    snap = snapshot(tmp_path / "b", {"github/orgs/acme/members.json": {"message": "Bad credentials"}})
    with pytest.raises(IngestError, match="members.json"):
        ingest(snap / "github")
