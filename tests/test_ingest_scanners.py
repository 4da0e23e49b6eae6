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


# --- shapes real users produce (issue 18) -------------------------------------------
def _hog(raw: str, n: int = 1) -> dict:
    return {"SourceMetadata": {"Data": {"Git": {"commit": f"c{n}", "file": f"f{n}.py", "line": n,
                                                "repository": "https://github.com/acme/app.git",
                                                "timestamp": "2026-10-02 09:14:27 +0000"}}},
            "SourceID": 1, "SourceType": 7, "SourceName": "trufflehog - git", "DetectorType": 2, "DetectorName": "Github",
            "DetectorDescription": "GitHub token", "DecoderName": "PLAIN", "Verified": False,
            "VerificationFromCache": False, "Raw": raw, "RawV2": raw, "Redacted": "", "ExtraData": {"username": "bot"},
            "StructuredData": None}


def test_trufflehog_json_array_and_lines_name_the_same_findings(tmp_path):
    keys = [fake_key("ghp_", 36) for _ in range(3)]
    lines = snapshot(tmp_path / "a", {"trufflehog/scan.jsonl": "\n".join(json.dumps(_hog(k, n)) for n, k in enumerate(keys))})
    array = snapshot(tmp_path / "b", {"trufflehog/scan.json": json.dumps([_hog(k, n) for n, k in enumerate(keys)], indent=2)})
    saved_lines = snapshot(tmp_path / "c", {"trufflehog/out.json": "\n".join(json.dumps(_hog(k, n)) for n, k in enumerate(keys))})
    single = snapshot(tmp_path / "d", {"trufflehog/one.json": json.dumps(_hog(keys[0], 0), indent=2)})
    got = {name: trufflehog(snap / "trufflehog") for name, snap in
           (("lines", lines), ("array", array), ("saved_lines", saved_lines), ("single", single))}
    ids = {name: [n.id for n in rec.nodes] for name, rec in got.items()}
    assert len(ids["lines"]) == 3 and ids["array"] == ids["lines"] == ids["saved_lines"]
    assert ids["single"] == ids["lines"][:1]
    p = got["array"].nodes[0].properties
    assert p["sha256"] == hashlib.sha256(keys[0].encode()).hexdigest() and p["redacted"] == f"ghp_...{keys[0][-4:]}"
    assert p["DetectorDescription"] == "GitHub token" and p["SourceID"] == 1      # unmapped fields kept
    assert not {"Raw", "RawV2", "Redacted"} & p.keys()


def test_trufflehog_json_that_is_not_findings(tmp_path):
    snap = snapshot(tmp_path, {"trufflehog/scan.json": [_hog(fake_key("ghp_", 36)), {"level": "info"}]})
    rec = trufflehog(snap / "trufflehog")
    assert len(rec.nodes) == 1 and any("scan.json: item 2 is not a trufflehog finding" in w for w in rec.warnings)
    snap = snapshot(tmp_path / "b", {"trufflehog/scan.json": "42"})
    with pytest.raises(IngestError, match=r"scan.json: expected trufflehog findings"):
        trufflehog(snap / "trufflehog")
    snap = snapshot(tmp_path / "c", {"trufflehog/scan.json": "[1, 2]"})
    with pytest.raises(IngestError, match=r"scan.json: item 1: expected an object"):
        trufflehog(snap / "trufflehog")
    snap = snapshot(tmp_path / "d", {"trufflehog/scan.json": '{"DetectorName": "AWS"\n{oops'})
    with pytest.raises(IngestError, match=r"scan.json: invalid JSON"):
        trufflehog(snap / "trufflehog")


def test_gitleaks_v7_tags_dates_and_generic_offender(tmp_path, db_path):
    key = fake_key("", 32)
    line = f"    api_key = '{key}'  # TODO move to vault"
    snap = snapshot(tmp_path, {"gitleaks/v7.json": [
        {"line": line, "lineNumber": 41, "offender": f"api_key = '{key}'", "offenderEntropy": 4.9,
         "commit": "9f8e7d", "repo": "acme/app", "repoURL": "https://github.com/acme/app", "leakURL":
         "https://github.com/acme/app/blob/9f8e7d/settings.py#L41", "rule": "Generic Credential",
         "commitMessage": "settings", "author": "Li Wei", "email": "li@example.com", "file": "settings.py",
         "date": "10-19-2003", "tags": "key, Generic", "operation": "addition"}]})
    eng = load(db_path, snap / "gitleaks")
    p = eng.node("gitleaks:finding:9f8e7d:settings.py:Generic Credential:41").properties
    eng.close()
    assert p["sha256"] == hashlib.sha256(key.encode()).hexdigest()      # the key, not `api_key = '...'`
    assert p["last4"] == key[-4:] and "prefix" not in p and p["redacted"] == f"...{key[-4:]}"
    assert p["tags"] == ["key", "Generic"] and p["date"] == "2003-10-19T00:00:00Z" and p["line"] == 41
    assert p["repository"] == "acme/app" and p["offenderEntropy"] == 4.9 and p["operation"] == "addition"
    assert "offender" not in p and "line_text" not in p and key[:-4] not in json.dumps(p)
    assert key[4:-4].encode() not in db_bytes(db_path)


def test_gitleaks_v8_unmapped_fields_kept_and_line_dropped(tmp_path):
    raw = fake_key("xoxb-", 40)
    snap = snapshot(tmp_path, {"gitleaks/r.json": [
        {"RuleID": "slack-bot-token", "Description": "Slack bot token", "StartLine": 3, "EndLine": 3,
         "StartColumn": 9, "EndColumn": 60, "Match": f"token: {raw}", "Secret": raw, "Line": f"  token: {raw}",
         "File": "ci.yml", "SymlinkFile": "", "Commit": "ab12", "Entropy": 4.1, "Author": "Raj", "Email": "raj@example.com",
         "Date": "2026-09-01T10:00:00Z", "Message": "ci", "Tags": [], "Fingerprint": "ab12:ci.yml:slack-bot-token:3",
         "Link": "https://github.com/acme/ci/blob/ab12/ci.yml#L3", "RuleVersion": 2}]})
    p = gitleaks(snap / "gitleaks").nodes[0].properties
    assert p["start_column"] == 9 and p["end_column"] == 60 and p["RuleVersion"] == 2
    assert p["prefix"] == "xoxb-" and p["redacted"] == f"xoxb-...{raw[-4:]}" and p["secret_vendor"] == "slack"
    assert not {"Line", "Match", "Secret"} & p.keys() and raw[5:-4] not in json.dumps(p)
