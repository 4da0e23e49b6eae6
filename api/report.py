"""The access-review report: one self-contained HTML file (inline CSS and SVG, no
script, nothing fetched: a CSP meta tag forbids any request), built from the same
GraphQL answers a client gets (api.execute in-process, so secrets are redacted the
same way).

Sections: summary, top risks, findings by team and owner (with evidence), spend by
team and person, departed owners, over-shared and orphaned identities, and pictures
of the largest blast radii (api.report_svg). `team` narrows findings, risks, people's
spend and pictures to one team (as Finding.teams puts them).
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from html import escape
from typing import Any

from engine.service import Engine

from .execute import execute
from .report_svg import blast_svg

SEVERITIES = ("critical", "high", "medium", "low")
PICTURES = 3                 # largest blast radii drawn
PICTURE_CANDIDATES = 40      # sources whose reach is measured to find them
TOP_RISKS = 20
# Evidence JSON shown per finding (the rest elided, saying so): in full-ish for the
# serious ones; a glimpse for medium and low, which a large org has tens of thousands of.
EVIDENCE_CHARS = {"critical": 4000, "high": 4000, "medium": 600, "low": 600}
DEPARTURE_RULES = ("departed-owner-still-spending", "departed-person-active-account", "access-after-departure")

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; margin: 0 auto;
       max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 2px solid #12263f; }
h3 { font-size: 15px; margin: 18px 0 6px; } h4 { font-size: 14px; margin: 12px 0 4px; color: #333; }
nav ul { display: flex; flex-wrap: wrap; gap: 6px 16px; list-style: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; }
th, td { border-bottom: 1px solid #d0d4da; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f5f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-weight: 600; }
.sev-critical { background: #8e0000; } .sev-high { background: #b34700; } .sev-medium { background: #6d5a00; }
.sev-low { background: #44546a; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; } .card { background: #f4f5f7; padding: 8px 12px; border-radius: 6px; }
.card strong { display: block; font-size: 20px; }
pre { white-space: pre-wrap; word-break: break-all; background: #f4f5f7; padding: 6px; margin: 4px 0; font-size: 12px; }
.picture { overflow-x: auto; border: 1px solid #d0d4da; border-radius: 6px; padding: 4px; margin-bottom: 12px; }
.muted { color: #4a4a4a; } code { font-size: 12.5px; }
"""


class ReportError(Exception):
    """The data cannot be reported (a GraphQL error on this store)."""


def _q(engine: Engine, document: str, variables: dict | None = None) -> dict:
    result = execute(engine, document, variables or {})
    if result.get("errors"):
        raise ReportError("; ".join(e.get("message", "?") for e in result["errors"]))
    return result["data"]


PAGE = 500  # the API's page size cap


def _all(engine: Engine, document: str, field: str, variables: dict | None = None) -> list[dict]:
    """Every node of a connection `field`, paged (`document` takes $first and $after)."""
    out, after = [], None
    while True:
        conn = _q(engine, document, {**(variables or {}), "first": PAGE, "after": after})[field]
        out.extend(conn["nodes"])
        if not conn["pageInfo"]["hasNextPage"]:
            return out
        after = conn["pageInfo"]["endCursor"]


def _has_query_field(engine: Engine, name: str) -> bool:
    data = _q(engine, '{ __type(name: "Query") { fields { name } } }')
    return any(f["name"] == name for f in data["__type"]["fields"])


def _usd(v) -> str:
    return "unpriced" if v is None else f"${v:,.2f}"


