"""Load benchmark for the GraphQL API (a script, not a test).

Serves the bundled demo and a generated ~100k-node org with `burnpath serve` (uvicorn
in a subprocess, on loopback), warms each server up (the rule pack, spend and
risk are computed once per store generation), then drives a realistic query mix
from concurrent clients for a bounded time and prints, per query type, the count,
throughput and p50 / p95 / p99 latency, plus the error count.

    python bench/load.py                       # demo + 100k nodes, 20 s each, 4 clients,
                                               # 2 server processes, client threads at nice 10
    python bench/load.py --sizes demo --duration 5
    python bench/load.py --people 16000 --clients 8 --cache /tmp/burnpath-bench

`whoCanReach` is asked through `whoCanReachConnection` (first page of 50): at
100k nodes a popular data source has over 10,000 reachers within 3 hops, and the
unpaged contract list returns them all (about 1-2 s of GraphQL serialisation).

Targets on a 2-core machine at 100k nodes: p99 < 100 ms for `node` and `findings`
pages, < 250 ms for `blastRadius`, zero errors.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEMO = ROOT / "fixtures" / "demo"

# --- the query mix -----------------------------------------------------------------
# (name, weight, document). Variables are drawn per request from ids the warm-up found.
NODE_Q = """query Node($id: ID!) { node(id: $id) { id kind name active properties
  owners { id name } risk { score reasons } } }"""
NODES_Q = """query Nodes($kind: String, $after: String) { nodes(kind: $kind, first: 50, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id kind name active } } }"""
FINDINGS_Q = """query Findings($severity: String, $after: String) {
  findings(severity: $severity, first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  nodes { id rule title severity subject { id kind name } frameworks } } }"""
BLAST_Q = """query Blast($id: ID!) { blastRadius(id: $id) { totalCount spendExposureUsdPerHour
  dataSources { id depth access } saasApps { id depth access } credentials { id depth } } }"""
# Paged: popular data sources have >10k reachers at depth 3, which a client pages
# through (the plain `whoCanReach` list answers them whole; see the docstring).
WHO_Q = """query Who($id: ID!) { whoCanReachConnection(id: $id, maxDepth: 3, first: 50) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id kind depth access } } }"""
SPEND_Q = """query Spend($groupBy: String!) { spend(groupBy: $groupBy) {
  key usd inputTokens outputTokens requests } }"""

MIX = [("node", 30), ("nodes", 15), ("findings", 20), ("blastRadius", 15), ("whoCanReach", 10), ("spend", 10)]
SPEND_GROUPS = ("team", "model", "environment", "project", "tool")
TARGETS_MS = {"node": 100, "findings": 100, "blastRadius": 250}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(msg: str) -> None:
    print(msg, flush=True)


# --- data --------------------------------------------------------------------------

def demo_db(work: Path) -> Path:
    from engine.service import Engine
    db = work / "demo.db"
    eng = Engine.open(str(db))
    eng.ingest([DEMO])
    eng.close()
    return db


def generated_db(cache: Path, people: int, seed: int) -> Path:
    """A synthetic org's db, built once and kept in `cache` (generation + ingest take minutes)."""
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"synth-{people}-{seed}.db"
    done = cache / f"synth-{people}-{seed}.done"
    if db.exists() and done.exists():
        log(f"  reusing {db}")
        return db
    for p in cache.glob(f"synth-{people}-{seed}.db*"):
        p.unlink()
    snap = cache / f"synth-{people}-{seed}-snapshot"
    from synth.generate import generate
    started = time.perf_counter()
    stats = generate(people=people, seed=seed, out=snap)
    log(f"  generated {stats.get('files')} files for {people} people in {time.perf_counter() - started:.0f} s")
    from engine.service import Engine
    started = time.perf_counter()
    eng = Engine.open(str(db))
    eng.ingest([snap])
    eng.close()
    log(f"  ingested in {time.perf_counter() - started:.0f} s")
    shutil.rmtree(snap, ignore_errors=True)
    done.write_text("ok\n")
    return db


# --- the server --------------------------------------------------------------------

