"""MemoryGraph straight from the embedded store's rows, without an EdgeView per edge.

The edge rows are read in large batches and kept as integer columns: endpoint ids,
kinds, sources and property texts each as codes into a table of their distinct
values (so ids map to graph indexes once per distinct id, not once per edge). Only
the edges link derivation reads (HAS_ACCOUNT, USES, EXPOSED_IN) become EdgeViews
here; the graph's edges are engine.graph_columns.EdgeColumns, materialised on access. The result equals MemoryGraph(store.iter_nodes
(include_removed=True), store.iter_edges(), days) field for field, edge for edge, in
the same order (tests/test_graph_build.py holds it to that).
"""
from __future__ import annotations

import json
import time

import numpy as np

from .graph import EDGE_CODES, EDGE_NAMES, MemoryGraph, _stub, edge_access
from .graph_columns import EdgeColumns, _loads
from .store.base import EdgeView

# The only kinds engine.linking reads (and the only kinds it derives).
LINK_KINDS = frozenset({"HAS_ACCOUNT", "USES", "EXPOSED_IN"})
BATCH = 50000


class _Codes(dict):
    """value -> code, a new value getting the next code: `map(codes.__getitem__, col)`
    codes a column at C speed (Python runs only for values not seen before)."""
    def __missing__(self, key):
        code = self[key] = len(self)
        return code


def _text(props: dict) -> str:
    # Insertion order kept (views are compared and served in that order); the stdlib
    # writes everything a decoded property can hold (NaN, integers past 64 bits).
    return json.dumps(props, separators=(",", ":"), ensure_ascii=False)


def _merge_group(rows: list[tuple]) -> tuple[bool, dict, list]:
    """One (src, kind, dst)'s contributions, as SQLiteStore.iter_edges merges them:
    the first row's properties, updated by every later live row; live if any row is."""
    first = rows[0]
    props = _loads(first[4])
    sources = [first[3]] if first[5] is None else []
    live = first[5] is None
    for r in rows[1:]:
        if r[5] is None:
            props.update(_loads(r[4]))
            sources.append(r[3])
            live = True
    return live, props, sources


