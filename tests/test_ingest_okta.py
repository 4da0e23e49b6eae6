"""Okta: users (status, deactivation), groups, app assignments, scope consent grants."""
from __future__ import annotations

import pytest

from ingest.errors import IngestError
from tests.identity_snap import copy_demo, in_edges, load, out_edges, snapshot

BEN, CARLA, RAJ = "okta:user:00u1ben0000000000006", "okta:user:00u1carla00000000005", "okta:user:00u1raj0000000000002"


@pytest.fixture
def demo_okta(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "okta") / "okta")
    yield eng
    eng.close()


def test_users_from_both_listing_pages_with_status_and_deactivation(demo_okta):
    eng = demo_okta
    ben = eng.node(BEN)
    assert ben.kind == "Account" and ben.active is False
    assert ben.properties["status"] == "DEPROVISIONED"
    assert ben.properties["deactivated_at"] == "2026-10-20T17:05:00Z"
    carla = eng.node(CARLA)
    assert carla.active is True and "deactivated_at" not in carla.properties
    assert carla.properties["email"] == "carla@example.com"
    assert in_edges(eng, BEN, "HAS_ACCOUNT") == {"person:ben@example.com": {"via": "email"}}
    assert eng.nodes("Account", 0, 100)[1] == 6


def test_groups_members_and_app_assignments(demo_okta):
    eng = demo_okta
    eng_group = eng.node("okta:group:00g1engineering00001")
    assert eng_group.kind == "Team" and eng_group.name == "Engineering"
    assert eng_group.properties["transitive_members"] == 4
    assert set(in_edges(eng, "okta:group:00g1engineering00001", "MEMBER_OF")) == {
        "okta:user:00u1ana0000000000001", RAJ, "okta:user:00u1dev0000000000003", "okta:user:00u1li00000000000004"}
    app = eng.node("okta:app:0oadriftly")
    assert app.kind == "OAuthClient" and app.name == "Driftly Chat" and app.properties["client_id"] == "0oadriftly"
    assert out_edges(eng, CARLA, "CAN_ACCESS")["okta:app:0oadriftly"]["access"] == "read"
    assert set(in_edges(eng, "okta:app:0oasfdc", "CAN_ACCESS")) >= {CARLA, RAJ}


def test_grants_keep_scopes_consent_and_client(demo_okta):
    eng = demo_okta
    grant = eng.node("okta:grant:oag1driftlyapi000001")
    assert grant.kind == "OAuthGrant" and grant.active is True
    p = grant.properties
    assert p["scopes"] == ["api"] and p["client_id"] == "0oadriftly" and p["client_name"] == "Driftly Chat"
    assert p["consent_type"] == "Principal" and p["issuer"].endswith("aus1sfdcapi000000001")
    assert in_edges(eng, grant.id, "CONSENTED") == {CARLA: {}}
    assert set(in_edges(eng, grant.id, "HOLDS")) == {"okta:app:0oadriftly"}
    grants = out_edges(eng, grant.id, "GRANTS")
    assert grants["okta:app:0oadriftly"]["scopes"] == ["api"]
    assert grants["okta:app:0oadriftly"]["access"] == "write"
    # refresh_token alone opens nothing but identity: read
    refresh = out_edges(eng, "okta:grant:oag1driftlyrfr000002", "GRANTS")["okta:app:0oadriftly"]
    assert refresh["access"] == "read"


def _user(uid, status, **extra):
    return {"id": uid, "status": status, "statusChanged": "2026-05-01T00:00:00.000Z",
            "profile": {"login": f"{uid}@example.com", "email": f"{uid}@example.com"}, **extra}


def test_status_mapping_and_deprovisioned_assignment(tmp_path, db_path):
    snap = snapshot(tmp_path / "s", {
        "okta/api/v1/users.json": [_user("u1", "SUSPENDED"), _user("u2", "LOCKED_OUT"),
                                   _user("u3", "PROVISIONED"), _user("u4", "PASSWORD_EXPIRED")],
        "okta/api/v1/apps/0oaX/users.json": [{"id": "u1", "scope": "USER", "status": "DEPROVISIONED"},
                                             {"id": "u2", "scope": "GROUP", "status": "PROVISIONED"}],
    })
    eng = load(db_path, snap / "okta")
    assert eng.node("okta:user:u1").active is False
    assert eng.node("okta:user:u1").properties["deactivated_at"] == "2026-05-01T00:00:00Z"
    for uid in ("u2", "u4"):
        v = eng.node(f"okta:user:{uid}")
        assert v.active is True and "deactivated_at" not in v.properties
    # PROVISIONED: created, never activated: not active, status kept, not departed
    u3 = eng.node("okta:user:u3")
    assert u3.active is False and u3.properties["status"] == "PROVISIONED"
    assert "deactivated_at" not in u3.properties
    assert eng.node("person:u3@example.com").properties["status"] == "unverified"
    assert "okta:app:0oaX" not in out_edges(eng, "okta:user:u1", "CAN_ACCESS")
    # the assignment's own PROVISIONED status is a live assignment
    assert out_edges(eng, "okta:user:u2", "CAN_ACCESS")["okta:app:0oaX"]["assignment_scope"] == "GROUP"
    assert out_edges(eng, "okta:user:u2", "CAN_ACCESS")["okta:app:0oaX"]["status"] == "PROVISIONED"


