"""The one store interface. Two implementations: embedded (SQLite) and Neo4j.

Analyses talk to this interface; the embedded store answers path queries from the
in-memory graph it loads, the Neo4j store pushes them down as Cypher. Both must
return the same answers on the same data (tests/test_parity.py).
"""
from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..model import LoadResult, Records


@dataclass
class NodeView:
    """A node as read back: every source's contribution merged."""
    id: str
    kind: str
    name: str | None
    # None only when the source lists the node without its status (properties
    # `status_known: false`, e.g. a Graph user listing without `accountEnabled`).
    active: bool | None
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


def cache_write_tokens(properties: dict[str, Any] | None) -> int:
    """A usage row's cache-write tokens (the `cache_creation_input_tokens` property),
    read exactly as engine.spend.priced_usage reads it for pricing."""
    return int(properties.get("cache_creation_input_tokens") or 0) if properties else 0


@dataclass(frozen=True)
class UsageTotal:
    """Usage rows summed per (source, credential, project, account, model, vendor):
    what spend prices and attributes (prices depend on the model only, not the day).

    `vendor` groups the rows that carry the vendor's own USD figure apart from the
    ones priced from tokens. The `priced_*` sums are the per-row quantities
    engine.pricing.Price.usd prices, each clamped per row as it clamps them
    (uncached = max(input - cached - written, 0), ...), so pricing a total equals
    the sum of pricing its rows up to float rounding. `vendor_usd` is math.fsum of
    the rows' vendor figures (exactly rounded, so independent of row order; None
    when no row has one)."""
    source: str
    model: str
    credential_id: str | None
    project_id: str | None
    account_id: str | None
    vendor: bool
    rows: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    requests: int
    priced_uncached: int
    priced_cached: int
    priced_written: int
    priced_output: int
    vendor_usd: float | None
    # Rows whose vendor report states no request count (`requests_known: false`):
    # their `requests` 0 is unknown, not zero.
    requests_unknown: int = 0

    def sort_key(self) -> tuple:
        return tuple("" if v is None else v for v in (
            self.source, self.model, self.credential_id, self.project_id, self.account_id)) + (self.vendor,)


@dataclass
class UsageColumns:
    """Usage rows as parallel columns, in Store.usage()'s order (Store.usage_columns):
    what a bulk reader (rule facts) needs without one Python object per row.
    `cache_write` is each row's raw `cache_creation_input_tokens` property (None when
    absent); `properties` holds each row's properties as a dict or as its JSON text,
    decoded by `parse` on demand (record(i))."""
    source: Sequence[str]
    day: Sequence[str]                  # ISO dates
    model: Sequence[str]
    credential_id: Sequence[str | None]
    project_id: Sequence[str | None]
    account_id: Sequence[str | None]
    input_tokens: Sequence[int]
    output_tokens: Sequence[int]
    cached_input_tokens: Sequence[int]
    requests: Sequence[int]
    vendor_usd: Sequence[float | None]
    cache_write: Sequence[Any]
    properties: Sequence[Any]
    parse: Callable[[str], Any] | None = None

    def __len__(self) -> int:
        return len(self.day)

    def props(self, i: int) -> dict[str, Any]:
        p = self.properties[i]
        if isinstance(p, str):
            return (self.parse or json.loads)(p)
        return p

    def record(self, i: int, day: date | None = None) -> UsageRecord:
        return UsageRecord(self.source[i], day or date.fromisoformat(self.day[i]), self.model[i],
                           self.credential_id[i], self.project_id[i], self.account_id[i],
                           self.input_tokens[i], self.output_tokens[i], self.cached_input_tokens[i],
                           self.requests[i], self.vendor_usd[i], self.props(i))


def usage_columns_of(rows: Iterable[UsageRecord]) -> UsageColumns:
    """UsageColumns of usage rows (any store's fallback)."""
    rows = list(rows)
    cols = [[getattr(r, f) for r in rows] for f in (
        "source", "day", "model", "credential_id", "project_id", "account_id", "input_tokens",
        "output_tokens", "cached_input_tokens", "requests", "vendor_usd")]
    cols[1] = [d.isoformat() for d in cols[1]]
    props = [r.properties for r in rows]
    return UsageColumns(*cols, [p.get("cache_creation_input_tokens") if p else None for p in props], props)