def build(store, usage_days, phases: dict | None = None) -> MemoryGraph:
    """`phases`, when given, receives the CPU seconds each step took (the benchmark's
    profile; CPU, not wall, because the machine may be shared)."""
    clock = [time.process_time()]

    def lap(name: str) -> None:
        now = time.process_time()
        if phases is not None:
            phases[name] = phases.get(name, 0.0) + now - clock[0]
        clock[0] = now

    # --- nodes: merged views (every source's contribution) -------------------------
    views: dict = {}
    removed: set[str] = set()
    for v in store.iter_nodes(include_removed=True):
        if v.removed_at is None:
            views[v.id] = v
        else:
            removed.add(v.id)

    lap("nodes")
    # --- edge rows as columns of codes ---------------------------------------------
    ends = _Codes()          # endpoint id -> code (one table for src and dst)
    kinds = _Codes()
    sources = _Codes()
    texts = _Codes()         # property text -> code
    s_parts, d_parts, k_parts, o_parts, p_parts = [], [], [], [], []
    removed_rows: dict[int, str] = {}     # row -> its removed_at, for the rows that have one
    cur = store.raw_edge_rows()
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
    end_ids = list(ends)
    kind_names = list(kinds)
    source_names = list(sources)
    ptable = list(texts)
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
                [(None, None, None, source_names[SO[i]], ptable[P[i]], removed_rows.get(i))
                 for i in range(a, b)])
            if not live:
                keep[a] = False
            elif b - a > 1:
                merged[a] = (_text(props), tuple(srcs))
    if removed:
        gone = np.zeros(len(end_ids), dtype=bool)
        gone[[ends[x] for x in removed if x in ends]] = True
        keep &= ~gone[S] & ~gone[D]
    lap("edges")

    # --- derived edges (linking reads only the kinds it derives) -------------------
    from .linking import derived_edges
    link_codes = [c for c, name in enumerate(kind_names) if name in LINK_KINDS]
    link_in = []
    rows_l = np.nonzero(keep & np.isin(K, link_codes))[0]
    for i, s_, d_, k_, o_, p_ in zip(rows_l.tolist(), S[rows_l].tolist(), D[rows_l].tolist(),
                                     K[rows_l].tolist(), SO[rows_l].tolist(), P[rows_l].tolist()):
        m = merged.get(i)
        text, srcs = m if m is not None else (ptable[p_], (source_names[o_],))
        link_in.append(EdgeView(end_ids[s_], end_ids[d_], kind_names[k_], _loads(text), list(srcs)))
    del rows_l
    derived = derived_edges(views, link_in)
    del link_in
    lap("linking")

    # --- ids: live views, plus a stub for every endpoint no live view has ----------
    kept = np.nonzero(keep)[0]
    used = np.zeros(len(end_ids), dtype=bool)
    used[S[kept]] = True
    used[D[kept]] = True
    stubs = {end_ids[c] for c in np.nonzero(used)[0].tolist()}
    stubs.update(e.src for e in derived)
    stubs.update(e.dst for e in derived)
    for nid in stubs.difference(views):
        views[nid] = _stub(nid)
    del stubs
    ids = sorted(views)
    index = {nid: i for i, nid in enumerate(ids)}
    view_list = [views[i] for i in ids]
    del views
    get = index.get
    remap = np.fromiter((get(x, -1) for x in end_ids), dtype=np.int32, count=len(end_ids))
    n_d = len(derived)
    n_e = len(kept) + n_d
    e_src = np.concatenate([remap[S[kept]], np.fromiter((index[e.src] for e in derived), dtype=np.int32, count=n_d)])
    e_dst = np.concatenate([remap[D[kept]], np.fromiter((index[e.dst] for e in derived), dtype=np.int32, count=n_d)])
    e_src, e_dst = e_src.astype(np.int32, copy=False), e_dst.astype(np.int32, copy=False)
    del remap

    # --- kinds, property texts and sources as codes --------------------------------
    kind_code = np.array([EDGE_CODES[name] for name in kind_names], dtype=np.int8)
    e_kind = np.concatenate([kind_code[K[kept]] if len(kind_code) else np.zeros(0, dtype=np.int8),
                             np.array([EDGE_CODES[e.kind] for e in derived], dtype=np.int8)]).astype(np.int8)
    stable = [(name,) for name in source_names]
    pcode = P[kept].astype(np.int32)
    scode = SO[kept].astype(np.int32)
    if merged:
        pos_of = {int(r): j for j, r in enumerate(kept.tolist())}
        for row, (text, srcs) in merged.items():
            # A merged edge whose endpoint was removed afterwards is not kept.
            j = pos_of.get(row)
            if j is None:
                continue
            pcode[j] = texts[text]
            scode[j] = len(stable)
            stable.append(srcs)
    # Derived properties repeat ({"via": "email"} a million times): each distinct one
    # is written once.
    memo: dict = {}

    def text_code(props: dict) -> int:
        try:
            # (types too: 1, 1.0 and True are equal keys but different texts)
            key = tuple((k, type(v), v) for k, v in props.items())
            code = memo.get(key)
        except TypeError:           # an unhashable value: no memo
            return texts[_text(props)]
        if code is None:
            code = memo[key] = texts[_text(props)]
        return code

    d_p = np.fromiter((text_code(e.properties) for e in derived), dtype=np.int32, count=n_d)
    stable.append(("derived",))
    d_s = np.full(n_d, len(stable) - 1, dtype=np.int32)
    pcode = np.concatenate([pcode, d_p])
    scode = np.concatenate([scode, d_s])
    ptable = list(texts)
    del S, D, K, SO, P, kept
    # access per distinct (kind, properties text): millions of edges, a few thousand pairs
    width = max(len(ptable), 1)
    pair = e_kind.astype(np.int64) * width + pcode
    uniq, inverse = np.unique(pair, return_inverse=True)
    codes = np.array([edge_access(EDGE_NAMES[int(u) // width], _loads(ptable[int(u) % width]))
                      for u in uniq.tolist()], dtype=np.int8)
    e_access = codes[inverse].reshape(-1) if n_e else np.zeros(0, dtype=np.int8)

    edges = EdgeColumns(ids, e_src, e_dst, e_kind, EDGE_NAMES, pcode, ptable, scode, stable)
    lap("ids and edge codes")
    g = MemoryGraph.__new__(MemoryGraph)
    g._assemble(ids, index, view_list, edges, e_src, e_dst, e_kind, e_access, usage_days, lap)
    return g
