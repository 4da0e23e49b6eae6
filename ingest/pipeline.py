"""Ingesting several sources on two cores: parse one source while another is written.

Parsing is pure Python and writing is mostly SQLite; alone, an ingest is their sum. A
worker process parses sources (and turns each into the rows its tables take,
`store.prepare_load`) while this process writes them, in plan order, each in one
transaction (`store.write_prepared`). The worker starts with the largest source; this
process parses the sources before it in plan order and writes them meanwhile, and
whenever it would wait for the worker it parses the next unclaimed source itself (see
_Schedule). Both cores stay busy, so a large snapshot costs about half the sum.

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

import contextlib
import gc
import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from engine.model import LoadResult

from .errors import IngestError
from .snapshot import SourceLoad, read_source

log = logging.getLogger(__name__)

# Below this estimated size (see _size), one process is quicker than two.
PARALLEL_MIN_BYTES = 8 << 20


def ingest_loads(store: Any, loads: list[SourceLoad], parallel: bool | None = None,
                 on_written: Callable[[LoadResult], None] | None = None) -> list[LoadResult]:
    """Parse and write each planned source (see module doc). `parallel`: None decides
    by the snapshot's size; True/False force it (when the store allows it).
    `on_written` is called with each source's result as soon as it is committed."""
    results = _Results(on_written)
    bulk = getattr(store, "bulk_load", None)
    with (bulk() if bulk is not None else contextlib.nullcontext()):
        can = callable(getattr(store, "prepare_load", None)) and callable(getattr(store, "write_prepared", None))
        if not (can and len(loads) > 1 and parallel is not False):
            return _one_at_a_time(store, loads, results)
        if parallel is None and not _at_least(loads, PARALLEL_MIN_BYTES):
            return _one_at_a_time(store, loads, results)
        return _overlapped(store, loads, results)


class _Results(list):
    """The results so far, telling `on_written` of each one as it is appended."""

    def __init__(self, on_written: Callable[[LoadResult], None] | None):
        super().__init__()
        self.on_written = on_written

    def append(self, result: LoadResult) -> None:
        super().append(result)
        if self.on_written is not None:
            self.on_written(result)


def _one_at_a_time(store: Any, loads: list[SourceLoad], results: list[LoadResult]) -> list[LoadResult]:
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


