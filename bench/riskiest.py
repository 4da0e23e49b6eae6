"""What "the riskiest identities first" costs: `riskiest` (ranked once per data
generation, engine.risk.ranking) against the old way, paging `nodes` of every scored
kind with `risk { score }` and sorting client-side, on a generated org.

    python bench/riskiest.py [--people 3000] [--seed 1] [--page 100] [--db /tmp/synth.db]

Both run in-process through the GraphQL executor (api.execute) on a fresh engine each
(cold: the rule pack and the scores computed inside the timing), then again on the
same engine (warm: cached for the generation). Prints each time, the number of
requests the old way needed, and the ratio; checks both give the same top 10.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.execute import execute  # noqa: E402
from engine.risk import SCORED_KIND_NAMES  # noqa: E402
from engine.service import Engine  # noqa: E402

TOP = "{ riskiest(first: 10) { nodes { id risk { score } } } }"
PAGE = ("query($k: String, $n: Int, $a: String) { nodes(kind: $k, first: $n, after: $a) { "
        "nodes { id risk { score } } pageInfo { endCursor hasNextPage } } }")


def _t(fn):
    start, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - start, time.process_time() - cpu


def riskiest(eng: Engine) -> list[tuple[str, float]]:
    data = execute(eng, TOP)["data"]["riskiest"]["nodes"]
    return [(n["id"], n["risk"]["score"]) for n in data]


def paged(eng: Engine, page: int) -> tuple[list[tuple[str, float]], int]:
    """The old way: every scored node, page by page, then a client-side sort."""
    rows, requests = [], 0
    for kind in sorted(SCORED_KIND_NAMES):
        after = None
        while True:
            out = execute(eng, PAGE, {"k": kind, "n": page, "a": after})["data"]["nodes"]
            requests += 1
            rows += [(n["id"], n["risk"]["score"]) for n in out["nodes"]]
            if not out["pageInfo"]["hasNextPage"]:
                break
            after = out["pageInfo"]["endCursor"]
    rows.sort(key=lambda t: (-t[1], t[0]))
    return rows[:10], requests


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=3000, help="synthetic headcount")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--page", type=int, default=100, help="page size of the old way")
    p.add_argument("--db", default=None, help="an org already ingested (skips generation)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "synth.db"
        if not args.db:
            from synth.generate import generate
            generate(people=args.people, seed=args.seed, out=Path(tmp) / "synth")
            eng = Engine.open(str(db))
            eng.ingest([Path(tmp) / "synth"])
            eng.close()
        eng = Engine.open(str(db))
        eng.graph()
        nodes = eng.node_count()
        new_top, new_cold, new_cold_cpu = _t(lambda: riskiest(eng))
        _, new_warm, _ = _t(lambda: riskiest(eng))
        eng.close()
        eng = Engine.open(str(db))
        eng.graph()
        (old_top, requests), old_cold, old_cold_cpu = _t(lambda: paged(eng, args.page))
        (_, _), old_warm, _ = _t(lambda: paged(eng, args.page))
        eng.close()
    assert new_top == old_top, (new_top, old_top)
    print(f"generated org: {args.people:,} people, {nodes:,} nodes")
    print(f"  riskiest(first: 10), cold     {new_cold:8.3f} s  (cpu {new_cold_cpu:7.3f} s)  1 request")
    print(f"  riskiest(first: 10), warm     {new_warm * 1000:8.1f} ms")
    print(f"  paging nodes + sort, cold     {old_cold:8.3f} s  (cpu {old_cold_cpu:7.3f} s)  {requests} requests "
          f"of {args.page}")
    print(f"  paging nodes + sort, warm     {old_warm:8.3f} s")
    print(f"  ratio cold {old_cold / max(new_cold, 1e-9):6.1f}x (cpu {old_cold_cpu / max(new_cold_cpu, 1e-9):.1f}x)"
          f"   warm {old_warm / max(new_warm, 1e-9):8.1f}x")
    print(f"  top 10 (same both ways): {', '.join(f'{i} {s:g}' for i, s in new_top[:3])} ...")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
