"""The embedded store: one SQLite file (WAL) is the durable truth.

Every source's statement about a node or edge is kept as its own row, so that a
source's re-sync can mark only what *it* no longer states as removed, and so that
a node several sources describe stays until the last of them lets go.
Path queries are answered from the in-memory graph (engine.graph) loaded from here.
"""
from __future__ import annotations

import gc
import json
import sqlite3
import threading
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..model import LoadResult, Records
from .base import (resync_windows, ActivityRecord, CostRecord, EdgeView, NodeView, Reach, Store, StoreError,
                   UsageRecord)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  complete INTEGER NOT NULL, counts TEXT, removed TEXT, files TEXT);
CREATE TABLE IF NOT EXISTS node_src (
  id TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, name TEXT, active INTEGER,
  properties TEXT NOT NULL, enrichment INTEGER NOT NULL DEFAULT 0, run_id TEXT NOT NULL,
  removed_at TEXT,
  PRIMARY KEY (id, source)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS node_src_kind ON node_src(kind);
CREATE TABLE IF NOT EXISTS edge_src (
  src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, source TEXT NOT NULL,
  properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (src, kind, dst, source)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edge_src_dst ON edge_src(dst);
CREATE TABLE IF NOT EXISTS usage (
  source TEXT NOT NULL, key TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL,
  credential_id TEXT, project_id TEXT, account_id TEXT,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL, requests INTEGER NOT NULL, vendor_usd REAL,
  properties TEXT NOT NULL, run_id TEXT NOT NULL, removed_at TEXT,
  PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS usage_day ON usage(day);
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

# Later sources win when merging properties; inventory is the humans' word and wins last.
SOURCE_PRIORITY = {"inventory": 100}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_ORJSON_OPTS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS)


def _dumps(value: Any) -> str:
    # orjson first (ten times faster at millions of records); the stdlib for what it
    # refuses (integers past 64 bits, NaN), so stored text stays what json.dumps wrote.
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTS).decode()
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _loads(text: str) -> Any:
    if text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)   # NaN / Infinity written by older versions


def _key(parts: tuple) -> str:
    return "\x1f".join(parts)


