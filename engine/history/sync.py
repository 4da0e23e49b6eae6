"""An ingest as one recorded sync run, and the summary that names what it changed.

`start` records the run before the first source is written (so a process killed
mid-ingest leaves it visible as incomplete); every load in between is observed at
the run's `at` (default: now; `burnpath ingest --synced-at` replays older snapshots);
`finish` records the outcome and what changed since the run before it.
A run is complete when every planned source loaded; until a later run completes,
readers are told the store may mix two snapshots (`mixed_state`).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from .statements import stamp

NAMED = 20      # identities named per list in a summary; the rest are counted


def version() -> str:
    try:
        from importlib.metadata import version as pkg_version
        return pkg_version("burnpath")
    except Exception:       # not installed (a source checkout): still a run
        return "unknown"


class SyncError(ValueError):
    """A sync run that cannot be recorded as asked (a user's mistake, said plainly)."""


def start(store, at: datetime | str | None = None) -> dict[str, Any]:
    now = stamp()
    when = stamp(at) if at is not None else now
    runs = store.sync_runs()
    if runs and at is not None and when < runs[-1]["at"]:
        raise SyncError(f"--synced-at {when} is before the last sync run ({runs[-1]['at']}); "
                        "history is recorded in order")
    run = {"id": uuid.uuid4().hex, "at": when, "started_at": now, "version": version(),
           "previous_at": runs[-1]["at"] if runs else None}
    store.begin_sync(run)
    return run


def finish(store, run: dict, results: list, error: str | None = None) -> dict[str, Any]:
    """Record the outcome. `results`: the LoadResults of the sources written."""
    from .drift import IDENTITY_KINDS, node_drift
    nodes, _ = store.statements(edges=False)
    drift = node_drift(nodes, run.get("previous_at"), run["at"])
    ident = lambda views: sorted(v.id for v in views if v.kind in IDENTITY_KINDS)   # noqa: E731
    added, removed = ident(drift.added), ident(drift.removed)
    changed = sorted(c.after.id for c in drift.changed if c.after.kind in IDENTITY_KINDS)
    warnings = [w for r in results for w in r.warnings]
    run.update({
        "finished_at": stamp(), "complete": error is None, "error": error,
        "sources": [r.source for r in results],
        "files": sum(r.files for r in results),
        "added": len(drift.added), "changed": len(drift.changed), "removed": len(drift.removed),
        "warnings": warnings,
        "summary": {"identities": {"added": added[:NAMED], "removed": removed[:NAMED],
                                   "changed": changed[:NAMED], "added_count": len(added),
                                   "removed_count": len(removed), "changed_count": len(changed)}},
    })
    store.finish_sync(run)
    return run


def summary_lines(run: dict) -> list[str]:
    """What `burnpath ingest` prints last: what changed, by id, or "no change"."""
    if not (run["added"] or run["changed"] or run["removed"]):
        return [f"sync run {run['id']}: no change"]
    lines = [f"sync run {run['id']}: {run['added']} added, {run['changed']} changed, "
             f"{run['removed']} removed (nodes)"]
    ident = run["summary"]["identities"]
    for what in ("added", "removed", "changed"):
        ids, total = ident[what], ident[f"{what}_count"]
        if total:
            more = f" ... and {total - len(ids)} more" if total > len(ids) else ""
            lines.append(f"  identities {what} ({total}): {', '.join(ids)}{more}")
    return lines


def mixed_state(store) -> dict[str, Any] | None:
    """None when the last sync run completed (or none was recorded, or it wrote
    nothing); else what a reader should be told: the store may hold a mix of two
    snapshots."""
    latest, last_complete = store.sync_tail()
    if latest is None or latest["complete"]:
        return None
    # A run that committed no source (it failed on its first, or has not written one
    # yet) left the store as it was: nothing is mixed.
    if not any(r.get("sync_id") == latest["id"] for r in store.runs()):
        return None
    return {"incompleteRun": latest["id"], "startedAt": latest["started_at"],
            "inProgress": latest["finished_at"] is None and not latest.get("error"),
            "lastCompleteRun": last_complete["id"] if last_complete else None,
            "message": "the latest ingest run did not complete: answers may mix the data of two "
                       "snapshots until a later run completes"}
