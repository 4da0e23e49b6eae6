"""DRIFT SEAM: the drift summary alerts and `watch` send, from the history work's
`Engine.drift(from, to)` and `engine.history.timeline.drift_doc`.

Until that lands in a build, `latest_drift` returns None and alerts carry no drift
(the findings and anomalies still go out). Its shape, once wired: a dict with `key`
(the sync runs it spans, so each drift is sent once per destination), `summary`
(one line), and the drift document itself (capped lists).
"""
from __future__ import annotations

from typing import Any

DRIFT_ITEMS = 20     # ids per list in an alert; the counts say how many there were


def available(engine) -> bool:
    try:
        from engine.history.timeline import drift_doc  # noqa: F401
    except ImportError:
        return False
    return callable(getattr(engine, "drift", None))


def summary_line(counts: dict[str, Any]) -> str:
    parts = []
    for part, by_change in sorted((counts or {}).items()):
        if isinstance(by_change, dict):
            bits = [f"{n} {change}" for change, n in sorted(by_change.items()) if n]
            if bits:
                parts.append(f"{part}: " + ", ".join(bits))
        elif by_change:
            parts.append(f"{part}: {by_change}")
    return "; ".join(parts) or "no change"


def latest_drift(engine) -> dict[str, Any] | None:
    """What changed between the last two syncs, or None (no drift support in this build,
    fewer than two syncs, or nothing changed)."""
    if not available(engine):
        return None
    from engine.history.timeline import TimelineError, drift_doc
    try:
        doc = drift_doc(engine.drift(), limit=DRIFT_ITEMS)
    except TimelineError:
        return None
    if doc.get("from") is None:
        return None
    line = summary_line(doc.get("counts") or {})
    if line == "no change":
        return None
    key = f"{doc.get('fromRun') or doc.get('from')}->{doc.get('toRun') or doc.get('to')}"
    return {"key": key, "summary": line, **doc}
