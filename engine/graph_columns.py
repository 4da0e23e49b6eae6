"""The graph's node views and edges kept as columns, materialised as NodeView /
EdgeView objects on first access (then kept, so repeated reads return the same
object). A million-node graph has millions of edges most queries never look at:
keeping them as integer columns plus a table of distinct property texts costs a few
bytes an edge instead of a few hundred.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from .store.base import EdgeView, NodeView


def _loads(text) -> Any:
    if text == b"{}" or text == "{}":
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        import json
        return json.loads(bytes(text).decode() if not isinstance(text, str) else text)


def _keep(made: list, lock: threading.Lock, i: int, obj):
    """Store a freshly made object unless another thread stored one first: every
    reader of slot i gets the same object (the API serves from a thread pool)."""
    with lock:
        cur = made[i]
        if cur is None:
            made[i] = cur = obj
    return cur


class EdgeColumns(Sequence):
    """graph.edges: edge i is (ids[src[i]], ids[dst[i]], kinds[kind[i]]) with the
    properties text props[pcode[i]] and the sources tuple sources[scode[i]]."""
    __slots__ = ("ids", "src", "dst", "kind", "kind_names", "pcode", "props", "scode", "sources", "_made",
                 "_lock")

    def __init__(self, ids: list[str], src: np.ndarray, dst: np.ndarray, kind: np.ndarray,
                 kind_names: list[str], pcode: np.ndarray, props: list, scode: np.ndarray,
                 sources: list[tuple]):
        self.ids, self.src, self.dst, self.kind, self.kind_names = ids, src, dst, kind, kind_names
        self.pcode, self.props, self.scode, self.sources = pcode, props, scode, sources
        self._made: list[EdgeView | None] = [None] * len(src)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._made)

    def _make(self, i: int) -> EdgeView:
        ids = self.ids
        e = EdgeView(src=ids[int(self.src[i])], dst=ids[int(self.dst[i])],
                     kind=self.kind_names[int(self.kind[i])],
                     properties=_loads(self.props[int(self.pcode[i])]),
                     sources=list(self.sources[int(self.scode[i])]))
        return _keep(self._made, self._lock, i, e)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._made)))]
        e = self._made[i]
        if e is None:
            if i < 0:
                i += len(self._made)
            e = self._make(i)
        return e

    def __iter__(self):
        made = self._made
        for i in range(len(made)):
            e = made[i]
            yield e if e is not None else self._make(i)


class ViewColumns(Sequence):
    """graph.views from a blob: view i is the JSON array [kind, name, active,
    properties, sources, removed_at] at blob[offsets[i]:offsets[i+1]], with id ids[i]."""
    __slots__ = ("ids", "blob", "offsets", "_made", "_lock")

    def __init__(self, ids: list[str], blob, offsets: np.ndarray):
        # A memoryview slices without copying (the blob may be a mapped cache file).
        self.ids, self.blob, self.offsets = ids, memoryview(blob).cast("B"), offsets
        self._made: list[NodeView | None] = [None] * len(ids)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._made)

    def _make(self, i: int) -> NodeView:
        kind, name, active, props, sources, removed_at = _loads(
            self.blob[int(self.offsets[i]):int(self.offsets[i + 1])].tobytes())
        v = NodeView(id=self.ids[i], kind=kind, name=name, active=active, properties=props,
                     sources=sources, removed_at=removed_at)
        return _keep(self._made, self._lock, i, v)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._made)))]
        v = self._made[i]
        if v is None:
            if i < 0:
                i += len(self._made)
            v = self._make(i)
        return v

    def __iter__(self):
        made = self._made
        for i in range(len(made)):
            v = made[i]
            yield v if v is not None else self._make(i)


def view_record(v: NodeView) -> bytes:
    """The blob entry of one view (what ViewColumns decodes)."""
    row = [v.kind, v.name, v.active, v.properties, v.sources, v.removed_at]
    try:
        return orjson.dumps(row)
    except (TypeError, orjson.JSONEncodeError):
        import json
        return json.dumps(row, separators=(",", ":"), default=str).encode()
