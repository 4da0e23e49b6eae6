"""What a killed process leaves beside a store, and removing it on the next open.

A SIGKILL runs no cleanup: an ingest's spool directory (`<tmp>/burnpath-ingest-<pid>-*`,
the worker's prepared rows, hundreds of MB) and a graph save's `<db>.graph.tmp-<pid>`
stay behind. Every verb that opens a store calls `sweep` first. A leftover is removed
only when its process is gone: its pid no longer exists here, and the lock its owner
held on it (flock, dropped by the kernel when the owner dies, in whatever pid
namespace it ran) can be taken. A live process's files are never touched.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

SPOOL_PREFIX = "burnpath-ingest-"
OWNER_FILE = ".owner"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True      # exists, owned by someone else
    return True


def hold(path: str | Path) -> int:
    """Open `path` (created if need be) and hold an exclusive flock on it for this
    process's lifetime (or until the descriptor is closed): the mark of a live owner."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _owner_dead(pid_text: str, lock_file: str) -> bool:
    if not pid_text.isdigit() or pid_alive(int(pid_text)) or int(pid_text) == os.getpid():
        return False
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        return True      # (an owner that died before marking it: its pid is gone)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def make_spool() -> tempfile.TemporaryDirectory:
    """A private spool directory named after this process and marked as held by it."""
    spool = tempfile.TemporaryDirectory(prefix=f"{SPOOL_PREFIX}{os.getpid()}-")
    fd = hold(os.path.join(spool.name, OWNER_FILE))
    # The mark lives as long as the directory: closed when the directory is cleaned up.
    spool._burnpath_owner_fd = fd          # noqa: SLF001 - keeps the descriptor open
    original = spool.cleanup

    def cleanup():
        with contextlib.suppress(OSError):
            os.close(fd)
        original()
    spool.cleanup = cleanup
    return spool


def sweep_spools(base: str | None = None) -> list[str]:
    base = base or tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return []
    removed = []
    for name in names:
        if not name.startswith(SPOOL_PREFIX):
            continue
        path = os.path.join(base, name)
        pid = name[len(SPOOL_PREFIX):].split("-", 1)[0]
        if _owner_dead(pid, os.path.join(path, OWNER_FILE)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def sweep_graph_temps(db: str | Path) -> list[str]:
    """`<db>.graph.tmp-<pid>` files whose writer is gone (engine.graph_cache holds a
    flock on the file while it writes)."""
    db = Path(db)
    prefix = f"{db.name}.graph.tmp-"
    try:
        names = os.listdir(db.parent if str(db.parent) else ".")
    except OSError:
        return []
    removed = []
    for name in names:
        if name.startswith(prefix):
            path = os.path.join(db.parent, name)
            if _owner_dead(name[len(prefix):], path):
                with contextlib.suppress(OSError):
                    os.unlink(path)
                    removed.append(path)
    return removed


def sweep(db: str | Path | None = None) -> list[str]:
    """Remove what dead processes left: spool directories, and beside `db` (an embedded
    store's path) its graph temp files. Returns what it removed."""
    removed = sweep_spools()
    if db is not None and str(db) != ":memory:":
        removed += sweep_graph_temps(db)
    return removed
