"""The embedded store: one SQLite file (WAL) is the durable truth.

Every source's statement about a node or edge is kept as its own row, so that a
source's re-sync can mark only what *it* no longer states as removed, and so that
a node several sources describe stays until the last of them lets go.
Path queries are answered from the in-memory graph (engine.graph) loaded from here.
"""
from __future__ import annotations

import gc
import json
import operator
import sqlite3
import threading
import weakref
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..model import LoadResult, Records
from .base import (ActivityRecord, CostRecord, EdgeView, NodeView, Reach, Store, StoreError,
                   UsageColumns, UsageRecord)

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  complete INTEGER NOT NULL, counts TEXT, removed TEXT, files TEXT);
CREATE TABLE IF NOT EXISTS node_src (
  id TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, name TEXT, active INTEGER,
  properties TEXT NOT NULL, enrichment INTEGER NOT NULL DEFAULT 0, run_id TEXT NOT NULL,
  removed_at TEXT,
  PRIMARY KEY (id, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edge_src (
  src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, source TEXT NOT NULL,
  properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (src, kind, dst, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage (
  source TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
  credential_id TEXT, project_id TEXT, account_id TEXT,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, vendor_usd REAL,
  properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS costs (
  source TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, scope_id TEXT, line_item TEXT,
  usd REAL NOT NULL, properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
  source TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, run_id TEXT NOT NULL,
  removed_at TEXT, PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activity (
  source TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, actor_id TEXT NOT NULL,
  kind TEXT NOT NULL, properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (source, key)) WITHOUT ROWID;
"""
# Secondary indexes: a first ingest into an empty store builds them once at its end
# (sqlite_load.bulk_indexes); opening a store recreates any that are missing.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS node_src_kind ON node_src(kind)",
    "CREATE INDEX IF NOT EXISTS edge_src_dst ON edge_src(dst)",
    "CREATE INDEX IF NOT EXISTS usage_day ON usage(day)",
)
SCHEMA = TABLES + "".join(f"{sql};\n" for sql in INDEXES)

PAGE_SIZE = 65536

# Later sources win when merging properties; inventory is the humans' word and wins last.
SOURCE_PRIORITY = {"inventory": 100}


_ORJSON_OPTS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS)


def dumps_json(value: Any) -> str:
    # orjson first (ten times faster at millions of records); the stdlib for what it
    # refuses (integers past 64 bits, NaN), so stored text stays what json.dumps wrote.
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTS).decode()
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


_dumps = dumps_json


def loads_json(text: str) -> Any:
    if text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)   # NaN / Infinity written by older versions


_loads = loads_json


def _day_source_order(days: tuple, sources: tuple) -> list[int] | None:
    """The permutation that sorts rows stably by (day, source) text, as SQLite orders
    them (BINARY collation: UTF-8 bytes, the same order as Python's code points);
    None when they are in that order already."""
    import numpy as np
    day_rank = {d: i for i, d in enumerate(sorted(set(days)))}
    source_rank = {s: i for i, s in enumerate(sorted(set(sources)))}
    n = len(days)
    key = (np.fromiter(map(day_rank.__getitem__, days), dtype=np.int64, count=n) * len(source_rank)
           + np.fromiter(map(source_rank.__getitem__, sources), dtype=np.int64, count=n))
    if n < 2 or bool(np.all(key[1:] >= key[:-1])):
        return None
    return np.argsort(key, kind="stable").tolist()


def _key(parts: tuple) -> str:
    return "\x1f".join(parts)


def row_active(active: int | None, removed_at: str | None, props: dict[str, Any]) -> bool | None:
    """A one-source node's `active`: the source's word (None: it says nothing, so
    active), except that a node listed without its status (`status_known: false`) is
    unknown (None), not active."""
    if removed_at:
        return False
    if active is None:
        return None if props.get("status_known") is False else True
    return active != 0


def merge_contributions(rows: list[tuple]) -> NodeView:
    """rows: (id, source, kind, name, active, properties_json, removed_at, enrichment),
    one per source."""
    if len(rows) == 1:
        # Most nodes have one source: no sorting, no merging.
        r = rows[0]
        removed_at = r[6]
        props = _loads(r[5])
        return NodeView(id=r[0], kind=r[2], name=r[3] or None, active=row_active(r[4], removed_at, props),
                        properties=props, sources=[r[1]], removed_at=removed_at)
    rows = sorted(rows, key=lambda r: (SOURCE_PRIORITY.get(r[1], 0), r[1]))
    live = [r for r in rows if r[6] is None]
    # Enrichment alone does not keep alive a node its real source has removed.
    if live and all(r[7] for r in live) and any(not r[7] for r in rows):
        live = []
    use = live or rows
    props: dict[str, Any] = {}
    name = None
    kind = use[-1][2]
    inactive = False
    for r in use:
        props.update(_loads(r[5]))
        if r[3]:
            name = r[3]
        if r[4] == 0:
            inactive = True
    removed_at = None if live else max(r[6] for r in rows if r[6] is not None)
    active = not inactive and not removed_at
    if active and all(r[4] is None for r in use) and props.get("status_known") is False:
        active = None
    return NodeView(id=rows[0][0], kind=kind, name=name, active=active,
                    properties=props, sources=[r[1] for r in use], removed_at=removed_at)


# (edge rows, the store key and read-only connections are shared with the process that
# reads edge rows for a graph build: engine.graph_rows, which imports no more than it must)
from ..graph_rows import EDGE_ROWS_SQL, edge_rows_sql, graph_key_of  # noqa: E402

NODE_ROWS_SQL = ("SELECT id, source, kind, name, active, properties, removed_at, enrichment "
                 "FROM node_src ORDER BY id, source")
def _fetch_all(cursor, size: int = 20000):
    """Rows in large batches (far fewer round trips into the sqlite3 module)."""
    while True:
        rows = cursor.fetchmany(size)
        if not rows:
            return
        yield from rows


class SQLiteStore(Store):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.url = str(self.path)
        self._local = threading.local()
        self._graph = None
        self._graph_gen = -1
        self._graph_lock = threading.Lock()
        self._previous_graph = lambda: None   # weak reference to the outgoing generation's graph
        self._previous_gen = -1
        # The built graph is cached beside the file per generation (engine.graph_cache).
        self.use_graph_cache = str(path) != ":memory:"
        self.graph_source: str | None = None     # "cache" or "rows": how the graph was last loaded
        self.graph_timings: dict = {}
        self.build_phases: dict | None = None
        # Read the edge rows in a child process during a build: None decides by size.
        self.parallel_build: bool | None = None
        # (sync run id, observed-at) while an ingest records a sync run (engine.history.sync)
        self.sync: tuple[str, str] | None = None
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(f"{self.path}: directory {self.path.parent} does not exist")
            conn = self._conn()
            conn.executescript(SCHEMA)
            from .sqlite_history import ensure
            ensure(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a burnpath database ({exc})") from exc
        # What killed processes left beside this store (or in the spool) goes now.
        from .leftovers import sweep
        sweep(self.path)

    # One connection per thread: the API serves from a thread pool.
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            # (A new file only: an existing one keeps its page size.) Large pages make
            # bulk inserts ~20% cheaper; reads of whole tables are no slower.
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Bulk loads of a million random-keyed rows thrash a small page cache.
            conn.execute("PRAGMA cache_size=-262144")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
        return conn

    def ingest_lock(self, wait: float | None = None):
        if str(self.path) == ":memory:":
            return super().ingest_lock(wait)
        from .ingest_lock import file_lock
        return file_lock(self.path, wait)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- writes -------------------------------------------------------------
    # The write path lives in engine.store.sqlite_load: `prepare` (pure: rows to write)
    # and `write` (one transaction), split so ingest.pipeline can prepare the next
    # source in a worker process while this one is written.
    @staticmethod
    def prepare_load(records: Records):
        """The rows a load writes (a picklable sqlite_load.PreparedLoad); no database."""
        from .sqlite_load import prepare
        return prepare(records)

    def write_prepared(self, prepared, complete: bool) -> LoadResult:
        """Write a prepare_load() result in one transaction."""
        from .sqlite_load import write
        # Binding a million rows allocates millions of short-lived objects; the cyclic
        # GC has nothing to find in them, so it waits until the load is done.
        paused = gc.isenabled()
        gc.disable()
        try:
            return write(self._conn(), prepared, complete, self.sync)
        finally:
            if paused:
                gc.enable()

    @contextmanager
    def bulk_load(self):
        """Around a whole ingest: into an empty store the secondary indexes are built
        once at the end rather than maintained row by row (sqlite_load.bulk_indexes)."""
        from .sqlite_load import bulk_indexes
        with bulk_indexes(self._conn(), INDEXES):
            yield

    def load(self, records: Records, complete: bool) -> LoadResult:
        paused = gc.isenabled()
        gc.disable()
        try:
            prepared = self.prepare_load(records)
        finally:
            if paused:
                gc.enable()
        return self.write_prepared(prepared, complete)

    # --- reads --------------------------------------------------------------
    def live_generation(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def raw_node_rows(self, include_removed: bool = False):
        """(id, source, kind, name, active, properties, removed_at, enrichment) by id."""
        return self._conn().execute(NODE_ROWS_SQL)

    def raw_edge_rows(self, src_from: str | None = None):
        """The edge rows in key order (only those whose src >= src_from, when given)."""
        if src_from is None:
            return self._conn().execute(EDGE_ROWS_SQL)
        return self._conn().execute(edge_rows_sql(False), (src_from,))

    def edge_split(self, share: float) -> str | None:
        """A src value such that about `share` of the edge rows have src >= it (None
        when there are too few rows to split)."""
        conn = self._conn()
        n, = conn.execute("SELECT count(*) FROM edge_src").fetchone()
        k = int(n * share)
        if k < 1 or k >= n:
            return None
        row = conn.execute("SELECT src FROM edge_src ORDER BY src DESC, kind DESC, dst DESC, source DESC "
                           "LIMIT 1 OFFSET ?", (k - 1,)).fetchone()
        return row[0] if row else None

    @contextmanager
    def read_snapshot(self):
        """Every read inside sees one committed state (a load committing meanwhile is
        seen by none of them); nests inside a transaction already open."""
        conn = self._conn()
        began = not conn.in_transaction
        if began:
            conn.execute("BEGIN")
        try:
            yield
        finally:
            if began and conn.in_transaction:
                conn.execute("COMMIT")

    def edge_reader_path(self) -> str | None:
        """The file another process may read this store's edge rows from (None when
        that would not pay: an in-memory or small store, or `parallel_build` False)."""
        if str(self.path) == ":memory:" or self.parallel_build is False:
            return None
        if self.parallel_build is None:
            from ..graph_rows import CHILD_MIN_BYTES
            size, = self._conn().execute(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").fetchone()
            if size < CHILD_MIN_BYTES:
                return None
        return str(self.path)

    def iter_nodes(self, include_removed: bool = False) -> Iterable[NodeView]:
        batch: list[tuple] = []
        cur_id = None
        for row in _fetch_all(self.raw_node_rows()):
            if row[0] != cur_id:
                if batch:
                    view = merge_contributions(batch)
                    if include_removed or view.removed_at is None:
                        yield view
                batch = [row]
                cur_id = row[0]
            else:
                batch.append(row)
        if batch:
            view = merge_contributions(batch)
            if include_removed or view.removed_at is None:
                yield view

    def iter_edges(self, include_removed: bool = False) -> Iterable[EdgeView]:
        cur: EdgeView | None = None
        # Ids, kinds and sources repeat millions of times: keep one string object each.
        intern: dict[str, str] = {}
        for src, kind, dst, source, props, removed_at in _fetch_all(self.raw_edge_rows()):
            if cur is not None and cur.dst == dst and cur.src == src and cur.kind == kind:
                if removed_at is None:
                    cur.properties.update(_loads(props))
                    cur.sources.append(source)
                    cur.removed_at = None
                continue
            if cur is not None and (include_removed or cur.removed_at is None):
                yield cur
            src = intern.setdefault(src, src)
            dst = intern.setdefault(dst, dst)
            cur = EdgeView(src=src, dst=dst, kind=intern.setdefault(kind, kind),
                           properties=_loads(props),
                           sources=[intern.setdefault(source, source)] if removed_at is None else [],
                           removed_at=removed_at)
        if cur is not None and (include_removed or cur.removed_at is None):
            yield cur

    def last_usage_day(self) -> date | None:
        """The latest live usage day (what the graph's "now" needs), without reading rows."""
        row = self._conn().execute("SELECT MAX(day) FROM usage WHERE removed_at IS NULL").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    def graph_key(self) -> tuple[int, str]:
        """(generation, key of the data): the key adds the id of the latest ingest run
        (a uuid), so a database rebuilt to the same generation count never matches a
        graph cached from another one."""
        return graph_key_of(self._conn())

    def graph(self):
        """The in-memory graph for the current generation (loaded once per generation:
        from the graph cache beside the file when it matches, else built from the rows
        and cached; see engine.graph_cache). A pinned reader (Store.pin) keeps the
        graph of its own generation for the whole pin."""
        pin = self.pinned()
        if pin is not None and pin.graph is not None:
            return pin.graph
        gen = self.generation()
        with self._graph_lock:
            graph = self._graph_of(gen, pinned=pin is not None)
        if pin is not None:
            pin.graph = graph
        return graph

    def _graph_of(self, gen: int, pinned: bool):
        if self._graph is not None and self._graph_gen == gen:
            return self._graph
        previous = self._previous_graph() if self._previous_gen == gen else None
        if previous is not None:
            return previous
        if self._graph is not None and self._graph_gen > gen:
            if not pinned:
                return self._graph          # an unpinned reader takes the newest there is
            # A reader pinned before a newer load committed: its generation is built
            # for it alone; the newer graph (and the cache file) stay as they are.
            return self._load_graph(save=False)[0]
        if self._graph is not None:
            # Readers still pinned to the outgoing generation keep it alive; nobody else does.
            self._previous_graph, self._previous_gen = weakref.ref(self._graph), self._graph_gen
        self._graph = None      # let the old generation go before building the new
        self._graph, self._graph_gen = self._load_graph()
        return self._graph

    def prepare_graph(self) -> None:
        """Build the current generation's graph and its cache file (end of an ingest):
        the next process to open this store maps the cache in instead of rebuilding."""
        self.graph()

    def _load_graph(self, save: bool = True):
        import gc as _gc
        from .. import graph_cache
        from ..graph import MemoryGraph
        import time
        conn = self._conn()
        # One read snapshot for the key and every row the build reads, so a load that
        # commits meanwhile is in neither or (next generation) in both.
        began = not conn.in_transaction
        if began:
            conn.execute("BEGIN")
        try:
            gen, key = self.graph_key()
            path = graph_cache.cache_path(self.path)
            t = time.perf_counter()
            graph = graph_cache.load(path, key) if self.use_graph_cache else None
            self.graph_source = "cache" if graph is not None else "rows"
            timings = {"load_s": time.perf_counter() - t}
            built = graph is None
            if built:
                t = time.perf_counter()
                self.build_phases = timings["phases"] = {}
                graph = MemoryGraph.from_store(self)
                timings["build_s"] = time.perf_counter() - t
        finally:
            if began and conn.in_transaction:
                conn.execute("COMMIT")
        if built:
            if self.use_graph_cache and save:
                t, c = time.perf_counter(), time.process_time()
                # Served as a load from the file just written would give it: views
                # and edges stay columns until asked for, so the millions of objects
                # the build made go.
                saved = graph_cache.save(graph, path, key)
                if saved is None:             # not written: the build's records go
                    graph.__dict__.pop("view_records", None)
                graph = saved or graph
                timings["save_s"] = time.perf_counter() - t
                timings["save_cpu_s"] = time.process_time() - c
        self.graph_timings = timings
        _gc.freeze()
        return graph, gen

    def get_node(self, node_id: str, include_removed: bool = False) -> NodeView | None:
        view = self.graph().node_view(node_id)
        if view is not None or not include_removed:
            return view
        rows = self._conn().execute(
            "SELECT id, source, kind, name, active, properties, removed_at, enrichment "
            "FROM node_src WHERE id=? ORDER BY source", (node_id,)).fetchall()
        return merge_contributions(rows) if rows else None

    def list_nodes(self, kind, offset, limit, include_removed=False):
        return self.graph().list_nodes(kind, offset, limit)

    def blast_radius(self, node_id: str, max_depth: int) -> list[Reach]:
        from ..traversal import traverse
        return traverse(self.graph(), node_id, max_depth, reverse=False)

    def who_can_reach(self, node_id: str, max_depth: int) -> list[Reach]:
        from ..traversal import traverse
        return traverse(self.graph(), node_id, max_depth, reverse=True)

    @staticmethod
    def _live_in_window(table: str, cols: str, start, end) -> tuple[str, list]:
        sql = f"SELECT {cols} FROM {table} WHERE removed_at IS NULL"
        args: list = []
        if start is not None:
            sql += " AND day >= ?"
            args.append(start.isoformat())
        if end is not None:
            sql += " AND day <= ?"
            args.append(end.isoformat())
        return sql, args

    def _rows(self, table: str, cols: str, start, end):
        sql, args = self._live_in_window(table, cols, start, end)
        return self._conn().execute(sql + " ORDER BY day, source, key", args)

    def usage(self, start=None, end=None) -> list[UsageRecord]:
        cols = ("source, day, model, credential_id, project_id, account_id, input_tokens, "
                "output_tokens, cached_input_tokens, requests, vendor_usd, properties")
        return [UsageRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6], r[7],
                            r[8], r[9], r[10], _loads(r[11]))
                for r in self._rows("usage", cols, start, end)]

    def usage_columns(self, start=None, end=None) -> UsageColumns:
        # Straight to columns: no record (and no properties decoded) per row; the one
        # property pricing reads is extracted by SQLite.
        cols = ("source, day, model, credential_id, project_id, account_id, input_tokens, "
                "output_tokens, cached_input_tokens, requests, vendor_usd, "
                "json_extract(properties, '$.cache_creation_input_tokens'), properties")
        sql, args = self._live_in_window("usage", cols, start, end)
        try:
            # In primary-key order (a plain scan: no lookups through the day index),
            # then stably by (day, source): usage()'s (day, source, key) order.
            rows = self._conn().execute(sql + " ORDER BY source, key", args).fetchall()
        except sqlite3.OperationalError:        # properties that are not JSON (never written so)
            return super().usage_columns(start, end)
        if not rows:
            return UsageColumns(*([()] * 13), parse=_loads)
        columns = list(zip(*rows))
        del rows
        order = _day_source_order(columns[1], columns[0])
        if order is not None:
            pick = operator.itemgetter(*order)
            columns = [pick(c) if len(order) > 1 else (pick(c),) for c in columns]
        return UsageColumns(*columns, parse=_loads)

    def costs(self, start=None, end=None) -> list[CostRecord]:
        cols = "source, day, scope_id, line_item, usd, properties"
        return [CostRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], _loads(r[5]))
                for r in self._rows("costs", cols, start, end)]

    def activity(self, start=None, end=None) -> list[ActivityRecord]:
        cols = "source, day, actor_id, kind, properties"
        return [ActivityRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], _loads(r[4]))
                for r in self._rows("activity", cols, start, end)]

    def runs(self) -> list[dict[str, Any]]:
        cur = self._conn().execute(
            "SELECT id, source, started_at, finished_at, complete, counts, removed, sync_id FROM runs "
            "ORDER BY started_at, id")
        return [{"id": r[0], "source": r[1], "started_at": r[2], "finished_at": r[3],
                 "complete": bool(r[4]), "counts": json.loads(r[5] or "{}"),
                 "removed": json.loads(r[6] or "{}"), "sync_id": r[7]} for r in cur]

    # --- history (engine.store.sqlite_history) --------------------------------
    def begin_sync(self, run: dict) -> None:
        from .sqlite_history import begin_sync
        begin_sync(self._conn(), run)
        self.sync = (run["id"], run["at"])

    def finish_sync(self, run: dict) -> None:
        from .sqlite_history import finish_sync
        self.sync = None
        finish_sync(self._conn(), run)

    def sync_runs(self) -> list[dict[str, Any]]:
        from .sqlite_history import sync_runs
        return sync_runs(self._conn())

    def sync_tail(self):
        from .sqlite_history import sync_tail
        return sync_tail(self._conn())

    def statements(self, node_ids: list[str] | None = None, edge_srcs: list[str] | None = None,
                   edges: bool = True):
        """(node statements, edge statements): current ones and kept versions, in one
        read snapshot (of these node ids / edges from these sources only, when given)."""
        from .sqlite_history import edge_statements, node_statements
        with self.read_snapshot():
            return (node_statements(self._conn(), node_ids),
                    edge_statements(self._conn(), edge_srcs) if edges else [])

    def node_seen(self, node_id: str) -> dict[str, Any] | None:
        from .sqlite_history import seen
        return seen(self._conn(), node_id)

    def history_size(self) -> dict[str, int]:
        from .sqlite_history import history_size
        return history_size(self._conn())

    def settings(self) -> dict[str, dict[str, Any]]:
        """{source: {key: value}} of live settings (e.g. inventory prices)."""
        out: dict[str, dict[str, Any]] = {}
        for source, key, value in self._conn().execute(
                "SELECT source, key, value FROM settings WHERE removed_at IS NULL ORDER BY source, key"):
            out.setdefault(source, {})[key] = _loads(value)
        return out

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        conn = self._conn()
        if value is None:
            conn.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            conn.execute("INSERT INTO meta(key, value) VALUES(?,?) ON CONFLICT(key) "
                         "DO UPDATE SET value=excluded.value", (key, value))
