"""The Neo4j store's ingest lock: one `(:BurnpathLock {name: 'ingest'})` node.

The holder writes its token, pid, host and start time there and an expiry in the
server's clock; a heartbeat thread pushes the expiry forward every TTL/4 while the
ingest runs. A second ingest may take the lock when it is free, when its expiry has
passed (the holder died or lost the server), or when the holder ran on this host and
its process is gone (a killed ingest does not keep the store locked for a whole TTL).
Taking and checking happen in one write transaction that first writes the node, so
Neo4j's node lock orders two contenders (the constraint makes the MERGE unique).
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from typing import Iterator

from .ingest_lock import POLL_S, Holder, IngestLocked, wait_seconds
from .leftovers import pid_alive

DEFAULT_TTL_S = 60.0

_TAKE = """
MERGE (l:BurnpathLock {name: $name})
SET l.contended = coalesce(l.contended, 0) + 1
RETURN l.token AS token, l.expires_at AS expires_at, timestamp() AS now,
       l {.pid, .host, .command, .started_at, .heartbeat_at} AS holder
"""
_CLAIM = """
MATCH (l:BurnpathLock {name: $name})
SET l.token = $token, l.pid = $pid, l.host = $host, l.command = $command,
    l.started_at = $started_at, l.heartbeat_at = toString(datetime()),
    l.expires_at = timestamp() + $ttl_ms
"""
_BEAT = """
MATCH (l:BurnpathLock {name: $name, token: $token})
SET l.expires_at = timestamp() + $ttl_ms, l.heartbeat_at = toString(datetime())
RETURN count(l) AS held
"""
_RELEASE = """
MATCH (l:BurnpathLock {name: $name, token: $token})
REMOVE l.token, l.pid, l.host, l.command, l.started_at, l.heartbeat_at, l.expires_at
"""


def ttl_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("BURNPATH_LOCK_TTL") or DEFAULT_TTL_S))
    except ValueError:
        return DEFAULT_TTL_S


def _holder_gone(holder: dict) -> bool:
    """The holder ran on this host and its process no longer exists."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    return not pid_alive(holder["pid"])


@contextlib.contextmanager
def neo4j_lock(session_factory, name: str = "ingest", wait: float | None = None,
               store_url: str = "neo4j") -> Iterator[Holder]:
    limit, ttl = wait_seconds(wait), ttl_seconds()
    me, token = Holder(), uuid.uuid4().hex
    params = {"name": name, "token": token, "ttl_ms": int(ttl * 1000), **me.as_dict()}

    def attempt(tx):
        row = tx.run(_TAKE, name=name).single()
        free = (row["token"] is None or row["expires_at"] is None or row["expires_at"] <= row["now"]
                or _holder_gone(row["holder"] or {}))
        if free:
            tx.run(_CLAIM, **params).consume()
            return None
        return dict(row["holder"] or {})

    start = time.monotonic()
    while True:
        with session_factory() as s:
            holder = s.execute_write(attempt)
        if holder is None:
            break
        waited = time.monotonic() - start
        if waited >= limit:
            raise IngestLocked(store_url, holder, waited)
        time.sleep(min(POLL_S * 2, max(0.01, limit - waited)))

    stop = threading.Event()

    def heartbeat():
        while not stop.wait(ttl / 4):
            try:
                with session_factory() as s:
                    s.run(_BEAT, name=name, token=token, ttl_ms=int(ttl * 1000)).consume()
            except Exception:   # noqa: BLE001 - a missed beat is retried; expiry is the backstop
                pass

    beat = threading.Thread(target=heartbeat, name="burnpath-lock-heartbeat", daemon=True)
    beat.start()
    try:
        yield me
    finally:
        stop.set()
        beat.join(timeout=5)
        with contextlib.suppress(Exception), session_factory() as s:
            s.run(_RELEASE, name=name, token=token).consume()
