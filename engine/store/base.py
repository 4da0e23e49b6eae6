"""The one store interface. Two implementations: embedded (SQLite) and Neo4j.

Analyses talk to this interface; the embedded store answers path queries from the
in-memory graph it loads, the Neo4j store pushes them down as Cypher. Both must
return the same answers on the same data (tests/test_parity.py).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

from ..model import LoadResult, Records


@dataclass
class NodeView:
    """A node as read back: every source's contribution merged."""
    id: str
    kind: str
    name: str | None
    active: bool
    properties: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    removed_at: str | None = None


@dataclass
class EdgeView:
    src: str
    dst: str
    kind: str
    properties: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    removed_at: str | None = None


@dataclass
class Reach:
    node_id: str
    depth: int
    access: str          # read | write | admin
    path: list[str]      # node ids from the source to node_id, both included
    edge_kinds: list[str] = field(default_factory=list)  # kinds along path, len(path)-1


@dataclass
class UsageRecord:
    """A stored usage row (see engine.model.UsageRow), with its source."""
    source: str
    day: date
    model: str
    credential_id: str | None
    project_id: str | None
    account_id: str | None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    requests: int
    vendor_usd: float | None
    properties: dict[str, Any]


@dataclass
class CostRecord:
    source: str
    day: date
    scope_id: str | None
    line_item: str | None
    usd: float
    properties: dict[str, Any]


@dataclass
class ActivityRecord:
    source: str
    day: date
    actor_id: str
    kind: str
    properties: dict[str, Any]


def resync_windows(records: Records) -> dict[str, tuple[str, str] | None]:
    """Day windows a complete re-sync replaces, per row table. Usage and cost history
    is windowed by the vendor: a re-sync replaces the days it covers and leaves older
    history alone (None: the load has no rows of that table, so nothing is removed)."""
    out: dict[str, tuple[str, str] | None] = {}
    for table, rows in (("usage", records.usage), ("costs", records.costs),
                        ("activity", records.activity)):
        out[table] = (min(r.day for r in rows).isoformat(),
                      max(r.day for r in rows).isoformat()) if rows else None
    return out


class StoreError(Exception):
    """A store could not be opened or written; the message says why, for a user."""


class Store(ABC):
    url: str

    # --- writes -------------------------------------------------------------
    @abstractmethod
    def load(self, records: Records, complete: bool) -> LoadResult:
        """Write one source's records in one transaction. When `complete`, whatever
        this source stated before and no longer states is marked removed (kept, with
        removed_at). A failure leaves the store exactly as it was."""

    # --- reads --------------------------------------------------------------
    @abstractmethod
    def generation(self) -> int:
        """Bumped by every committed load; readers use it to invalidate caches."""

    @abstractmethod
    def get_node(self, node_id: str, include_removed: bool = False) -> NodeView | None: ...

    @abstractmethod
    def list_nodes(self, kind: str | None, offset: int, limit: int,
                   include_removed: bool = False) -> tuple[list[NodeView], int]: ...

    @abstractmethod
    def iter_nodes(self, include_removed: bool = False) -> Iterable[NodeView]: ...

    @abstractmethod
    def iter_edges(self, include_removed: bool = False) -> Iterable[EdgeView]: ...

    @abstractmethod
    def usage(self, start: date | None = None, end: date | None = None) -> list[UsageRecord]: ...

    @abstractmethod
    def costs(self, start: date | None = None, end: date | None = None) -> list[CostRecord]: ...

    @abstractmethod
    def activity(self, start: date | None = None, end: date | None = None) -> list[ActivityRecord]: ...

    @abstractmethod
    def runs(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def settings(self) -> dict[str, dict[str, Any]]:
        """{source: {key: value}} of live settings sources stated (inventory prices...)."""

    # --- path queries (pushed down where the store can) ---------------------
    @abstractmethod
    def blast_radius(self, node_id: str, max_depth: int) -> list[Reach]:
        """Forward over traversable edges. Excludes the source itself."""

    @abstractmethod
    def who_can_reach(self, node_id: str, max_depth: int) -> list[Reach]:
        """Reverse over traversable edges; each path runs from the reacher to node_id."""

    def blast_radius_many(self, node_ids: list[str], max_depth: int) -> dict[str, list[Reach]]:
        """blast_radius of each node (a store may walk them together, e.g. Neo4j: one
        query per depth level for all of them)."""
        return {i: self.blast_radius(i, max_depth) for i in dict.fromkeys(node_ids)}

    # --- settings kept with the data (API tokens, etc.) ---------------------
    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str | None) -> None: ...

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
