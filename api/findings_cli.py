"""`burnpath findings [--rule R] [--severity S] [--subject ID] [--format table|json|csv|sarif]`.

Table (rich when on a terminal, plain text otherwise), JSON (a list of findings with
evidence), CSV (one row per finding, evidence summarised), or SARIF 2.1.0 (rules in
tool.driver.rules, one result per finding; burnpath findings are about identities,
not files, so each result's location is a logical location naming the subject).
Exit status: 0 when it ran (whatever it found), 2 on a bad filter or rule file.
"""
from __future__ import annotations

import csv
import io
import json
import sys

from .cli_options import add_store_options, open_engine

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub code scanning reads `security-severity` (0.0-10.0) from rule properties.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def add_parser(sub):
    sp = sub.add_parser("findings", help="evaluate the rules and print findings",
                        description="Evaluate the rule pack (and --rules directories) and print "
                        "the findings.")
    sp.add_argument("--rule", default=None, help="only this rule id")
    sp.add_argument("--severity", default=None, help="only this severity (critical, high, medium, low)")
    sp.add_argument("--subject", default=None, metavar="ID", help="only findings about this node id")
    sp.add_argument("--format", choices=["table", "json", "csv", "sarif"], default="table",
                    help="output format")
    add_store_options(sp)
    return sp


def run(args) -> int:
    engine = open_engine(args)
    try:
        return run_findings(engine, args)
    finally:
        engine.close()


def finding_dict(f) -> dict:
    return {"id": f.id, "rule": f.rule, "title": f.title, "severity": f.severity,
            "subject": f.subject_id, "frameworks": f.frameworks, "evidence": f.evidence}


def to_json(items) -> str:
    return json.dumps([finding_dict(f) for f in items], indent=2, default=str)


def to_csv(items) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "rule", "severity", "subject", "title", "frameworks", "summary"])
    for f in items:
        w.writerow([f.id, f.rule, f.severity, f.subject_id, f.title, " ".join(f.frameworks),
                    f.evidence.get("summary", "")])
    return buf.getvalue()


def to_sarif(items, rules) -> dict:
    from engine.rules.models import SEVERITY_RANK
    rule_index = {r.id: i for i, r in enumerate(rules)}
    driver_rules = []
    for r in rules:
        worst = min([r.severity] + [x.severity for x in r.severity_raise], key=SEVERITY_RANK.get)
        driver_rules.append({
            "id": r.id, "name": "".join(p.capitalize() for p in r.id.split("-")),
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": " ".join(r.description.split()) or r.title},
            "help": {"text": r.remediation or r.title},
            "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
            "properties": {"frameworks": r.frameworks, "tags": ["security", *r.frameworks],
                           "severity": r.severity, "security-severity": SECURITY_SEVERITY[worst],
                           "parameters": r.parameters},
        })
    results = []
    for f in items:
        result = {
            "ruleId": f.rule, "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.evidence.get("summary") or f"{f.subject_id}: {f.title}"},
            "locations": [{"logicalLocations": [{"name": f.subject_id, "fullyQualifiedName": f.subject_id,
                                                 "kind": "resource"}]}],
            "partialFingerprints": {"burnpathFindingId": f.id},
            "properties": {"findingId": f.id, "severity": f.severity, "subject": f.subject_id,
                           "frameworks": f.frameworks, "evidence": f.evidence},
        }
        if f.rule in rule_index:
            result["ruleIndex"] = rule_index[f.rule]
        results.append(result)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "burnpath", "version": _version(), "rules": driver_rules}},
        "results": results,
        "columnKind": "unicodeCodePoints",
    }]}


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("burnpath")
    except Exception:  # noqa: BLE001 - running from a source tree without metadata
        return "0.0.0"


def to_table(items, out) -> None:
    if not items:
        print("no findings", file=out)
        return
    try:
        isatty = out.isatty()
    except (AttributeError, ValueError):
        isatty = False
    if isatty:
        from rich.console import Console
        from rich.table import Table
        table = Table(title=f"{len(items)} findings")
        for col in ("severity", "rule", "subject", "summary"):
            table.add_column(col)
        for f in items:
            table.add_row(f.severity, f.rule, f.subject_id, str(f.evidence.get("summary", "")))
        Console(file=out).print(table)
        return
    rows = [(f.severity, f.rule, f.subject_id, str(f.evidence.get("summary", ""))) for f in items]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(("SEVERITY", "RULE", "SUBJECT"))]
    print(f"{'SEVERITY':<{widths[0]}}  {'RULE':<{widths[1]}}  {'SUBJECT':<{widths[2]}}  SUMMARY", file=out)
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}", file=out)
    print(f"\n{len(items)} findings", file=out)


def run_findings(engine, args, out=None) -> int:
    from engine.findings import findings, rules_of
    from engine.rules import RuleError
    out = out or sys.stdout
    try:
        items = findings(engine, rule=args.rule, severity=args.severity, subject=args.subject)
        rules = rules_of(engine)
    except (ValueError, RuleError) as exc:
        print(f"burnpath findings: {exc}", file=sys.stderr)
        return 2
    fmt = getattr(args, "format", "table") or "table"
    if fmt == "json":
        print(to_json(items), file=out)
    elif fmt == "csv":
        out.write(to_csv(items))
    elif fmt == "sarif":
        print(json.dumps(to_sarif(items, rules), indent=2, default=str), file=out)
    else:
        to_table(items, out)
    return 0