def merge_contributions(rows: list[tuple]) -> NodeView:
    """rows: (id, source, kind, name, active, properties_json, removed_at, enrichment),
    one per source."""
    if len(rows) == 1:
        # Most nodes have one source: no sorting, no merging.
        r = rows[0]
        removed_at = r[6]
        return NodeView(id=r[0], kind=r[2], name=r[3] or None,
                        active=r[4] != 0 and not removed_at, properties=_loads(r[5]),
                        sources=[r[1]], removed_at=removed_at)
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
    return NodeView(id=rows[0][0], kind=kind, name=name, active=not inactive and not removed_at,
                    properties=props, sources=[r[1] for r in use], removed_at=removed_at)


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
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StoreError(f"{self.path}: directory {self.path.parent} does not exist")
            conn = self._conn()
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a burnpath database ({exc})") from exc

    # One connection per thread: the API serves from a thread pool.
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Bulk loads of a million random-keyed rows thrash a small page cache.
            conn.execute("PRAGMA cache_size=-262144")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- writes -------------------------------------------------------------
    def load(self, records: Records, complete: bool) -> LoadResult:
        source = records.source
        run_id = uuid.uuid4().hex
        now = _now()
        conn = self._conn()
        removed: dict[str, int] = {}
        # Serialising millions of records allocates millions of short-lived objects;
        # the cyclic GC has nothing to find in them, so it waits until the load is done.
        paused = gc.isenabled()
        gc.disable()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO runs(id, source, started_at, complete, files) VALUES (?,?,?,?,?)",
                         (run_id, source, now, int(complete), _dumps(records.files)))
            self._write_nodes(conn, source, run_id, records)
            self._write_edges(conn, source, run_id, records)
            self._write_rows(conn, source, run_id, records)
            if complete:
                removed = self._mark_removed(conn, source, run_id, records, now)
            counts = records.counts()
            conn.execute("UPDATE runs SET finished_at=?, counts=?, removed=? WHERE id=?",
                         (_now(), _dumps(counts), _dumps(removed), run_id))
            conn.execute("INSERT INTO meta(key, value) VALUES('generation', '1') "
                         "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            if paused:
                gc.enable()
        return LoadResult(source=source, run_id=run_id, complete=complete, counts=counts,
                          removed=removed, warnings=records.warnings)

    def _write_nodes(self, conn, source, run_id, records: Records) -> None:
        # Two statements about one id in one load: later wins, properties merged.
        merged: dict[str, list] = {}
        for n in records.nodes:
            cur = merged.get(n.id)
            active = None if n.active is None else int(n.active)
            if cur is None:
                merged[n.id] = [n.id, source, n.kind.value, n.name, active, dict(n.properties),
                                int(n.enrichment)]
            else:
                cur[6] = min(cur[6], int(n.enrichment))
                cur[3] = n.name or cur[3]
                if active is not None:
                    cur[4] = active if cur[4] is None else min(cur[4], active)
                cur[5].update(n.properties)
        conn.executemany(
            "INSERT INTO node_src(id, source, kind, name, active, properties, enrichment, run_id, "
            "removed_at) VALUES (?,?,?,?,?,?,?,?,NULL) ON CONFLICT(id, source) DO UPDATE SET "
            "kind=excluded.kind, name=excluded.name, active=excluded.active, "
            "properties=excluded.properties, enrichment=excluded.enrichment, "
            "run_id=excluded.run_id, removed_at=NULL",
            ((i, s, k, nm, a, _dumps(p), en, run_id) for i, s, k, nm, a, p, en in merged.values()))

    def _write_edges(self, conn, source, run_id, records: Records) -> None:
        merged: dict[tuple, dict] = {}
        for e in records.edges:
            merged.setdefault((e.src, e.kind.value, e.dst), {}).update(e.properties)
        conn.executemany(
            "INSERT INTO edge_src(src, kind, dst, source, properties, run_id, removed_at) "
            "VALUES (?,?,?,?,?,?,NULL) ON CONFLICT(src, kind, dst, source) DO UPDATE SET "
            "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL",
            ((s, k, d, source, _dumps(p), run_id) for (s, k, d), p in merged.items()))

    def _write_rows(self, conn, source, run_id, records: Records) -> None:
        conn.executemany(
            "INSERT INTO usage(source, key, day, model, credential_id, project_id, account_id, "
            "input_tokens, output_tokens, cached_input_tokens, requests, vendor_usd, properties, "
            "run_id, removed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL) "
            "ON CONFLICT(source, key) DO UPDATE SET day=excluded.day, model=excluded.model, "
            "credential_id=excluded.credential_id, project_id=excluded.project_id, "
            "account_id=excluded.account_id, input_tokens=excluded.input_tokens, "
            "output_tokens=excluded.output_tokens, cached_input_tokens=excluded.cached_input_tokens, "
            "requests=excluded.requests, vendor_usd=excluded.vendor_usd, "
            "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL",
            ((source, _key(u.key()), u.day.isoformat(), u.model, u.credential_id, u.project_id,
              u.account_id, u.input_tokens, u.output_tokens, u.cached_input_tokens, u.requests,
              u.vendor_usd, _dumps(u.properties), run_id) for u in records.usage))
        conn.executemany(
            "INSERT INTO costs(source, key, day, scope_id, line_item, usd, properties, run_id, "
            "removed_at) VALUES (?,?,?,?,?,?,?,?,NULL) ON CONFLICT(source, key) DO UPDATE SET "
            "day=excluded.day, scope_id=excluded.scope_id, line_item=excluded.line_item, "
            "usd=excluded.usd, properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL",
            ((source, _key(c.key()), c.day.isoformat(), c.scope_id, c.line_item, c.usd,
              _dumps(c.properties), run_id) for c in records.costs))
        conn.executemany(
            "INSERT INTO activity(source, key, day, actor_id, kind, properties, run_id, removed_at) "
            "VALUES (?,?,?,?,?,?,?,NULL) ON CONFLICT(source, key) DO UPDATE SET "
            "day=excluded.day, actor_id=excluded.actor_id, kind=excluded.kind, "
            "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL",
            ((source, _key(a.key()), a.day.isoformat(), a.actor_id, a.kind, _dumps(a.properties),
              run_id) for a in records.activity))
        conn.executemany(
            "INSERT INTO settings(source, key, value, run_id, removed_at) VALUES (?,?,?,?,NULL) "
            "ON CONFLICT(source, key) DO UPDATE SET value=excluded.value, run_id=excluded.run_id, "
            "removed_at=NULL", ((source, k, _dumps(v), run_id) for k, v in records.settings.items()))

    def _mark_removed(self, conn, source, run_id, records: Records, now: str) -> dict[str, int]:
        removed = {}
        for table, label in (("node_src", "nodes"), ("edge_src", "edges"), ("settings", "settings")):
            cur = conn.execute(f"UPDATE {table} SET removed_at=? WHERE source=? AND run_id<>? "
                               f"AND removed_at IS NULL", (now, source, run_id))
            removed[label] = cur.rowcount
        for table, window in resync_windows(records).items():
            if window is None:
                removed[table] = 0
                continue
            lo, hi = window
            cur = conn.execute(f"UPDATE {table} SET removed_at=? WHERE source=? AND run_id<>? "
                               f"AND removed_at IS NULL AND day BETWEEN ? AND ?",
                               (now, source, run_id, lo, hi))
            removed[table] = cur.rowcount
        return removed

    # --- reads --------------------------------------------------------------
    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def raw_node_rows(self, include_removed: bool = False):
        """(id, source, kind, name, active, properties, removed_at, enrichment) by id."""
        return self._conn().execute(
            "SELECT id, source, kind, name, active, properties, removed_at, enrichment "
            "FROM node_src ORDER BY id, source")

    def raw_edge_rows(self):
        return self._conn().execute(
            "SELECT src, kind, dst, source, properties, removed_at FROM edge_src "
            "ORDER BY src, kind, dst, source")

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

    def graph(self):
        """The in-memory graph for the current generation (loaded once per generation)."""
        from ..graph import MemoryGraph
        gen = self.generation()
        with self._graph_lock:
            if self._graph is None or self._graph_gen != gen:
                self._graph = MemoryGraph.from_store(self)
                self._graph_gen = gen
            return self._graph

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

    def _rows(self, table: str, cols: str, start, end):
        sql = f"SELECT {cols} FROM {table} WHERE removed_at IS NULL"
        args: list = []
        if start is not None:
            sql += " AND day >= ?"
            args.append(start.isoformat())
        if end is not None:
            sql += " AND day <= ?"
            args.append(end.isoformat())
        return self._conn().execute(sql + " ORDER BY day, source, key", args)

    def usage(self, start=None, end=None) -> list[UsageRecord]:
        cols = ("source, day, model, credential_id, project_id, account_id, input_tokens, "
                "output_tokens, cached_input_tokens, requests, vendor_usd, properties")
        return [UsageRecord(r[0], date.fromisoformat(r[1]), r[2], r[3], r[4], r[5], r[6], r[7],
                            r[8], r[9], r[10], _loads(r[11]))
                for r in self._rows("usage", cols, start, end)]

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
            "SELECT id, source, started_at, finished_at, complete, counts, removed FROM runs "
            "ORDER BY started_at, id")
        return [{"id": r[0], "source": r[1], "started_at": r[2], "finished_at": r[3],
                 "complete": bool(r[4]), "counts": json.loads(r[5] or "{}"),
                 "removed": json.loads(r[6] or "{}")} for r in cur]

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
