"""How long evaluating the whole rule pack takes: on the bundled demo, and on a
generated org of about 100k graph nodes (synth.generate; --people scales it).

    python bench/rules.py [--people 18000] [--seed 1] [--skip-large] [--keep DIR]

Prints, per dataset: nodes, edges, usage rows, the in-memory graph load, the facts
(usage read and priced), each rule, the whole pack cold (fresh engine, nothing
cached) and warm (cached per store generation), and risk scores for every identity.
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


def measure(label: str, db: Path, risk_sample: int | None = None) -> dict:
    eng = Engine.open(str(db))
    graph, t_graph = _t(eng.graph)
    usage_rows = len(eng.store.usage())
    facts, t_facts = _t(lambda: facts_of(eng))
    _, t_usage = _t(lambda: facts._daily)
    per_rule = []
    total_findings = 0
    for rule in rules_of(eng):
        found, secs = _t(lambda: evaluate_rule(rule, facts))
        per_rule.append((rule.id, len(found), secs))
        total_findings += len(found)
    eng.close()

    cold_eng = Engine.open(str(db))
    cold_eng.graph()
    found, t_cold = _t(lambda: all_findings(cold_eng))
    _, t_warm = _t(lambda: all_findings(cold_eng))
    from engine.risk import risk_of
    from engine.model import IDENTITY_KINDS
    ids = [v.id for v in facts_of(cold_eng).subjects(sorted(k.value for k in IDENTITY_KINDS))]
    sample = ids if risk_sample is None else ids[:risk_sample]
    _, t_risk = _t(lambda: [risk_of(cold_eng, i) for i in sample])
    cold_eng.close()

    print(f"\n== {label}: {len(graph.ids):,} nodes, {len(graph.edges):,} edges, {usage_rows:,} usage rows")
    print(f"   graph load (SQLite -> memory)   {t_graph:8.3f} s")
    print(f"   facts: usage read + priced      {t_facts + t_usage:8.3f} s")
    for rid, n, secs in per_rule:
        print(f"   {rid:<32}{secs:8.3f} s  {n:6,} findings")
    print(f"   all rules, cold (fresh engine)  {t_cold:8.3f} s  {len(found):6,} findings")
    print(f"   all rules, warm (cached)        {t_warm * 1000:8.3f} ms")
    print(f"   risk scores, {len(sample):,} identities   {t_risk:8.3f} s "
          f"({t_risk / max(len(sample), 1) * 1000:.2f} ms each)")
    return {"nodes": len(graph.ids), "cold": t_cold, "warm": t_warm, "findings": len(found)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=18000, help="synthetic headcount (~5.5 nodes each)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--keep", default=None, help="keep the generated snapshot and db here")
    p.add_argument("--risk-sample", type=int, default=2000, help="identities to score on the large graph")
    p.add_argument("--reuse", action="store_true", help="reuse <keep>/synth.db when it exists")
    args = p.parse_args()

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
            measure(f"synthetic org (reused {work / 'synth.db'})", work / "synth.db", risk_sample=args.risk_sample)
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
            measure(f"synthetic org ({args.people:,} people)", big_db, risk_sample=args.risk_sample)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
