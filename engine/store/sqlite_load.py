"""The embedded store's write path, in two steps so they can run in two processes:

- `prepare(records)`: pure, no database. Merges what one load states twice about one
  node or edge (later wins, properties merged), turns every record into the row tuple
  its table takes (properties as JSON text, ids as keys) and sorts the rows by the
  leading key column, so SQLite fills its B-trees page by page instead of splitting
  pages all over them (on the 100k-node org the sort costs ~0.9 s and saves SQLite
  ~1.4 s; the file comes out ~5% smaller). The result is plain tuples and strings:
  cheap to pickle from a worker process (ingest.pipeline).
- `write(conn, prepared, complete)`: one transaction: upserts, the run row, and on a
  complete re-sync `removed_at` on what this source stated before and not now.
- `bulk_indexes(conn, indexes)`: around a whole ingest into an empty store, the
  secondary indexes are dropped and built once at the end.
"""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from ..model import LoadResult, Records
from .base import resync_windows


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class PreparedLoad:
    """One source's load as the rows each table receives (see module doc)."""
    source: str
    run_id: str
    files: str                                  # JSON list of the files read
    n_files: int
    counts: dict[str, int]
    warnings: list[str]
    windows: dict[str, tuple[str, str] | None]  # usage/costs/activity days a re-sync replaces
    nodes: list[tuple] = field(default_factory=list)
    edges: list[tuple] = field(default_factory=list)
    usage: list[tuple] = field(default_factory=list)
    costs: list[tuple] = field(default_factory=list)
    activity: list[tuple] = field(default_factory=list)
    settings: list[tuple] = field(default_factory=list)


SORT_ROWS = True     # see the module doc


def prepare(records: Records, sort: bool = SORT_ROWS) -> PreparedLoad:
    from ..secret_scrub import scrub_records
    from .sqlite import _dumps, _key
    scrub_records(records)      # no secret value reaches a row (engine.secret_scrub)
    source = records.source
    run_id = uuid.uuid4().hex
    dumps = _dumps

    # Two statements about one id in one load: later wins, properties merged.
    # Merging one statement twice in a row is a no-op, so a record object that is the
    # last one merged for its id (identity sources re-emit the same objects for a user
    # repeated in every group listing) is skipped outright.
    # (Kinds are read as `_value_`: Enum.value's descriptor costs a microsecond a call.)
    merged: dict[str, list] = {}
    for n in records.nodes:
        nid = n.id
        cur = merged.get(nid)
        if cur is None:
            active = n.active
            kind = n.kind
            merged[nid] = [nid, source, kind if type(kind) is str else kind._value_, n.name,
                           active if active is None else int(active), n.properties,
                           int(n.enrichment), False, n]
            continue
        if cur[8] is n:
            continue
        cur[8] = n
        if not cur[7]:          # copy on the first merge: the record's dict stays as it was
            cur[5] = dict(cur[5])
            cur[7] = True
        if not n.enrichment:
            cur[6] = 0
        cur[3] = n.name or cur[3]
        active = n.active
        if active is not None:
            active = int(active)
            cur[4] = active if cur[4] is None else min(cur[4], active)
        cur[5].update(n.properties)
    nodes = [(i, s, k, nm, a, dumps(p) if p else "{}", en, run_id)
             for i, s, k, nm, a, p, en, _, _ in merged.values()]
    del merged

    edge_props: dict[tuple, dict] = {}
    copied: set[tuple] = set()      # keys whose dict is our own merge, not a record's
    for e in records.edges:
        kind = e.kind
        key = (e.src, kind if type(kind) is str else kind._value_, e.dst)
        cur = edge_props.get(key)
        if cur is None:
            edge_props[key] = e.properties
            continue
        if cur is e.properties:     # the same statement again (see nodes above)
            continue
        if key not in copied:
            cur = edge_props[key] = dict(cur)
            copied.add(key)
        cur.update(e.properties)
    edges = [(s, k, d, source, dumps(p) if p else "{}", run_id) for (s, k, d), p in edge_props.items()]
    del edge_props, copied

    # Usage is the largest table of an AI provider's load: each day's text is made once,
    # and the common properties ({"vendor": <source>}) serialised once. The key is
    # UsageRow.key() joined as _key() joins it (tests/test_ingest_fast_records.py).
    usage = []
    day_text: dict = {}
    common = {"vendor": source}
    common_text = dumps(common)
    for u in records.usage:
        d = u.day
        dt = day_text.get(d)
        if dt is None:
            dt = day_text[d] = d.isoformat()
        p = u.properties
        cred, proj, acct, model = u.credential_id, u.project_id, u.account_id, u.model
        usage.append((source, "\x1f".join((dt, cred or "", proj or "", acct or "", model,
                                           p.get("bucket_key", ""))),
                      dt, model, cred, proj, acct, u.input_tokens, u.output_tokens,
                      u.cached_input_tokens, u.requests, u.vendor_usd,
                      common_text if p == common else dumps(p), run_id))
    costs = [(source, _key(c.key()), c.day.isoformat(), c.scope_id, c.line_item, c.usd,
              dumps(c.properties), run_id) for c in records.costs]
    activity = [(source, _key(a.key()), a.day.isoformat(), a.actor_id, a.kind, dumps(a.properties),
                 run_id) for a in records.activity]
    settings = [(source, k, dumps(v), run_id) for k, v in records.settings.items()]
    # In (primary) key order: Python's str order is SQLite's BINARY order (UTF-8 bytes
    # sort as code points). The sorts are stable: usage, cost and activity rows may
    # repeat a key, and the last one written must still win.
    if sort:
        first, second = itemgetter(0), itemgetter(1)
        nodes.sort(key=first)           # ids are unique here: a full primary-key order
        edges.sort(key=first)           # by src: each node's edges land on the same pages
        settings.sort(key=second)
        for rows in (usage, costs, activity):
            rows.sort(key=second)
    return PreparedLoad(source=source, run_id=run_id, files=dumps(records.files), n_files=len(records.files),
                        counts=records.counts(), warnings=list(records.warnings),
                        windows=resync_windows(records), nodes=nodes, edges=edges, usage=usage,
                        costs=costs, activity=activity, settings=settings)


