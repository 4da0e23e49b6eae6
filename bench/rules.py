"""How long evaluating the whole rule pack takes: on the bundled demo, and on a
generated org of about 100k graph nodes (synth.generate; --people scales it).

    python bench/rules.py [--people 18000] [--seed 1] [--skip-large] [--keep DIR]
    python bench/rules.py --db /tmp/synth.db        # an org already ingested

Prints, per dataset: nodes, edges, usage rows, the in-memory graph load, the facts
(usage read and priced), each rule (wall and CPU seconds) on the screened path and on
the reference path (every subject checked, engine.findings.evaluate_rule
screened=False) with the ratio, the whole pack cold (fresh engine, nothing cached) and
warm (cached per store generation), and risk scores for a sample of identities.
CPU seconds are printed beside wall time because a shared machine's wall time says
as much about its neighbours as about the code.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.findings import all_findings, evaluate_rule, facts_of, rules_of  # noqa: E402
from engine.service import Engine  # noqa: E402


def _t(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _tc(fn):
    """(result, wall seconds, CPU seconds of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


def measure(label: str, db: Path, risk_sample: int | None = None, reference: bool = True) -> dict:
    eng = Engine.open(str(db))
    graph, t_graph = _t(eng.graph)
    usage_rows = eng.store._conn().execute("SELECT COUNT(*) FROM usage WHERE removed_at IS NULL").fetchone()[0] \
        if hasattr(eng.store, "_conn") else len(eng.store.usage())
    facts, t_facts, c_facts = _tc(lambda: facts_of(eng))
    _, t_usage, c_usage = _tc(lambda: facts._usage)
    per_rule = []
    for rule in rules_of(eng):
        found, secs, cpu = _tc(lambda: evaluate_rule(rule, facts))
        per_rule.append([rule.id, len(found), secs, cpu, None, None])
    n_nodes, n_edges = len(graph.ids), len(graph.edges)
    eng.close()
    eng = graph = facts = None  # one big graph in memory at a time
    if reference:
        # A fresh engine (nothing memoised), every subject checked, rules in the same
        # order: what the screens save. The findings must be the same ones.
        ref_eng = Engine.open(str(db))
        ref_eng.graph()
        ref_facts = facts_of(ref_eng)
        ref_facts._usage
        for row, rule in zip(per_rule, rules_of(ref_eng)):
            found, secs, cpu = _tc(lambda: evaluate_rule(rule, ref_facts, screened=False))
            assert len(found) == row[1], rule.id
            row[4], row[5] = secs, cpu
        ref_eng.close()
        ref_eng = ref_facts = None

    cold_eng = Engine.open(str(db))
    cold_eng.graph()
    found, t_cold, c_cold = _tc(lambda: all_findings(cold_eng))
    _, t_warm = _t(lambda: all_findings(cold_eng))
    from engine.risk import risk_of
    from engine.model import IDENTITY_KINDS
    ids = [v.id for v in facts_of(cold_eng).subjects(sorted(k.value for k in IDENTITY_KINDS))]
    sample = ids if risk_sample is None else ids[:risk_sample]
    _, t_risk = _t(lambda: [risk_of(cold_eng, i) for i in sample])
    cold_eng.close()

    print(f"\n== {label}: {n_nodes:,} nodes, {n_edges:,} edges, {usage_rows:,} usage rows")
    print(f"   graph load (SQLite -> memory)   {t_graph:8.3f} s")
    print(f"   facts: usage read + priced      {t_facts + t_usage:8.3f} s  (cpu {c_facts + c_usage:7.3f} s)")
    print(f"   {'rule':<32}{'wall':>8}    {'cpu':>7}   {'findings':>8}   reference (all subjects): wall, cpu, ratio")
    for rid, n, secs, cpu, rsecs, rcpu in per_rule:
        ref = f"   {rsecs:8.3f} s {rcpu:7.3f} s  {rcpu / max(cpu, 1e-6):5.1f}x" if rsecs is not None else ""
        print(f"   {rid:<32}{secs:8.3f} s  {cpu:7.3f} s  {n:8,}{ref}")
    sum_wall = sum(r[2] for r in per_rule)
    sum_cpu = sum(r[3] for r in per_rule)
    print(f"   {'sum of rules':<32}{sum_wall:8.3f} s  {sum_cpu:7.3f} s", end="")
    if reference:
        ref_cpu = sum(r[5] for r in per_rule)
        print(f"             {sum(r[4] for r in per_rule):8.3f} s {ref_cpu:7.3f} s  {ref_cpu / max(sum_cpu, 1e-6):5.1f}x")
    else:
        print()
    print(f"   all rules, cold (fresh engine)  {t_cold:8.3f} s  (cpu {c_cold:7.3f} s, facts included)"
          f"  {len(found):6,} findings")
    print(f"   all rules, warm (cached)        {t_warm * 1000:8.3f} ms")
    print(f"   risk scores, {len(sample):,} identities   {t_risk:8.3f} s "
          f"({t_risk / max(len(sample), 1) * 1000:.2f} ms each)")
    return {"nodes": n_nodes, "cold": t_cold, "warm": t_warm, "findings": len(found)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=18000, help="synthetic headcount (~5.5 nodes each)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--keep", default=None, help="keep the generated snapshot and db here")
    p.add_argument("--risk-sample", type=int, default=2000, help="identities to score on the large graph")
    p.add_argument("--reuse", action="store_true", help="reuse <keep>/synth.db when it exists")
    p.add_argument("--db", default=None, help="measure this ingested store only (no demo, no generation)")
    p.add_argument("--no-reference", action="store_true", help="skip the every-subject reference pass")
    args = p.parse_args()
    if args.db:
        measure(f"store {args.db}", Path(args.db), risk_sample=args.risk_sample, reference=not args.no_reference)
        return 0

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="burnpath-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        demo_db = work / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(demo_db) + suffix).unlink(missing_ok=True)
        eng = Engine.open(str(demo_db))
        _, t = _t(lambda: eng.ingest([ROOT / "fixtures" / "demo"]))
        eng.close()
        print(f"demo ingested in {t:.2f} s")
        measure("demo", demo_db)

        if not args.skip_large and args.reuse and (work / "synth.db").exists():
            measure(f"synthetic org (reused {work / 'synth.db'})", work / "synth.db", risk_sample=args.risk_sample,
                    reference=not args.no_reference)
        elif not args.skip_large:
            from synth.generate import generate
            snap = work / "synth"
            stats, t_gen = _t(lambda: generate(people=args.people, seed=args.seed, out=snap))
            print(f"\ngenerated {args.people:,} people in {t_gen:.1f} s")
            big_db = work / "synth.db"
            for suffix in ("", "-wal", "-shm"):
                Path(str(big_db) + suffix).unlink(missing_ok=True)
            eng = Engine.open(str(big_db))
            _, t_ing = _t(lambda: eng.ingest([snap]))
            eng.close()
            print(f"ingested in {t_ing:.1f} s")
            measure(f"synthetic org ({args.people:,} people)", big_db, risk_sample=args.risk_sample,
                    reference=not args.no_reference)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
