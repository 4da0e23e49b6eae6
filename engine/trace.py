"""traceCompromise: a responder's checklist for one leaked key. Implemented in issue 5."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class UsageDay:
    day: date
    model: str
    credential_id: str | None
    usd: float | None
    input_tokens: int
    output_tokens: int
    requests: int
    anomalous: bool = False
    note: str | None = None


@dataclass
class RevocationStep:
    order: int
    action: str             # revoke | rotate | revoke-grant | rotate-secret | notify | ...
    target_id: str
    reason: str


@dataclass
class CompromiseTrace:
    subject_id: str
    since: datetime | None
    owners: list[str]               # node ids (people, teams) with their status on the node
    holders: list[str]
    blast: Any                      # engine.service.BlastRadiusResult
    usage_since: list[UsageDay] = field(default_factory=list)
    revocation_plan: list[RevocationStep] = field(default_factory=list)
    exposures: list[str] = field(default_factory=list)


def trace_compromise(engine, node_id: str, since: datetime | None = None) -> CompromiseTrace:
    raise NotImplementedError("traceCompromise lands with issue 5")