# Node and edge upserts keep first_seen and move `since` on a new version
# (engine.store.sqlite_history).
from .sqlite_history import EDGE_HIST_SQL, EDGE_SQL, NODE_HIST_SQL, NODE_SQL  # noqa: E402
USAGE_SQL = (
    "INSERT INTO usage(source, key, day, model, credential_id, project_id, account_id, "
    "input_tokens, output_tokens, cached_input_tokens, requests, vendor_usd, properties, "
    "run_id, removed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL) "
    "ON CONFLICT(source, key) DO UPDATE SET day=excluded.day, model=excluded.model, "
    "credential_id=excluded.credential_id, project_id=excluded.project_id, "
    "account_id=excluded.account_id, input_tokens=excluded.input_tokens, "
    "output_tokens=excluded.output_tokens, cached_input_tokens=excluded.cached_input_tokens, "
    "requests=excluded.requests, vendor_usd=excluded.vendor_usd, "
    "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL")
COST_SQL = (
    "INSERT INTO costs(source, key, day, scope_id, line_item, usd, properties, run_id, "
    "removed_at) VALUES (?,?,?,?,?,?,?,?,NULL) ON CONFLICT(source, key) DO UPDATE SET "
    "day=excluded.day, scope_id=excluded.scope_id, line_item=excluded.line_item, "
    "usd=excluded.usd, properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL")
ACTIVITY_SQL = (
    "INSERT INTO activity(source, key, day, actor_id, kind, properties, run_id, removed_at) "
    "VALUES (?,?,?,?,?,?,?,NULL) ON CONFLICT(source, key) DO UPDATE SET "
    "day=excluded.day, actor_id=excluded.actor_id, kind=excluded.kind, "
    "properties=excluded.properties, run_id=excluded.run_id, removed_at=NULL")
