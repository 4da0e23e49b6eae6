"""One alerting run: queue what is new for each destination, then deliver the outbox.

New means: a finding at or above the severity threshold, or an anomaly (a finding of
a rule in ANOMALY_RULES, at any severity), that this destination has not been sent
since the finding appeared; plus the drift summary of a sync not yet sent to it.
Everything queued is saved before the first POST, each delivery's result right
after it: an alert is delivered at least once, and an undelivered one stays in the
outbox for the next run.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit

from engine.rules.models import at_or_above

from .delivery import deliver
from .messages import body_of, finding_item, payload
from .state import AlertState, Pending, destination_key

# Rules whose findings are sent whatever their severity: token burn and new behaviour.
ANOMALY_RULES = frozenset({"token-burn-anomaly", "new-model-endpoint", "connected-tools-expansion"})
FORMATS = ("json", "slack")


@dataclass(frozen=True)
class Destination:
    url: str
    format: str = "json"          # json (signed burnpath payload) | slack

    @property
    def key(self) -> str:
        return destination_key(self.format + " " + self.url)

    @property
    def label(self) -> str:
        """Safe to print and store: no path (a Slack webhook's path is its secret)."""
        parts = urlsplit(self.url)
        return f"{self.format} {parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}/…"


@dataclass
class AlertReport:
    queued: list[Pending] = field(default_factory=list)
    delivered: list[Pending] = field(default_factory=list)
    failed: list[Pending] = field(default_factory=list)
    unrouted: list[Pending] = field(default_factory=list)   # waiting for a destination not given this run

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unrouted


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def queue_new(state: AlertState, items, destinations: list[Destination], threshold: str,
              drift: dict | None, created_at: str) -> list[Pending]:
    resolved = state.forget_resolved({f.id for f in items})
    queued = []
    for dest in destinations:
        sent = state.sent.setdefault(dest.key, {})
        new = []
        for f in items:
            if f.id in sent:
                continue
            if at_or_above(f.severity, threshold):
                new.append(finding_item(f, "finding"))
            elif f.rule in ANOMALY_RULES:
                new.append(finding_item(f, "anomaly"))
        fresh_drift = drift if drift and state.drift_sent.get(dest.key) != drift.get("key") else None
        gone = resolved.get(dest.key, [])
        if not new and not fresh_drift and not gone:
            continue
        delivery = uuid.uuid4().hex
        doc = payload(delivery, created_at, threshold, new, fresh_drift, gone)
        pending = Pending(delivery=delivery, destination=dest.key, label=dest.label, format=dest.format,
                          body=body_of(doc, dest.format), created_at=created_at,
                          findings=[x["id"] for x in new])
        state.outbox.append(pending)
        queued.append(pending)
        for x in new:
            sent[x["id"]] = created_at
        if fresh_drift:
            state.drift_sent[dest.key] = fresh_drift.get("key")
    return queued


def run_alerts(engine, destinations: list[Destination], threshold: str = "high", secret: str | None = None,
               drift: dict | None = None, *, attempts: int = 4, backoff: float = 1.0, timeout: float = 10.0,
               sleep: Callable[[float], None] = time.sleep) -> AlertReport:
    from engine.findings import findings
    items = findings(engine)
    store = engine.store
    state = AlertState.load(store)
    report = AlertReport()
    report.queued = queue_new(state, items, destinations, threshold, drift, _now_iso())
    state.save(store)
    routes = {d.key: d for d in destinations}
    for pending in list(state.outbox):
        dest = routes.get(pending.destination)
        if dest is None:
            report.unrouted.append(pending)
            continue
        outcome = deliver(dest.url, pending.body, pending.delivery, secret, attempts=attempts,
                          backoff=backoff, timeout=timeout, sleep=sleep)
        pending.attempts += outcome.attempts
        if outcome.ok:
            state.outbox.remove(pending)
            report.delivered.append(pending)
        else:
            pending.last_error = outcome.error
            report.failed.append(pending)
        state.save(store)
    return report