def prepare_source(load: SourceLoad, prepare: Callable, spool: str | None = None) -> Any:
    """Parse one source and prepare its rows. With `spool` (a directory; in the worker)
    the rows are pickled into a file there and its path is returned: a source's rows
    can be hundreds of MB, and through the pool's pipe they would arrive 64 KB at a time,
    each read waiting for the GIL of a process busy writing (the worker blocked
    meanwhile); this process reads the file when the source's turn comes."""
    t0, c0 = time.perf_counter(), time.process_time()
    records = read_source(load)
    paused = gc.isenabled()
    gc.disable()
    try:
        prepared = prepare(records)
        del records
        if spool is None:
            out = prepared
        else:
            fd, out = tempfile.mkstemp(prefix=f"{load.source}-", suffix=".pickle", dir=spool)
            with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
                pickle.dump(prepared, fh, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        if paused:
            gc.enable()
    log.debug("%s parsed %s: %.2f s CPU, %.2f s wall, done at %.2f", "here" if spool is None else "worker",
              load.source, time.process_time() - c0, time.perf_counter() - t0, time.time())
    return out


SPOOL_PREFIX = "burnpath-ingest-"
STALE_SPOOL_S = 3600


def _spool_dir() -> tempfile.TemporaryDirectory:
    """A private directory for the worker's spooled rows, named after this process so
    that one left by a killed ingest (no cleanup runs on SIGKILL) is swept by the next."""
    _sweep_stale_spools()
    return tempfile.TemporaryDirectory(prefix=f"{SPOOL_PREFIX}{os.getpid()}-")


def _sweep_stale_spools() -> None:
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    now = time.time()
    for name in names:
        pid = name[len(SPOOL_PREFIX):].split("-", 1)[0] if name.startswith(SPOOL_PREFIX) else ""
        if not pid.isdigit() or _alive(int(pid)):
            continue
        path = os.path.join(base, name)
        try:
            # (an hour old too: another pid namespace may share this directory)
            if now - os.stat(path).st_mtime < STALE_SPOOL_S:
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _unspool(path: str) -> Any:
    try:
        with open(path, "rb", buffering=1 << 20) as fh:
            return pickle.load(fh)
    finally:
        os.unlink(path)


class _Schedule:
    """Who parses which source (see the module doc).

    The worker takes the largest unclaimed source (estimated by `_size`) first: the
    largest one's parse and write are each the longest single step of the ingest, and
    taken first its parse runs while this process parses and writes the sources
    before it in plan order. This process claims sources in plan order: the one to
    write next if nobody has it, else (while it waits for the worker) the next unclaimed
    one no larger than the one it waits for. Claimed-but-unwritten sources other than
    the one being written may add up to twice the largest source (memory), and the
    worker keeps two tasks outstanding, so it never waits for this process between
    sources. The pool reports a finished task on its result thread, which claims the
    worker's next source at once (under the lock)."""

    def __init__(self, loads: list[SourceLoad], sizes: list[int] | None, prepare: Callable, pool,
                 spool: str | None = None):
        self.loads, self.prepare, self.pool, self.spool = loads, prepare, pool, spool
        self.n = len(loads)
        self.sizes: list[int] | None = None
        self.budget = 0
        if sizes is not None:
            self.set_sizes(sizes)
        self.lock = threading.Lock()
        self.owner: list[str | None] = [None] * self.n     # "worker" or "here" once claimed
        self.tasks: dict[int, Any] = {}      # index -> the worker's AsyncResult
        self.running = 0                     # worker tasks not finished
        self.writing = 0                     # the source being (or next to be) written
        self.stopped = False

    def set_sizes(self, sizes: list[int]) -> None:
        """(Under the lock.) Until the sizes are known this process claims every source
        it comes to, and the worker none."""
        self.sizes = sizes
        self.budget = 2 * max(sizes)

    def sized(self, sizes: list[int]) -> None:
        # The worker's first task measured the snapshot (on the pool's result thread).
        with self.lock:
            self.set_sizes(sizes)
            self.running -= 1
            self.dispatch()

    def unsized(self, _error) -> None:
        with self.lock:
            self.running -= 1

    def _ahead(self) -> int:
        w = self.writing
        return sum(self.sizes[k] for k in range(w + 1, self.n) if self.owner[k] is not None)

    def _fits(self, k: int, ahead: int) -> bool:
        return k <= self.writing + 1 or ahead + self.sizes[k] <= self.budget

    def dispatch(self) -> None:
        """(Under the lock.) Give the worker sources up to two outstanding tasks."""
        while not self.stopped and self.sizes is not None and self.running < 2:
            ahead = self._ahead()
            best = None
            for k in range(self.writing, self.n):
                if self.owner[k] is None and self._fits(k, ahead) \
                        and (best is None or self.sizes[k] > self.sizes[best]):
                    best = k
            if best is None:
                return
            self.owner[best] = "worker"
            self.running += 1
            try:
                self.tasks[best] = self.pool.apply_async(
                    prepare_source, (self.loads[best], self.prepare, self.spool),
                    callback=self._finished, error_callback=self._finished)
            except ValueError:          # the pool is closing (an error ended the ingest)
                self.stopped = True
                return

    def _finished(self, _result) -> None:
        # On the pool's result thread; an exception here would kill that thread.
        with self.lock:
            self.running -= 1
            try:
                self.dispatch()
            except Exception:
                self.stopped = True

    def start(self, i: int) -> bool:
        """Source i is next to write: True if this process is to parse it (nobody has)."""
        with self.lock:
            self.writing = i
            mine = self.owner[i] is None
            if mine:
                self.owner[i] = "here"
            self.dispatch()
            return mine

    def claim_ahead(self, i: int) -> int | None:
        """While waiting for the worker's source i: the next source for this process
        to parse, if any fits."""
        with self.lock:
            if self.sizes is None:
                return None
            ahead = self._ahead()
            for k in range(i + 1, self.n):
                if self.owner[k] is None:
                    if self.sizes[k] <= self.sizes[i] and self._fits(k, ahead):
                        self.owner[k] = "here"
                        return k
                    return None
            return None

    def stop(self) -> None:
        with self.lock:
            self.stopped = True


def _overlapped(store: Any, loads: list[SourceLoad], results: list[LoadResult]) -> list[LoadResult]:
    """See the module doc and _Schedule. The worker's first task is measuring the
    snapshot (a stat of every file: seconds on a large one) while this process parses
    the first source, which it parses anyway unless that source is the largest."""
    prepare = type(store).prepare_load
    parsed: dict[int, tuple] = {}        # index -> parsed here: (prepared, None) or (None, error)

    # Unpickling a source's rows makes millions of tuples; the cyclic GC has nothing to
    # find in them (see read_source), so it waits until the ingest is done.
    paused = gc.isenabled()
    gc.disable()
    try:
        with _spool_dir() as spool, \
                _context().Pool(1, initializer=_worker_start) as pool:
            plan = _Schedule(loads, None, prepare, pool, spool)
            plan.running = 1
            pool.apply_async(_sizes, (loads,), callback=plan.sized, error_callback=plan.unsized)
            try:
                for i, load in enumerate(loads):
                    if plan.start(i):
                        parsed[i] = _parse_here(load, prepare)
                    elif i not in parsed:       # (else parsed here while waiting before)
                        task = plan.tasks[i]
                        while not task.ready():
                            k = plan.claim_ahead(i)
                            if k is None:
                                t0 = time.perf_counter()
                                task.wait()
                                log.debug("waited %.2f s for %s", time.perf_counter() - t0, load.source)
                                break
                            parsed[k] = _parse_here(loads[k], prepare)
                    if i in parsed:
                        prepared, error = parsed.pop(i)
                        if error is not None:
                            raise _failed(error, load, results)
                    else:
                        try:
                            spooled = plan.tasks.pop(i).get()
                        except IngestError as exc:
                            raise _failed(exc, load, results)
                        c0 = time.process_time()
                        prepared = _unspool(spooled)
                        log.debug("unpickled %s: %.2f s CPU", load.source, time.process_time() - c0)
                    t0, c0 = time.perf_counter(), time.process_time()
                    results.append(store.write_prepared(prepared, load.complete))
                    log.debug("wrote %s: %.2f s CPU, %.2f s wall, done at %.2f", load.source,
                              time.process_time() - c0, time.perf_counter() - t0, time.time())
                    del prepared
            finally:
                plan.stop()
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


def _costs(load: SourceLoad):
    """Each file's estimated parsing cost (see PER_FILE_BYTES), as they are found."""
    for p in (load.only if load.only is not None else _walk(load.root)):
        try:
            size = os.stat(p).st_size
        except OSError:
            continue
        yield size * SLOW_SUFFIXES.get(os.path.splitext(p)[1], 1) + PER_FILE_BYTES


def _size(load: SourceLoad) -> int:
    """What the schedule estimates a source's parsing by."""
    return sum(_costs(load))


def _sizes(loads: list[SourceLoad]) -> list[int]:
    return [_size(load) for load in loads]


def _at_least(loads: list[SourceLoad], limit: int) -> bool:
    """sum(_size) >= limit, stopping as soon as it is (a large snapshot is not walked)."""
    total = 0
    for load in loads:
        for cost in _costs(load):
            total += cost
            if total >= limit:
                return True
    return False


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


def _walk(root: Path | str) -> Any:
    """Every file path under root (the layout's walk: symlinked directories not entered)."""
    from .layout import walk_names
    for base, name in walk_names(os.fspath(root)):
        yield os.path.join(base, name)
