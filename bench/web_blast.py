"""The blast-radius web view on a large org: time to first paint and to interactive
of the picture for the largest reach, against the raw GraphQL round trip the page
makes (the obvious floor: a client that only fetches the answer) in the same run.

    python bench/web_blast.py --people 16000                 # generate + ingest ~100k nodes first
    python bench/web_blast.py --db ORG.db                     # reuse a loaded store
    python bench/web_blast.py --db ORG.db --source ID         # a given source instead of the largest found

Steps: open the store and preload its graph; find the largest reach among a seeded
sample of nodes (every AI tool, team and SaaS app, plus --sample others); serve the
app (uvicorn on loopback, one worker as `burnpath serve`); then, --runs times each:

- baseline: POST the page's own blast-radius query with httpx (round trip + JSON parse);
- page: a fresh chromium page load of /#/blast/<id>, read from the page's own marks
  (performance.mark in api/static/web/app.js): `bp:data` the GraphQL answer parsed,
  `bp:painted` the frame after the picture was laid out, `bp:interactive` the view
  built and the main thread idle; all from navigation start (page shell, scripts,
  GraphQL and drawing included).

Prints the medians, the ratio to the baseline, the reach's size and how many items
the picture drew (the grouping that keeps it readable).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from api.app import create_app  # noqa: E402
from engine.service import Engine  # noqa: E402
from tests.conftest import LiveServer  # noqa: E402

# The page's blast-radius query (api/static/web/app.js BLAST_Q), verbatim.
REACH = "id kind name active depth access path pathEdges"
BLAST_Q = ("query Blast($id: ID!, $depth: Int!) { blastRadius(id: $id, maxDepth: $depth) { "
           "source { id kind name active } totalCount spendExposureUsdPerHour spendExposureDetail "
           "reachable { " + REACH + " } dataSources { id properties } } }")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def load_org(people: int, workdir: Path) -> Path:
    snap, db = workdir / "snap", workdir / "org.db"
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "api.cli", "generate", "--people", str(people), "--out", str(snap)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "api.cli", "ingest", "--db", str(db), str(snap)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"generated and ingested {people} people in {time.perf_counter() - t:.0f} s")
    return db


def largest_reach(engine: Engine, sample: int, seed: int) -> tuple[str, int, int]:
    graph = engine.graph()
    wide = [i for kind in ("AITool", "Team", "SaaSApp") for i in graph.by_kind.get(kind, [])]
    rng = random.Random(seed)
    others = rng.sample(graph.ids, min(sample, len(graph.ids)))
    candidates = list(dict.fromkeys(wide + others))
    best = max(((len(engine.store.blast_radius(i, 8)), i) for i in candidates))
    return best[1], best[0], len(candidates)


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="a loaded store (default: generate and ingest --people)")
    p.add_argument("--people", type=int, default=16000, help="people to generate when no --db (16000: ~100k nodes)")
    p.add_argument("--source", help="the node to draw (default: the largest reach found)")
    p.add_argument("--sample", type=int, default=3000, help="nodes sampled for the largest reach")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = p.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="burnpath-web-bench-"))
    db = Path(args.db) if args.db else load_org(args.people, workdir)
    engine = Engine.open(str(db))
    t = time.perf_counter()
    engine.preload()
    print(f"store {db}: {engine.node_count():,} nodes, graph loaded in {time.perf_counter() - t:.1f} s")
    if args.source:
        source, size, looked = args.source, len(engine.store.blast_radius(args.source, 8)), 1
    else:
        t = time.perf_counter()
        source, size, looked = largest_reach(engine, args.sample, args.seed)
        print(f"largest reach among {looked:,} candidates: {source} ({size:,} nodes), "
              f"found in {time.perf_counter() - t:.1f} s")

    from playwright.sync_api import sync_playwright
    with LiveServer(create_app(engine)) as srv:
        body = {"query": BLAST_Q, "variables": {"id": source, "depth": 8}}
        with httpx.Client(timeout=120) as client:
            client.post(srv.url + "/graphql", json=body).raise_for_status()       # warm caches
            baseline, payload = [], 0
            for _ in range(args.runs):
                t = time.perf_counter()
                resp = client.post(srv.url + "/graphql", json=body)
                data = resp.json()
                baseline.append(time.perf_counter() - t)
                payload = len(resp.content)
                assert "errors" not in data, data["errors"]
        marks: dict[str, list[float]] = {"bp:data": [], "bp:painted": [], "bp:interactive": []}
        drawn = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{srv.url}/#/blast/{quote(source, safe='')}")
                page.wait_for_function("() => performance.getEntriesByName('bp:interactive').length > 0",
                                       timeout=300_000)
                got = page.evaluate("""() => Object.fromEntries(['bp:data', 'bp:painted', 'bp:interactive']
                                        .map(n => [n, performance.getEntriesByName(n)[0].startTime]))""")
                drawn = page.locator("#picture g.node").count()
                assert not errors, errors
                for k, v in got.items():
                    marks[k].append(v / 1000)
                page.close()
            browser.close()
    engine.close()

    base = median_ms(baseline)
    rows = [("raw GraphQL round trip (httpx, baseline)", base, 1.0)]
    for key, label in (("bp:data", "page: answer parsed"), ("bp:painted", "page: first paint of the picture"),
                       ("bp:interactive", "page: interactive")):
        ms = median_ms(marks[key])
        rows.append((label, ms, round(ms / base, 2) if base else float("nan")))
    print(f"\nblast radius of {source}: {size:,} reachable; response {payload / 1e6:.1f} MB; "
          f"picture draws {drawn} items (grouped by kind, long tail collapsed with counts)")
    print(f"medians of {args.runs} runs, from navigation start for the page:\n")
    print(f"{'step':<44} {'ms':>10} {'x baseline':>11}")
    for label, ms, ratio in rows:
        print(f"{label:<44} {ms:>10.1f} {ratio:>11.2f}")
    print("\n" + json.dumps({"source": source, "reachable": size, "drawn": drawn, "payload_bytes": payload,
                             "median_ms": {label: ms for label, ms, _ in rows}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