def test_staged_user_is_not_active_and_not_departed(tmp_path, db_path):
    snap = snapshot(tmp_path / "s", {"okta/api/v1/users.json": [
        _user("s1", "STAGED"), _user("a1", "ACTIVE"), _user("d1", "DEPROVISIONED")]})
    eng = load(db_path, snap / "okta")
    s1 = eng.node("okta:user:s1")
    assert s1.active is False and s1.properties["status"] == "STAGED" and s1.properties["activated"] is False
    assert eng.node("person:s1@example.com").properties["status"] == "unverified"
    assert eng.node("person:a1@example.com").properties["status"] == "active"
    assert eng.node("person:d1@example.com").properties["status"] == "inactive"
    from engine.findings import findings
    rules = {f.rule for f in findings(eng) if f.subject_id in ("okta:user:s1", "person:s1@example.com")}
    assert "departed-person-active-account" not in rules


def test_app_user_listing_embedded_user_is_the_full_user(tmp_path, db_path):
    full = {**_user("u7", "ACTIVE"), "profile": {"login": "Kim@Example.com", "email": "Kim@Example.com",
                                                 "firstName": "Kim", "lastName": "Lee"}}
    snap = snapshot(tmp_path / "s", {"okta/api/v1/apps/0oaY/users.json": [
        {"id": "u7", "scope": "USER", "status": "PROVISIONED", "syncState": "SYNCHRONIZED",
         "credentials": {"userName": "kim"}, "_embedded": {"user": full}},
        {"id": "u8", "scope": "USER", "status": "ACTIVE"}]})
    eng = load(db_path, snap / "okta")
    u7 = eng.node("okta:user:u7")
    assert u7.name == "Kim Lee" and u7.properties["email"] == "kim@example.com" and u7.active is True
    assert in_edges(eng, "okta:user:u7", "HAS_ACCOUNT") == {"person:kim@example.com": {"via": "email"}}
    e = out_edges(eng, "okta:user:u7", "CAN_ACCESS")["okta:app:0oaY"]
    assert e["status"] == "PROVISIONED" and e["sync_state"] == "SYNCHRONIZED"
    # without the embedded user, the assignment alone still links (no user node invented)
    assert "okta:app:0oaY" in out_edges(eng, "okta:user:u8", "CAN_ACCESS")
    assert eng.node("okta:user:u8") is None or eng.node("okta:user:u8").properties.get("email") is None


def test_unknown_layout_file_is_warned_not_loaded(tmp_path):
    from ingest.okta import ingest
    snap = snapshot(tmp_path / "s", {"okta/api/v1/users.json": [_user("u1", "ACTIVE")],
                                     "okta/api/v1/logs.json": [{"uuid": "x"}]})
    rec = ingest(snap / "okta")
    assert any("logs.json" in w and "not a file of the okta/ snapshot layout" in w for w in rec.warnings)
    assert {n.id for n in rec.nodes} == {"okta:user:u1", "person:u1@example.com"}


def test_bad_input_names_the_file_and_loads_nothing(tmp_path, db_path):
    good = snapshot(tmp_path / "good", {"okta/api/v1/users.json": [_user("u1", "ACTIVE")]})
    eng = load(db_path, good / "okta")
    bad = snapshot(tmp_path / "bad", {"okta/api/v1/users.json": [_user("u9", "ACTIVE")],
                                      "okta/api/v1/groups.json": {"id": "00g", "profile": {}}})
    with pytest.raises(IngestError) as err:
        eng.ingest([bad / "okta"])
    assert "groups.json" in str(err.value) and "object" in str(err.value)
    assert eng.node("okta:user:u9") is None and eng.node("okta:user:u1") is not None
    no_id = snapshot(tmp_path / "noid", {"okta/api/v1/users.json": [{"status": "ACTIVE", "profile": {}}]})
    with pytest.raises(IngestError, match="users.json: user without 'id'"):
        eng.ingest([no_id / "okta"])
    eng.close()


def test_full_resync_marks_vanished_user_removed(tmp_path, db_path):
    snap = snapshot(tmp_path / "s", {"okta/api/v1/users.json": [_user("u1", "ACTIVE"), _user("u2", "ACTIVE")]})
    eng = load(db_path, snap / "okta")
    snapshot(snap, {"okta/api/v1/users.json": [_user("u1", "ACTIVE")]})
    eng.ingest([snap / "okta"])
    assert eng.node("okta:user:u2") is None
    assert eng.store.get_node("okta:user:u2", include_removed=True).removed_at is not None
    # a partial load of one file upserts only
    snapshot(snap, {"okta/api/v1/groups.json": [{"id": "g1", "profile": {"name": "G"}}]})
    eng.ingest([snap / "okta/api/v1/groups.json"])
    assert eng.node("okta:user:u1") is not None and eng.node("okta:group:g1").name == "G"
    eng.close()