class Server:
    def __init__(self, db: Path, workers: int, logdir: Path, processes: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"serve-{self.port}.log"
        self.cmd = [sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
                    "--port", str(self.port), "--workers", str(workers), "--processes", str(processes),
                    # The warm-up waits for the rule pack once; it may take long on a big org.
                    # Every other limit stays at its default.
                    "--timeout-seconds", "1800"]
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 1800
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("server did not become ready")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log_file.close()


def gql(client: httpx.Client, query: str, variables: dict | None = None) -> dict:
    resp = client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = resp.json()
    if resp.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{resp.status_code}: {json.dumps(body.get('errors'))[:300]}")
    return body["data"]


# --- warm-up: discover ids and cursors, compute caches -----------------------------

def warm_up(url: str, rng: random.Random) -> dict:
    pools: dict = {}
    # Fresh connections reach every server process (each warms its own caches).
    started = time.perf_counter()
    for _ in range(6):
        with httpx.Client(base_url=url, timeout=1800) as c:
            total = gql(c, "{ findings(first: 1) { totalCount } }")["findings"]["totalCount"]
            for g in SPEND_GROUPS:
                gql(c, SPEND_Q, {"groupBy": g})
    log(f"  warm-up: rule pack ({total} findings) and spend by {', '.join(SPEND_GROUPS)} "
        f"ready in {time.perf_counter() - started:.1f} s")
    with httpx.Client(base_url=url, timeout=1800) as c:
        ids: dict[str, list[str]] = {}
        for kind in ("Credential", "AITool", "Person", "ServiceAccount", "DataSource", "SaaSApp",
                     "OAuthGrant", "Account", "Team", "Project"):
            d = gql(c, "query($k: String) { nodes(kind: $k, first: 200) { totalCount nodes { id } } }", {"k": kind})
            ids[kind] = [n["id"] for n in d["nodes"]["nodes"]]
        pools["node"] = [i for k in ids.values() for i in k]
        pools["blast"] = ids["Credential"] + ids["AITool"] + ids["ServiceAccount"] + ids["Person"][:50]
        pools["who"] = ids["DataSource"] + ids["SaaSApp"] + ids["Credential"][:50]
        # Page cursors: the first pages of the whole list and of some kinds.
        cursors: list[tuple] = []
        for kind in (None, "Credential", "Person", "Account"):
            after = None
            for _ in range(8):
                cursors.append((kind, after))
                d = gql(c, NODES_Q, {"kind": kind, "after": after})["nodes"]
                if not d["pageInfo"]["hasNextPage"]:
                    break
                after = d["pageInfo"]["endCursor"]
        pools["nodes"] = cursors
        fcursors: list[tuple] = []
        for sev in (None, "critical", "high", "medium"):
            after = None
            for _ in range(8):
                fcursors.append((sev, after))
                d = gql(c, FINDINGS_Q, {"severity": sev, "after": after})["findings"]
                if not d["pageInfo"]["hasNextPage"]:
                    break
                after = d["pageInfo"]["endCursor"]
        pools["findings"] = fcursors
        # One pass of every heavy query type, so first-time costs are not measured.
        started = time.perf_counter()
        for i in rng.sample(pools["node"], min(100, len(pools["node"]))):
            gql(c, NODE_Q, {"id": i})
        for i in pools["blast"][:50]:
            gql(c, BLAST_Q, {"id": i})
        for i in pools["who"][:50]:
            gql(c, WHO_Q, {"id": i})
        log(f"  warm-up: {len(pools['node'])} node ids, {len(cursors)} node pages, {len(fcursors)} findings "
            f"pages; first pass of node/blastRadius/whoCanReach in {time.perf_counter() - started:.1f} s")
    return pools


def request_for(kind: str, pools: dict, rng: random.Random) -> tuple[str, dict]:
    if kind == "node":
        return NODE_Q, {"id": rng.choice(pools["node"])}
    if kind == "nodes":
        k, after = rng.choice(pools["nodes"])
        return NODES_Q, {"kind": k, "after": after}
    if kind == "findings":
        sev, after = rng.choice(pools["findings"])
        return FINDINGS_Q, {"severity": sev, "after": after}
    if kind == "blastRadius":
        return BLAST_Q, {"id": rng.choice(pools["blast"])}
    if kind == "whoCanReach":
        return WHO_Q, {"id": rng.choice(pools["who"])}
    return SPEND_Q, {"groupBy": rng.choice(SPEND_GROUPS)}


# --- the load ----------------------------------------------------------------------

def drive(url: str, pools: dict, clients: int, duration: float, seed: int,
          client_nice: int = 0) -> tuple[dict, dict, float]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    lock = threading.Lock()
    names = [m[0] for m in MIX]
    weights = [m[1] for m in MIX]
    stop_at = time.perf_counter() + duration

    def client(n: int) -> None:
        if client_nice:
            # Linux applies a niceness to one thread: the load generator yields the CPU
            # to the server it measures (both share this small machine).
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), client_nice)
            except (OSError, AttributeError):
                pass
        rng = random.Random(seed * 1000 + n)
        local_lat: dict[str, list[float]] = defaultdict(list)
        local_err: dict[str, list[str]] = defaultdict(list)
        c = httpx.Client(base_url=url, timeout=60)
        sent = 0
        try:
            while time.perf_counter() < stop_at:
                # Reconnect now and then, so a multi-process server shares the load.
                sent += 1
                if sent % 25 == 0:
                    c.close()
                    c = httpx.Client(base_url=url, timeout=60)
                kind = rng.choices(names, weights)[0]
                query, variables = request_for(kind, pools, rng)
                t0 = time.perf_counter()
                try:
                    resp = c.post("/graphql", json={"query": query, "variables": variables})
                    elapsed = time.perf_counter() - t0
                    body = resp.json()
                    if resp.status_code != 200 or body.get("errors"):
                        local_err[kind].append(f"{resp.status_code} {json.dumps(body.get('errors'))[:200]}")
                    else:
                        local_lat[kind].append(elapsed * 1000)
                except (httpx.HTTPError, ValueError) as exc:
                    local_err[kind].append(repr(exc)[:200])
        finally:
            c.close()
        with lock:
            for k, v in local_lat.items():
                latencies[k].extend(v)
            for k, v in local_err.items():
                errors[k].extend(v)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - started


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def report(label: str, latencies: dict, errors: dict, elapsed: float, check_targets: bool) -> list[str]:
    lines = [f"\n== {label}: {elapsed:.1f} s ==",
             f"{'query':<12} {'count':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"]
    total = 0
    failures = []
    for name, _ in MIX:
        lat = latencies.get(name, [])
        err = errors.get(name, [])
        total += len(lat) + len(err)
        lines.append(f"{name:<12} {len(lat):>7} {len(lat) / elapsed:>8.1f} {pct(lat, 50):>8.1f} "
                     f"{pct(lat, 95):>8.1f} {pct(lat, 99):>8.1f} {max(lat) if lat else float('nan'):>8.1f} {len(err):>7}")
        if check_targets and name in TARGETS_MS and lat and pct(lat, 99) >= TARGETS_MS[name]:
            failures.append(f"{name} p99 {pct(lat, 99):.1f} ms >= {TARGETS_MS[name]} ms")
    n_err = sum(len(v) for v in errors.values())
    lines.append(f"{'all':<12} {total:>7} {total / elapsed:>8.1f}{'':>36} {n_err:>7}")
    if n_err:
        failures.append(f"{n_err} errors")
        for name, errs in errors.items():
            for e in errs[:3]:
                lines.append(f"  error in {name}: {e}")
    if check_targets:
        lines.append("targets: " + ("met (p99 node/findings < 100 ms, blastRadius < 250 ms, 0 errors)"
                                    if not failures else "MISSED: " + "; ".join(failures)))
    for line in lines:
        log(line)
    return failures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="demo,100k", help="comma list of demo and/or 100k")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load per size")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients")
    p.add_argument("--workers", type=int, default=4, help="server worker threads per process")
    p.add_argument("--processes", type=int, default=2, help="server processes (one per core)")
    p.add_argument("--people", type=int, default=16000, help="people in the generated org (~6.5 nodes each)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--client-nice", type=int, default=10,
                   help="niceness of the client threads, so they do not starve the server (0: off)")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "burnpath-bench"),
                   help="where the generated org's db is kept between runs")
    args = p.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    try:
        load = os.getloadavg()
        log(f"cpus {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="burnpath-load-") as tmp:
        work = Path(tmp)
        for size in sizes:
            log(f"\n[{size}] preparing data")
            if size == "demo":
                db = demo_db(work)
            elif size == "100k":
                db = generated_db(Path(args.cache), args.people, args.seed)
            else:
                raise SystemExit(f"unknown size {size!r} (demo, 100k)")
            started = time.perf_counter()
            with Server(db, args.workers, work, args.processes) as srv:
                nodes = httpx.get(srv.url + "/readyz", timeout=30).json().get("nodes")
                log(f"[{size}] serving {nodes} nodes at {srv.url} (ready in {time.perf_counter() - started:.1f} s)")
                pools = warm_up(srv.url, random.Random(args.seed))
                log(f"[{size}] load: {args.clients} clients for {args.duration:g} s")
                lat, err, elapsed = drive(srv.url, pools, args.clients, args.duration, args.seed,
                                          args.client_nice)
                failures += report(f"{size} ({nodes} nodes, {args.clients} clients)", lat, err, elapsed,
                                   check_targets=(size == "100k"))
    try:
        load = os.getloadavg()
        log(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
