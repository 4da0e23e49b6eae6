"""MemoryGraph straight from the embedded store's rows, without an EdgeView per edge.

The edge rows are read in large batches and kept as integer columns: endpoint ids,
kinds, sources and property texts each as codes into a table of their distinct
values (so ids map to graph indexes once per distinct id, not once per edge). Only
the edges link derivation reads (HAS_ACCOUNT, USES, EXPOSED_IN) become EdgeViews
here; the graph's edges are engine.graph_columns.EdgeColumns, materialised on access.
On a large store a child process reads most edge rows (engine.graph_rows) while this
one merges the node rows and does what needs the nodes alone ("now", leak matching,
the cache's view records), then reads the last share of the edge rows itself. The
result equals MemoryGraph(store.iter_nodes(include_removed=True), store.iter_edges(),
days) field for field, edge for edge, in the same order, whichever process read the
rows (tests/test_graph_build.py holds it to that).
"""
from __future__ import annotations

import contextlib
import itertools
import time

import numpy as np

from .graph import (EDGE_CODES, EDGE_NAMES, MemoryGraph, _stub, edge_access,
                    latest_timestamp)
from .graph_columns import EdgeColumns, _loads, view_record
from .graph_rows import BATCH, ChildReader, EdgeRows, _Codes, concat, edge_columns, props_text as _text
from .store.base import NodeView

# The only kinds engine.linking reads (and the only kinds it derives).
LINK_KINDS = frozenset({"HAS_ACCOUNT", "USES", "EXPOSED_IN"})
# With a child reading edge rows, the share of them this process reads after its node
# work: node rows take it about as long as the child takes for the rest.
PARENT_EDGE_SHARE = 0.1
# Why the last build read its edge rows itself although a child was started (tests).
last_fallback: str | None = None


def _edge_rows(store, reader: ChildReader | None, bound: str | None, phases: dict | None) -> EdgeRows:
    """The edge rows: the child's (those below `bound`) and this process's share (from
    `bound` on) when the child read the snapshot this process reads, else all read
    here (inside the caller's read transaction, so consistent with the nodes read)."""
    global last_fallback
    if reader is not None:
        mine = edge_columns(store.raw_edge_rows(bound)) if bound is not None else None
        got = reader.result()
        if got is not None and got[0] == store.graph_key()[1]:
            rows = got[1]
            if phases is not None:
                phases["edges in the child (its CPU)"] = rows.cpu_s
                phases["waiting for the child (wall)"] = reader.wait_s
            return rows if mine is None else concat(rows, mine)
        last_fallback = reader.error or f"the child read another store state ({got[0] if got else None})"
        if phases is not None:
            phases["edge child failed: read here"] = 1.0
    return edge_columns(store.raw_edge_rows())


def _access_codes(e_kind: np.ndarray, pcode: np.ndarray, ptable: list) -> np.ndarray:
    """edge_access of every edge, from its kind and properties text."""
    values: dict = {None: 0}          # stated level (by type and value) -> its code
    stated: list = [None]
    text_value = np.zeros(len(ptable), dtype=np.int32)
    # (stored texts never escape ASCII, so a key "access" shows as itself)
    for t in [i for i, text in enumerate(ptable) if '"access"' in text]:
        value = _loads(ptable[t]).get("access")
        key = (type(value), value if isinstance(value, (str, int, float, type(None))) else repr(value))
        code = values.get(key)
        if code is None:
            code = values[key] = len(stated)
            stated.append(value)
        text_value[t] = code
    table = np.array([[edge_access(kind, {"access": v} if v is not None else {}) for v in stated]
                      for kind in EDGE_NAMES], dtype=np.int8)
    if not len(e_kind):
        return np.zeros(0, dtype=np.int8)
    return table[e_kind.astype(np.intp), text_value[pcode]]


