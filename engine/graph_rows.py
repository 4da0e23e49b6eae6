"""The embedded store's edge rows as integer columns, read in this process or, on a
large store, in a child process while this one merges the node rows (the two reads
are the bulk of a cold load, and each is bound by Python's sqlite3 turning rows into
objects, so the second core halves the wait).

The child opens its own connection, reads the store key and every edge row in one
read transaction, and hands back numpy arrays plus the tables of distinct values
(pickled through its stdout). Its snapshot must be the parent's: the parent compares
the keys (generation + latest ingest run, both bumped by every committed load) and
reads the rows itself when they differ or the child fails.

Run as `python -m engine.graph_rows DB` it is that child.
"""
from __future__ import annotations

import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

BATCH = 50000

EDGE_ROWS_SQL = ("SELECT src, kind, dst, source, properties, removed_at FROM edge_src "
                 "ORDER BY src, kind, dst, source")


def edge_rows_sql(below: bool | None) -> str:
    """The edge rows (EDGE_ROWS_SQL), or those whose src sorts below (True) or at or
    above (False) a bound given as the one parameter."""
    if below is None:
        return EDGE_ROWS_SQL
    return EDGE_ROWS_SQL.replace(" ORDER BY", " WHERE src < ? ORDER BY" if below else " WHERE src >= ? ORDER BY")


def graph_key_of(conn: sqlite3.Connection) -> tuple[int, str]:
    """(generation, key of the data): the key adds the id of the latest ingest run
    (a uuid), so a database rebuilt to the same generation count never matches a
    graph cached from another one. Every committed load changes both."""
    row = conn.execute("SELECT (SELECT value FROM meta WHERE key='generation'), "
                       "(SELECT id FROM runs ORDER BY rowid DESC LIMIT 1)").fetchone()
    gen = int(row[0]) if row[0] is not None else 0
    return gen, f"{gen}:{row[1] or ''}"


