"""Entra (Microsoft Graph): users, nested groups, service principals, delegated grants,
app role assignments."""
from __future__ import annotations

import pytest

from ingest.errors import IngestError
from ingest.msgraph import ingest
from tests.identity_snap import copy_demo, in_edges, load, out_edges, snapshot

BEN, LI = "msgraph:user:3f0c6a2e-1d1b-4a8e-9c11-0a0a00000006", "msgraph:user:3f0c6a2e-1d1b-4a8e-9c11-0a0a00000004"
ENG, DATA = "msgraph:group:a1b2c3d4-0000-4000-8000-00000000e001", "msgraph:group:a1b2c3d4-0000-4000-8000-00000000d002"
GRAPH = "msgraph:service_principal:5b1a7c1e-0f3d-4c0e-9a55-2f6a1c7d9e01"
NOTELY = "msgraph:service_principal:c0ffee00-1111-4222-8333-000000000a11"
HRSYNC = "msgraph:service_principal:c0ffee00-1111-4222-8333-000000000b22"


@pytest.fixture
def demo(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "msgraph") / "msgraph")
    yield eng
    eng.close()


def test_users_over_pages_with_enabled_state_and_leave_time(demo):
    ben = demo.node(BEN)
    assert ben.active is False and ben.properties["status"] == "disabled"
    assert ben.properties["deactivated_at"] == "2026-10-20T17:00:00Z"
    assert in_edges(demo, BEN, "HAS_ACCOUNT") == {"person:ben@example.com": {"via": "email"}}
    assert demo.node(LI).active is True
    assert demo.nodes("Account", 0, 50)[1] == 4


def test_nested_groups(demo):
    assert out_edges(demo, DATA, "MEMBER_OF") == {ENG: {}}
    assert set(in_edges(demo, DATA, "MEMBER_OF")) == {
        "msgraph:user:3f0c6a2e-1d1b-4a8e-9c11-0a0a00000001", BEN}
    # raj and li directly, ana and ben through Data Platform
    assert demo.node(ENG).properties["transitive_members"] == 4
    assert demo.node(DATA).properties["transitive_members"] == 2
    # resolution is traversal: ben reaches Engineering through the nested group
    reach = {r.node_id: r.depth for r in demo.blast_radius(BEN).reachable}
    assert reach[ENG] == 2


def test_delegated_grant_by_one_user(demo):
    grant = demo.node("msgraph:oauth2_grant:Lq7-notely-li-grant-0001")
    p = grant.properties
    assert grant.kind == "OAuthGrant"
    assert "Mail.Read" in p["scopes"] and p["consent_type"] == "Principal"
    assert p["client_name"] == "Notely AI Meeting Notes" and p["resource_name"] == "Microsoft Graph"
    assert in_edges(demo, grant.id, "HOLDS") == {NOTELY: {}}
    assert in_edges(demo, grant.id, "CONSENTED") == {LI: {}}
    g = out_edges(demo, grant.id, "GRANTS")[GRAPH]
    assert g["consent_type"] == "Principal" and g["principal_id"].endswith("00000004")
    assert "Mail.Read" in g["scopes"] and g["access"] == "read"
    sp = demo.node(NOTELY)
    assert sp.kind == "ServiceAccount" and sp.properties["verified_publisher"] == "Notely Labs Inc"


def test_tenant_wide_grant_and_app_role_assignment(demo):
    allp = demo.node("msgraph:oauth2_grant:Lq7-hrsync-all-grant-0002")
    assert allp.properties["consent_type"] == "AllPrincipals"
    assert in_edges(demo, allp.id, "CONSENTED") == {}
    role = demo.node("msgraph:app_role_assignment:AAAhrsync-role-0001")
    assert role.properties["scopes"] == ["User.Read.All"]  # resolved from Graph's appRoles
    assert in_edges(demo, role.id, "HOLDS") == {HRSYNC: {}}
    assert out_edges(demo, role.id, "GRANTS")[GRAPH]["scopes"] == ["User.Read.All"]


