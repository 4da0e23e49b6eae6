"""`aws iam get-account-authorization-details` output beside the credential report."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ingest.aws_authz import document_access
from ingest.aws import ingest
from ingest.errors import IngestError
from tests.identity_snap import in_edges, load, out_edges, snapshot

ACCOUNT = "123456789012"
ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "arn:aws:s3:::warehouse/*"}]}
WRITE_DOC = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::warehouse/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def details():
    return {
        "UserDetailList": [
            {"Path": "/", "UserName": "etl-bot", "UserId": "AIDAETLBOT000000001", "Arn": f"arn:aws:iam::{ACCOUNT}:user/etl-bot",
             "CreateDate": "2025-02-01T09:00:00Z", "GroupList": ["data-readers"],
             "AttachedManagedPolicies": [{"PolicyName": "WarehouseWrite",
                                          "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/WarehouseWrite"}],
             "UserPolicyList": [], "Tags": [{"Key": "Owner", "Value": "Raj@Example.com"}, {"Key": "team", "Value": "data"}],
             "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                                     "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/Boundary"},
             "AccessKeyMetadata": [
                 {"UserName": "etl-bot", "AccessKeyId": "AKIAEXAMPLEETL00002", "Status": "Inactive",
                  "CreateDate": "2025-06-01T00:00:00Z"},
                 {"UserName": "etl-bot", "AccessKeyId": "AKIAEXAMPLEETL00001", "Status": "Active",
                  "CreateDate": "2025-02-01T09:05:00Z"}]},
            {"Path": "/people/", "UserName": "ana", "UserId": "AIDAANA000000000001", "Arn": f"arn:aws:iam::{ACCOUNT}:user/people/ana",
             "CreateDate": "2024-11-01T09:00:00Z", "GroupList": [],
             "UserPolicyList": [{"PolicyName": "inline-admin", "PolicyDocument": quote(json.dumps(ADMIN_DOC))}],
             "AttachedManagedPolicies": []},
        ],
        "GroupDetailList": [
            {"Path": "/", "GroupName": "data-readers", "GroupId": "AGPADATA00000000001",
             "Arn": f"arn:aws:iam::{ACCOUNT}:group/data-readers", "CreateDate": "2024-10-01T00:00:00Z",
             "GroupPolicyList": [{"PolicyName": "read-warehouse", "PolicyDocument": READ_DOC}],
             "AttachedManagedPolicies": []}],
        "RoleDetailList": [
            {"Path": "/", "RoleName": "warehouse-admin", "RoleId": "AROAWH0000000000001",
             "Arn": f"arn:aws:iam::{ACCOUNT}:role/warehouse-admin", "CreateDate": "2024-09-01T00:00:00Z",
             "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/etl-bot"},
                  "Action": "sts:AssumeRole"},
                 {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
             "InstanceProfileList": [], "RolePolicyList": [],
             "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                          "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}],
             "Tags": [], "RoleLastUsed": {"LastUsedDate": "2026-03-01T12:00:00Z", "Region": "us-east-1"},
             "MaxSessionDuration": 3600}],
        "Policies": [
            {"PolicyName": "WarehouseWrite", "PolicyId": "ANPAWH0000000000001",
             "Arn": f"arn:aws:iam::{ACCOUNT}:policy/WarehouseWrite", "Path": "/", "DefaultVersionId": "v2",
             "AttachmentCount": 1, "IsAttachable": True, "CreateDate": "2025-01-01T00:00:00Z",
             "UpdateDate": "2025-03-01T00:00:00Z",
             "PolicyVersionList": [{"Document": READ_DOC, "VersionId": "v1", "IsDefaultVersion": False},
                                   {"Document": quote(json.dumps(WRITE_DOC)), "VersionId": "v2",
                                    "IsDefaultVersion": True}]}],
        "IsTruncated": False,
    }


REPORT = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
          f"etl-bot,arn:aws:iam::{ACCOUNT}:user/etl-bot,2025-02-01T09:00:00+00:00,false,N/A,N/A,N/A,false,"
          "true,2025-02-01T09:05:00+00:00,2026-03-01T10:00:00+00:00,us-east-1,s3,false,"
          "2025-06-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n")


def test_users_groups_roles_policies_and_keys(tmp_path, db_path):
    snap = snapshot(tmp_path / "s", {"aws/iam/account-authorization-details.json": details(),
                                     "aws/iam/credential-report.csv": REPORT})
    eng = load(db_path, snap / "aws")
    bot = eng.node("aws:iam_user:etl-bot")
    p = bot.properties
    assert bot.kind == "ServiceAccount" and p["access"] == "write" and "admin" not in p
    assert {x["name"] for x in p["policies"]} == {"WarehouseWrite", "read-warehouse"}
    assert p["UserId"] == "AIDAETLBOT000000001" and p["PermissionsBoundary"]["PermissionsBoundaryType"] == "Policy"
    assert p["tags"] == {"Owner": "Raj@Example.com", "team": "data"} and p["groups"] == ["data-readers"]
    assert p["mfa_active"] is False        # the credential report's fields merge on the same node
    assert out_edges(eng, "aws:iam_user:etl-bot", "MEMBER_OF") == {"aws:iam_group:data-readers": {}}
    assert in_edges(eng, "aws:iam_user:etl-bot", "OWNS") == {"person:raj@example.com": {"via": "aws tag owner"}}
    assert eng.node("aws:iam_group:data-readers").properties["access"] == "read"
    # the URL-encoded inline admin policy (raw API form) is read
    assert eng.node("aws:iam_user:ana").properties["admin"] is True
    role = eng.node("aws:iam_role:warehouse-admin")
    assert role.kind == "ServiceAccount" and role.properties["access"] == "admin"
    assert role.properties["last_used_at"] == "2026-03-01T12:00:00Z"
    assert role.properties["trusted_services"] == ["ec2.amazonaws.com"] and role.properties["MaxSessionDuration"] == 3600
    assert out_edges(eng, "aws:iam_user:etl-bot", "CAN_ACCESS")["aws:iam_role:warehouse-admin"] == {
        "access": "admin", "via": "sts:AssumeRole"}
    # keys: slots by creation date, key ids kept, merged with the report's slots
    k1, k2 = eng.node("aws:access_key:etl-bot:1"), eng.node("aws:access_key:etl-bot:2")
    assert k1.properties["key_id"] == "AKIAEXAMPLEETL00001" and k1.active is True
    assert k2.properties["key_id"] == "AKIAEXAMPLEETL00002" and k2.active is False
    assert k1.properties["last_used_at"] == "2026-03-01T10:00:00Z"
    # a leaked key reaches the role through the user: blast radius follows the trust
    reach = {r.node_id for r in eng.blast_radius("aws:access_key:etl-bot:1").reachable}
    assert "aws:iam_role:warehouse-admin" in reach
    eng.close()


def test_pages_and_a_bad_shape(tmp_path):
    d = details()
    pages = [{"UserDetailList": d["UserDetailList"][:1], "IsTruncated": True, "Marker": "m1"},
             {**d, "UserDetailList": d["UserDetailList"][1:]}]
    snap = snapshot(tmp_path / "s", {"aws/iam/account-authorization-details.json": pages})
    rec = ingest(snap / "aws")
    ids = {n.id for n in rec.nodes}
    assert {"aws:iam_user:etl-bot", "aws:iam_user:ana", "aws:iam_role:warehouse-admin"} <= ids
    assert any(f.endswith("account-authorization-details.json") for f in rec.files)
    bad = snapshot(tmp_path / "b", {"aws/iam/account-authorization-details.json": {"Users": []}})
    with pytest.raises(IngestError, match="account-authorization-details.json.*UserDetailList"):
        ingest(bad / "aws")
    worse = snapshot(tmp_path / "w", {"aws/iam/account-authorization-details.json": {
        "UserDetailList": [{"UserName": "x", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": "%7Bnot"}]}]}})
    with pytest.raises(IngestError, match="user x inline policy p"):
        ingest(worse / "aws")


@pytest.mark.parametrize("doc,want", [
    (ADMIN_DOC, "admin"), (READ_DOC, "read"), (WRITE_DOC, "write"),
    ({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}, "admin"),
    ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, None),
    ({"Statement": {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}}, "read"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x"}]}, "write"),
])
def test_policy_access_levels(doc, want):
    assert document_access(doc) == want
