"""The rule-pack format: the bundled pack, user rules from --rules, and load errors
that name the file and the problem."""
import json
from datetime import date

import pytest

from api.cli import main
from engine.rules import RuleError, load_rules
from engine.rules.loader import BUILTIN_RULES_DIR, parse_rule_file
from rules_kit import G, by_subject, subjects

CONTRACT = {
    "orphaned-identity": ["OWASP-NHI1", "CSF-GV.RR-02"],
    "departed-owner-still-spending": ["OWASP-NHI1", "OWASP-LLM10"],
    "stale-credential": ["OWASP-NHI1", "CSF-PR.AA-01"],
    "long-lived-credential": ["OWASP-NHI7"],
    "leaked-credential": ["OWASP-NHI2"],
    "over-shared-credential": ["OWASP-NHI9", "OWASP-NHI10"],
    "environment-mixing": ["OWASP-NHI8"],
    "overprivileged-oauth-grant": ["OWASP-NHI5", "OWASP-NHI3"],
    "shadow-ai": ["CSF-ID.AM-08"],
    "unbudgeted-credential": ["OWASP-LLM10"],
    "token-burn-anomaly": ["OWASP-LLM10", "CSF-DE.CM-03"],
    "new-model-endpoint": ["CSF-DE.CM-09"],
}

USER_RULE = """
id: credential-without-environment
title: Active credential with no environment
description: Every live key must say where it runs.
severity: low
severity_raise:
  - when: [{field: spend_usd_30d, gt: 100}]
    severity: medium
frameworks: [OWASP-NHI8]
match:
  kinds: [Credential]
  where:
    - {field: active, eq: true}
    - {field: properties.environment, exists: false}
"""


def test_bundled_pack_has_every_contract_rule_with_its_frameworks():
    rules = {r.id: r for r in load_rules()}
    assert set(CONTRACT) <= set(rules)
    for rid, frameworks in CONTRACT.items():
        assert set(frameworks) <= set(rules[rid].frameworks), rid
        assert rules[rid].path.endswith(f"{rid}.yaml")
    assert rules["stale-credential"].parameters == {"unused_days": 90, "never_used_days": 30}
    assert rules["token-burn-anomaly"].parameters["baseline_days"] == 14
    assert rules["new-model-endpoint"].parameters == {"min_history_days": 14}


def _user_graph(db_path):
    g = G(db_path)
    g.cred("k:no_env")
    g.cred("k:prod", environment="prod")
    g.cred("k:no_env_dead", active=False)
    g.cred("k:no_env_spender")
    g.spend("k:no_env_spender", date(2026, 11, 10), 150.0)
    return g


def test_user_rule_from_rules_dir_fires(db_path, tmp_path):
    rules = tmp_path / "policies"
    rules.mkdir()
    (rules / "credential-without-environment.yaml").write_text(USER_RULE)
    eng = _user_graph(db_path).engine(rule_dirs=[str(rules)])
    found = by_subject(eng, "credential-without-environment")
    assert set(found) == {"k:no_env", "k:no_env_spender"}
    assert found["k:no_env"].severity == "low"
    assert found["k:no_env_spender"].severity == "medium"
    assert found["k:no_env"].frameworks == ["OWASP-NHI8"]
    assert found["k:no_env"].evidence["conditions"][1] == {"field": "properties.environment", "exists": False,
                                                          "value": None}
    eng.close()
    # without the directory the rule is unknown
    eng2 = _user_graph(db_path.with_name("other.db")).engine()
    with pytest.raises(ValueError, match="unknown rule 'credential-without-environment'"):
        subjects(eng2, "credential-without-environment")
    eng2.close()


def test_user_rule_through_the_cli(db_path, tmp_path, capsys):
    rules = tmp_path / "policies"
    rules.mkdir()
    (rules / "env.yaml").write_text(USER_RULE)
    _user_graph(db_path).engine().close()
    assert main(["findings", "--db", str(db_path), "--rules", str(rules), "--rule",
                 "credential-without-environment", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["subject"] for f in out] == ["k:no_env_spender", "k:no_env"]


def test_user_dir_can_retune_a_bundled_rule(db_path, tmp_path):
    text = (BUILTIN_RULES_DIR / "stale-credential.yaml").read_text().replace("unused_days: 90", "unused_days: 10")
    rules = tmp_path / "policies"
    rules.mkdir()
    (rules / "stale.yaml").write_text(text)
    g = G(db_path)
    g.cred("k:used_20_days_ago", last_used_at="2026-10-25T00:00:00Z")
    eng = g.engine(rule_dirs=[str(rules)])
    assert subjects(eng, "stale-credential") == {"k:used_20_days_ago"}
    eng.close()


@pytest.mark.parametrize("text, problem", [
    ("id: x\ntitle: [unclosed\n", "invalid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
    ("id: Bad_Id\ntitle: t\nseverity: low\nmatch: {kinds: [Credential], check: stale}\n", "lower-case letters"),
    ("id: x\ntitle: t\nseverity: urgent\nmatch: {kinds: [Credential], check: stale}\n", "severity"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Credential], check: nosuch}\n", "unknown check 'nosuch'"),
    ("id: x\ntitle: t\nseverity: low\nparameters: {unused_dayz: 3}\nmatch: {kinds: [Credential], check: stale}\n",
     "unknown parameter(s) ['unused_dayz'] for check 'stale'"),
    ("id: x\ntitle: t\nseverity: low\nparameters: {unused_days: soon}\nmatch: {kinds: [Credential], check: stale}\n",
     "unused_days must be a number"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Widget], check: stale}\n", "unknown kind(s) ['Widget']"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [AITool], check: stale}\n", "does not apply to ['AITool']"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Credential]}\n", "needs a check, a where list, or both"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Credential], where: [{field: colour, eq: red}]}\n",
     "unknown field 'colour'"),
    ("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Credential], where: [{field: active}]}\n", "has no test"),
    ("id: x\ntitle: t\nseverity: low\nfrobnicate: 1\nmatch: {kinds: [Credential], check: stale}\n",
     "frobnicate"),
    ("id: x\ntitle: t\nseverity: low\nframeworks: [owasp nhi 1]\nmatch: {kinds: [Credential], check: stale}\n",
     "do not look like"),
])
def test_bad_rule_files_name_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "rules" / "bad-rule.yaml"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(RuleError) as exc:
        load_rules([str(path.parent)])
    assert str(path) in str(exc.value)
    assert problem in str(exc.value)


def test_duplicate_ids_and_missing_dirs(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "a.yaml").write_text(USER_RULE)
    (d / "b.yaml").write_text(USER_RULE)
    with pytest.raises(RuleError, match="already defined in .*a.yaml"):
        load_rules([str(d)])
    with pytest.raises(RuleError, match="rules directory does not exist"):
        load_rules([str(tmp_path / "nope")])


def test_cli_refuses_a_bad_rules_dir_with_the_file_named(db_path, tmp_path, capsys):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "broken.yaml").write_text("id: x\ntitle: t\nseverity: low\nmatch: {kinds: [Credential], check: nosuch}\n")
    assert main(["findings", "--db", str(db_path), "--rules", str(d)]) == 2
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "unknown check" in err


def test_every_bundled_file_parses_on_its_own():
    for path in sorted(BUILTIN_RULES_DIR.glob("*.yaml")):
        rule = parse_rule_file(path)
        assert rule.id == path.stem