def test_deleted_user_and_unknown_member_types(tmp_path):
    snap = snapshot(tmp_path, {
        "msgraph/v1.0/users.json": {"value": [
            {"id": "u1", "accountEnabled": True, "mail": "a@x.com", "deletedDateTime": "2026-09-01T00:00:00Z"},
            {"id": "u2", "userPrincipalName": "b@x.com"}]},
        "msgraph/v1.0/groups/g1/members.json": {"value": [
            {"@odata.type": "#microsoft.graph.device", "id": "d1"},
            {"@odata.type": "#microsoft.graph.somethingNew", "id": "z1"},
            {"@odata.type": "#microsoft.graph.servicePrincipal", "id": "sp1"}]}})
    rec = ingest(snap / "msgraph")
    nodes = {n.id: n for n in rec.nodes}
    assert nodes["msgraph:user:u1"].active is False
    assert nodes["msgraph:user:u1"].properties["deactivated_at"] == "2026-09-01T00:00:00Z"
    assert nodes["msgraph:user:u2"].active is None  # Graph said nothing about its state
    assert [(e.src, e.dst) for e in rec.edges if e.kind.value == "MEMBER_OF"] == [
        ("msgraph:service_principal:sp1", "msgraph:group:g1")]
    assert any("somethingNew" in w for w in rec.warnings)


def test_bad_shapes_name_the_file(tmp_path):
    snap = snapshot(tmp_path, {"msgraph/v1.0/users.json": {"error": {"code": "Authorization_RequestDenied"}}})
    with pytest.raises(IngestError, match=r"users.json: page 1: expected a response body with 'value'"):
        ingest(snap / "msgraph")
    snap = snapshot(tmp_path / "b", {"msgraph/v1.0/oauth2PermissionGrants.json": {"value": [{"id": "x"}]}})
    with pytest.raises(IngestError, match="oauth2PermissionGrants.json: .*without clientId"):
        ingest(snap / "msgraph")


def test_unmapped_user_fields_and_directory_extensions_are_kept(tmp_path, db_path):
    from tests.identity_snap import snapshot
    app = "extension_b7d8e9f0a1b24c3d9e8f7a6b5c4d3e2f_costCenter"
    body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": [
        {"id": "u1", "displayName": "Ana", "userPrincipalName": "ana@example.com", "mail": "ana@example.com",
         "accountEnabled": True, "officeLocation": "Berlin", "employeeId": "E-17",
         "businessPhones": ["+49 30 1"], app: "CC-4410",
         "onPremisesExtensionAttributes": {"extensionAttribute1": "contractor", "extensionAttribute2": None},
         "employeeOrgData": {"division": "R&D", "costCenter": "4410"}, "status": "shadowing-ours"}]}
    snap = snapshot(tmp_path / "s", {"msgraph/v1.0/users.json": body})
    eng = load(db_path, snap / "msgraph")
    p = eng.node("msgraph:user:u1").properties
    assert p[app] == "CC-4410" and p["officeLocation"] == "Berlin" and p["employeeId"] == "E-17"
    assert p["onPremisesExtensionAttributes"]["extensionAttribute1"] == "contractor"
    assert p["employeeOrgData"]["division"] == "R&D" and p["businessPhones"] == ["+49 30 1"]
    # a vendor field named like one of ours does not overwrite ours
    assert p["status"] == "enabled" and p["vendor_status"] == "shadowing-ours"
    assert eng.node("msgraph:user:u1").active is True
    eng.close()


def test_listing_without_account_enabled_is_unknown_not_active(tmp_path, db_path):
    from tests.identity_snap import snapshot
    body = {"value": [{"id": "u1", "displayName": "Ana", "userPrincipalName": "ana@example.com"},
                      {"id": "u2", "displayName": "Raj", "userPrincipalName": "raj@example.com",
                       "accountEnabled": True}]}
    members = {"value": [{"@odata.type": "#microsoft.graph.user", "id": "u2",
                          "userPrincipalName": "raj@example.com"}]}
    snap = snapshot(tmp_path / "s", {"msgraph/v1.0/users.json": body,
                                     "msgraph/v1.0/groups/g1/members.json": members})
    rec = ingest(snap / "msgraph")
    assert any("users.json" in w and "1 user(s)" in w and "accountEnabled" in w for w in rec.warnings)
    eng = load(db_path, snap / "msgraph")
    u1 = eng.node("msgraph:user:u1")
    assert u1.active is None and u1.properties["status"] == "unknown"
    assert eng.node("person:ana@example.com").properties["status"] == "unverified"
    # a member listing's partial user (no accountEnabled) does not blank a known status
    u2 = eng.node("msgraph:user:u2")
    assert u2.active is True and u2.properties["status"] == "enabled"
    assert eng.node("person:raj@example.com").properties["status"] == "active"
    eng.close()
    full = snapshot(tmp_path / "t", {"msgraph/v1.0/users.json": {"value": [body["value"][1]]}})
    assert not any("accountEnabled" in w for w in ingest(full / "msgraph").warnings)
