"""A read-only Store over the graph as it stood at one time.

Built from the base store's statements (engine.history.statements): the nodes and
edges in force at `at`, merged as the stores merge them, through the same
MemoryGraph build (derived status, linking, traversal indexes). Usage, cost and
activity rows are the base store's up to `at`'s day; settings are today's. Every
analysis (blast radius, findings, spend, trace) then runs on it unchanged, through
an Engine whose "now" is `at` (Engine.at caches one per generation and time).
"""
from __future__ import annotations

import threading
from datetime import date, datetime
from typing import Any, Iterable

from ..store.base import Store, StoreError
from .statements import edge_views_at, node_views_at


class HistoricalStore(Store):
    answers_in_database = False

    def __init__(self, base: Store, at: str):
        self.base = base
        self.at = at
        self.url = f"{base.url} as of {at}"
        self.day = datetime.fromisoformat(at).date()
        self._graph = None
        self._views = None
        self._lock = threading.Lock()

    # --- the graph then -----------------------------------------------------
    def _build(self):
        nodes, edges = self.base.statements()
        return node_views_at(nodes, self.at), edge_views_at(edges, self.at)

    def graph(self):
        with self._lock:
            if self._graph is None:
                from ..graph import MemoryGraph
                nodes, edges = self._build()
                day = self.last_usage_day()
                self._views = nodes
                self._graph = MemoryGraph(nodes, edges, [day] if day else [])
            return self._graph

    def load(self, records, complete):
        raise StoreError(f"{self.url}: the graph as it stood then is read-only")

    # The base store's generation (and its pin: an as-of answer inside a pinned request
    # belongs to the request's generation).
    def generation(self) -> int:
        return self.base.generation()

    def live_generation(self) -> int:
        return self.base.live_generation()

    def reads_at(self, generation: int) -> bool:
        return self.base.reads_at(generation)

    def get_node(self, node_id: str, include_removed: bool = False):
        return self.graph().node_view(node_id)

    def list_nodes(self, kind, offset, limit, include_removed=False):
        return self.graph().list_nodes(kind, offset, limit)

    def iter_nodes(self, include_removed: bool = False) -> Iterable:
        self.graph()
        return iter(self._views)

    def iter_edges(self, include_removed: bool = False) -> Iterable:
        return iter(self.graph().edges)

    def blast_radius(self, node_id: str, max_depth: int):
        from ..traversal import traverse
        return traverse(self.graph(), node_id, max_depth, reverse=False)

    def who_can_reach(self, node_id: str, max_depth: int):
        from ..traversal import traverse
        return traverse(self.graph(), node_id, max_depth, reverse=True)

    # --- rows up to then ----------------------------------------------------
    def _end(self, end: date | None) -> date:
        return self.day if end is None else min(end, self.day)

    def usage(self, start=None, end=None):
        return self.base.usage(start, self._end(end))

    def usage_columns(self, start=None, end=None):
        return self.base.usage_columns(start, self._end(end))

    def usage_totals(self, start=None, end=None):
        return self.base.usage_totals(start, self._end(end))

    def last_usage_day(self) -> date | None:
        days = [u.day for u in self.base.usage(None, self.day)]
        return max(days) if days else None

    def costs(self, start=None, end=None):
        return self.base.costs(start, self._end(end))

    def activity(self, start=None, end=None):
        return self.base.activity(start, self._end(end))

    def runs(self) -> list[dict[str, Any]]:
        return [r for r in self.base.runs() if r["started_at"] <= self.at]

    def sync_runs(self) -> list[dict[str, Any]]:
        return [r for r in self.base.sync_runs() if r["at"] <= self.at]

    def statements(self, node_ids=None, edge_srcs=None, edges: bool = True):
        return self.base.statements(node_ids, edge_srcs, edges)

    def node_seen(self, node_id: str):
        return self.base.node_seen(node_id)

    def sync_tail(self):
        runs = self.sync_runs()
        return (runs[-1] if runs else None, next((r for r in reversed(runs) if r["complete"]), None))

    def settings(self):
        return self.base.settings()

    def get_meta(self, key: str):
        return self.base.get_meta(key)

    def set_meta(self, key: str, value):
        raise StoreError(f"{self.url}: the graph as it stood then is read-only")
