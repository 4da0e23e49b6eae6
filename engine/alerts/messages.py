"""The two message shapes: burnpath's JSON payload (signed) and a Slack message.

Only what findings already show is sent (ids, rules, severities, summaries); the
store never holds a secret value, so no alert can carry one.
"""
from __future__ import annotations

import json
from collections import Counter
from typing import Any

from engine.rules.models import SEVERITY_RANK

PAYLOAD_TYPE = "burnpath.alert"
PAYLOAD_VERSION = 1
SLACK_MAX_FINDINGS = 20      # Slack allows 50 blocks a message; the rest is counted


def finding_item(f, category: str) -> dict[str, Any]:
    return {"id": f.id, "category": category, "rule": f.rule, "title": f.title, "severity": f.severity,
            "subject": f.subject_id, "frameworks": list(f.frameworks),
            "summary": str(f.evidence.get("summary") or f"{f.subject_id}: {f.title}")}


def payload(delivery: str, created_at: str, threshold: str, items: list[dict], drift: dict | None,
            resolved: list[str]) -> dict[str, Any]:
    items = sorted(items, key=lambda x: (SEVERITY_RANK.get(x["severity"], 9), x["id"]))
    return {"type": PAYLOAD_TYPE, "version": PAYLOAD_VERSION, "delivery": delivery,
            "created_at": created_at, "severity_threshold": threshold,
            "findings": items, "drift": drift, "resolved": sorted(resolved)}


def headline(doc: dict) -> str:
    counts = Counter(x["severity"] for x in doc["findings"])
    parts = []
    if doc["findings"]:
        by_sev = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: SEVERITY_RANK.get(kv[0], 9)))
        parts.append(f"{len(doc['findings'])} new finding{'s' if len(doc['findings']) != 1 else ''} ({by_sev})")
    if doc.get("drift"):
        parts.append("drift: " + doc["drift"].get("summary", "changes since the last sync"))
    if doc.get("resolved"):
        parts.append(f"{len(doc['resolved'])} resolved")
    return "burnpath: " + ("; ".join(parts) or "nothing new")


def slack_message(doc: dict) -> dict[str, Any]:
    """Slack's incoming-webhook shape: `text` (notifications, fallback) and `blocks`."""
    text = headline(doc)
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": text[:150]}}]
    for x in doc["findings"][:SLACK_MAX_FINDINGS]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
                       f"*{x['severity'].upper()}* `{x['rule']}` on `{x['subject']}`\n{x['summary'][:2500]}"}})
    more = len(doc["findings"]) - SLACK_MAX_FINDINGS
    if more > 0:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"... and {more} more"}]})
    if doc.get("drift"):
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": "*Drift* " + doc["drift"].get("summary", "")[:2900]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                   "text": f"delivery {doc['delivery']} · {doc['created_at']}"}]})
    return {"text": text, "blocks": blocks}


def body_of(doc: dict, fmt: str) -> str:
    """The exact bytes sent (kept in the outbox so a retry sends the same body)."""
    message = slack_message(doc) if fmt == "slack" else doc
    return json.dumps(message, sort_keys=True, separators=(",", ":"), default=str)
