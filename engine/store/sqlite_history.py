"""The embedded store's history: sync runs, first/last seen, and superseded versions.

- `node_src` / `edge_src` rows carry `since`: the load (the `runs` rowid, a few
  bytes, where a timestamp would grow the tables ~12%) that began the current
  version; a statement's first seen is its earliest version's start. The load's
  upsert moves `since`
  only when the incoming statement starts a new version (engine.history.versions:
  a change that matters, or a statement coming back after its removal); anything
  else updates the current version in place.
- Before the upsert, a re-sync copies each stored row the incoming one supersedes
  into `node_hist` / `edge_hist` (NODE_HIST_SQL: one primary-key lookup per row):
  in force from its own `since` until its removal or the new version's start. A
  source's first load skips that (nothing of it is stored), and a re-load of the
  same data copies nothing. (Not a trigger: a table with an update trigger makes
  SQLite's upserts about four times slower, even when the trigger never fires.)
- The load's sequence number and the time it is observed at (its sync run's `at`)
  are put in `meta` (`load_seq`, `load_at`) inside the load's transaction; the
  statements read them there.
- `sync_runs`: one row per ingest (engine.history.sync), written when it starts and
  again when it ends, so an ingest that never finished stays visible as incomplete.
"""
from __future__ import annotations

import json
from typing import Any

from ..history.statements import EdgeStatement, NodeStatement
from ..history.versions import sqlite_changed_sql

HISTORY_TABLES = """
CREATE TABLE IF NOT EXISTS sync_runs (
  id TEXT PRIMARY KEY, at TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  complete INTEGER NOT NULL DEFAULT 0, sources TEXT NOT NULL DEFAULT '[]',
  files INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0,
  changed INTEGER NOT NULL DEFAULT 0, removed INTEGER NOT NULL DEFAULT 0,
  warnings TEXT NOT NULL DEFAULT '[]', version TEXT, error TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS node_hist (
  id TEXT NOT NULL, source TEXT NOT NULL, valid_from INTEGER, valid_to TEXT NOT NULL,
  kind TEXT NOT NULL, name TEXT, active INTEGER, properties TEXT NOT NULL,
  enrichment INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS node_hist_id ON node_hist(id);
CREATE TABLE IF NOT EXISTS edge_hist (
  src TEXT NOT NULL, kind TEXT NOT NULL, dst TEXT NOT NULL, source TEXT NOT NULL,
  valid_from INTEGER, valid_to TEXT NOT NULL, properties TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS edge_hist_src ON edge_hist(src);
"""

# Columns added to tables of stores made before history was kept.
ADDED_COLUMNS = (("node_src", "since", "INTEGER"), ("edge_src", "since", "INTEGER"),
                 ("runs", "sync_id", "TEXT"))

LOAD_AT = "(SELECT value FROM meta WHERE key='load_at')"
LOAD_SEQ = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key='load_seq')"

# Bound to the same row tuples as NODE_SQL / EDGE_SQL (?4, ?7, ?8 and ?6 are named
# only so that every value of the tuple is bound).
NODE_HIST_SQL = (
    "INSERT INTO node_hist(id, source, valid_from, valid_to, kind, name, active, properties, enrichment) "
    f"SELECT id, source, since, COALESCE(removed_at, {LOAD_AT}), kind, name, active, properties, enrichment "
    "FROM node_src WHERE id = ?1 AND source = ?2 AND "
    f"{sqlite_changed_sql('node_src', '?3', '?5', '?6')} AND (?4 IS NULL OR ?4 IS NOT NULL) "
    "AND ?7 IS ?7 AND ?8 IS ?8")
EDGE_HIST_SQL = (
    "INSERT INTO edge_hist(src, kind, dst, source, valid_from, valid_to, properties) "
    f"SELECT src, kind, dst, source, since, COALESCE(removed_at, {LOAD_AT}), properties "
    "FROM edge_src WHERE src = ?1 AND kind = ?2 AND dst = ?3 AND source = ?4 AND "
    f"{sqlite_changed_sql('edge_src', None, None, '?5')} AND ?6 IS ?6")

NODE_SQL = (
    "INSERT INTO node_src(id, source, kind, name, active, properties, enrichment, run_id, "
    f"removed_at, since) VALUES (?,?,?,?,?,?,?,?,NULL,{LOAD_SEQ}) "
    "ON CONFLICT(id, source) DO UPDATE SET "
    f"since=CASE WHEN {sqlite_changed_sql('node_src', 'excluded.kind', 'excluded.active', 'excluded.properties')} THEN excluded.since ELSE node_src.since END, "
    "kind=excluded.kind, name=excluded.name, active=excluded.active, "
    "properties=excluded.properties, enrichment=excluded.enrichment, "
    "run_id=excluded.run_id, removed_at=NULL")
EDGE_SQL = (
    "INSERT INTO edge_src(src, kind, dst, source, properties, run_id, removed_at, since) "
    f"VALUES (?,?,?,?,?,?,NULL,{LOAD_SEQ}) ON CONFLICT(src, kind, dst, source) DO UPDATE SET "
    f"since=CASE WHEN {sqlite_changed_sql('edge_src', None, None, 'excluded.properties')} THEN excluded.since ELSE edge_src.since END, "
    "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL")


def ensure(conn) -> None:
    """Create the history tables and add the columns an older store lacks."""
    for table, column, sql_type in ADDED_COLUMNS:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
    conn.executescript(HISTORY_TABLES)
    for name in ("node_src_version", "edge_src_version"):   # (an earlier draft's triggers)
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")


