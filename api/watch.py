"""`burnpath watch`: collect → ingest → drift → alert, every interval, one cycle at a time.

A cycle takes a lock file first (fcntl.flock: released by the kernel if the process
dies), so two watchers never run cycles over each other; one that finds the lock
held skips that cycle. A step that fails is reported and the cycle goes on where that
makes sense (a failed collect still ingests the last good snapshot; a failed ingest
skips drift but still alerts, which retries undelivered alerts); the next cycle
starts afresh. Collecting goes to a staging directory and replaces a source's
snapshot directory only when its pull succeeded.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .cli_options import CliError, db_url, is_embedded

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 30s, 15m, 1h or 1d")
    return float(m.group(1)) * UNITS[m.group(2) or "s"]


def lock_path(args) -> Path:
    if args.lock:
        return Path(args.lock)
    url = db_url(args)
    if is_embedded(url):
        return Path(url + ".watch.lock")
    return Path(args.snapshot) / ".burnpath-watch.lock"


class LockBusy(Exception):
    pass


@contextlib.contextmanager
def cycle_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            raise LockBusy(f"another watch is running a cycle (lock {path}"
                           + (f", pid {holder}" if holder else "") + ")") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)      # closing releases the lock


@dataclass
class Cycle:
    number: int
    steps: list[tuple[str, bool, str]] = field(default_factory=list)   # (step, ok, detail)

    def record(self, step: str, ok: bool, detail: str) -> None:
        self.steps.append((step, ok, detail))
        if not ok:
            print(f"burnpath watch: {step} failed: {detail}", file=sys.stderr)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.steps)

    def line(self) -> str:
        return "; ".join(f"{s} {'ok' if ok else 'FAILED'}" + (f" ({d})" if d else "") for s, ok, d in self.steps)


def _collect_one(source: str, snapshot: Path, args) -> tuple[bool, str]:
    from ingest.collect import run_collect
    staging = snapshot / f".staging-{source}"
    shutil.rmtree(staging, ignore_errors=True)
    ns = argparse.Namespace(source=source, out=str(staging), base_url=None, org=None,
                            max_retries=args.max_retries, since=None, until=None)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = run_collect(source, staging, ns)
        except Exception as exc:  # noqa: BLE001 - a collector's own bug must not end the watch
            code, _ = 1, err.write(f"{type(exc).__name__}: {exc}")
    if code != 0 or not (staging / source).is_dir():
        shutil.rmtree(staging, ignore_errors=True)
        why = err.getvalue().strip().splitlines()
        return False, (why[-1] if why else f"exit status {code}")
    target, old = snapshot / source, snapshot / f".old-{source}"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    (staging / source).rename(target)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    return True, ""


def run_cycle(number: int, args, dests, secret) -> Cycle:
    from engine.alerts.drift import available, latest_drift
    from engine.service import Engine
    from .alert_cli import send_alerts
    from .ingest_cli import print_results, remove_new_store
    cycle = Cycle(number)
    snapshot = Path(args.snapshot)
    snapshot.mkdir(parents=True, exist_ok=True)
    for source in args.collect:
        ok, detail = _collect_one(source, snapshot, args)
        cycle.record(f"collect {source}", ok, detail)
    url = db_url(args)
    has_sources = any(p.is_dir() and not p.name.startswith(".") for p in snapshot.iterdir())
    if not has_sources and is_embedded(url) and not os.path.exists(url):
        cycle.record("ingest", True, f"nothing in {snapshot} yet")   # and no store to alert from
        return cycle
    new_store = is_embedded(url) and not os.path.exists(url)
    try:
        engine = Engine.open(url, rule_dirs=args.rules or [])
    except Exception as exc:  # noqa: BLE001
        cycle.record("open store", False, f"{type(exc).__name__}: {exc}")
        return cycle
    ingested = False
    try:
        if has_sources:
            try:
                print_results(engine.ingest([snapshot]))
                ingested = True
                cycle.record("ingest", True, "")
            except Exception as exc:  # noqa: BLE001 - IngestError names the file; anything else too
                cycle.record("ingest", False, str(exc) or type(exc).__name__)
        else:
            cycle.record("ingest", True, f"nothing in {snapshot} yet")
        drift = None
        if ingested and not args.no_drift:
            try:
                drift = latest_drift(engine)
                cycle.record("drift", True, drift["summary"] if drift else
                             ("no change" if available(engine) else "not available in this build"))
            except Exception as exc:  # noqa: BLE001
                cycle.record("drift", False, f"{type(exc).__name__}: {exc}")
        if dests:
            try:
                code = send_alerts(engine, args, dests, secret, drift=drift)
                cycle.record("alert", code == 0, "" if code == 0 else "undelivered alerts kept for the next cycle")
            except Exception as exc:  # noqa: BLE001
                cycle.record("alert", False, f"{type(exc).__name__}: {exc}")
    finally:
        engine.close()
        if new_store and not ingested:
            remove_new_store(url)         # a first sync that failed leaves no empty store
    return cycle


def watch(args, dests, secret) -> int:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = lock_path(args)
    cycles = 1 if args.once else args.cycles
    failed_any = False
    number = 0
    try:
        while not stop.is_set():
            number += 1
            started = time.monotonic()
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            try:
                with cycle_lock(lock):
                    cycle = run_cycle(number, args, dests, secret)
            except LockBusy as exc:
                print(f"burnpath watch: cycle {number} skipped: {exc}", file=sys.stderr)
                if args.once:
                    raise CliError(str(exc)) from None
                failed_any = True
            else:
                failed_any |= not cycle.ok
                print(f"watch: cycle {number} at {stamp}: {cycle.line()}", flush=True)
            if cycles and number >= cycles:
                break
            stop.wait(max(0.0, args.every - (time.monotonic() - started)))
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 1 if failed_any else 0
