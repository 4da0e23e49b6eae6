"""Findings: the rule pack in queries/ evaluated over the graph. Implemented in issue 5."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Finding:
    id: str                 # stable: rule + subject (+ day for per-day rules)
    rule: str
    title: str
    severity: str           # critical | high | medium | low
    subject_id: str
    frameworks: list[str]
    evidence: dict[str, Any] = field(default_factory=dict)


def findings(engine, rule: str | None = None, severity: str | None = None,
             subject: str | None = None) -> list[Finding]:
    raise NotImplementedError("findings land with issue 5")
