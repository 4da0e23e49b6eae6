"""History at scale: 30 daily syncs of a generated org with realistic churn, then
what the history costs and how fast the graph as it stood on an earlier day answers.

    python bench/history.py --people 16000          # ~100k graph nodes
    python bench/history.py --people 1000 --days 5  # a quick run

The org is generated once (synth.generate) and parsed once; each day is a complete
re-sync of every source, observed at that day (`load_records(..., synced_at=day)`),
of the previous day's records with churn applied in memory:

- offboarding: ~0.2% of accounts per day turn inactive (status DEPROVISIONED);
- keys: ~0.5% of credentials revoked, as many new ones created (held by the same
  holders), ~0.3% change expiry;
- grants: ~0.5% of OAuth grants revoked, ~0.5% new, ~0.3% change scopes;
- access: ~0.2% of CAN_ACCESS edges change level;
- volatile: ~30% of credentials get a new `last_used_at` (no version: it does not
  matter to history).

Usage rows are loaded with the first day only (a daily export adds one day; the
bench is about graph history). Prints: the database size after day 1 and after the
last day, the history rows and bytes (dbstat) and per day; sync time per day; and
blastRadius latency (p50/p95 over a seeded sample of sources) on the current graph
and on the graph as it stood mid-way (cold build once, then warm), with the ratio.
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def parse(snapshot: Path):
    from ingest.snapshot import plan, read_source
    return [(read_source(load), load.complete) for load in plan([snapshot])]


def churn(loads, rng: random.Random, day: int):
    """The next day's records: the previous day's with churn applied (see module doc)."""
    from engine.model import Edge, EdgeKind, Node, NodeKind
    out = []
    for records, complete in loads:
        r = records.model_copy()
        r.usage, r.costs, r.activity = [], [], []
        nodes = []
        new_nodes, new_edges, gone = [], [], set()
        for n in r.nodes:
            kind = n.kind if isinstance(n.kind, str) else n.kind.value
            x = rng.random()
            if kind == "Account" and n.active is not False and x < 0.002:
                n = n.model_copy(update={"active": False,
                                         "properties": {**n.properties, "status": "DEPROVISIONED"}})
            elif kind == "Credential":
                if x < 0.005:
                    gone.add(n.id)
                    new_id = f"{n.id}-r{day}"
                    new_nodes.append(n.model_copy(update={"id": new_id, "properties": {
                        **n.properties, "created_at": f"day-{day}"}}))
                    continue
                if x < 0.008:
                    n = n.model_copy(update={"properties": {**n.properties, "expires_at": f"2027-01-{day:02d}T00:00:00Z"}})
                elif x < 0.3:
                    n = n.model_copy(update={"properties": {**n.properties, "last_used_at": f"2026-11-{day:02d}T00:00:00Z"}})
            elif kind == "OAuthGrant":
                if x < 0.005:
                    gone.add(n.id)
                    continue
                if x < 0.008:
                    n = n.model_copy(update={"properties": {**n.properties, "scopes": ["churned", str(day)]}})
                elif x < 0.013:
                    new_nodes.append(n.model_copy(update={"id": f"{n.id}-n{day}"}))
            nodes.append(n)
        renamed = {nn.id.rsplit("-r", 1)[0]: nn.id for nn in new_nodes if "-r" in nn.id.rsplit(":", 1)[-1]}
        added_grants = {nn.id.rsplit("-n", 1)[0]: nn.id for nn in new_nodes if "-n" in nn.id.rsplit(":", 1)[-1]}
        edges = []
        for e in r.edges:
            kind = e.kind if isinstance(e.kind, str) else e.kind.value
            for old, new in ((e.src, renamed.get(e.src)), (e.dst, renamed.get(e.dst))):
                if new:
                    new_edges.append(e.model_copy(update={"src": new if e.src == old else e.src,
                                                          "dst": new if e.dst == old else e.dst}))
            for old, new in ((e.src, added_grants.get(e.src)), (e.dst, added_grants.get(e.dst))):
                if new:
                    new_edges.append(e.model_copy(update={"src": new if e.src == old else e.src,
                                                          "dst": new if e.dst == old else e.dst}))
            if e.src in gone or e.dst in gone:
                continue
            if kind == "CAN_ACCESS" and rng.random() < 0.002:
                level = {"read": "write", "write": "admin"}.get(e.properties.get("access"), "read")
                e = e.model_copy(update={"properties": {**e.properties, "access": level}})
            edges.append(e)
        r.nodes = nodes + new_nodes
        r.edges = edges + new_edges
        out.append((r, complete))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--people", type=int, default=16000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sample", type=int, default=300, help="blastRadius sources timed")
    p.add_argument("--work", default=None, help="directory for the snapshot and db (default: a temp dir)")
    args = p.parse_args()
    from engine.service import Engine
    from synth.generate import generate
    work = Path(args.work or tempfile.mkdtemp(prefix="bp-history-"))
    snap, db = work / "snap", work / "history.db"
    for suffix in ("", "-wal", "-shm", ".graph"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    t = time.perf_counter()
    if not snap.exists():
        generate(people=args.people, seed=args.seed, out=snap)
    loads = parse(snap)
    print(f"generate + parse: {time.perf_counter() - t:.1f} s "
          f"({sum(len(r.nodes) for r, _ in loads):,} node and {sum(len(r.edges) for r, _ in loads):,} edge statements)")
    eng = Engine.open(str(db))
    rng = random.Random(args.seed)
    day0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    sync_s, sizes = [], []
    for day in range(1, args.days + 1):
        if day > 1:
            loads = churn(loads, rng, day)
        t = time.perf_counter()
        eng.load_records(loads, synced_at=day0 + timedelta(days=day - 1))
        sync_s.append(time.perf_counter() - t)
        eng.store._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes.append(os.path.getsize(db))
        run = eng.last_sync
        if day in (1, 2, args.days) or day % 10 == 0:
            print(f"day {day:2}: sync {sync_s[-1]:.1f} s, +{run['added']} ~{run['changed']} -{run['removed']} nodes, "
                  f"db {sizes[-1] / 2**20:.1f} MiB")
    size = eng.store.history_size()
    hist_rows = size["node_hist_rows"] + size["edge_hist_rows"]
    hist_bytes = sum(v for k, v in size.items() if k.endswith("_bytes"))
    print(f"\nhistory after {args.days} syncs: {size['node_hist_rows']:,} node and {size['edge_hist_rows']:,} edge "
          f"versions, {size['sync_runs_rows']} runs; {hist_bytes / 2**20:.1f} MiB in history tables "
          f"({hist_bytes / max(args.days - 1, 1) / 2**10:.0f} KiB per daily sync)")
    print(f"db: {sizes[0] / 2**20:.1f} MiB after day 1, {sizes[-1] / 2**20:.1f} MiB after day {args.days} "
          f"(+{(sizes[-1] - sizes[0]) / sizes[0] * 100:.1f}%); sync p50 {pct(sync_s[1:], .5):.1f} s")

    # blastRadius: current vs as of mid-way
    graph = eng.graph()
    sample_rng = random.Random(7)
    kinds = ("Credential", "Account", "ServiceAccount", "AITool", "Person", "OAuthGrant")
    ids = [i for k in kinds for i in sample_rng.sample(graph.by_kind.get(k, []),
                                                        min(args.sample // len(kinds), len(graph.by_kind.get(k, []))))]
    mid = day0 + timedelta(days=args.days // 2, hours=12)
    then = eng.at(mid)
    t = time.perf_counter()
    then.graph()
    cold = time.perf_counter() - t
    ids_then = [i for i in ids if then.node(i) is not None]

    def timed(e, sources):
        out = []
        for i in sources:
            t0 = time.perf_counter()
            e.blast_radius(i)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    now_ms = timed(eng, ids)
    then_ms = timed(then, ids_then)
    print(f"\nblastRadius (Engine.blast_radius, depth 8, {len(ids)} sources): current p50 {pct(now_ms, .5):.2f} / "
          f"p95 {pct(now_ms, .95):.2f} ms; as of day {args.days // 2 + 1} p50 {pct(then_ms, .5):.2f} / "
          f"p95 {pct(then_ms, .95):.2f} ms (ratio {pct(then_ms, .5) / pct(now_ms, .5):.2f}x / "
          f"{pct(then_ms, .95) / pct(now_ms, .95):.2f}x) after a one-off {cold:.1f} s build of that day's graph "
          f"from {hist_rows:,} versions plus the current rows")
    eng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