SETTING_SQL = (
    "INSERT INTO settings(source, key, value, run_id, removed_at) VALUES (?,?,?,?,NULL) "
    "ON CONFLICT(source, key) DO UPDATE SET value=excluded.value, run_id=excluded.run_id, "
    "removed_at=NULL")


def write(conn, prep: PreparedLoad, complete: bool, sync: tuple[str, str] | None = None) -> LoadResult:
    """Write one prepared load in one transaction (the caller's connection, autocommit
    mode); a failure rolls everything of it back. `sync`: (sync run id, the time the
    load is observed at), else none and now."""
    from .sqlite import _dumps
    from .sqlite_history import set_load
    source, run_id = prep.source, prep.run_id
    # (A bare load, outside a sync run, keeps the second-resolution stamps it always had.)
    sync_id, now = sync if sync is not None else (None, _now())
    removed: dict[str, int] = {}
    with _immediate(conn):
        # Did this source ever load before? If not, a re-sync has nothing to mark removed
        # (every row of a source is written by a load that records its run), and the
        # full-table scans that look for stale rows can be skipped.
        seen_before = conn.execute("SELECT 1 FROM runs WHERE source=? LIMIT 1", (source,)).fetchone()
        rescrubbed = rescrub_store(conn)
        conn.execute("INSERT INTO runs(id, source, started_at, complete, files, sync_id) "
                     "VALUES (?,?,?,?,?,?)", (run_id, source, now, int(complete), prep.files, sync_id))
        set_load(conn, run_id, now)
        if seen_before:     # keep what this load's statements supersede (sqlite_history)
            for sql, rows in ((NODE_HIST_SQL, prep.nodes), (EDGE_HIST_SQL, prep.edges)):
                if rows:
                    conn.executemany(sql, rows)
        for sql, rows in ((NODE_SQL, prep.nodes), (EDGE_SQL, prep.edges), (USAGE_SQL, prep.usage),
                          (COST_SQL, prep.costs), (ACTIVITY_SQL, prep.activity),
                          (SETTING_SQL, prep.settings)):
            if rows:
                conn.executemany(sql, rows)
        if complete:
            removed = _mark_removed(conn, prep, now) if seen_before else _nothing_removed(prep)
        conn.execute("UPDATE runs SET finished_at=?, counts=?, removed=? WHERE id=?",
                     (_now(), _dumps(prep.counts), _dumps(removed), run_id))
        conn.execute("INSERT INTO meta(key, value) VALUES('generation', '1') "
                     "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
    if rescrubbed:
        _flush_old_pages(conn)
    return LoadResult(source=source, run_id=run_id, complete=complete, counts=prep.counts,
                      removed=removed, warnings=prep.warnings, files=prep.n_files)


def rescrub_store(conn) -> int | None:
    """Rows written under an older secret-reduction rule scrubbed again (in the
    caller's transaction), once per store: engine.secret_scrub. Returns the rows
    rewritten (None when the store is at the current rule already)."""
    from ..secret_scrub import (HINTED_KINDS, SCRUB_META_KEY, SCRUB_VERSION, rescrub_json,
                                rescrub_name)
    from .sqlite import _dumps
    row = conn.execute("SELECT value FROM meta WHERE key=?", (SCRUB_META_KEY,)).fetchone()
    if row is not None and row[0] == SCRUB_VERSION:
        return None
    # Freed space is zeroed from here on, so a rewritten value leaves no copy in the file.
    conn.execute("PRAGMA secure_delete=ON")
    rewritten = 0
    nodes = []
    for nid, source, kind, name, text in conn.execute(
            "SELECT id, source, kind, name, properties FROM node_src"):
        props, new_name = rescrub_json(text, kind in HINTED_KINDS), rescrub_name(name)
        if props is not None or new_name is not None:
            nodes.append((new_name or name, _dumps(props) if props is not None else text, nid, source))
    conn.executemany("UPDATE node_src SET name=?, properties=? WHERE id=? AND source=?", nodes)
    rewritten += len(nodes)
    for table, key in (("edge_src", "src, kind, dst, source"), ("usage", "source, key"),
                       ("costs", "source, key"), ("activity", "source, key")):
        cols = key.split(", ")
        changed = []
        for r in conn.execute(f"SELECT {key}, properties FROM {table}"):
            props = rescrub_json(r[-1])
            if props is not None:
                changed.append((_dumps(props), *r[:-1]))
        where = " AND ".join(f"{c}=?" for c in cols)
        conn.executemany(f"UPDATE {table} SET properties=? WHERE {where}", changed)
        rewritten += len(changed)
    settings = []
    for source, key, text in conn.execute("SELECT source, key, value FROM settings"):
        props = rescrub_json('{"v":' + text + "}") if len(text) >= 8 else None
        if props is not None:
            settings.append((_dumps(props["v"]), source, key))
    conn.executemany("UPDATE settings SET value=? WHERE source=? AND key=?", settings)
    rewritten += len(settings)
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (SCRUB_META_KEY, SCRUB_VERSION))
    return rewritten


