"""`burnpath findings`: table, json, csv and SARIF 2.1.0; filters; exit codes."""
import csv
import io
import json

from api.cli import main


def run(capsys, *argv):
    code = main(["findings", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_and_filters(demo_db, capsys):
    code, out, _ = run(capsys, "--db", str(demo_db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["SEVERITY", "RULE", "SUBJECT"]
    assert lines[1].startswith("critical")
    assert "leaked-credential" in out and out.strip().endswith("findings")
    code, out, _ = run(capsys, "--db", str(demo_db), "--rule", "stale-credential", "--format", "json")
    got = json.loads(out)
    assert {f["subject"] for f in got} == {"openai:api_key:key_stale", "anthropic:api_key:apikey_01Old"}
    assert all(f["rule"] == "stale-credential" and f["evidence"]["now"] for f in got)
    code, out, _ = run(capsys, "--db", str(demo_db), "--severity", "critical", "--format", "json")
    assert {f["severity"] for f in json.loads(out)} == {"critical"}
    code, out, _ = run(capsys, "--db", str(demo_db), "--subject", "openai:api_key:key_support", "--format", "json")
    assert {f["rule"] for f in json.loads(out)} >= {"token-burn-anomaly", "new-model-endpoint"}
    assert {f["subject"] for f in json.loads(out)} == {"openai:api_key:key_support"}


def test_csv(demo_db, capsys):
    code, out, _ = run(capsys, "--db", str(demo_db), "--format", "csv", "--rule", "leaked-credential")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["subject"] for r in rows] == ["anthropic:api_key:apikey_01DataAgent", "aws:access_key:ci-bot:1"]
    assert rows[0]["frameworks"] == "OWASP-NHI2" and rows[0]["severity"] == "critical"


def test_sarif_structure(demo_db, capsys):
    code, out, _ = run(capsys, "--db", str(demo_db), "--format", "sarif")
    assert code == 0
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "leaked-credential" in ids and len(ids) == len(set(ids))
    for r in rules:
        assert r["shortDescription"]["text"] and r["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert 0 <= float(r["properties"]["security-severity"]) <= 10
    assert run_["results"]
    for res in run_["results"]:
        assert res["ruleId"] in ids and rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note") and res["message"]["text"]
        assert res["locations"][0]["logicalLocations"][0]["name"] == res["properties"]["subject"]
        assert res["properties"]["frameworks"]
    leak = next(r for r in run_["results"] if r["ruleId"] == "leaked-credential")
    assert leak["level"] == "error" and leak["properties"]["severity"] == "critical"


def test_bad_filters_exit_2(demo_db, capsys):
    code, _, err = run(capsys, "--db", str(demo_db), "--rule", "no-such-rule")
    assert code == 2 and "unknown rule 'no-such-rule'" in err
    code, _, err = run(capsys, "--db", str(demo_db), "--severity", "urgent")
    assert code == 2 and "unknown severity" in err


def test_as_of_replays(demo_db, capsys):
    # a month earlier, the key first used on 2026-08-01 was not yet 90 days old or stale
    code, out, _ = run(capsys, "--db", str(demo_db), "--as-of", "2026-08-20", "--rule", "stale-credential",
                       "--format", "json")
    assert "anthropic:api_key:apikey_01Old" not in {f["subject"] for f in json.loads(out)}
