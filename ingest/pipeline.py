"""Ingesting several sources on two cores: parse one source while another is written.

Parsing is pure Python and writing is mostly SQLite; alone, an ingest is their sum. A
worker process parses sources in plan order (and turns each into the rows its tables
take, `store.prepare_load`) while this process writes them, in plan order, each in one
transaction (`store.write_prepared`); whenever this process would wait for the worker,
it parses the next unclaimed source itself (one no larger than the one it waits for).
Both cores stay busy, so a large snapshot costs about half the sum.

What does not change: the same records and rows, written in plan order, one
transaction per source; a file that fails to parse (in either process) stops the
ingest with every earlier source written and nothing of its own or of any later source
(the error is raised when its source's turn to be written comes). Memory stays bounded:
what is parsed but not yet written adds up to at most about twice the largest source.
Stores that cannot take prepared rows (Neo4j) and small snapshots (where starting a
process costs more than it saves) go one source at a time in this process, through
`read_source` and `store.load`.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any, Callable

from engine.model import LoadResult

from .errors import IngestError
from .snapshot import SourceLoad, read_source

# Below this estimated size (see _size), one process is quicker than two.
PARALLEL_MIN_BYTES = 8 << 20


def ingest_loads(store: Any, loads: list[SourceLoad], parallel: bool | None = None) -> list[LoadResult]:
    """Parse and write each planned source (see module doc). `parallel`: None decides
    by the snapshot's size; True/False force it (when the store allows it)."""
    can = callable(getattr(store, "prepare_load", None)) and callable(getattr(store, "write_prepared", None))
    if not (can and len(loads) > 1 and parallel is not False):
        return _one_at_a_time(store, loads)
    sizes = [_size(load) for load in loads]
    if parallel is None and sum(sizes) < PARALLEL_MIN_BYTES:
        return _one_at_a_time(store, loads)
    return _overlapped(store, loads, sizes)


def _one_at_a_time(store: Any, loads: list[SourceLoad]) -> list[LoadResult]:
    results: list[LoadResult] = []
    for load in loads:
        try:
            records = read_source(load)
        except IngestError as exc:
            raise _failed(exc, load, results)
        results.append(store.load(records, complete=load.complete))
        del records
    return results


def _failed(exc: IngestError, load: SourceLoad, results: list[LoadResult]) -> IngestError:
    exc.loaded = results
    exc.source = load.source
    return exc


def prepare_source(load: SourceLoad, prepare: Callable) -> Any:
    """In the worker: parse one source and prepare its rows."""
    records = read_source(load)
    paused = gc.isenabled()
    gc.disable()
    try:
        return prepare(records)
    finally:
        if paused:
            gc.enable()


def _overlapped(store: Any, loads: list[SourceLoad], sizes: list[int]) -> list[LoadResult]:
    """See the module doc. The worker keeps two tasks outstanding, so it does not wait
    for this process between sources."""
    n = len(loads)
    # Claimed-but-unwritten sources (other than the one being written) may add up to
    # twice the largest: enough for the worker to start on a large source early.
    budget = 2 * max(sizes)
    prepare = type(store).prepare_load
    results: list[LoadResult] = []
    queued: dict[int, Any] = {}          # index -> the worker's AsyncResult
    ready: dict[int, tuple] = {}         # index -> parsed here: (prepared, None) or (None, error)
    nxt = 0                              # the lowest source nobody has claimed

    def claimable(i: int) -> bool:
        ahead = sum(sizes[k] for k in (*queued, *ready) if k != i)
        return nxt < n and (nxt <= i + 1 or ahead + sizes[nxt] <= budget)

    # Unpickling a source's rows makes millions of tuples; the cyclic GC has nothing to
    # find in them (see read_source), so it waits until the ingest is done.
    paused = gc.isenabled()
    gc.disable()
    try:
        with _context().Pool(1, initializer=_worker_start) as pool:
            def feed(i: int) -> None:
                nonlocal nxt
                while sum(not r.ready() for r in queued.values()) < 2 and claimable(i):
                    queued[nxt] = pool.apply_async(prepare_source, (loads[nxt], prepare))
                    nxt += 1

            for i, load in enumerate(loads):
                feed(i)
                if i not in queued and i not in ready:    # (only if the worker fell behind)
                    ready[i] = _parse_here(loads[i], prepare)
                    nxt = max(nxt, i + 1)
                while i in queued and not queued[i].ready() and claimable(i) \
                        and sizes[nxt] <= sizes[i]:
                    ready[nxt] = _parse_here(loads[nxt], prepare)
                    nxt += 1
                    feed(i)
                if i in ready:
                    prepared, error = ready.pop(i)
                    if error is not None:
                        raise _failed(error, load, results)
                else:
                    try:
                        prepared = queued.pop(i).get()
                    except IngestError as exc:
                        raise _failed(exc, load, results)
                results.append(store.write_prepared(prepared, load.complete))
                del prepared
    finally:
        if paused:
            gc.enable()
    return results


def _parse_here(load: SourceLoad, prepare: Callable) -> tuple:
    # A bad file is reported when its turn to be written comes, as if parsed then.
    try:
        return prepare_source(load, prepare), None
    except IngestError as exc:
        return None, exc


# Parsing cost, in JSON-byte equivalents (measured on the synthetic org): a file costs
# about as much to open and walk as 8 KB of JSON does to decode, and YAML (the
# inventory) about twenty times JSON per byte.
PER_FILE_BYTES = 8 << 10
SLOW_SUFFIXES = {".yaml": 20, ".yml": 20}


def _size(load: SourceLoad) -> int:
    """What the schedule estimates a source's parsing by (see PER_FILE_BYTES)."""
    total = 0
    for p in (load.only if load.only is not None else _walk(load.root)):
        try:
            size = os.stat(p).st_size
        except OSError:
            continue
        total += size * SLOW_SUFFIXES.get(os.path.splitext(p)[1], 1) + PER_FILE_BYTES
    return total


def _worker_start() -> None:
    # A forked worker inherits this process's objects and its paused GC: set the former
    # aside for good (never scanned, never copied by the scan) and collect its own.
    gc.freeze()
    gc.enable()


def _context():
    # fork: the worker starts with everything imported, in milliseconds. A process that
    # runs threads (the API server) must not fork; forkserver starts clean instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _walk(root: Path):
    for base, _dirs, names in os.walk(root):
        for name in names:
            yield os.path.join(base, name)
