"""The built graph of one store generation, saved beside the embedded store so a
restart maps it back in a second or two instead of rebuilding it from the rows.

One file, `<db>.graph`: a magic line, a JSON header (format version, the store key
it was built from, "now", small tables), then the graph's numpy arrays, each 64-byte
aligned. Loading reads the file in one go and uses the arrays in place; node views
and edges stay columns (engine.graph_columns) until asked for. The key is the store's generation plus the id of its latest ingest
run (a uuid), so a rebuilt or replaced database never matches an old file; any
mismatch, a different format version, or a damaged file means "no cache": the graph
is rebuilt from the rows and the file rewritten. Writing is best effort (a
read-only directory just means no cache) and atomic (a temporary file renamed over).
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from .graph import CSR, MemoryGraph, kind_lists
from .graph_columns import EdgeColumns, ViewColumns, view_record

MAGIC = b"burnpath-graph\n"
# Bump when the build (derivation, linking, layout) changes what a graph holds.
VERSION = 1
ALIGN = 64
CSR_NAMES = ("fwd", "rev", "out_all", "in_all")


def cache_path(db_path: Path) -> Path:
    return Path(str(db_path) + ".graph")


def save(graph: MemoryGraph, path: Path, key: str) -> MemoryGraph | None:
    """Write the graph's cache file and return the graph in the form a load from it
    gives (node views and edges as columns, materialised when read; everything else
    shared with `graph`), so the objects the build made can go without reading the
    file back. None (and nothing written) when the graph cannot be cached (edges not
    in columns, ids with line breaks) or the file cannot be written."""
    edges = graph.edges
    if not isinstance(edges, EdgeColumns) or any("\n" in i for i in graph.ids):
        return None
    views = graph.views
    kind_table, kind_code = kind_table_of(graph)
    records = getattr(graph, "view_records", None)     # (the build may have made them)
    if records is None or len(records) != len(views):
        records = list(map(view_record, views))
    view_off = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, records), dtype=np.int64, count=len(records)), out=view_off[1:])
    blob = np.frombuffer(b"".join(records), dtype=np.uint8)
    del records
    arrays: dict[str, np.ndarray] = {
        "ids": np.frombuffer("\n".join(graph.ids).encode(), dtype=np.uint8),
        "kinds": graph.kinds,
        "kind_code": kind_code,
        "views": blob,
        "view_off": view_off,
        "e_src": graph.e_src, "e_dst": graph.e_dst, "e_kind": graph.e_kind, "e_access": graph.e_access,
        "pcode": edges.pcode, "scode": edges.scode,
        "ptable": np.frombuffer("\n".join(map(str, edges.props)).encode(), dtype=np.uint8),
    }
    for name in CSR_NAMES:
        csr = getattr(graph, name)
        for f in ("indptr", "indices", "eids"):
            arrays[f"{name}.{f}"] = getattr(csr, f)
    header = {"version": VERSION, "key": key, "byteorder": _order(),
              "as_of": graph.as_of.isoformat() if graph.as_of else None,
              "kind_table": kind_table, "edge_kind_names": list(edges.kind_names),
              "sources": [list(s) for s in edges.sources], "n_props": len(edges.props),
              "arrays": {}}
    offset = 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        arrays[name] = a
        header["arrays"][name] = [a.dtype.str, list(a.shape), offset]
        offset += -(-a.nbytes // ALIGN) * ALIGN
    head = json.dumps(header).encode()
    start = -(-(len(MAGIC) + 8 + len(head)) // ALIGN) * ALIGN
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            # Held while writing: the mark engine.store.leftovers checks before it
            # removes a `.tmp-<pid>` whose process looks gone.
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(MAGIC)
            fh.write(len(head).to_bytes(8, "little"))
            fh.write(head)
            fh.write(b"\0" * (start - fh.tell()))
            for name, a in arrays.items():
                pos = start + header["arrays"][name][2]
                fh.write(b"\0" * (pos - fh.tell()))
                fh.write(memoryview(a).cast("B") if a.nbytes else b"")
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return None
    g = MemoryGraph.__new__(MemoryGraph)
    g.__dict__.update({k: v for k, v in graph.__dict__.items() if k not in ("views", "edges", "nx", "view_records")})
    g.views = ViewColumns(graph.ids, blob, view_off)
    g.edges = EdgeColumns(graph.ids, graph.e_src, graph.e_dst, graph.e_kind, edges.kind_names, edges.pcode,
                          edges.props, edges.scode, edges.sources)
    return g


def kind_table_of(graph: MemoryGraph) -> tuple[list[str], np.ndarray]:
    """The graph's distinct kind names (first appearance order) and each node's index
    into them."""
    table = getattr(graph, "kind_table", None)
    if table is None:
        codes: dict = {}
        sub = np.fromiter((codes.setdefault(v.kind, len(codes)) for v in graph.views), dtype=np.int16,
                          count=len(graph.views))
        return list(codes), sub
    return table, graph.kind_sub


def _order() -> str:
    import sys
    return sys.byteorder


def load(path: Path, key: str) -> MemoryGraph | None:
    """The cached graph for `key`, or None (no file, another key or version, damage)."""
    try:
        fh = open(path, "rb")
    except OSError:
        return None
    try:
        with fh:
            if fh.read(len(MAGIC)) != MAGIC:
                return None
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size < 1 << 30:
                return None
            header = json.loads(fh.read(size))
            if header.get("version") != VERSION or header.get("key") != key \
                    or header.get("byteorder") != _order():
                return None
            start = -(-(len(MAGIC) + 8 + size) // ALIGN) * ALIGN
            # Read, not mapped: a file truncated or rewritten in place under a map
            # (a `cp` over it) would kill the process with SIGBUS on the next read.
            fh.seek(0, os.SEEK_END)
            total = fh.tell()
            if total < start:
                return None
            buf = bytearray(total - start)
            fh.seek(start)
            if fh.readinto(buf) != len(buf):
                return None
        return _restore(header, buf, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _restore(header: dict, mm: bytearray, start: int) -> MemoryGraph:
    arrays = {}
    for name, (dtype, shape, offset) in header["arrays"].items():
        dt = np.dtype(dtype)
        count = int(np.prod(shape)) if shape else 1
        if start + offset + count * dt.itemsize > len(mm):
            raise ValueError(f"graph cache truncated at {name}")
        arrays[name] = np.frombuffer(mm, dtype=dt, count=count, offset=start + offset).reshape(shape)
    g = MemoryGraph.__new__(MemoryGraph)
    ids = arrays["ids"].tobytes().decode().split("\n") if len(arrays["ids"]) else []
    if len(ids) != len(arrays["kinds"]):
        raise ValueError("graph cache: id count does not match")
    g.ids = ids
    g.index = {nid: i for i, nid in enumerate(ids)}
    g.kinds = arrays["kinds"]
    g.views = ViewColumns(ids, arrays["views"], arrays["view_off"])
    g.e_src, g.e_dst, g.e_kind, g.e_access = (arrays[n] for n in ("e_src", "e_dst", "e_kind", "e_access"))
    props = arrays["ptable"].tobytes().decode().split("\n") if header["n_props"] else []
    if len(props) != header["n_props"]:
        raise ValueError("graph cache: property table does not match")
    g.edges = EdgeColumns(ids, g.e_src, g.e_dst, g.e_kind, header["edge_kind_names"], arrays["pcode"],
                          props, arrays["scode"], [tuple(s) for s in header["sources"]])
    g.as_of = datetime.fromisoformat(header["as_of"]) if header["as_of"] else None
    for name in CSR_NAMES:
        csr = CSR.__new__(CSR)
        csr.indptr, csr.indices, csr.eids = (arrays[f"{name}.{f}"] for f in ("indptr", "indices", "eids"))
        setattr(g, name, csr)
    g.kind_table, g.kind_sub = header["kind_table"], arrays["kind_code"].astype(np.int16, copy=False)
    g.by_kind = kind_lists(ids, g.kinds, g.kind_sub, g.kind_table)
    return g
