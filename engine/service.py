"""The engine's one entry point for callers (GraphQL, CLI): a store plus the analyses.

Resolvers stay thin by calling methods here; each method delegates to the module
that owns the question (traversal, spend, findings, trace, risk).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from .generation_cache import GenerationCache
from .model import LoadResult, NodeKind
from .store import Store, open_store
from .store.base import NodeView, Reach
from .traversal import NodeNotFound


@dataclass
class BlastRadiusResult:
    source: NodeView
    max_depth: int
    reachable: list[Reach]
    spend_exposure_usd_per_hour: float | None = None
    exposure_detail: list[dict[str, Any]] = field(default_factory=list)

    def of_kind(self, engine: "Engine", kind: NodeKind) -> list[Reach]:
        out = []
        for r in self.reachable:
            v = engine.node(r.node_id)
            if v is not None and v.kind == kind.value:
                out.append(r)
        return out


class Engine:
    def __init__(self, store: Store, as_of: datetime | None = None,
                 rule_dirs: list[str | Path] | None = None):
        self.store = store
        self._as_of = as_of
        # Organisation rule directories (--rules) evaluated beside the bundled pack.
        self.rule_dirs = [str(d) for d in (rule_dirs or [])]
        self._cache = GenerationCache()
        self._at_engines: dict[tuple, "Engine"] = {}   # Engine.at, per (generation, time, data_now)
        self._at_lock = threading.Lock()
        self.last_sync: dict[str, Any] | None = None              # the sync run ingest recorded

    @classmethod
    def open(cls, url: str | None = None, as_of: datetime | None = None,
             rule_dirs: list[str | Path] | None = None) -> "Engine":
        return cls(open_store(url), as_of, rule_dirs)

    def close(self) -> None:
        self.store.close()

    # Results derived from the whole graph (findings, risk, spend) are cached per
    # generation, each under the generation it was computed from (thread-safe).
    def cached(self, key: str, compute):
        return self._cache.get(self.store, key, compute)

    def clear_cache(self) -> None:
        self._cache.clear()

    @contextmanager
    def pinned(self) -> Iterator[int]:
        """Read one data generation until the block ends (a GraphQL request): the
        store's read snapshot where it has one, one in-memory graph, and cached results
        of that generation only. Yields the generation; `consistent(gen)` afterwards
        says whether every read really saw it."""
        with self.store.pin() as pin:
            yield pin.generation

    def consistent(self, generation: int) -> bool:
        return self.store.reads_at(generation)

    def graph(self):
        """The in-memory graph (embedded store, or a Neo4j store's loaded copy)."""
        return self.store.graph()

    def preload(self) -> None:
        """Load what requests will need before they come: the embedded store's graph.
        A store answering in its database (Neo4j) has nothing to load."""
        if not self.store.answers_in_database:
            self.graph()

    def node_count(self) -> int:
        if self.store.answers_in_database:
            return self.store.list_nodes(None, 0, 0)[1]
        return len(self.graph())

    @property
    def as_of(self) -> datetime | None:
        if self._as_of is not None:
            return self._as_of
        stored = getattr(self.store, "data_as_of", None)   # a store that keeps "now" (Neo4j)
        if stored is not None:
            return stored()
        return self.graph().as_of

    # --- nodes --------------------------------------------------------------
    def node(self, node_id: str) -> NodeView | None:
        return self.store.get_node(node_id)

    def require(self, node_id: str) -> NodeView:
        view = self.node(node_id)
        if view is None:
            raise NodeNotFound(node_id)
        return view

    def nodes(self, kind: str | None, offset: int, limit: int) -> tuple[list[NodeView], int]:
        return self.store.list_nodes(kind, offset, limit)

    def owners(self, node_id: str) -> list[NodeView]:
        if self.store.answers_in_database:
            # The rule facts resolve owners from Cypher (cached per data generation).
            from .findings import facts_of
            found = facts_of(self).owners(node_id)
        else:
            from .ownership import owners_of
            found = owners_of(self, node_id)
        return [v for v in (self.node(o) for o in found) if v is not None]

    # --- traversal ----------------------------------------------------------
    def blast_radius(self, node_id: str, max_depth: int = 8) -> BlastRadiusResult:
        source = self.require(node_id)
        reach = self.store.blast_radius(node_id, max_depth)
        result = BlastRadiusResult(source=source, max_depth=max_depth, reachable=reach)
        from .exposure import spend_exposure
        result.spend_exposure_usd_per_hour, result.exposure_detail = spend_exposure(self, result)
        return result

    def who_can_reach(self, node_id: str, max_depth: int = 8) -> list[Reach]:
        self.require(node_id)
        return self.store.who_can_reach(node_id, max_depth)

    # --- ingest -------------------------------------------------------------
    def ingest(self, paths: list[str | Path], parallel: bool | None = None,
               wait: float | None = None, on_written=None,
               synced_at: datetime | str | None = None) -> list[LoadResult]:
        """Parse and write source by source, each in one transaction, so memory is
        bounded by the largest two sources rather than the whole snapshot; on a large
        snapshot the next source is parsed in a worker process while this one is written
        (ingest.pipeline; `parallel` forces that on or off). A bad file stops the ingest
        with nothing of its source written; sources already written stay (the error
        carries their results as `loaded`). `on_written(result)` hears of each source
        as it is committed (the CLI's progress display).

        The whole ingest holds the store's ingest lock (engine.store.ingest_lock): a
        second ingest into the same store waits up to `wait` seconds, then raises
        IngestLocked naming the holder, so two snapshots never interleave. Inside the
        lock the ingest is one sync run (engine.history.sync), observed at `synced_at`
        (default now); `last_sync` holds it afterwards, with what changed."""
        from ingest.pipeline import ingest_loads
        from ingest.snapshot import plan
        from .history import sync
        loads = plan(paths)
        with self.store.ingest_lock(wait):
            run = sync.start(self.store, synced_at)
            try:
                results = ingest_loads(self.store, loads, parallel, on_written)
            except BaseException as exc:
                self.store.sync = None
                loaded = getattr(exc, "loaded", None) or []
                try:
                    self.last_sync = sync.finish(self.store, run, loaded,
                                                 error=str(exc) or type(exc).__name__)
                except Exception:       # the ingest's own error is the one to report
                    pass
                raise
            if any(r.warnings for r in results):
                # An unpriced model an inventory `prices:` (this run's or an earlier one's) prices is not.
                from .pricing import PriceBook, still_unpriced
                book = PriceBook.for_store(self.store)
                for r in results:
                    r.warnings = still_unpriced(r.warnings, book)
            self.last_sync = sync.finish(self.store, run, results)
            # Build the new generation's graph now (the embedded store caches it beside
            # the file), so the next `serve` or query maps it in instead of rebuilding it.
            prepare = getattr(self.store, "prepare_graph", None)
            if results and prepare is not None:
                prepare()
        return results

    def load_records(self, loads: list[tuple[Any, bool]],
                     synced_at: datetime | str | None = None) -> list[LoadResult]:
        """Write already-parsed Records (each with its `complete` flag) as one sync
        run, as `ingest` writes a snapshot's sources."""
        from .history import sync
        run = sync.start(self.store, synced_at)
        results: list[LoadResult] = []
        try:
            for records, complete in loads:
                results.append(self.store.load(records, complete))
        except BaseException as exc:
            self.store.sync = None
            self.last_sync = sync.finish(self.store, run, results, error=str(exc) or type(exc).__name__)
            raise
        self.last_sync = sync.finish(self.store, run, results)
        return results

    # --- time (engine.history) ----------------------------------------------
    AT_CACHE = 4      # as-of engines kept (each holds a graph of its time)

    def at(self, when: datetime | str | None, data_now: bool = False) -> "Engine":
        """This engine, answering from the graph as it stood at `when` (rules' "now"
        is `when`, or with `data_now` the latest timestamp in the data then, as
        without --as-of). At or after the latest load, the current graph; before it,
        one rebuilt from history (engine.history.asof), cached per (generation, time)."""
        if when is None:
            return self
        from .history.asof import HistoricalStore
        from .history.statements import stamp
        t = stamp(when)
        when_dt = datetime.fromisoformat(t)
        gen = self.store.generation()
        now = None if data_now else when_dt
        with self._at_lock:
            hit = self._at_engines.get((gen, t, data_now))
            if hit is not None:
                return hit
            loads = [r["started_at"] for r in self.store.runs()]
            # The current graph answers for a time at or after the latest load, unless
            # usage recorded for days after that time must be left out.
            if loads and t >= max(loads) and not self._usage_after(when_dt.date()):
                eng = self if data_now and self._as_of is None else Engine(
                    self.store, as_of=now, rule_dirs=self.rule_dirs)
            else:
                built = next((e.store for k, e in self._at_engines.items() if k[:2] == (gen, t)), None)
                eng = Engine(built or HistoricalStore(self.store, t), as_of=now, rule_dirs=self.rule_dirs)
            for key in [k for k in self._at_engines if k[0] != gen]:
                del self._at_engines[key]
            while len(self._at_engines) >= self.AT_CACHE:
                del self._at_engines[next(iter(self._at_engines))]
            self._at_engines[(gen, t, data_now)] = eng
            return eng

    def _usage_after(self, day) -> bool:
        last = getattr(self.store, "last_usage_day", None)
        if last is not None:
            latest = last()
        else:
            days = self.store.usage_columns(day, None).day
            latest = date.fromisoformat(max(days)) if len(days) else None
        return latest is not None and latest > day

    def sync_runs(self) -> list[dict[str, Any]]:
        """Recorded sync runs, newest first."""
        return list(reversed(self.store.sync_runs()))

    def mixed_state(self) -> dict[str, Any] | None:
        """What readers must be told when the last ingest did not complete (else None)."""
        from .history.sync import mixed_state
        return mixed_state(self.store)

    def node_seen(self, node_id: str) -> dict[str, Any] | None:
        """{first_seen, last_seen, removed_at, versions} of a node."""
        return self.store.node_seen(node_id)

    def drift(self, frm: str | datetime | None = None, to: str | datetime | None = None,
              findings: bool = True):
        """What changed between two sync runs or times (engine.history.drift.Drift).
        `frm`/`to`: a sync run id (or a unique prefix of one) or a time; defaults: the
        run before the last, and the last."""
        from .history.timeline import drift
        return drift(self, frm, to, findings=findings)