def build(store, usage_days, phases: dict | None = None) -> MemoryGraph:
    """`phases`, when given, receives the CPU seconds each step took (the benchmark's
    profile; CPU, not wall, because the machine may be shared)."""
    clock = [time.process_time()]

    def lap(name: str) -> None:
        now = time.process_time()
        if phases is not None:
            phases[name] = phases.get(name, 0.0) + now - clock[0]
        clock[0] = now

    # The serialised views the graph cache will write, when the store keeps one.
    want_records = bool(getattr(store, "use_graph_cache", False))
    snapshot = getattr(store, "read_snapshot", None)
    with snapshot() if snapshot is not None else contextlib.nullcontext():
        # A large store's edge rows are read by a child process meanwhile.
        path = store.edge_reader_path() if hasattr(store, "edge_reader_path") else None
        reader = ChildReader(path) if path else None
        try:
            bound = None
            if reader is not None:
                # The child reads the rows below `bound`; this process, once its node
                # work is done, the rest (the two take about equally long).
                bound = store.edge_split(PARENT_EDGE_SHARE)
                reader.read_below(bound)
            # --- nodes: merged views (every source's contribution) -----------------
            views, removed = _read_views(store)
            lap("nodes")
            # What needs the views alone, while the child may still be reading edges:
            # "now" (stubs carry no timestamps) and leak matching.
            as_of = latest_timestamp([v.properties for v in views.values()], usage_days)
            lap("now")
            from .linking import derived_edges, leak_links
            leaks = leak_links(views)
            lap("leak matching")
            # The cache's record of every view (status derivation rewrites a few,
            # which are redone).
            records = dict(zip(views, map(view_record, views.values()))) if want_records else None
            lap("view records")
            rows = _edge_rows(store, reader, bound, phases)
        finally:
            if reader is not None:
                reader.close()
    S, D, K, SO, P, keep, merged = rows.S, rows.D, rows.K, rows.SO, rows.P, rows.keep, rows.merged
    end_ids, kind_names, source_names = rows.end_ids, rows.kind_names, rows.source_names
    ptable = rows.texts
    texts = _Codes(zip(ptable, range(len(ptable))))
    del rows
    if removed:
        gone = np.fromiter((x in removed for x in end_ids), dtype=bool, count=len(end_ids))
        keep &= ~gone[S] & ~gone[D]
    lap("edges")

    # --- derived edges (linking reads only the kinds it derives) -------------------
    link_codes = [c for c, name in enumerate(kind_names) if name in LINK_KINDS]
    link_in = []
    rows_l = np.nonzero(keep & np.isin(K, link_codes))[0]
    for i, s_, d_, k_, o_, p_ in zip(rows_l.tolist(), S[rows_l].tolist(), D[rows_l].tolist(),
                                     K[rows_l].tolist(), SO[rows_l].tolist(), P[rows_l].tolist()):
        m = merged.get(i)
        text, srcs = m if m is not None else (ptable[p_], (source_names[o_],))
        link_in.append(_LinkEdge(end_ids[s_], end_ids[d_], kind_names[k_], text))
    del rows_l
    derived = derived_edges(views, link_in, leaks)
    del link_in
    lap("linking people")

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
    # (the nodes came in id order, stubs after them: one sorted run and a short tail)
    ids = sorted(views)
    index = dict(zip(ids, range(len(ids))))
    view_list = list(map(views.__getitem__, ids))
    del views
    remap = np.fromiter(map(index.get, end_ids, itertools.repeat(-1)), dtype=np.int32, count=len(end_ids))
    n_d = len(derived)
    e_src = np.concatenate([remap[S[kept]], np.fromiter(map(index.__getitem__, [e.src for e in derived]),
                                                        dtype=np.int32, count=n_d)])
    e_dst = np.concatenate([remap[D[kept]], np.fromiter(map(index.__getitem__, [e.dst for e in derived]),
                                                        dtype=np.int32, count=n_d)])
    e_src, e_dst = e_src.astype(np.int32, copy=False), e_dst.astype(np.int32, copy=False)
    del remap

    lap("ids")
    # --- kinds, property texts and sources as codes --------------------------------
    kind_code = np.array([EDGE_CODES[name] for name in kind_names], dtype=np.int8)
    e_kind = np.concatenate([kind_code[K[kept]] if len(kind_code) else np.zeros(0, dtype=np.int8),
                             np.array([EDGE_CODES[e.kind] for e in derived], dtype=np.int8)]).astype(np.int8)
    stable = [(name,) for name in source_names]
    pcode = P[kept].astype(np.int32)
    scode = SO[kept].astype(np.int32)
    if merged:
        rows_m = np.fromiter(merged, dtype=np.int64, count=len(merged))
        at = np.searchsorted(kept, rows_m).tolist()
        n_kept = len(kept)
        for row, j in zip(rows_m.tolist(), at):
            # A merged edge whose endpoint was removed afterwards is not kept.
            if j == n_kept or kept[j] != row:
                continue
            text, srcs = merged[row]
            pcode[j] = texts[text]
            scode[j] = len(stable)
            stable.append(srcs)
    # Derived properties repeat ({"via": "email"} a million times): each distinct one
    # is written once.
    memo: dict = {}

    def text_code(props: dict) -> int:
        try:
            # (types too: 1, 1.0 and True are equal keys but different texts)
            key = (tuple(props.items()), tuple(map(type, props.values())))
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
    lap("edge codes")
    # access: the level each properties text states (parsed once per distinct text that
    # mentions one), then a (kind, stated level) table gathered per edge
    e_access = _access_codes(e_kind, pcode, ptable)

    edges = EdgeColumns(ids, e_src, e_dst, e_kind, EDGE_NAMES, pcode, ptable, scode, stable)
    lap("edge access")
    g = MemoryGraph.__new__(MemoryGraph)
    g._assemble(ids, index, view_list, edges, e_src, e_dst, e_kind, e_access, usage_days, lap,
                as_of=as_of, as_of_known=True)
    if records is not None:
        get = records.get
        view_records = [get(i) for i in ids]
        del records
        for i in g.derived_views:
            view_records[i] = None
        for i in [i for i, r in enumerate(view_records) if r is None]:
            view_records[i] = view_record(view_list[i])
        g.view_records = view_records
        lap("view records")
    return g