def _table(headers: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    """rows: already-escaped HTML cells."""
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sev(s: str) -> str:
    return f'<span class="sev sev-{escape(s)}">{escape(s)}</span>'


def _evidence(ev: Any, severity: str) -> str:
    text = json.dumps(ev, indent=1, sort_keys=True, default=str)
    cap = EVIDENCE_CHARS[severity]
    if len(text) > cap:
        text = text[:cap] + f"\n... ({len(text) - cap} more characters: `burnpath findings --format json`)"
    summary = ev.get("summary") if isinstance(ev, dict) else None
    return ((f"<div>{escape(str(summary))}</div>" if summary else "")
            + f"<details><summary>evidence</summary><pre>{escape(text)}</pre></details>")


FINDINGS_Q = """query F($team: String, $first: Int, $after: String) {
  findings(team: $team, first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes {
  id rule title severity frameworks teams evidence
  subject { id kind name active owners { id name active } } } } }"""


def collect(engine: Engine, team: str | None) -> dict:
    """Everything the report shows, as GraphQL answered it."""
    data: dict[str, Any] = {}
    data["findings"] = _all(engine, FINDINGS_Q, "findings", {"team": team})
    counts = _q(engine, """{ people: nodes(kind: "Person", first: 0) { totalCount }
        credentials: nodes(kind: "Credential", first: 0) { totalCount }
        tools: nodes(kind: "AITool", first: 0) { totalCount }
        grants: nodes(kind: "OAuthGrant", first: 0) { totalCount }
        accounts: nodes(kind: "ServiceAccount", first: 0) { totalCount } }""")
    data["counts"] = {k: v["totalCount"] for k, v in counts.items()}
    spend = _q(engine, """{ team: spend(groupBy: "team") { key usd requests unpricedRequests }
        person: spend(groupBy: "person") { key usd requests unpricedRequests } }""")
    data["spend"] = spend
    people = _all(engine, """query P($first: Int, $after: String) { nodes(kind: "Person", first: $first, after: $after)
        { pageInfo { hasNextPage endCursor } nodes { id name active } } }""", "nodes")
    data["departed"] = [p for p in people if not p["active"]]
    data["risks"] = _risks(engine, data["findings"], team)
    data["pictures"] = _pictures(engine, data["findings"], team)
    return data


def _risks(engine: Engine, findings: list[dict], team: str | None) -> list[dict]:
    fields = "id kind name active risk { score reasons }"
    if team is None and _has_query_field(engine, "riskiest"):
        return _q(engine, f"{{ riskiest(first: {TOP_RISKS}) {{ nodes {{ {fields} }} }} }}")["riskiest"]["nodes"]
    # Rank the subjects of the serious findings (a node with none scores little).
    ids = []
    for sev in SEVERITIES:
        for f in findings:
            if f["severity"] == sev and f["subject"]["id"] not in ids:
                ids.append(f["subject"]["id"])
        if len(ids) >= TOP_RISKS * 3:
            break
    ids = ids[:TOP_RISKS * 3]
    nodes = []
    for i in range(0, len(ids), 50):
        chunk = ids[i:i + 50]
        doc = "query R(" + ", ".join(f"$i{j}: ID!" for j in range(len(chunk))) + ") { " + " ".join(
            f"n{j}: node(id: $i{j}) {{ {fields} }}" for j in range(len(chunk))) + " }"
        got = _q(engine, doc, {f"i{j}": x for j, x in enumerate(chunk)})
        nodes.extend(v for v in got.values() if v)
    nodes.sort(key=lambda n: (-n["risk"]["score"], n["id"]))
    return nodes[:TOP_RISKS]


def _pictures(engine: Engine, findings: list[dict], team: str | None) -> list[dict]:
    candidates: list[str] = []
    for sev in SEVERITIES:
        for f in findings:
            sid = f["subject"]["id"]
            if f["severity"] == sev and sid not in candidates and f["subject"]["kind"] != "Person":
                candidates.append(sid)
    if team is None:
        tools = _q(engine, '{ nodes(kind: "AITool", first: 200) { nodes { id } } }')["nodes"]["nodes"]
        candidates.extend(t["id"] for t in tools if t["id"] not in candidates)
    candidates = candidates[:PICTURE_CANDIDATES]
    sizes = []
    for sid in candidates:
        got = _q(engine, "query B($id: ID!) { blastRadius(id: $id) { totalCount } }", {"id": sid})
        sizes.append((-got["blastRadius"]["totalCount"], sid))
    out = []
    for _, sid in sorted(sizes)[:PICTURES]:
        b = _q(engine, """query B($id: ID!) { blastRadius(id: $id) { source { id kind name } totalCount
            spendExposureUsdPerHour reachable { id kind name depth access path pathEdges }
            dataSources { id access properties } } }""", {"id": sid})["blastRadius"]
        sens = {d["id"]: d["properties"].get("sensitivity") for d in b["dataSources"]
                if isinstance(d.get("properties"), dict) and d["properties"].get("sensitivity")}
        b["svg"] = blast_svg(b["source"], b["reachable"], sens)
        out.append(b)
    return out


def render(data: dict, team: str | None, as_of: datetime | None, db_label: str) -> str:
    findings = data["findings"]
    by_sev = defaultdict(int)
    for f in findings:
        by_sev[f["severity"]] += 1
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    spend_team = data["spend"]["team"]
    spend_person = data["spend"]["person"]
    if team is not None:
        spend_team = [r for r in spend_team if r["key"] == team]
        owners_in_team = {o["id"] for f in findings for o in f["subject"]["owners"]}
        spend_person = [r for r in spend_person if r["key"] in owners_in_team]
    total_usd = sum(r["usd"] for r in data["spend"]["team"])

    parts = [f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>burnpath access review{f" - {escape(team)}" if team else ""}</title>
<style>{STYLE}</style></head><body>
<header><h1>burnpath access review{f": {escape(team)}" if team else ""}</h1>
<p class="muted">Written {now} from {escape(db_label)}; "now" for time-based rules:
{escape(as_of.isoformat() if as_of else "the latest timestamp in the data")}.</p></header>
<nav aria-label="Sections"><ul><li><a href="#summary">Summary</a></li><li><a href="#risks">Top risks</a></li>
<li><a href="#findings">Findings by team and owner</a></li><li><a href="#spend">Spend</a></li>
<li><a href="#departed">Departed owners</a></li><li><a href="#shared">Over-shared and orphaned</a></li>
<li><a href="#pictures">Largest blast radii</a></li></ul></nav><main>"""]

    cards = [("findings", len(findings))] + [(s, by_sev.get(s, 0)) for s in SEVERITIES]
    cards += [(k, v) for k, v in data["counts"].items()] + [("measured spend", _usd(total_usd))]
    parts.append('<section id="summary"><h2>Summary</h2><div class="cards">' + "".join(
        f'<div class="card"><strong>{escape(str(v))}</strong>{escape(k)}</div>' for k, v in cards) + "</div></section>")

    rows = [[str(i + 1), escape(n["id"]) + (f' <span class="muted">({escape(n["name"])})</span>' if n.get("name") else ""),
             escape(n["kind"]), escape(str(n["risk"]["score"])),
             "<br>".join(escape(r) for r in n["risk"]["reasons"])] for i, n in enumerate(data["risks"])]
    parts.append('<section id="risks"><h2>Top risks</h2>' +
                 (_table(["#", "identity", "kind", "score", "why"], rows) if rows else "<p>No scored identities.</p>")
                 + "</section>")

    # Findings by team, then by owner.
    grouped: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for f in findings:
        teams = f["teams"] or ["(no team)"]
        owners = [o["id"] + ("" if o["active"] else " (inactive)") for o in f["subject"]["owners"]] or ["(no owner)"]
        for t in teams:
            grouped[t][", ".join(owners)].append(f)
    parts.append('<section id="findings"><h2>Findings by team and owner</h2>')
    if not findings:
        parts.append("<p>No findings.</p>")
    sev_rank = {s: i for i, s in enumerate(SEVERITIES)}
    for t in sorted(grouped, key=lambda x: (x.startswith("("), x)):
        owners = grouped[t]
        parts.append(f'<h3 id="team-{escape(t)}">{escape(t)} ({sum(len(v) for v in owners.values())})</h3>')
        for owner in sorted(owners):
            fs = sorted(owners[owner], key=lambda f: (sev_rank[f["severity"]], f["rule"], f["id"]))
            parts.append(f"<h4>Owner: {escape(owner)}</h4>")
            parts.append(_table(["severity", "rule", "subject", "title", "frameworks", "evidence"], [
                [_sev(f["severity"]), escape(f["rule"]), f"<code>{escape(f['subject']['id'])}</code>",
                 escape(f["title"]), escape(", ".join(f["frameworks"])), _evidence(f["evidence"], f["severity"])] for f in fs]))
    parts.append("</section>")

    def spend_rows(rows):
        return [[escape(r["key"]) if r["key"] else "<em>(unattributed)</em>", f'<span class="num">{_usd(r["usd"])}</span>',
                 escape(str(r["requests"])), escape(str(r["unpricedRequests"]))] for r in rows]
    parts.append('<section id="spend"><h2>Spend</h2><h3>By team</h3>'
                 + _table(["team", "usd", "requests", "unpriced requests"], spend_rows(spend_team))
                 + "<h3>By person</h3>"
                 + _table(["person", "usd", "requests", "unpriced requests"], spend_rows(spend_person)) + "</section>")

    departure = [f for f in findings if f["rule"] in DEPARTURE_RULES]
    rows = []
    for p in data["departed"]:
        theirs = [f for f in findings if any(o["id"] == p["id"] for o in f["subject"]["owners"])]
        if team is not None and not theirs:
            continue
        rows.append([f"<code>{escape(p['id'])}</code>", escape(p.get("name") or ""),
                     "<br>".join(f"{_sev(f['severity'])} {escape(f['rule'])}: <code>{escape(f['subject']['id'])}</code>"
                                 for f in theirs) or '<span class="muted">owns nothing with a finding</span>'])
    parts.append('<section id="departed"><h2>Departed owners</h2>'
                 + (_table(["person", "name", "what they own with findings"], rows) if rows else "<p>None.</p>")
                 + ("<h3>Departure findings</h3>" + _table(["severity", "rule", "subject", "title", "evidence"], [
                     [_sev(f["severity"]), escape(f["rule"]), f"<code>{escape(f['subject']['id'])}</code>",
                      escape(f["title"]), _evidence(f["evidence"], f["severity"])] for f in departure]) if departure else "")
                 + "</section>")

    parts.append('<section id="shared"><h2>Over-shared and orphaned identities</h2>')
    for rule, label in (("over-shared-credential", "Over-shared"), ("orphaned-identity", "Orphaned")):
        fs = [f for f in findings if f["rule"] == rule]
        parts.append(f"<h3>{label} ({len(fs)})</h3>")
        parts.append(_table(["severity", "subject", "owners", "title", "evidence"], [
            [_sev(f["severity"]), f"<code>{escape(f['subject']['id'])}</code>",
             escape(", ".join(o["id"] for o in f["subject"]["owners"]) or "(none)"), escape(f["title"]),
             _evidence(f["evidence"], f["severity"])] for f in fs]) if fs else "<p>None.</p>")
    parts.append("</section>")

    parts.append('<section id="pictures"><h2>Largest blast radii</h2><p class="muted">Layered from each source '
                 "outwards (one column per hop); purple: a path through a secret stored in a data source; stripe: "
                 "access (blue read, orange write, red admin); fill: data sensitivity; dashed grey boxes: "
                 "collapsed groups with their counts.</p>")
    for b in data["pictures"]:
        parts.append(f"<h3><code>{escape(b['source']['id'])}</code>: {b['totalCount']} reachable, "
                     f"{len(b['dataSources'])} data sources, exposure {_usd(b['spendExposureUsdPerHour'])}/hour</h3>"
                     f'<div class="picture">{b["svg"]}</div>')
    if not data["pictures"]:
        parts.append("<p>No blast radius to draw.</p>")
    parts.append("</section></main></body></html>\n")
    return "".join(parts)
