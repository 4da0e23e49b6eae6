"""What alerting remembers, in the store itself (both stores have a meta table/node):
per destination, the findings already alerted (so each is sent once until it
resolves) and the last drift sent, plus the outbox of alerts not yet delivered
(kept until delivered, so a failure is retried next run, never lost).

A destination is known by a hash of its URL: a webhook URL can hold a secret
(Slack's do), and nothing secret is stored.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

META_KEY = "alert_state"


def destination_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass
class Pending:
    delivery: str
    destination: str             # destination_key
    label: str                   # scheme://host/… — never the full URL
    format: str                  # json | slack
    body: str
    created_at: str
    findings: list[str] = field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None


@dataclass
class AlertState:
    sent: dict[str, dict[str, str]] = field(default_factory=dict)    # destination -> finding id -> first sent
    drift_sent: dict[str, str] = field(default_factory=dict)         # destination -> drift key
    outbox: list[Pending] = field(default_factory=list)

    @classmethod
    def load(cls, store) -> "AlertState":
        raw = store.get_meta(META_KEY)
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(sent=data.get("sent", {}), drift_sent=data.get("drift_sent", {}),
                   outbox=[Pending(**p) for p in data.get("outbox", [])])

    def save(self, store) -> None:
        store.set_meta(META_KEY, json.dumps({"sent": self.sent, "drift_sent": self.drift_sent,
                                             "outbox": [asdict(p) for p in self.outbox]},
                                            sort_keys=True))

    def forget_resolved(self, current_ids: set[str]) -> dict[str, list[str]]:
        """Findings no longer present are resolved: alert again if they come back."""
        gone: dict[str, list[str]] = {}
        for dest, sent in self.sent.items():
            ids = [fid for fid in sent if fid not in current_ids]
            for fid in ids:
                del sent[fid]
            if ids:
                gone[dest] = ids
        return gone

    def summary(self) -> dict[str, Any]:
        return {"alerted": sum(len(v) for v in self.sent.values()), "pending": len(self.outbox)}