class _LinkEdge:
    """What linking reads of a stated edge; properties decoded only if read."""
    __slots__ = ("src", "dst", "kind", "text")

    def __init__(self, src: str, dst: str, kind: str, text: str):
        self.src, self.dst, self.kind, self.text = src, dst, kind, text

    @property
    def properties(self) -> dict:
        return _loads(self.text)


def _read_views(store) -> tuple[dict, set]:
    """{id: merged view} of the live nodes (in id order) and the ids of removed ones:
    store.iter_nodes(include_removed=True), with a node stated by one source (most)
    made without the general merge."""
    from .store.sqlite import loads_json as loads, merge_contributions, row_active
    views: dict = {}
    removed: set[str] = set()
    cur = store.raw_node_rows()
    group: list | None = None
    last = None

    def emit(group: list) -> None:
        if len(group) == 1:
            r = group[0]
            removed_at = r[6]
            props = loads(r[5])
            v = NodeView(r[0], r[2], r[3] or None, row_active(r[4], removed_at, props), props, [r[1]],
                         removed_at)
        else:
            v = merge_contributions(group)
        if v.removed_at is None:
            views[v.id] = v
        else:
            removed.add(v.id)

    while True:
        rows = cur.fetchmany(BATCH)
        if not rows:
            break
        for r in rows:
            if r[0] == last:
                group.append(r)
                continue
            if group is not None:
                emit(group)
            group = [r]
            last = r[0]
    if group is not None:
        emit(group)
    return views, removed
