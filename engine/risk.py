"""Explainable 0-100 risk scores (formula documented in queries/risk.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RiskFactor:
    reason: str
    weight: float
    detail: Any = None


@dataclass
class RiskScore:
    score: float
    factors: list[RiskFactor] = field(default_factory=list)


def risk_of(engine, node_id: str) -> RiskScore:
    return RiskScore(score=0.0, factors=[])
