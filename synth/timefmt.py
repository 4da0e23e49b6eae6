"""Timestamps in each vendor's own spelling, from unix seconds."""
from __future__ import annotations

import time


def iso(ts: int | None) -> str | None:
    """2026-11-14T23:00:00Z (GitHub, Graph, Anthropic)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_ms(ts: int | None) -> str | None:
    """2026-11-14T23:00:00.000Z (Okta, Google)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def iso_us(ts: int | None) -> str | None:
    """2026-11-14T23:00:00.000000Z (LiteLLM)."""
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(ts))


def aws(ts: int | None) -> str:
    """2026-11-14T23:00:00+00:00 (IAM credential report)."""
    return "N/A" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))