def set_load(conn, run_id: str, at: str) -> None:
    """Inside a load's transaction, after its `runs` row: its sequence number and the
    time its statements are observed at."""
    seq, = conn.execute("SELECT rowid FROM runs WHERE id = ?", (run_id,)).fetchone()
    conn.executemany("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                     (("load_at", at), ("load_seq", str(seq))))


def _load_times(conn) -> dict[int, str]:
    return dict(conn.execute("SELECT rowid, started_at FROM runs"))


def node_statements(conn, ids: list[str] | None = None) -> list[NodeStatement]:
    """Current statements and kept versions (of `ids` only, when given). A `since` of
    no load (rows stored before history was kept) is None: since ever."""
    at = _load_times(conn).get
    cur_sql = ("SELECT id, source, kind, name, active, properties, enrichment, since, removed_at "
               "FROM node_src")
    hist_sql = ("SELECT id, source, kind, name, active, properties, enrichment, valid_from, valid_to "
                "FROM node_hist")
    return [NodeStatement(*r[:7], at(r[7]) if type(r[7]) is int else r[7], r[8])
            for r in _rows(conn, cur_sql, hist_sql, "id", ids)]


def edge_statements(conn, srcs: list[str] | None = None) -> list[EdgeStatement]:
    cur_sql = "SELECT src, kind, dst, source, properties, since, removed_at FROM edge_src"
    hist_sql = "SELECT src, kind, dst, source, properties, valid_from, valid_to FROM edge_hist"
    at = _load_times(conn).get
    return [EdgeStatement(*r[:5], at(r[5]) if type(r[5]) is int else r[5], r[6])
            for r in _rows(conn, cur_sql, hist_sql, "src", srcs)]


def _rows(conn, cur_sql: str, hist_sql: str, col: str, keys: list[str] | None):
    if keys is None:
        yield from conn.execute(cur_sql)
        yield from conn.execute(hist_sql)
        return
    keys = sorted(set(keys))
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(f"{cur_sql} WHERE {col} IN ({marks})", chunk)
        yield from conn.execute(f"{hist_sql} WHERE {col} IN ({marks})", chunk)


def seen(conn, node_id: str) -> dict[str, Any] | None:
    """first_seen, last_seen (the latest load that stated it) and removed_at of a node,
    over the sources stating it."""
    rows = conn.execute(
        "SELECT COALESCE(s.at, r.started_at), n.removed_at FROM node_src n "
        "LEFT JOIN runs r ON r.id = n.run_id LEFT JOIN sync_runs s ON s.id = r.sync_id "
        "WHERE n.id = ?", (node_id,)).fetchall()
    if not rows:
        return None
    statements = node_statements(conn, [node_id])
    firsts = [s.valid_from for s in statements if s.valid_from]
    lasts = [r[0] for r in rows if r[0]]
    removed = [r[1] for r in rows]
    versions = len(statements) - len(rows)
    return {"first_seen": min(firsts) if firsts else None, "last_seen": max(lasts) if lasts else None,
            "removed_at": None if any(r is None for r in removed) else max(removed),
            "versions": versions + 1}


# --- sync runs -----------------------------------------------------------------
SYNC_COLUMNS = ("id", "at", "started_at", "finished_at", "complete", "sources", "files", "added",
                "changed", "removed", "warnings", "version", "error", "summary")


def begin_sync(conn, run: dict) -> None:
    conn.execute("INSERT INTO sync_runs(id, at, started_at, version) VALUES (?,?,?,?)",
                 (run["id"], run["at"], run["started_at"], run.get("version")))


def finish_sync(conn, run: dict) -> None:
    conn.execute("UPDATE sync_runs SET finished_at=?, complete=?, sources=?, files=?, added=?, "
                 "changed=?, removed=?, warnings=?, error=?, summary=? WHERE id=?",
                 (run["finished_at"], int(run["complete"]), json.dumps(run["sources"]), run["files"],
                  run["added"], run["changed"], run["removed"], json.dumps(run["warnings"]),
                  run.get("error"), json.dumps(run.get("summary") or {}), run["id"]))


def sync_runs(conn) -> list[dict[str, Any]]:
    """Oldest first."""
    out = []
    for r in conn.execute(f"SELECT {', '.join(SYNC_COLUMNS)} FROM sync_runs ORDER BY at, started_at, id"):
        d = dict(zip(SYNC_COLUMNS, r))
        d["complete"] = bool(d["complete"])
        d["sources"] = json.loads(d["sources"] or "[]")
        d["warnings"] = json.loads(d["warnings"] or "[]")
        d["summary"] = json.loads(d["summary"] or "{}")
        out.append(d)
    return out


def sync_tail(conn) -> tuple[dict | None, dict | None]:
    cols = ", ".join(SYNC_COLUMNS)
    order = "ORDER BY at DESC, started_at DESC, id DESC LIMIT 1"
    out = []
    for where in ("", "WHERE complete = 1"):
        r = conn.execute(f"SELECT {cols} FROM sync_runs {where} {order}").fetchone()
        out.append(None if r is None else {**dict(zip(SYNC_COLUMNS, r)), "complete": bool(r[4])})
    return out[0], out[1]


def history_size(conn) -> dict[str, int]:
    """Rows and bytes history adds (versions kept, sync runs)."""
    out = {}
    for table in ("node_hist", "edge_hist", "sync_runs"):
        out[f"{table}_rows"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    try:
        for table in ("node_hist", "edge_hist", "sync_runs", "node_hist_id", "edge_hist_src"):
            out[f"{table}_bytes"] = conn.execute(
                "SELECT COALESCE(sum(pgsize), 0) FROM dbstat WHERE name=?", (table,)).fetchone()[0]
    except Exception:   # dbstat not compiled in
        pass
    return out