def _flush_old_pages(conn) -> None:
    """After a rescrub: copy the WAL back into the file and truncate it, so the old
    values' page images leave the WAL too (best effort: a reader holding an old
    snapshot keeps the WAL until it lets go)."""
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except Exception:       # noqa: BLE001 - busy readers: the next checkpoint does it
        pass


def _nothing_removed(prep: PreparedLoad) -> dict[str, int]:
    return {"nodes": 0, "edges": 0, "settings": 0, **{t: 0 for t in prep.windows}}


def _mark_removed(conn, prep: PreparedLoad, now: str) -> dict[str, int]:
    source, run_id = prep.source, prep.run_id
    removed = {}
    for table, label in (("node_src", "nodes"), ("edge_src", "edges"), ("settings", "settings")):
        cur = conn.execute(f"UPDATE {table} SET removed_at=? WHERE source=? AND run_id<>? "
                           f"AND removed_at IS NULL", (now, source, run_id))
        removed[label] = cur.rowcount
    for table, window in prep.windows.items():
        if window is None:
            removed[table] = 0
            continue
        lo, hi = window
        cur = conn.execute(f"UPDATE {table} SET removed_at=? WHERE source=? AND run_id<>? "
                           f"AND removed_at IS NULL AND day BETWEEN ? AND ?",
                           (now, source, run_id, lo, hi))
        removed[table] = cur.rowcount
    return removed


@contextmanager
def bulk_indexes(conn, indexes: tuple[str, ...]):
    """Around a whole ingest (`conn` in autocommit mode). Into an empty store (a first
    ingest), the secondary indexes are dropped and built once at the end: a sorted
    index build costs a fraction of keeping the index up to date row by row in random
    key order (`edge_src_dst`: edges are written in `src` order, so their `dst` keys land
    all over the index; at 1M nodes that index no longer fits the page cache). Each
    source still commits on its own; the indexes only make reads faster, so a reader
    meanwhile sees the same rows, and if the process dies before the end, opening the
    store recreates them (SCHEMA). A store that holds anything keeps its indexes."""
    with _immediate(conn):
        empty = conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM runs) AND NOT EXISTS (SELECT 1 FROM node_src) "
            "AND NOT EXISTS (SELECT 1 FROM edge_src) AND NOT EXISTS (SELECT 1 FROM usage) "
            "AND NOT EXISTS (SELECT 1 FROM costs) AND NOT EXISTS (SELECT 1 FROM activity) "
            "AND NOT EXISTS (SELECT 1 FROM settings)").fetchone()[0]
        if empty:
            for sql in indexes:
                conn.execute(f"DROP INDEX IF EXISTS {_index_name(sql)}")
    try:
        yield
    finally:
        if empty:
            with _immediate(conn):
                for sql in indexes:
                    conn.execute(sql)


@contextmanager
def _immediate(conn):
    """One write transaction on an autocommit connection: committed when the block
    ends, rolled back (and the error raised) when it fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _index_name(sql: str) -> str:
    return re.match(r"CREATE INDEX IF NOT EXISTS (\w+) ON ", sql).group(1)
