"""One ingest at a time per store: the store-wide ingest lock.

Two ingests into one store would interleave source by source and leave an org that
never existed. `Engine.ingest` holds the store's ingest lock for the whole ingest; a
second one waits up to `wait` seconds (`--wait`, `$BURNPATH_INGEST_WAIT`, default
DEFAULT_WAIT_S) and then refuses with `IngestLocked`, naming the holder.

The embedded store locks `<db>.ingest-lock` with flock(2): the kernel drops the lock
when its process dies, however it dies, so a killed ingest never leaves the store
locked. (A file of its own, not the database: closing any descriptor of the database
would drop SQLite's own POSIX locks in this process.) The Neo4j store keeps a lock
node with an owner, a heartbeat and an expiry (engine.store.neo4j_lock).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .base import StoreError

DEFAULT_WAIT_S = 30.0
POLL_S = 0.2


class IngestLocked(StoreError):
    """Another ingest holds the store: raised after waiting `wait` seconds."""

    def __init__(self, store: str, holder: dict | None, waited: float):
        self.store, self.holder, self.waited = store, holder or {}, waited
        super().__init__(f"{store}: another ingest is running ({describe_holder(self.holder)}); "
                         f"waited {waited:.0f} s. Try again when it ends, or wait longer "
                         f"(--wait SECONDS, BURNPATH_INGEST_WAIT)")


def describe_holder(holder: dict) -> str:
    if not holder:
        return "holder unknown"
    parts = [f"pid {holder.get('pid')} on {holder.get('host')}"]
    if holder.get("command"):
        parts.append(f"running {holder['command']!r}")
    if holder.get("started_at"):
        parts.append(f"since {holder['started_at']}")
    if holder.get("heartbeat_at"):
        parts.append(f"last heartbeat {holder['heartbeat_at']}")
    return ", ".join(parts)


@dataclass
class Holder:
    """Who holds the lock: shown to whoever waits for it."""
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    command: str = field(default_factory=lambda: " ".join(sys.argv[:3]))

    def as_dict(self) -> dict:
        return asdict(self)


def wait_seconds(wait: float | None) -> float:
    """The bound on waiting: the argument, else $BURNPATH_INGEST_WAIT, else the default."""
    if wait is not None:
        return max(0.0, float(wait))
    env = os.environ.get("BURNPATH_INGEST_WAIT")
    if env:
        try:
            return max(0.0, float(env))
        except ValueError:
            raise StoreError(f"BURNPATH_INGEST_WAIT={env!r}: expected a number of seconds") from None
    return DEFAULT_WAIT_S


def lock_path(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".ingest-lock")


@contextlib.contextmanager
def file_lock(db: str | Path, wait: float | None = None) -> Iterator[Holder]:
    """Hold the embedded store's ingest lock (see the module doc)."""
    path = lock_path(db)
    limit = wait_seconds(wait)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the ingest lock file ({exc.strerror})") from exc
    try:
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= limit:
                    raise IngestLocked(str(db), _read_holder(fd), waited) from None
                time.sleep(min(POLL_S, max(0.01, limit - waited)))
        me = Holder()
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me.as_dict()).encode(), 0)
        try:
            yield me
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict | None:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
