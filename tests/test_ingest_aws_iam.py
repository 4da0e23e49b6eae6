"""AWS IAM credential report: users and access keys, parsed by header name."""
from __future__ import annotations

import pytest

from ingest.aws_iam import ingest
from ingest.errors import IngestError
from tests.identity_snap import copy_demo, load, out_edges, snapshot

COLS = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
        "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
        "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
        "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
        "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
        "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def test_demo_report(tmp_path, db_path):
    snap = copy_demo(tmp_path, "aws", "inventory")
    eng = load(db_path, snap / "aws/iam/credential-report.csv", snap / "inventory")
    key = eng.node("aws:access_key:ci-bot:1")
    assert key.kind == "Credential" and key.active is True
    assert key.properties["created_at"] == "2025-09-01T09:31:00Z"
    assert key.properties["last_used_at"] == "2026-11-13T21:40:00Z"
    assert key.properties["last_used_service"] == "s3"
    assert key.properties["key_id"] == "AKIAQ3EGNORTHWNDCIB1"  # from inventory enrichment
    assert out_edges(eng, key.id, "AUTHENTICATES_AS") == {"aws:iam_user:ci-bot": {}}
    assert eng.node("aws:access_key:ci-bot:2") is None  # slot never used
    user = eng.node("aws:iam_user:ci-bot")
    assert user.kind == "ServiceAccount" and user.properties["password_enabled"] is False
    assert "password_last_used_at" not in user.properties  # N/A
    root = eng.node("aws:iam_user:<root_account>")
    assert root.properties["root"] is True and root.properties["mfa_active"] is True
    assert "password_enabled" not in root.properties  # not_supported
    eng.close()


def test_columns_by_name_in_any_order_and_inactive_keys(tmp_path):
    cols = COLS.split(",")
    order = list(reversed(cols))
    row = dict.fromkeys(cols, "N/A")
    row.update(user="bot", arn="arn:aws:iam::1:user/bot", user_creation_time="2025-01-01T00:00:00+00:00",
               password_enabled="false", mfa_active="false", access_key_1_active="false",
               access_key_1_last_rotated="2025-02-01T00:00:00+00:00", access_key_2_active="true",
               access_key_2_last_rotated="2025-03-01T00:00:00+00:00",
               access_key_2_last_used_date="no_information", cert_1_active="false", cert_2_active="false")
    text = ",".join(order) + "\n" + ",".join(row[c] for c in order) + "\n"
    snap = snapshot(tmp_path, {"aws/iam/credential-report.csv": text})
    rec = ingest(snap / "aws")
    nodes = {n.id: n for n in rec.nodes}
    k1, k2 = nodes["aws:access_key:bot:1"], nodes["aws:access_key:bot:2"]
    assert k1.active is False and k1.properties["status"] == "Inactive"
    assert k2.active is True and k2.properties["created_at"] == "2025-03-01T00:00:00Z"
    assert "last_used_at" not in k2.properties


@pytest.mark.parametrize("change, problem", [
    (("mfa_active", "yes"), "line 2: mfa_active is 'yes', expected true or false"),
    (("access_key_1_last_rotated", "last tuesday"), "line 2: access_key_1_last_rotated is 'last tuesday'"),
    (("user", ""), "line 2: empty user"),
])
def test_bad_values_name_file_and_line(tmp_path, change, problem):
    cols = COLS.split(",")
    row = dict.fromkeys(cols, "N/A")
    row.update(user="bot", mfa_active="false", access_key_1_active="false", access_key_2_active="false")
    row[change[0]] = change[1]
    snap = snapshot(tmp_path, {"aws/iam/credential-report.csv": COLS + "\n" + ",".join(row[c] for c in cols)})
    with pytest.raises(IngestError) as err:
        ingest(snap / "aws")
    assert "credential-report.csv" in str(err.value) and problem in str(err.value)


def test_missing_column(tmp_path):
    snap = snapshot(tmp_path, {"aws/iam/credential-report.csv": "user,arn\nx,y\n"})
    with pytest.raises(IngestError, match="credential-report.csv: CSV header lacks column"):
        ingest(snap / "aws")
