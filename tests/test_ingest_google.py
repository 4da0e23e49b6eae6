"""Google Workspace: users, tokens (OAuth grants), groups and members."""
from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.google import ingest
from tests.identity_snap import copy_demo, in_edges, load, out_edges, snapshot

BASE = "google/admin/directory/v1"
CARLA, BEN = "google:user:110000000000000000005", "google:user:110000000000000000006"
CLIENT = "804215331127-mailpilotai.apps.googleusercontent.com"


@pytest.fixture
def demo(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "google") / "google")
    yield eng
    eng.close()


def test_users_suspended_and_linked_by_primary_email(demo):
    ben = demo.node(BEN)
    assert ben.active is False and ben.properties["suspended"] is True
    assert ben.properties["status"] == "suspended" and ben.properties["email"] == "ben@example.com"
    assert in_edges(demo, BEN, "HAS_ACCOUNT") == {"person:ben@example.com": {"via": "email"}}
    assert demo.node(CARLA).active is True
    assert demo.nodes("Account", 0, 50)[1] == 6  # both pages


def test_mail_wide_token_is_a_grant_of_the_user(demo):
    gid = f"google:token:110000000000000000005:{CLIENT}"
    grant = demo.node(gid)
    assert grant.kind == "OAuthGrant"
    assert "https://mail.google.com/" in grant.properties["scopes"]
    assert grant.properties["client_name"] == "MailPilot AI Assistant"
    assert in_edges(demo, gid, "HOLDS") == {f"google:oauth_client:{CLIENT}": {}}
    assert in_edges(demo, gid, "CONSENTED") == {CARLA: {}}
    g = out_edges(demo, gid, "GRANTS")[CARLA]
    assert g["access"] == "admin" and "https://mail.google.com/" in g["scopes"]
    ro = out_edges(demo, "google:token:110000000000000000004:302981657466-zoomcal.apps.googleusercontent.com",
                   "GRANTS")
    assert ro["google:user:110000000000000000004"]["access"] == "read"


def test_groups_by_email_key_and_nested(demo):
    assert out_edges(demo, "google:group:03x1eng0000001", "MEMBER_OF") == {
        "google:group:03x1all0000002": {"role": "MEMBER", "status": "ACTIVE"}}
    assert CARLA in in_edges(demo, "google:group:03x1all0000002", "MEMBER_OF")
    assert demo.node("google:group:03x1all0000002").properties["direct_members"] == 2


def test_token_path_keyed_by_email_resolves_to_the_user_id(tmp_path):
    snap = snapshot(tmp_path, {
        f"{BASE}/users.json": {"users": [{"id": "42", "primaryEmail": "Zoe@Example.com"}]},
        f"{BASE}/users/zoe@example.com/tokens.json": {"items": [
            {"clientId": "c1", "displayText": "Thing", "scopes": ["https://www.googleapis.com/auth/drive"]}]}})
    rec = ingest(snap / "google")
    ids = {n.id for n in rec.nodes}
    assert "google:token:42:c1" in ids and "person:zoe@example.com" in ids
    grants = [e for e in rec.edges if e.kind.value == "GRANTS"]
    assert grants[0].dst == "google:user:42" and grants[0].properties["access"] == "write"


def test_bad_token_names_the_file(tmp_path):
    snap = snapshot(tmp_path, {f"{BASE}/users/1/tokens.json": {"items": [{"displayText": "x"}]}})
    with pytest.raises(IngestError, match=r"tokens.json: token without 'clientId'"):
        ingest(snap / "google")
    snap = snapshot(tmp_path / "b", {f"{BASE}/users.json": {"error": {"code": 403, "message": "Not Authorized"}}})
    with pytest.raises(IngestError, match="users.json: page 1: expected a response body with 'users'"):
        ingest(snap / "google")


def test_google_leaves_empty_lists_out(tmp_path):
    snap = snapshot(tmp_path, {f"{BASE}/users.json": {"kind": "admin#directory#users", "etag": "e"},
                               f"{BASE}/users/1/tokens.json": {"kind": "admin#directory#tokenList", "etag": "e"},
                               f"{BASE}/groups/g/members.json": {"kind": "admin#directory#members"}})
    rec = ingest(snap / "google")
    assert rec.nodes == [] and rec.edges == [] and len(rec.files) == 3
