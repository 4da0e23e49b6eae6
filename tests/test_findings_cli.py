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


def test_fail_on_gates_and_baseline_lets_known_findings_pass(demo_db, capsys, tmp_path):
    code, out, err = run(capsys, "--db", str(demo_db), "--format", "json", "--fail-on", "critical")
    critical = [f for f in json.loads(out) if f["severity"] == "critical"]
    assert code == 3 and critical and f"{len(critical)} finding(s) at or above critical" in err
    # a severity threshold below everything present still gates; "low" catches all
    assert run(capsys, "--db", str(demo_db), "--fail-on", "low")[0] == 3
    # the filtered view with nothing at the threshold passes
    code, _, err = run(capsys, "--db", str(demo_db), "--rule", "stale-credential", "--fail-on", "critical")
    assert code == 0 and err == ""
    # a baseline made of the previous JSON output: nothing new, passes
    base = tmp_path / "base.json"
    base.write_text(out)
    assert run(capsys, "--db", str(demo_db), "--fail-on", "low", "--baseline", str(base))[0] == 0
    # ids one per line, one critical left out of it: fails on that one only
    ids = tmp_path / "ids.txt"
    ids.write_text("# accepted\n" + "\n".join(f["id"] for f in json.loads(out)[1:]) + "\n")
    code, _, err = run(capsys, "--db", str(demo_db), "--fail-on", "critical", "--baseline", str(ids))
    assert code == 3 and "1 finding(s) at or above critical not in the baseline" in err
    assert json.loads(out)[0]["id"] in err
    # its SARIF works as a baseline too
    _, sarif, _ = run(capsys, "--db", str(demo_db), "--format", "sarif")
    (tmp_path / "base.sarif").write_text(sarif)
    assert run(capsys, "--db", str(demo_db), "--fail-on", "low", "--baseline", str(tmp_path / "base.sarif"))[0] == 0


def test_gate_arguments_are_checked(demo_db, capsys, tmp_path):
    with __import__("pytest").raises(SystemExit) as exc:
        main(["findings", "--db", str(demo_db), "--fail-on", "severe"])
    assert exc.value.code == 2 and "'severe' is not one of critical" in capsys.readouterr().err
    bad = tmp_path / "b.json"
    bad.write_text('{"nope": 1}')
    code, _, err = run(capsys, "--db", str(demo_db), "--fail-on", "high", "--baseline", str(bad))
    assert code == 2 and "b.json" in err
    code, _, err = run(capsys, "--db", str(demo_db), "--fail-on", "high", "--baseline", str(tmp_path / "none"))
    assert code == 2 and "cannot read" in err
    code, _, err = run(capsys, "--db", str(demo_db), "--baseline", str(bad))
    assert code == 2 and "--baseline needs --fail-on" in err


def test_sarif_places_leaks_in_their_repository_file_and_line(demo_db, capsys):
    _, out, _ = run(capsys, "--db", str(demo_db), "--format", "sarif", "--rule", "leaked-credential")
    run_ = json.loads(out)["runs"][0]
    by_subject = {r["properties"]["subject"]: r for r in run_["results"]}
    agent = by_subject["anthropic:api_key:apikey_01DataAgent"]["locations"][0]
    assert agent["physicalLocation"]["artifactLocation"]["uri"] == "agent/settings.py"
    assert agent["physicalLocation"]["region"]["startLine"] == 12
    assert agent["properties"]["repository"] == "northwind/data-agent"
    assert agent["logicalLocations"][0]["name"] == "anthropic:api_key:apikey_01DataAgent"
    aws = by_subject["aws:access_key:ci-bot:1"]["locations"][0]
    assert aws["physicalLocation"]["artifactLocation"]["uri"] == "deploy/terraform.tfvars"
    assert aws["properties"]["repository"] == "northwind/infra"
    # findings with no file in their evidence keep only the identity's logical location
    _, out, _ = run(capsys, "--db", str(demo_db), "--format", "sarif", "--rule", "stale-credential")
    for res in json.loads(out)["runs"][0]["results"]:
        assert "physicalLocation" not in res["locations"][0]
    rule = next(r for r in run_["tool"]["driver"]["rules"] if r["id"] == "leaked-credential")
    assert "OWASP-NHI2" in rule["properties"]["tags"] and "Frameworks: OWASP-NHI2" in rule["help"]["text"]
    assert rule["help"]["markdown"].startswith("**")
