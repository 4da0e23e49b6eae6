"""The engine's one entry point for callers (GraphQL, CLI): a store plus the analyses.

Resolvers stay thin by calling methods here; each method delegates to the module
that owns the question (traversal, spend, findings, trace, risk).
"""
from __future__ import annotations

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
               on_written=None) -> list[LoadResult]:
        """Parse and write source by source, each in one transaction, so memory is
        bounded by the largest two sources rather than the whole snapshot; on a large
        snapshot the next source is parsed in a worker process while this one is written
        (ingest.pipeline; `parallel` forces that on or off). A bad file stops the ingest
        with nothing of its source written; sources already written stay (the error
        carries their results as `loaded`). `on_written(result)` hears of each source
        as it is committed (the CLI's progress display)."""
        from ingest.pipeline import ingest_loads
        from ingest.snapshot import plan
        results = ingest_loads(self.store, plan(paths), parallel, on_written)
        if any(r.warnings for r in results):
            # An unpriced model an inventory `prices:` (this run's or an earlier one's) prices is not.
            from .pricing import PriceBook, still_unpriced
            book = PriceBook.for_store(self.store)
            for r in results:
                r.warnings = still_unpriced(r.warnings, book)
        # Build the new generation's graph now (the embedded store caches it beside the
        # file), so the next `serve` or query maps it in instead of rebuilding it.
        prepare = getattr(self.store, "prepare_graph", None)
        if results and prepare is not None:
            prepare()
        return results