def open_reader(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection that only reads (another process's share of a graph build)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("PRAGMA query_only=ON")
    conn.execute("PRAGMA cache_size=-262144")
    return conn


def _loads(text):
    # (engine.graph_columns._loads, here so the child imports neither it nor the model)
    if text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)     # NaN / Infinity, integers past 64 bits


# Below this much data a child process costs more (its start, the hand-back) than it saves.
CHILD_MIN_BYTES = 64 << 20


class _Codes(dict):
    """value -> code, a new value getting the next code: `map(codes.__getitem__, col)`
    codes a column at C speed (Python runs only for values not seen before)."""
    def __missing__(self, key):
        code = self[key] = len(self)
        return code


def props_text(props: dict) -> str:
    # Insertion order kept (views are compared and served in that order); the stdlib
    # writes everything a decoded property can hold (NaN, integers past 64 bits).
    import json
    return json.dumps(props, separators=(",", ":"), ensure_ascii=False)


def _merge_group(rows: list[tuple]) -> tuple[bool, dict, list]:
    """One (src, kind, dst)'s contributions (source, properties text, removed_at), as
    SQLiteStore.iter_edges merges them: the first row's properties, updated by every
    later live row; live if any row is."""
    first = rows[0]
    props = _loads(first[1])
    sources = [first[0]] if first[2] is None else []
    live = first[2] is None
    for r in rows[1:]:
        if r[2] is None:
            props.update(_loads(r[1]))
            sources.append(r[0])
            live = True
    return live, props, sources


@dataclass
class EdgeRows:
    """Row i is the edge (end_ids[S[i]], kind_names[K[i]], end_ids[D[i]]) stated by
    source_names[SO[i]] with the properties texts[P[i]]. Rows of one (src, kind, dst)
    are merged already: `keep` marks the rows that stand for an edge (False for an
    edge's later rows and for edges no live row states) and `merged` gives, for a
    first row merged from several, its merged properties text and sources."""
    S: np.ndarray
    D: np.ndarray
    K: np.ndarray
    SO: np.ndarray
    P: np.ndarray
    keep: np.ndarray
    merged: dict
    end_ids: list
    kind_names: list
    source_names: list
    texts: list
    cpu_s: float = 0.0


def edge_columns(cur) -> EdgeRows:
    """Code the rows of `cur` (src, kind, dst, source, properties, removed_at in
    primary-key order) and merge each edge's rows."""
    cpu = time.process_time()
    ends, kinds, sources, texts = _Codes(), _Codes(), _Codes(), _Codes()
    s_parts, d_parts, k_parts, o_parts, p_parts = [], [], [], [], []
    removed_rows: dict[int, str] = {}     # row -> its removed_at, for the rows that have one
    at = 0
    while True:
        rows = cur.fetchmany(BATCH)
        if not rows:
            break
        s, k, d, so, p, r = zip(*rows)
        n = len(rows)
        s_parts.append(np.fromiter(map(ends.__getitem__, s), dtype=np.int32, count=n))
        d_parts.append(np.fromiter(map(ends.__getitem__, d), dtype=np.int32, count=n))
        k_parts.append(np.fromiter(map(kinds.__getitem__, k), dtype=np.int16, count=n))
        o_parts.append(np.fromiter(map(sources.__getitem__, so), dtype=np.int32, count=n))
        p_parts.append(np.fromiter(map(texts.__getitem__, p), dtype=np.int32, count=n))
        if r.count(None) != n:
            removed_rows.update((at + i, x) for i, x in enumerate(r) if x is not None)
        at += n
        del rows, s, k, d, so, p, r
    S, D, K, SO, P = (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
                      for parts in (s_parts, d_parts, k_parts, o_parts, p_parts))
    del s_parts, d_parts, k_parts, o_parts, p_parts
    source_names, ptable = list(sources), list(texts)
    n_rows = len(S)
    # Consecutive rows of one (src, kind, dst) are one edge stated by several sources.
    same_prev = np.zeros(n_rows, dtype=bool)
    if n_rows > 1:
        same_prev[1:] = (S[1:] == S[:-1]) & (K[1:] == K[:-1]) & (D[1:] == D[:-1])
    keep = np.ones(n_rows, dtype=bool)
    merged: dict[int, tuple[str, tuple]] = {}     # first row -> (props text, sources)
    special = same_prev.copy()
    special[list(removed_rows)] = True
    if special.any():
        starts = np.nonzero(~same_prev)[0]
        group_of = np.cumsum(~same_prev) - 1
        bounds = np.append(starts, n_rows)
        for g in np.unique(group_of[special]).tolist():
            a, b = int(bounds[g]), int(bounds[g + 1])
            keep[a + 1:b] = False
            live, props, srcs = _merge_group(
                [(source_names[SO[i]], ptable[P[i]], removed_rows.get(i)) for i in range(a, b)])
            if not live:
                keep[a] = False
            elif b - a > 1:
                merged[a] = (props_text(props), tuple(srcs))
    return EdgeRows(S, D, K.astype(np.int16), SO.astype(np.int32), P.astype(np.int32), keep, merged,
                    list(ends), list(kinds), source_names, ptable,
                    time.process_time() - cpu)


def concat(a: EdgeRows, b: EdgeRows) -> EdgeRows:
    """The rows of a then b (b's srcs all sort after a's), coded as if read in one go:
    property texts, kinds and sources keep a's codes and b's new values follow in b's
    order. (Endpoint ids are only looked up by code, so b's are appended as they are.)"""
    def joined(ta: list, tb: list) -> tuple[list, np.ndarray]:
        codes = _Codes(zip(ta, range(len(ta))))
        remap = np.fromiter(map(codes.__getitem__, tb), dtype=np.int32, count=len(tb))
        return list(codes), remap

    kinds, k_map = joined(a.kind_names, b.kind_names)
    sources, s_map = joined(a.source_names, b.source_names)
    texts, t_map = joined(a.texts, b.texts)
    n_a, e_a = len(a.S), len(a.end_ids)
    merged = dict(a.merged)
    merged.update((row + n_a, v) for row, v in b.merged.items())
    return EdgeRows(np.concatenate([a.S, b.S + e_a]).astype(np.int32),
                    np.concatenate([a.D, b.D + e_a]).astype(np.int32),
                    np.concatenate([a.K, k_map[b.K].astype(np.int16)]),
                    np.concatenate([a.SO, s_map[b.SO]]), np.concatenate([a.P, t_map[b.P]]),
                    np.concatenate([a.keep, b.keep]), merged, a.end_ids + b.end_ids,
                    kinds, sources, texts, a.cpu_s + b.cpu_s)


# --- the child process -----------------------------------------------------------------
class ChildReader:
    """A child process reading and coding the edge rows of the store at `path`."""

    def __init__(self, path: str):
        self.started = time.perf_counter()
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        # (absolute: the child runs from the package root, not this process's directory)
        self.proc = subprocess.Popen([sys.executable, "-m", "engine.graph_rows", os.path.abspath(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=root)
        self.error: str | None = None
        self.wait_s = 0.0

    def read_below(self, bound: str | None) -> None:
        """Tell the child which rows are its: those whose src sorts below `bound`
        (every row when None). It starts reading once told."""
        try:
            self.proc.stdin.write(json.dumps({"below": bound}).encode() + b"\n")
            self.proc.stdin.close()
        except OSError:                  # a child already gone: result() says why
            pass

    def result(self) -> tuple[str, EdgeRows] | None:
        """(the store key the child read under, its rows), or None (self.error says why)."""
        t = time.perf_counter()
        if not self.proc.stdin.closed:
            self.read_below(None)
        try:
            status, key, rows = pickle.load(self.proc.stdout)
        except Exception as exc:        # a child that died: no pickle, or half of one
            self.error = f"no result from the child ({type(exc).__name__}: {exc})"
            return None
        finally:
            self.wait_s = time.perf_counter() - t
            self.close()
        if status != "ok":
            self.error = key
            return None
        return key, rows

    def close(self) -> None:
        if not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.stdout.close()
            finally:
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        elif self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()


def _child_main(path: str) -> int:
    import gc
    gc.disable()
    out = sys.stdout.buffer
    try:
        bound = json.loads(sys.stdin.buffer.readline() or b'{"below": null}')["below"]
        conn = open_reader(path)
        conn.execute("BEGIN")
        key = graph_key_of(conn)[1]
        if bound is None:
            rows = edge_columns(conn.execute(edge_rows_sql(None)))
        else:
            rows = edge_columns(conn.execute(edge_rows_sql(True), (bound,)))
        conn.execute("COMMIT")
        conn.close()
        rows.cpu_s = time.process_time()
        payload = ("ok", key, rows)
    except Exception as exc:
        import traceback
        payload = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", None)
    pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
    return 0


if __name__ == "__main__":
    # Through the imported module, so what is pickled names engine.graph_rows, not __main__.
    from engine.graph_rows import _child_main as main
    sys.exit(main(sys.argv[1]))
