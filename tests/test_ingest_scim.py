"""SCIM 2.0 Users/Groups ListResponses, and the GitHub logins they carry."""
from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.scim import emu_handle, ingest
from tests.identity_snap import copy_demo, in_edges, load, out_edges, snapshot

BEN = "scim:user:8c1e0006-aaaa-4bbb-8ccc-000000000006"


def test_demo_users_over_pages_and_nested_groups(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "scim") / "scim")
    ben = eng.node(BEN)
    assert ben.active is False and ben.properties["status"] == "inactive"
    assert ben.properties["github_logins"] == ["bokafor"]
    assert ben.properties["email"] == "ben@example.com"
    assert in_edges(eng, BEN, "HAS_ACCOUNT") == {"person:ben@example.com": {"via": "email"}}
    assert eng.nodes("Account", 0, 50)[1] == 6
    assert out_edges(eng, "scim:group:9a7e0001-group-4000-8000-000000000001", "MEMBER_OF") == {
        "scim:group:9a7e0002-group-4000-8000-000000000002": {}}
    eng.close()


def _user(uid, user_name, active=True, **extra):
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": uid, "userName": user_name,
            "active": active, **extra}


def test_scim_maps_github_logins_to_people(tmp_path, db_path):
    """Without any inventory alias: an explicit login attribute, and an EMU login
    (`<normalized userName>_<shortcode>`), link GitHub accounts; a look-alike does not."""
    snap = snapshot(tmp_path, {
        "scim/Users.json": {"Resources": [
            _user("s1", "ana@example.com", emails=[{"value": "ana@example.com", "primary": True}],
                  **{"urn:ietf:params:scim:schemas:extension:acme:2.0:User": {"githubUsername": "Ana-Silva"}}),
            _user("s2", "j.doe@example.com"),
        ]},
        "github/orgs/acme/members.json": [{"login": "ana-silva", "id": 1}, {"login": "j-doe_acme", "id": 2},
                                          {"login": "j-doe", "id": 3}, {"login": "x-doe_acme", "id": 4}],
    })
    eng = load(db_path, snap / "scim", snap / "github")
    assert in_edges(eng, "github:user:ana-silva", "HAS_ACCOUNT") == {
        "person:ana@example.com": {"via": "scim github login"}}
    assert in_edges(eng, "github:user:j-doe_acme", "HAS_ACCOUNT") == {
        "person:j.doe@example.com": {"via": "scim emu handle"}}
    # a plain login that only looks like the handle, and another EMU handle: no link
    assert in_edges(eng, "github:user:j-doe", "HAS_ACCOUNT") == {}
    assert in_edges(eng, "github:user:x-doe_acme", "HAS_ACCOUNT") == {}
    eng.close()


def test_emu_normalization():
    assert emu_handle("J.Doe@Example.com") == "j-doe"
    assert emu_handle("mona_lisa") == "mona-lisa"


def test_string_active_and_bad_shapes(tmp_path):
    snap = snapshot(tmp_path, {"scim/Users.json": {"Resources": [_user("s1", "x@y.z", active="False")]}})
    rec = ingest(snap / "scim")
    assert next(n for n in rec.nodes if n.id == "scim:user:s1").active is False
    empty = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}
    assert ingest(snapshot(tmp_path / "e", {"scim/Users.json": empty}) / "scim").nodes == []
    error = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403", "detail": "no"}
    snap = snapshot(tmp_path / "b", {"scim/Users.json": error})
    with pytest.raises(IngestError, match="Users.json: page 1: expected a response body with 'Resources'"):
        ingest(snap / "scim")
    snap = snapshot(tmp_path / "c", {"scim/Groups.json": {"Resources": [{"displayName": "g"}]}})
    with pytest.raises(IngestError, match="Groups.json: SCIM group without 'id'"):
        ingest(snap / "scim")


def test_users_own_groups_list_is_membership(tmp_path, db_path):
    from tests.identity_snap import load, out_edges, snapshot
    users = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 2,
             "Resources": [
                 {"id": "u1", "userName": "ana@example.com", "active": True,
                  "groups": [{"value": "g1", "display": "Data", "type": "direct",
                              "$ref": "https://idp.example.com/scim/v2/Groups/g1"},
                             {"value": "g2", "display": "Eng", "type": "indirect"}]},
                 {"id": "u2", "userName": "raj@example.com", "active": True, "groups": []}]}
    groups = {"totalResults": 1, "Resources": [{"id": "g1", "displayName": "Data", "members": []}]}
    snap = snapshot(tmp_path / "s", {"scim/Users.json": users, "scim/Groups.json": groups})
    eng = load(db_path, snap / "scim")
    got = out_edges(eng, "scim:user:u1", "MEMBER_OF")
    assert set(got) == {"scim:group:g1", "scim:group:g2"}
    assert got["scim:group:g1"]["membership"] == "direct" and got["scim:group:g2"]["group_name"] == "Eng"
    assert out_edges(eng, "scim:user:u2", "MEMBER_OF") == {}
    eng.close()
