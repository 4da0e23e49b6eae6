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

from .cli_options import CliError, add_store_options, open_engine
from .findings_gate import EXIT_GATE, gate, load_baseline, severity_arg

from engine.rules.models import SEVERITY_RANK

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
    sp.add_argument("--fail-on", type=severity_arg, default=None, metavar="SEVERITY",
                    help="exit 3 when a finding at or above SEVERITY (critical, high, medium, low) "
                    "exists that --baseline does not list (default: never)")
    sp.add_argument("--baseline", default=None, metavar="FILE",
                    help="findings to ignore for --fail-on: an earlier `findings --format json` "
                    "output, its SARIF, or finding ids (JSON array, or one per line)")
    add_store_options(sp)
    return sp


def run(args) -> int:
    if getattr(args, "baseline", None) and not getattr(args, "fail_on", None):
        raise CliError("--baseline needs --fail-on SEVERITY")
    load_baseline(getattr(args, "baseline", None))   # a bad baseline fails before the work
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


def sarif_rule(r) -> dict:
    """A rule's metadata for the SARIF driver: descriptions, help (text and markdown with
    remediation and frameworks), tags and GitHub's security-severity."""
    worst = min([r.severity] + [x.severity for x in r.severity_raise], key=SEVERITY_RANK.get)
    description = " ".join(r.description.split()) or r.title
    remediation = " ".join((r.remediation or "").split()).rstrip(".")
    frameworks = ", ".join(r.frameworks) or "none"
    return {
        "id": r.id, "name": "".join(p.capitalize() for p in r.id.split("-")),
        "shortDescription": {"text": r.title},
        "fullDescription": {"text": description},
        "help": {"text": f"{description} Remediation: {remediation or 'see the finding evidence'}. "
                         f"Frameworks: {frameworks}.",
                 "markdown": f"**{r.title}**\n\n{description}\n\n**Remediation:** "
                             f"{remediation or 'see the finding evidence'}\n\n**Frameworks:** {frameworks}"},
        "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
        "properties": {"frameworks": r.frameworks,
                       "tags": ["security", "identity", "non-human-identity", *r.frameworks],
                       "severity": r.severity, "security-severity": SECURITY_SEVERITY[worst],
                       "precision": "high", "parameters": r.parameters},
    }


def _line(value) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if n >= 1 else None


def physical_locations(evidence: dict) -> list[dict]:
    """Where in a repository the finding is, when its evidence says (a secret scanner's
    exposure: file, line, repository, commit): what code scanning attaches to a file.
    URIs are relative to the repository root; the repository and commit ride along
    as location properties (one burnpath run spans many repositories)."""
    out = []
    for x in evidence.get("exposures") or []:
        if not isinstance(x, dict) or not isinstance(x.get("file"), str) or not x["file"].strip():
            continue
        physical = {"artifactLocation": {"uri": x["file"].strip().lstrip("/")}}
        start = _line(x.get("line"))
        if start:
            region = {"startLine": start}
            end = _line(x.get("end_line"))
            if end and end >= start:
                region["endLine"] = end
            physical["region"] = region
        props = {k: x[k] for k in ("repository", "commit", "link", "id") if x.get(k) is not None}
        loc = {"physicalLocation": physical}
        if props:
            loc["properties"] = props
        if x.get("repository"):
            loc["message"] = {"text": f"exposed in {x['repository']}"
                                      + (f" at commit {x['commit']}" if x.get("commit") else "")}
        out.append(loc)
    return out


def to_sarif(items, rules) -> dict:
    rule_index = {r.id: i for i, r in enumerate(rules)}
    results = []
    for f in items:
        logical = {"logicalLocations": [{"name": f.subject_id, "fullyQualifiedName": f.subject_id,
                                         "kind": "resource"}]}
        physical = physical_locations(f.evidence)
        # The first location is where code scanning shows it (file and line when known),
        # always naming the identity it is about; further exposures follow.
        locations = [{**physical[0], **logical}, *physical[1:]] if physical else [logical]
        result = {
            "ruleId": f.rule, "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.evidence.get("summary") or f"{f.subject_id}: {f.title}"},
            "locations": locations,
            "partialFingerprints": {"burnpathFindingId": f.id},
            "properties": {"findingId": f.id, "severity": f.severity, "subject": f.subject_id,
                           "frameworks": f.frameworks, "evidence": f.evidence},
        }
        if f.rule in rule_index:
            result["ruleIndex"] = rule_index[f.rule]
        results.append(result)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "burnpath", "version": _version(), "semanticVersion": _version(),
                            "rules": [sarif_rule(r) for r in rules]}},
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
    failing = gate(items, getattr(args, "fail_on", None), load_baseline(getattr(args, "baseline", None)))
    if failing:
        worst = min(failing, key=lambda f: SEVERITY_RANK[f.severity])
        print(f"burnpath findings: {len(failing)} finding(s) at or above {args.fail_on}"
              + (" not in the baseline" if getattr(args, "baseline", None) else "")
              + f" (worst: {worst.severity} {worst.id})", file=sys.stderr)
        return EXIT_GATE
    return 0
