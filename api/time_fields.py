"""GraphQL fields for time (issue 16): sync runs (`ingestRuns`), what changed
between two runs (`drift`), a node's first/last seen, and the `asOf` argument's
engine. Resolvers stay thin: the answers come from engine.history through Engine."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from .errors import BAD_INPUT, error
from .redact import redact, redact_text

if TYPE_CHECKING:
    from .schema import Node, PageInfo


def _ts(value) -> Optional[datetime]:
    from engine.derive import parse_ts
    return parse_ts(value) if value else None


def at_engine(engine, as_of: Optional[datetime]):
    """The engine answering `asOf` (itself when none was given)."""
    if as_of is None:
        return engine
    return engine.at(as_of)


AS_OF_HELP = ("Answer from the graph as it stood at this time (rebuilt from history; "
              "rules' \"now\" is this time).")


# --- sync runs -------------------------------------------------------------------

# (Named SyncRun in the schema: `IngestRun` is the ingest mutation's per-source load.)
@strawberry.type(description="One recorded ingest (sync) run: when, what it read, what it changed.")
class SyncRun:
    id: strawberry.ID = strawberry.field(description="Run id (pass to `drift(from:, to:)`).")
    at: datetime = strawberry.field(description="The time the run's data is observed at (history's clock).")
    started_at: datetime = strawberry.field(description="When the run started.")
    finished_at: Optional[datetime] = strawberry.field(description="When it ended; null: it never finished.")
    complete: bool = strawberry.field(description="Every source loaded. An incomplete run (failed, "
                                                  "interrupted or still going) may leave a mix of two "
                                                  "snapshots until a later run completes.")
    sources: list[str] = strawberry.field(description="Sources it loaded.")
    files: int = strawberry.field(description="Files it read.")
    added: int = strawberry.field(description="Nodes added since the run before.")
    changed: int = strawberry.field(description="Nodes whose status, owner, scopes, access or expiry changed.")
    removed: int = strawberry.field(description="Nodes removed since the run before.")
    warnings: list[str] = strawberry.field(description="What the sources warned about.")
    version: Optional[str] = strawberry.field(description="The burnpath version that ran it.")
    error: Optional[str] = strawberry.field(description="Why it did not complete, when it failed.")
    summary: JSON = strawberry.field(description="Identities added, removed and changed, by id (capped), with counts.")


def ingest_run_of(r: dict) -> SyncRun:
    return SyncRun(id=strawberry.ID(r["id"]), at=_ts(r["at"]), started_at=_ts(r["started_at"]),
                     finished_at=_ts(r.get("finished_at")), complete=r["complete"], sources=r["sources"],
                     files=r["files"], added=r["added"], changed=r["changed"], removed=r["removed"],
                     warnings=[redact_text(w) for w in r["warnings"]], version=r.get("version"),
                     error=redact_text(r["error"]) if r.get("error") else None,
                     summary=redact(r.get("summary") or {}))


@strawberry.type(description="A run with its cursor.")
class IngestRunEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: SyncRun = strawberry.field(description="The run.")


@strawberry.type(description="A page of ingest runs, newest first.")
class IngestRunConnection:
    nodes: list[SyncRun] = strawberry.field(description="The runs on this page.")
    edges: list[IngestRunEdge] = strawberry.field(description="The runs on this page with their cursors.")
    total_count: int = strawberry.field(description="Runs recorded, all pages.")
    page_info: Annotated["PageInfo", strawberry.lazy("api.schema")] = strawberry.field(
        description="Where this page sits.")


def ingest_runs(info: Info,
                first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
                after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
                ) -> IngestRunConnection:
    from .schema import page_info_of, window_of, engine_at, list_cursor
    runs = engine_at(info).sync_runs()
    page, start, _ = window_of(runs, lambda r: r["id"], first, after, info)
    edges = [IngestRunEdge(cursor=list_cursor(start + i, r["id"]), node=ingest_run_of(r))
             for i, r in enumerate(page)]
    return IngestRunConnection(nodes=[e.node for e in edges], edges=edges, total_count=len(runs),
                               page_info=page_info_of(start, len(page), len(runs), [e.cursor for e in edges]))


# --- drift -----------------------------------------------------------------------

@strawberry.type(description="One field that changed, with its value before and after.")
class FieldChange:
    field: str = strawberry.field(description="kind, active, or a property (status, owner, scopes, access, expires_at...).")
    before: Optional[JSON] = strawberry.field(description="The value at `from`.")
    after: Optional[JSON] = strawberry.field(description="The value at `to`.")


def _changes(fields: dict) -> list[FieldChange]:
    return [FieldChange(field=k, before=redact(b), after=redact(a)) for k, (b, a) in fields.items()]


@strawberry.type(description="A node added, removed or changed between two runs.")
class DriftNode:
    id: strawberry.ID = strawberry.field(description="Node id.")
    kind: str = strawberry.field(description="Node kind.")
    name: Optional[str] = strawberry.field(description="Its name.")
    active: bool = strawberry.field(description="Active as its sources state it (at `to`; removed: at `from`).")
    changes: list[FieldChange] = strawberry.field(description="What changed (empty for added or removed).")


@strawberry.type(description="An edge added, removed or changed between two runs.")
class DriftEdge:
    source: strawberry.ID = strawberry.field(description="Edge source node id.")
    target: strawberry.ID = strawberry.field(description="Edge target node id.")
    kind: str = strawberry.field(description="Edge kind.")
    changes: list[FieldChange] = strawberry.field(description="What changed (access, scopes...).")


@strawberry.type(description="The node a drifted finding is about.")
class DriftSubject:
    id: strawberry.ID = strawberry.field(description="Node id.")


@strawberry.type(description="A finding that appeared, resolved or changed severity between two runs.")
class DriftFinding:
    id: strawberry.ID = strawberry.field(description="Finding id.")
    rule: str = strawberry.field(description="Rule id.")
    title: str = strawberry.field(description="One-line summary.")
    severity: str = strawberry.field(description="critical, high, medium or low.")
    subject: DriftSubject = strawberry.field(description="What it is about.")
    first_seen: Optional[datetime] = strawberry.field(
        description="The first of the window's runs (up to 12, ending at `to`) where it was present.")
    last_seen: Optional[datetime] = strawberry.field(description="The last of those runs where it was present.")
    changes: list[FieldChange] = strawberry.field(description="What changed (severity).")


@strawberry.type(description="Nodes, edges and findings of one side of a drift.")
class DriftSet:
    nodes: list[DriftNode] = strawberry.field(description="Nodes (identities, grants, credentials, ...).")
    edges: list[DriftEdge] = strawberry.field(description="Edges.")
    findings: list[DriftFinding] = strawberry.field(description="Findings.")


@strawberry.type(description="What changed between two sync runs (or times).")
class Drift:
    from_: Optional[datetime] = strawberry.field(name="from", description="The earlier time (null: before any data).")
    to: datetime = strawberry.field(description="The later time.")
    from_run: Optional[str] = strawberry.field(description="The run at `from`, when there is one.")
    to_run: Optional[str] = strawberry.field(description="The run at `to`, when there is one.")
    added: DriftSet = strawberry.field(description="In the graph at `to`, not at `from`.")
    removed: DriftSet = strawberry.field(description="At `from`, no longer at `to`.")
    changed: DriftSet = strawberry.field(description="At both, with a change that matters.")


def _drift_set(d, part: str) -> DriftSet:
    def node(v, fields=None):
        return DriftNode(id=strawberry.ID(v.id), kind=v.kind, name=redact_text(v.name) if v.name else None,
                         active=v.active, changes=_changes(fields or {}))

    def edge(e, fields=None):
        return DriftEdge(source=strawberry.ID(e.src), target=strawberry.ID(e.dst), kind=e.kind,
                         changes=_changes(fields or {}))

    def finding(f, fields=None):
        first, last = d.findings.seen.get(f.id, (None, None))
        return DriftFinding(id=strawberry.ID(f.id), rule=f.rule, title=redact_text(f.title), severity=f.severity,
                            subject=DriftSubject(id=strawberry.ID(f.subject_id)), first_seen=_ts(first),
                            last_seen=_ts(last), changes=_changes(fields or {}))

    def items(elements, make):
        got = getattr(elements, part)
        if part == "changed":
            return [make(c.after, c.fields) for c in got]
        return [make(v) for v in got]
    return DriftSet(nodes=items(d.nodes, node), edges=items(d.edges, edge), findings=items(d.findings, finding))


def drift(info: Info,
          from_: Annotated[Optional[str], strawberry.argument(
              name="from", description="A run id or a DateTime (default: the run before the last).")] = None,
          to: Annotated[Optional[str], strawberry.argument(
              description="A run id or a DateTime (default: the last run).")] = None,
          ) -> Drift:
    from engine.history.timeline import TimelineError
    from .schema import engine_at
    try:
        d = engine_at(info).drift(from_, to)
    except TimelineError as exc:
        raise error(str(exc), BAD_INPUT) from exc
    return Drift(from_=_ts(d.start), to=_ts(d.end), from_run=d.start_run, to_run=d.end_run,
                 added=_drift_set(d, "added"), removed=_drift_set(d, "removed"),
                 changed=_drift_set(d, "changed"))


# --- a node's time ---------------------------------------------------------------

def seen_of(engine, node_id: str, field: str) -> Optional[datetime]:
    seen = engine.node_seen(node_id) or {}
    return _ts(seen.get(field))


def mixed_state_extension(engine) -> Optional[dict[str, Any]]:
    """What a response's `extensions.ingest` says when the last ingest did not complete."""
    try:
        return engine.mixed_state()
    except Exception:       # a store without sync runs: nothing to flag
        return None


def check_as_of(as_of: Optional[datetime]) -> None:
    if as_of is not None and as_of.year < 1970:
        raise error(f"asOf {as_of.isoformat()} is before any data could be", BAD_INPUT)
