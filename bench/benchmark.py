"""The scale benchmark: a synthetic enterprise (synth.generate) through the whole
embedded pipeline, against the obvious alternatives, in one run.

    python bench/benchmark.py --people 16000            # ~100k graph nodes
    python bench/benchmark.py --people 180000           # ~1M graph nodes
    python bench/benchmark.py --db FILE                 # reuse a loaded db (no generate, no ingest)
    python bench/benchmark.py --snapshot DIR --db FILE  # reuse a generated snapshot / loaded db
    NEO4J_URI=bolt://127.0.0.1:7687 NEO4J_PASSWORD=... python bench/benchmark.py --people 2000 --neo4j

Prints one table:

- generate: the snapshot (files, rows, seconds);
- ingest: parse + one-transaction load per source on two processes (as `burnpath
  ingest`, without its closing graph build: that is the cold load below), records/s
  (records = nodes + edges + usage + cost + activity rows), in a child process so
  its memory does not count against the store;
- load, cold: the first start after an ingest, graph built from the SQLite rows and
  cached beside the db (engine.graph_cache), in a child process (seconds, CPU, the
  build's steps, RSS); warm: the next start, from that cache (seconds, CPU, RSS);
- blastRadius: p50/p95 at --depth over a seeded sample of sources of every node
  kind, both the bare traversal (Store.blast_radius) and the whole GraphQL resolver
  work (Engine.blast_radius, with $/hour exposure);
- baseline: the same reachable sets from networkx (`single_source_shortest_path`
  with a depth cutoff on a DiGraph of the traversable edges, built from the same
  data), checked equal, and the ratio;
- Neo4j (with --neo4j and NEO4J_URI): the same data loaded into Neo4j and the same
  sample through its Cypher blast radius, and the ratio;
- rules: every rule of the pack on a fresh engine over the loaded store
  (engine.findings.all_findings); peak RSS is then one graph + queries + rules.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_now_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


# --- ingest, in a child process -----------------------------------------------------
def ingest_child(snapshot: str, db: str) -> None:
    """What `burnpath ingest` does, minus the graph build at its end (timed as the
    cold load): every source parsed and written in its own transaction, on both cores
    (ingest.pipeline: a worker parses the next source while this process writes).
    Prints JSON figures; CPU counts both processes."""
    from engine.store.sqlite import SQLiteStore
    from ingest.pipeline import ingest_loads
    from ingest.snapshot import plan
    store = SQLiteStore(db)
    cpu0 = time.process_time()
    t = time.perf_counter()
    results = ingest_loads(store, plan([snapshot]))
    wall = time.perf_counter() - t
    store.close()
    per_source = {}
    for r in results:
        n = sum(r.counts.get(k, 0) for k in ("nodes", "edges", "usage", "costs", "activity"))
        per_source[r.source] = per_source.get(r.source, 0) + n
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = sum(per_source.values())
    cpu_main = time.process_time() - cpu0
    print(json.dumps({"records": total, "wall_s": wall,
                      "cpu_s": cpu_main + children.ru_utime + children.ru_stime,
                      "cpu_main_s": cpu_main, "cpu_worker_s": children.ru_utime + children.ru_stime,
                      "per_source": per_source, "peak_rss_mb": rss_peak_mb(),
                      "worker_peak_rss_mb": children.ru_maxrss / 1024.0}))


def run_ingest(snapshot: Path, db: Path) -> dict:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    out = subprocess.run([sys.executable, __file__, "--ingest-child", str(snapshot), str(db)],
                         capture_output=True, text=True, cwd=str(ROOT))
    if out.returncode != 0:
        raise SystemExit(f"ingest failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- cold load, in a child process ---------------------------------------------------
def load_child(db: str) -> None:
    """The first load after an ingest: no graph cache, the graph built from the rows
    (then cached for the next start). Prints JSON figures."""
    from engine import graph_cache
    from engine.store.sqlite import SQLiteStore
    graph_cache.cache_path(Path(db)).unlink(missing_ok=True)
    store = SQLiteStore(db)
    t, c = time.perf_counter(), time.process_time()
    graph = store.graph()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    # A large store's edge rows are read by a child process (engine.graph_rows): its
    # CPU and memory count too.
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": wall, "cpu_s": cpu + child.ru_utime + child.ru_stime,
                      "parent_cpu_s": cpu, "source": store.graph_source,
                      **store.graph_timings, "rss_mb": rss_now_mb(), "peak_rss_mb": rss_peak_mb(),
                      "child_peak_rss_mb": child.ru_maxrss / 1024.0, "nodes": len(graph.ids)}))


def run_cold_load(db: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--load-child", str(db)],
                         capture_output=True, text=True, cwd=str(ROOT))
    if out.returncode != 0:
        raise SystemExit(f"cold load failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- blast radius and baselines ------------------------------------------------------
def sample_sources(graph, per_kind: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for kind in sorted(graph.by_kind):
        ids = graph.by_kind[kind]
        out += rnd.sample(ids, min(per_kind, len(ids)))
    return out


CPU_MS: dict[int, list[float]] = {}


def time_each(fn, ids: list[str]) -> tuple[list[float], list]:
    """Wall milliseconds per call (and CPU milliseconds, kept in CPU_MS by list id:
    on a shared machine the CPU figure is what the code itself costs)."""
    times, results, cpu = [], [], []
    for nid in ids:
        t, c = time.perf_counter(), time.process_time()
        results.append(fn(nid))
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    CPU_MS[id(times)] = cpu
    return times, results


def networkx_baseline(graph, ids: list[str], depth: int, ours: list) -> dict:
    """The obvious alternative: a networkx DiGraph of the traversable edges and a
    depth-limited shortest-path search from each source."""
    import networkx as nx
    from engine.graph import EDGE_TRAVERSABLE
    t = time.perf_counter()
    g = nx.DiGraph()
    g.add_nodes_from(graph.ids)
    # From the edge arrays (the graph keeps its edges as columns: no EdgeView needed).
    trav = EDGE_TRAVERSABLE[graph.e_kind]
    names = graph.ids
    g.add_edges_from((names[s], names[d]) for s, d in zip(graph.e_src[trav].tolist(), graph.e_dst[trav].tolist()))
    build = time.perf_counter() - t
    gc.collect()
    gc.freeze()     # as engine.graph does for its own graph: timed alike
    times, results = time_each(lambda nid: nx.single_source_shortest_path(g, nid, cutoff=depth), ids)
    mismatches = 0
    for reach, paths in zip(ours, results):
        got = {r.node_id: r.depth for r in reach}
        want = {n: len(p) - 1 for n, p in paths.items() if len(p) > 1}
        mismatches += got != want
    return {"build_s": build, "times": times, "mismatches": mismatches}


def neo4j_baseline(snapshot: Path, ids: list[str], depth: int, ours: list) -> dict:
    from engine.service import Engine
    url = os.environ["NEO4J_URI"]
    from neo4j import GraphDatabase
    auth = (os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
    with GraphDatabase.driver(url, auth=auth) as driver:     # start from an empty database
        while driver.execute_query("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n "
                                   "RETURN count(*) AS c").records[0]["c"]:
            pass
    eng = Engine.open(url)
    t, cpu = time.perf_counter(), time.process_time()
    eng.ingest([snapshot])
    ingest_s, ingest_cpu = time.perf_counter() - t, time.process_time() - cpu
    times, results = time_each(lambda nid: eng.store.blast_radius(nid, depth), ids)
    mismatches = sum({r.node_id: (r.depth, r.access) for r in a} != {r.node_id: (r.depth, r.access) for r in b}
                     for a, b in zip(ours, results))
    eng.close()
    return {"ingest_s": ingest_s, "ingest_cpu_s": ingest_cpu, "times": times, "mismatches": mismatches}


# --- the run --------------------------------------------------------------------------
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--people", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", default=None, help="directory for the snapshot and db (default: a temp dir)")
    p.add_argument("--snapshot", default=None, help="use this generated snapshot instead of generating")
    p.add_argument("--db", default=None, help="use this already-loaded db (skips ingest)")
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--per-kind", type=int, default=40, help="blastRadius sources sampled per node kind")
    p.add_argument("--neo4j", action="store_true", help="also load into NEO4J_URI and compare")
    p.add_argument("--skip-rules", action="store_true")
    p.add_argument("--skip-networkx", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures here")
    p.add_argument("--skip-cold", action="store_true",
                   help="skip the cold load (graph built from the rows, in a child process)")
    p.add_argument("--ingest-child", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--load-child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.ingest_child:
        ingest_child(*args.ingest_child)
        return 0
    if args.load_child:
        load_child(args.load_child)
        return 0

    work = Path(args.work or tempfile.mkdtemp(prefix="burnpath-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    fig: dict = {"people": args.people, "depth": args.depth}
    rows: list[tuple[str, str, str]] = []

    snapshot = Path(args.snapshot) if args.snapshot else work / f"snapshot-{args.people}"
    # A loaded db needs no snapshot (only ingest and the Neo4j baseline read one).
    if not args.snapshot and not (args.db and not args.neo4j):
        from synth.generate import generate
        stats = generate(args.people, args.seed, snapshot)
        fig["generate"] = {"seconds": stats["seconds"], "files": stats["files"], "rows": stats["rows"]}
        rows.append(("generate", f"{stats['seconds']:.1f} s", f"{stats['files']:,} files, {stats['rows']:,} items"))

    db = Path(args.db) if args.db else work / f"bench-{args.people}.db"
    if not args.db:
        ing = run_ingest(snapshot, db)
        secs = ing["wall_s"]
        fig["ingest"] = ing
        rows.append(("ingest (parse + load, 2 processes)", f"{ing['records'] / secs:,.0f} records/s",
                     f"{ing['records']:,} records in {secs:.1f} s wall; {ing['cpu_s']:.1f} s CPU = "
                     f"{ing['records'] / ing['cpu_s']:,.0f} records per CPU-second (this process "
                     f"{ing['cpu_main_s']:.1f} s + worker {ing['cpu_worker_s']:.1f} s; "
                     f"{ing['cpu_s'] / secs:.2f} cores busy on average); peak RSS "
                     f"{ing['peak_rss_mb']:,.0f} MB + worker {ing['worker_peak_rss_mb']:,.0f} MB"))

    from engine.service import Engine
    if not args.skip_cold:
        # The first start after an ingest builds the graph from the rows and caches it.
        cold = run_cold_load(db)
        fig["load_cold"] = cold
        rows.append(("load cold (SQLite rows -> memory)", f"{cold['seconds']:.2f} s",
                     f"{cold['cpu_s']:.2f} s CPU (both processes): build {cold.get('build_s', 0):.2f} s + cache "
                     f"write {cold.get('save_s', 0):.2f} s; RSS {cold['rss_mb']:,.0f} MB, peak "
                     f"{cold['peak_rss_mb']:,.0f} MB + edge reader {cold.get('child_peak_rss_mb', 0):,.0f} MB "
                     f"(child process)"))
        if cold.get("phases"):
            rows.append(("  cold build by step (CPU)", "", ", ".join(f"{k} {v:.1f} s" for k, v in cold["phases"].items())))
    gc.collect()
    base_rss = rss_now_mb()
    eng = Engine.open(str(db))
    t, c = time.perf_counter(), time.process_time()
    graph = eng.graph()
    load_s, load_cpu = time.perf_counter() - t, time.process_time() - c
    source = getattr(eng.store, "graph_source", None)
    fig["graph"] = {"nodes": len(graph.ids), "edges": len(graph.edges),
                    "traversable_edges": int(len(graph.fwd.indices))}
    fig["load"] = {"seconds": load_s, "source": source, "peak_rss_mb": rss_peak_mb(), "rss_mb": rss_now_mb(),
                   "rss_before_mb": base_rss}
    rows.append(("graph", f"{len(graph.ids):,} nodes", f"{len(graph.edges):,} edges "
                 f"({len(graph.fwd.indices):,} traversable)"))
    fig["load"]["cpu_s"] = load_cpu
    label = "load warm (graph cache -> memory)" if source == "cache" else "load (SQLite rows -> memory)"
    rows.append((label, f"{load_s:.2f} s",
                 f"{load_cpu:.2f} s CPU; RSS {rss_now_mb():,.0f} MB, peak {rss_peak_mb():,.0f} MB"))

    from engine.traversal import traverse
    ids = sample_sources(graph, args.per_kind, args.seed)
    eng.store.blast_radius(ids[0], args.depth)        # warm-up (imports, first allocations)
    trav_t, ours = time_each(lambda nid: traverse(graph, nid, args.depth), ids)
    store_t, _ = time_each(lambda nid: eng.store.blast_radius(nid, args.depth), ids)
    full_t, _ = time_each(lambda nid: eng.blast_radius(nid, args.depth), ids)
    sizes = [len(r) for r in ours]
    fig["blast_radius"] = {"sources": len(ids), "kinds": len(graph.by_kind),
                           "traverse_p50_ms": pct(trav_t, .5), "traverse_p95_ms": pct(trav_t, .95),
                           "store_p50_ms": pct(store_t, .5), "store_p95_ms": pct(store_t, .95),
                           "engine_p50_ms": pct(full_t, .5), "engine_p95_ms": pct(full_t, .95),
                           "max_ms": max(full_t), "reach_p50": pct(sizes, .5), "reach_max": max(sizes)}
    full_cpu, trav_cpu = CPU_MS[id(full_t)], CPU_MS[id(trav_t)]
    fig["blast_radius"].update({"engine_cpu_p50_ms": pct(full_cpu, .5), "engine_cpu_p95_ms": pct(full_cpu, .95),
                                "traverse_cpu_p50_ms": pct(trav_cpu, .5), "traverse_cpu_p95_ms": pct(trav_cpu, .95)})
    rows.append((f"blastRadius depth {args.depth} (CPU)", f"p95 {pct(full_cpu, .95):.2f} ms",
                 f"p50 {pct(full_cpu, .5):.2f} ms; traversal alone p50 {pct(trav_cpu, .5):.2f} / "
                 f"p95 {pct(trav_cpu, .95):.2f} ms"))
    rows.append((f"blastRadius depth {args.depth}", f"p95 {pct(full_t, .95):.2f} ms",
                 f"p50 {pct(full_t, .5):.2f} ms over {len(ids)} sources of {len(graph.by_kind)} kinds "
                 f"(traversal alone p50 {pct(trav_t, .5):.2f} / p95 {pct(trav_t, .95):.2f} ms, "
                 f"through the store p95 {pct(store_t, .95):.2f} ms; "
                 f"reach p50 {pct(sizes, .5):.0f}, max {max(sizes):,} nodes)"))
    who_t, _ = time_each(lambda nid: eng.store.who_can_reach(nid, args.depth), ids)
    who_cpu = CPU_MS[id(who_t)]
    fig["who_can_reach"] = {"p50_ms": pct(who_t, .5), "p95_ms": pct(who_t, .95),
                            "cpu_p50_ms": pct(who_cpu, .5), "cpu_p95_ms": pct(who_cpu, .95)}
    rows.append((f"whoCanReach depth {args.depth}", f"p95 {pct(who_t, .95):.2f} ms",
                 f"p50 {pct(who_t, .5):.2f} ms; CPU p50 {pct(who_cpu, .5):.2f} / p95 {pct(who_cpu, .95):.2f} ms"))
    fig["after_queries"] = {"rss_mb": rss_now_mb(), "peak_rss_mb": rss_peak_mb()}
    rows.append(("RSS after load + queries", f"{rss_now_mb():,.0f} MB", f"peak {rss_peak_mb():,.0f} MB"))

    if not args.skip_networkx:
        nxb = networkx_baseline(graph, ids, args.depth, ours)
        nx_cpu = CPU_MS[id(nxb["times"])]
        rows.append(("baseline: networkx BFS (CPU)", f"p95 {pct(nx_cpu, .95):.2f} ms",
                     f"p50 {pct(nx_cpu, .5):.2f} ms; ratio networkx / burnpath traversal "
                     f"{pct(nx_cpu, .95) / max(pct(trav_cpu, .95), 1e-9):.2f}x at p95, "
                     f"{pct(nx_cpu, .5) / max(pct(trav_cpu, .5), 1e-9):.2f}x at p50"))
        fig["networkx_cpu"] = {"p50_ms": pct(nx_cpu, .5), "p95_ms": pct(nx_cpu, .95)}
        ratio50 = pct(nxb["times"], .5) / max(pct(trav_t, .5), 1e-9)
        ratio95 = pct(nxb["times"], .95) / max(pct(trav_t, .95), 1e-9)
        fig["networkx"] = {"build_s": nxb["build_s"], "p50_ms": pct(nxb["times"], .5),
                           "p95_ms": pct(nxb["times"], .95), "mismatches": nxb["mismatches"],
                           "ratio_p50": ratio50, "ratio_p95": ratio95}
        rows.append(("baseline: networkx BFS", f"p95 {pct(nxb['times'], .95):.2f} ms",
                     f"p50 {pct(nxb['times'], .5):.2f} ms (+{nxb['build_s']:.1f} s to build the DiGraph); "
                     f"reach and one shortest path each, no access levels; same reachable sets and depths: "
                     f"{'yes' if not nxb['mismatches'] else 'NO (%d differ)' % nxb['mismatches']}"))
        rows.append(("  ratio networkx / burnpath", f"{ratio95:.1f}x at p95", f"{ratio50:.1f}x at p50 (bare traversal vs bare traversal)"))

    if args.neo4j and os.environ.get("NEO4J_URI"):
        neo = neo4j_baseline(snapshot, ids, args.depth, ours)
        r50 = pct(neo["times"], .5) / max(pct(store_t, .5), 1e-9)
        r95 = pct(neo["times"], .95) / max(pct(store_t, .95), 1e-9)
        fig["neo4j"] = {"ingest_s": neo["ingest_s"], "ingest_cpu_s": neo["ingest_cpu_s"], "p50_ms": pct(neo["times"], .5),
                        "p95_ms": pct(neo["times"], .95), "mismatches": neo["mismatches"],
                        "ratio_p50": r50, "ratio_p95": r95}
        rows.append(("baseline: Neo4j Cypher", f"p95 {pct(neo['times'], .95):.2f} ms",
                     f"p50 {pct(neo['times'], .5):.2f} ms (ingest {neo['ingest_s']:.1f} s, {neo['ingest_cpu_s']:.1f} CPU-s "
                     f"in Python); same answers: "
                     f"{'yes' if not neo['mismatches'] else 'NO (%d differ)' % neo['mismatches']}"))
        rows.append(("  ratio Neo4j / burnpath", f"{r95:.1f}x at p95", f"{r50:.1f}x at p50 (Store.blast_radius vs Store.blast_radius)"))
    else:
        rows.append(("baseline: Neo4j Cypher", "not run", "pass --neo4j with NEO4J_URI set"))

    if not args.skip_rules:
        try:
            from engine.findings import all_findings
        except ImportError:
            rows.append(("rules", "not available", "engine.findings.all_findings missing"))
        else:
            # A fresh engine (no cached findings or facts) on the store already loaded:
            # what a server does after an ingest, so memory is one graph plus the rules.
            # The query engine's facts (from the $/hour exposures) go, as after an ingest.
            eng.clear_cache()
            gc.collect()
            cold = Engine(eng.store)
            cold.graph()
            t, c = time.perf_counter(), time.process_time()
            found = all_findings(cold)
            rules_s, rules_cpu = time.perf_counter() - t, time.process_time() - c
            by_rule: dict[str, int] = {}
            for f in found:
                by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
            fig["rules"] = {"seconds": rules_s, "cpu_s": rules_cpu, "findings": len(found), "by_rule": by_rule}
            rows.append(("rules (all, fresh engine)", f"{rules_s:.2f} s",
                         f"{rules_cpu:.2f} s CPU; {len(found):,} findings: " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_rule.items()))))
    fig["peak_rss_mb"] = rss_peak_mb()
    rows.append(("peak RSS (this process)", f"{rss_peak_mb():,.0f} MB", "load + queries + baselines + rules"))

    width = max(len(r[0]) for r in rows)
    print(f"\nburnpath benchmark: {args.people:,} people, seed {args.seed}, depth {args.depth}, "
          f"{os.cpu_count()} CPUs")
    print("-" * 100)
    for name, value, detail in rows:
        print(f"{name:<{width}}  {value:>22}  {detail}")
    print("-" * 100)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=2, default=str))
    eng.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