def usage_totals_of(rows: Iterable[UsageRecord]) -> list[UsageTotal]:
    """UsageTotals of usage rows, in Python (any store's fallback; the reference the
    pushed-down implementations must equal)."""
    import math
    groups: dict[tuple, list] = {}
    for r in rows:
        vendor = r.vendor_usd is not None
        key = (r.source, r.model, r.credential_id, r.project_id, r.account_id, vendor)
        g = groups.get(key)
        if g is None:
            g = groups[key] = [0] * 9 + [[], 0]
        cached = max(int(r.cached_input_tokens or 0), 0)
        written = max(cache_write_tokens(r.properties), 0)
        g[0] += 1
        g[1] += r.input_tokens
        g[2] += r.output_tokens
        g[3] += r.cached_input_tokens
        g[4] += r.requests
        g[5] += max(int(r.input_tokens or 0) - cached - written, 0)
        g[6] += cached
        g[7] += written
        g[8] += max(int(r.output_tokens or 0), 0)
        if vendor:
            g[9].append(float(r.vendor_usd))
        if r.properties and r.properties.get("requests_known") is False:
            g[10] += 1
    out = [UsageTotal(*key[:5], key[5], *g[:9], math.fsum(g[9]) if key[5] else None, g[10])
           for key, g in groups.items()]
    out.sort(key=UsageTotal.sort_key)
    return out


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


@dataclass
class Pin:
    """What one reader (a request's thread) is held to: the generation it reads and,
    once asked for, that generation's in-memory graph."""
    generation: int
    graph: Any = None


class StoreError(Exception):
    """A store could not be opened or written; the message says why, for a user."""


class Store(ABC):
    url: str
    # True when the store answers graph questions itself (Neo4j, in Cypher): nothing
    # should load the whole graph into memory ahead of requests.
    answers_in_database: bool = False

    # --- writes -------------------------------------------------------------
    @abstractmethod
    def load(self, records: Records, complete: bool) -> LoadResult:
        """Write one source's records in one transaction. When `complete`, whatever
        this source stated before and no longer states is marked removed (kept, with
        removed_at). A failure leaves the store exactly as it was."""

    # --- reads --------------------------------------------------------------
    def generation(self) -> int:
        """Bumped by every committed load; readers use it to invalidate caches. Inside
        `pin()` it is the pinned generation, whatever has committed since."""
        pin = self.pinned()
        return pin.generation if pin is not None else self.live_generation()

    @abstractmethod
    def live_generation(self) -> int:
        """The generation a read made now by this thread sees (inside the embedded
        store's read snapshot, the snapshot's own), never a remembered value."""

    # --- one generation per reader ------------------------------------------
    # A GraphQL request reads one data generation from start to end: it runs inside
    # `pin()`, which holds the store's read snapshot where the store has one (SQLite)
    # and keeps this thread on one in-memory graph; `reads_at` says afterwards whether
    # every read really saw the pinned generation (a store without a snapshot spanning
    # several queries, Neo4j, answers False when a load committed meanwhile).
    def pinned(self) -> "Pin | None":
        local = self.__dict__.get("_pin_local")
        return getattr(local, "pin", None) if local is not None else None

    @contextmanager
    def pin(self) -> Iterator["Pin"]:
        """Pin this thread to one generation until the block ends (re-entrant)."""
        current = self.pinned()
        if current is not None:
            yield current
            return
        local = self.__dict__.setdefault("_pin_local", threading.local())
        with self.read_snapshot():
            local.pin = Pin(self.live_generation())
            try:
                yield local.pin
            finally:
                local.pin = None

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside see one committed state where the store can hold one."""
        yield

    def reads_at(self, generation: int) -> bool:
        """Whether reads made since `generation` was read all saw that generation."""
        return self.live_generation() == generation

    @abstractmethod
    def get_node(self, node_id: str, include_removed: bool = False) -> NodeView | None: ...

    @abstractmethod
    def list_nodes(self, kind: str | None, offset: int, limit: int,
                   include_removed: bool = False) -> tuple[list[NodeView], int]: ...

    def first_index_after(self, kind: str | None, after_id: str) -> int:
        """How many live nodes (of `kind`) list_nodes puts at or before `after_id`:
        the offset a paging cursor stands for."""
        return self.graph().first_index_after(kind, after_id)

    def search_nodes(self, query: str, kind: str | None, after_id: str | None,
                     limit: int) -> tuple[list[NodeView], int]:
        """Live nodes (of `kind`) matching `query` (engine.search), in id order after
        `after_id`: (up to `limit` of them, how many match in all)."""
        from ..search import search_graph
        return search_graph(self.graph(), query, kind, after_id, limit)

    @abstractmethod
    def iter_nodes(self, include_removed: bool = False) -> Iterable[NodeView]: ...

    @abstractmethod
    def iter_edges(self, include_removed: bool = False) -> Iterable[EdgeView]: ...

    @abstractmethod
    def usage(self, start: date | None = None, end: date | None = None) -> list[UsageRecord]: ...

    def usage_columns(self, start: date | None = None, end: date | None = None) -> UsageColumns:
        """usage() as columns, same rows in the same order (a store may read them
        without building a record per row, e.g. SQLite: one query straight to columns)."""
        return usage_columns_of(self.usage(start, end))

    def usage_totals(self, start: date | None = None, end: date | None = None) -> list[UsageTotal]:
        """Usage in the window summed per UsageTotal key, sorted by UsageTotal.sort_key
        (a store may aggregate in the database, e.g. Neo4j: one Cypher query)."""
        return usage_totals_of(self.usage(start, end))

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
