"""Spend by identity (contract): measured usage priced, attributed to owners.
Implemented in issue 3."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

GROUP_BYS = ("person", "team", "credential", "tool", "project", "model", "environment")


@dataclass
class SpendRow:
    key: str | None
    usd: float
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    unpriced_requests: int = 0
    unpriced_tokens: int = 0
    detail: dict = field(default_factory=dict)


def spend(engine, group_by: str, start: date | None = None, end: date | None = None) -> list[SpendRow]:
    raise NotImplementedError("spend lands with issue 3")
