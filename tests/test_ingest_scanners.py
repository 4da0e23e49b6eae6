"""gitleaks and trufflehog findings: SecretExposures that never keep the secret."""
from __future__ import annotations

import hashlib
import json
import secrets
import string

import pytest

from engine.ids import short_hash
from ingest.errors import IngestError
from ingest.gitleaks import ingest as gitleaks
from ingest.trufflehog import ingest as trufflehog
from tests.identity_snap import copy_demo, load, snapshot

ALPHABET = string.ascii_letters + string.digits


def fake_key(prefix: str, n: int = 48) -> str:
    # Made at test time so that no key-shaped string sits in the repository.
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(n))


def db_bytes(db_path) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        p = db_path.parent / (db_path.name + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def test_demo_gitleaks_findings(tmp_path, db_path):
    eng = load(db_path, copy_demo(tmp_path, "gitleaks") / "gitleaks")
    fid = ("gitleaks:finding:4f1c2b9e7d3a5c6b8e0f1a2b3c4d5e6f7a8b9c0d:agent/settings.py:"
           "anthropic-api-key:12")
    v = eng.node(fid)
    assert v.kind == "SecretExposure"
    p = v.properties
    assert p["rule"] == "anthropic-api-key" and p["repository"] == "northwind/data-agent"
    assert p["file"] == "agent/settings.py" and p["line"] == 12 and p["date"] == "2026-11-08T10:42:17Z"
    assert p["author"] == "Ana Silva" and p["email"] == "ana@example.com" and p["verified"] is False
    assert p["commit"].startswith("4f1c2b9e")
    assert p["redacted"] == "sk-ant-api03-R2D...Xk9Q" and p["last4"] == "Xk9Q"
    assert "Secret" not in p and "Match" not in p and "sha256" not in p
    assert eng.nodes("SecretExposure", 0, 10)[1] == 2
    eng.close()


def test_raw_gitleaks_secret_is_hashed_and_never_stored(tmp_path, db_path):
    raw = fake_key("sk-proj-")
    finding = {"RuleID": "openai-api-key", "File": "a.py", "StartLine": 4, "Commit": "c1",
               "Secret": raw, "Match": f"OPENAI_API_KEY='{raw}'", "Date": "2026-11-01T00:00:00Z",
               "Fingerprint": "c1:a.py:openai-api-key:4", "Author": "x", "Email": "x@y.z"}
    hidden = dict(finding, Secret="REDACTED", Match="OPENAI_API_KEY='REDACTED'", Fingerprint="c2:a.py:r:1")
    snap = snapshot(tmp_path, {"gitleaks/report.json": [finding, hidden]})
    eng = load(db_path, snap / "gitleaks")
    p = eng.node("gitleaks:finding:c1:a.py:openai-api-key:4").properties
    assert p["sha256"] == hashlib.sha256(raw.encode()).hexdigest()
    assert p["redacted"] == f"sk-proj-...{raw[-4:]}" and p["secret_form"] == "hashed"
    assert eng.node("gitleaks:finding:c2:a.py:r:1").properties["secret_form"] == "hidden"
    eng.close()
    stored = db_bytes(db_path)
    assert raw.encode() not in stored and raw[8:-4].encode() not in stored


def test_gitleaks_v7_report_shape(tmp_path):
    snap = snapshot(tmp_path, {"gitleaks/old.json": [
        {"line": "k = 'AKIAABCDEFGHIJKLMNOP'", "lineNumber": 3, "offender": "AKIAABCDEFGHIJKLMNOP",
         "commit": "abc", "repo": "infra", "repoURL": "https://github.com/acme/infra", "rule": "AWS Access Key",
         "commitMessage": "m", "author": "a", "email": "a@b.c", "file": "k.py",
         "date": "2026-10-01T00:00:00Z", "tags": "key, AWS"}]})
    rec = gitleaks(snap / "gitleaks")
    n = rec.nodes[0]
    assert n.id == "gitleaks:finding:abc:k.py:AWS Access Key:3"
    assert n.properties["key_id"] == "AKIAABCDEFGHIJKLMNOP" and n.properties["repository"] == "infra"


def test_gitleaks_bad_reports(tmp_path):
    snap = snapshot(tmp_path, {"gitleaks/r.json": {"findings": []}})
    with pytest.raises(IngestError, match="r.json: expected a gitleaks report"):
        gitleaks(snap / "gitleaks")
    snap = snapshot(tmp_path / "b", {"gitleaks/r.json": [{"File": "x"}]})
    with pytest.raises(IngestError, match="r.json: finding 1: no RuleID"):
        gitleaks(snap / "gitleaks")


def test_demo_trufflehog_finding(tmp_path, db_path):
    snap = copy_demo(tmp_path, "trufflehog")
    eng = load(db_path, snap / "trufflehog")
    line = json.loads((snap / "trufflehog/northwind-infra.jsonl").read_text())
    fid = "trufflehog:finding:" + short_hash(
        json.dumps(line["SourceMetadata"], sort_keys=True, separators=(",", ":")), "AKIAQ3EGNORTHWNDCIB1")
    p = eng.node(fid).properties
    assert p["key_id"] == "AKIAQ3EGNORTHWNDCIB1" and p["verified"] is True
    assert p["repository"] == "northwind/infra" and p["file"] == "deploy/terraform.tfvars"
    assert p["date"] == "2026-10-02T09:14:27Z" and p["detector"] == "AWS" and p["line"] == 7
    assert p["extra"]["arn"].endswith("user/ci-bot")
    eng.close()


def test_trufflehog_raw_values_dropped_and_junk_lines(tmp_path, db_path):
    raw = fake_key("sk-ant-api03-", 80)
    aws_secret = fake_key("", 40)
    lines = [
        {"SourceMetadata": {"Data": {"Filesystem": {"file": "/srv/.env", "line": 2}}}, "DetectorName": "Anthropic",
         "DetectorType": 1000, "Verified": False, "Raw": raw, "RawV2": raw, "Redacted": ""},
        {"SourceMetadata": {"Data": {"Git": {"file": "x", "repository": "https://github.com/a/b.git"}}},
         "DetectorName": "AWS", "Verified": True, "Raw": "AKIAABCDEFGHIJKLMNOP",
         "RawV2": "AKIAABCDEFGHIJKLMNOP" + aws_secret, "Redacted": "AKIAABCDEFGHIJKLMNOP"},
        {"level": "info", "msg": "finished scanning"},
    ]
    snap = snapshot(tmp_path, {"trufflehog/scan.jsonl": "\n".join(json.dumps(x) for x in lines) + "\n"})
    rec = trufflehog(snap / "trufflehog")
    assert any("line 3 is not a trufflehog finding" in w for w in rec.warnings)
    by_detector = {n.properties["detector"]: n.properties for n in rec.nodes}
    assert by_detector["Anthropic"]["sha256"] == hashlib.sha256(raw.encode()).hexdigest()
    assert by_detector["Anthropic"]["redacted"].startswith("sk-ant-api03-")
    assert by_detector["AWS"]["key_id"] == "AKIAABCDEFGHIJKLMNOP"
    eng = load(db_path, snap / "trufflehog")
    eng.close()
    stored = db_bytes(db_path)
    assert raw.encode() not in stored and aws_secret.encode() not in stored


def test_trufflehog_bad_line(tmp_path):
    snap = snapshot(tmp_path, {"trufflehog/scan.jsonl": '{"DetectorName": "AWS"}\n{not json\n'})
    with pytest.raises(IngestError, match=r"scan.jsonl: line 2: invalid JSON"):
        trufflehog(snap / "trufflehog")


def test_gitleaks_partially_masked_match_used_when_secret_is_hidden(tmp_path):
    snap = snapshot(tmp_path, {"gitleaks/r.json": [
        {"RuleID": "anthropic-api-key", "File": "f.py", "StartLine": 1, "Commit": "c", "Secret": "REDACTED",
         "Match": 'KEY = "sk-ant-api03-R2D...Xk9Q"', "Fingerprint": "c:f.py:anthropic-api-key:1"}]})
    p = gitleaks(snap / "gitleaks").nodes[0].properties
    assert p["redacted"] == "sk-ant-api03-R2D...Xk9Q" and p["secret_form"] == "redacted"
    assert "Match" not in p and "match" not in p
