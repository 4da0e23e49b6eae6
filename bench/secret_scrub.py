"""What the store's secret scrub (engine.secret_scrub) costs an ingest.

    python bench/secret_scrub.py [--people 2000] [--keep DIR]

Generates a synthetic org (`burnpath generate`), parses every source once, then times,
on the same parsed records:

- prepare: the embedded store's row preparation (sqlite_load.prepare) with the scrub
  switched off (the baseline: what an ingest did before) and on;
- scrub alone: engine.secret_scrub.scrub_records over the same records;
- a whole ingest into a fresh SQLite file with the scrub off and on (wall time,
  records/s, ratio).
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine.secret_scrub as scrub  # noqa: E402
from engine.service import Engine  # noqa: E402
from engine.store import sqlite_load  # noqa: E402
from ingest.snapshot import plan, read_source  # noqa: E402


def parsed(snap: Path) -> list:
    return [read_source(load) for load in plan([snap])]


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def prepare_all(records: list, enabled: bool) -> float:
    batch = copy.deepcopy(records)
    original = scrub.scrub_records
    if not enabled:
        scrub.scrub_records = lambda r: 0
    try:
        return timed(lambda: [sqlite_load.prepare(r) for r in batch])
    finally:
        scrub.scrub_records = original


def ingest(snap: Path, db: Path, enabled: bool) -> float:
    original = scrub.scrub_records
    if not enabled:
        scrub.scrub_records = lambda r: 0
    try:
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        eng = Engine.open(str(db))
        took = timed(lambda: eng.ingest([snap], parallel=False))
        eng.close()
        return took
    finally:
        scrub.scrub_records = original


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument("--keep", default=None)
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bp-scrub-"))
    snap = root / "org"
    if not snap.exists():
        from synth.generate import generate
        generate(people=args.people, seed=1, out=snap)
    records = parsed(snap)
    n = sum(len(r.nodes) + len(r.edges) + len(r.usage) + len(r.costs) + len(r.activity) for r in records)
    print(f"org: {args.people} people, {n:,} records "
          f"({sum(len(r.nodes) for r in records):,} nodes, {sum(len(r.edges) for r in records):,} edges)")

    fresh = copy.deepcopy(records)
    scrub._CLEAN.clear()     # a cold memo of clean values, as a new process has
    scrub_only = timed(lambda: [scrub.scrub_records(r) for r in fresh])
    scrub._CLEAN.clear()
    base, with_scrub = prepare_all(records, False), prepare_all(records, True)
    print(f"scrub alone:          {scrub_only:6.2f} s  ({scrub_only / n * 1e6:.2f} us/record)")
    print(f"prepare, no scrub:    {base:6.2f} s  (baseline)")
    print(f"prepare, with scrub:  {with_scrub:6.2f} s  (ratio {with_scrub / base:.2f})")

    scrub._CLEAN.clear()
    off = ingest(snap, root / "off.db", False)
    on = ingest(snap, root / "on.db", True)
    print(f"ingest, no scrub:     {off:6.2f} s  {n / off:,.0f} records/s (baseline)")
    print(f"ingest, with scrub:   {on:6.2f} s  {n / on:,.0f} records/s (ratio {on / off:.2f})")


if __name__ == "__main__":
    main()
