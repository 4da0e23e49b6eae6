"""Soak test for `burnpath serve` (a script, not a test): a real uvicorn subprocess
under 32 concurrent clients for N minutes while ingests commit beside it.

The store holds the bundled demo org (minus its LiteLLM snapshot) plus a LiteLLM
snapshot rewritten every round (tests/generation_snap.py): round k has k keys, k
dollars of spend and k shadow-ai findings, so a response whose fields
(in-memory graph, usage rows, cached findings) disagree on k mixed two store
generations. Clients (one API token each) send a mix of that echo query and the
usual reads (node, nodes, findings, blastRadius, spend); an ingest process
(`burnpath ingest`, a separate process as an operator would run it) commits a new
round every few seconds.

Prints: requests, errors (with samples), responses mixing generations, p50 / p95
latency per query and overall, ingests committed, and the server's RSS over time
(flat memory: the last third against the middle third).

    python bench/soak.py                    # 10 minutes, 32 clients
    python bench/soak.py --minutes 1 --clients 8
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
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
sys.path.insert(0, str(ROOT / "bench"))

from load import free_port, log, pct  # noqa: E402  (bench/load.py)
from tests.generation_snap import ECHO_QUERY, echoes, rounds_of, write_round  # noqa: E402

DEMO = ROOT / "fixtures" / "demo"

QUERIES = {
    "node": 'query($id: ID!) { node(id: $id) { id kind name active owners { id } risk { score } } }',
    "nodes": '{ nodes(kind: "Credential", first: 50) { totalCount nodes { id name active } } }',
    "findings": '{ findings(first: 50) { totalCount nodes { id rule severity subject { id } } } }',
    "blastRadius": 'query($id: ID!) { blastRadius(id: $id) { spendExposureUsdPerHour '
                   'dataSources { id depth } credentials { id } } }',
    "spend": '{ spend(groupBy: "team") { key usd requests } }',
    "echo": ECHO_QUERY,
}
MIX = [("echo", 35), ("node", 20), ("nodes", 10), ("findings", 15), ("blastRadius", 10), ("spend", 10)]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, capture_output=True, text=True)


def prepare(work: Path, clients: int) -> tuple[Path, Path, list[str]]:
    """The db (demo minus LiteLLM, plus round 1), the round snapshot dir, one token per client."""
    base = work / "demo"
    shutil.copytree(DEMO, base, ignore=shutil.ignore_patterns("litellm", "*.py", "*.md"))
    snap = work / "rounds"
    write_round(snap, 1)
    db = work / "soak.db"
    for path in (base, snap / "litellm"):
        done = cli("ingest", str(path), "--db", str(db))
        if done.returncode != 0:
            raise SystemExit(f"ingest {path} failed: {done.stderr}")
    from api.auth import TokenStore
    from engine.service import Engine
    eng = Engine.open(str(db))
    tokens = [TokenStore(eng.store).create("reader", f"soak-{i}")[1] for i in range(clients)]
    eng.close()
    return db, snap, tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="how long to soak (default 10)")
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    ap.add_argument("--ingest-every", type=float, default=3.0, help="seconds between ingests (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="burnpath-soak-"))
    try:
        return soak(work, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def soak(work: Path, args) -> int:
    log(f"soak: {args.clients} clients, {args.minutes:g} min, an ingest every {args.ingest_every:g} s")
    db, snap, tokens = prepare(work, args.clients)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = open(work / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--port", str(port)],
                              cwd=ROOT, stdout=server_log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit(f"serve did not start; see {work / 'serve.log'}")
            time.sleep(0.5)
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {tokens[0]}"}) as c:
            first = c.post("/graphql", json={"query": ECHO_QUERY}).json()["data"]
            ids = [n["id"] for n in c.post("/graphql", json={"query": '{ nodes(first: 500) { nodes { id kind } } }'})
                   .json()["data"]["nodes"]["nodes"]]
            creds = [n["id"] for n in c.post("/graphql", json={"query": '{ nodes(kind: "Credential", first: 200) '
                                                                       '{ nodes { id } } }'})
                     .json()["data"]["nodes"]["nodes"] if not n["id"].startswith("litellm:")]
        base = tuple(v - 1 for v in echoes(first))       # what the demo adds to each count (round 1 loaded)
        return drive(url, server, db, snap, tokens, ids, creds, base, args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        server_log.close()


def drive(url, server, db, snap, tokens, ids, creds, base, args) -> int:
    stop = threading.Event()
    lock = threading.Lock()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    samples: list[str] = []
    mixed: list[tuple] = []
    rounds_seen: set[int] = set()
    ingests = {"committed": 0, "failed": 0}
    rss: list[tuple[float, int]] = []
    started = time.monotonic()

    def client(i: int) -> None:
        rng = random.Random(args.seed * 1000 + i)
        kinds, weights = zip(*MIX)
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {tokens[i]}"}) as c:
            while not stop.is_set():
                kind = rng.choices(kinds, weights)[0]
                variables = {"id": rng.choice(creds if kind == "blastRadius" else ids)} if "$id" in QUERIES[kind] else {}
                t0 = time.perf_counter()
                try:
                    resp = c.post("/graphql", json={"query": QUERIES[kind], "variables": variables})
                    body = resp.json()
                    ok = resp.status_code == 200 and not body.get("errors")
                    problem = None if ok else f"{kind}: HTTP {resp.status_code} {json.dumps(body.get('errors'))[:200]}"
                except (httpx.HTTPError, ValueError) as exc:
                    body, problem = None, f"{kind}: {type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies[kind].append(elapsed)
                    if problem:
                        errors[kind] += 1
                        if len(samples) < 10:
                            samples.append(problem)
                    elif kind == "echo":
                        seen = rounds_of(body["data"], base)
                        rounds_seen.update(seen)
                        if len(seen) != 1:
                            mixed.append(tuple(sorted(seen)))

    def ingester() -> None:
        k = 1
        while not stop.wait(args.ingest_every):
            k += 1
            write_round(snap, k)
            done = cli("ingest", str(snap / "litellm"), "--db", str(db))
            with lock:
                ingests["committed" if done.returncode == 0 else "failed"] += 1
                if done.returncode != 0 and len(samples) < 10:
                    samples.append(f"ingest round {k}: {done.stderr.strip()[:200]}")

    def sampler() -> None:
        while True:
            rss.append((time.monotonic() - started, rss_kb(server.pid)))
            if stop.wait(10):
                return

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    threads += [threading.Thread(target=ingester, daemon=True), threading.Thread(target=sampler, daemon=True)]
    for t in threads:
        t.start()
    duration = args.minutes * 60
    next_report = 60.0
    while (elapsed := time.monotonic() - started) < duration:
        time.sleep(min(5.0, duration - elapsed))
        if time.monotonic() - started >= next_report:
            with lock:
                n = sum(len(v) for v in latencies.values())
                log(f"  {next_report / 60:.0f} min: {n} requests, {sum(errors.values())} errors, {len(mixed)} mixed, "
                    f"{ingests['committed']} ingests, RSS {rss[-1][1] / 1024:.0f} MiB")
            next_report += 60
        if server.poll() is not None:
            log("  the server exited")
            break
    stop.set()
    for t in threads:
        t.join(90)
    wall = time.monotonic() - started

    everything = [x for v in latencies.values() for x in v]
    log("")
    log(f"soak: {wall / 60:.1f} min, {args.clients} clients, server pid {server.pid} (1 process, default limits)")
    log(f"  requests {len(everything)} ({len(everything) / wall:.1f}/s), errors {sum(errors.values())}, "
        f"responses mixing generations {len(mixed)} of {len(latencies['echo'])} echo queries")
    log(f"  ingests committed {ingests['committed']}, failed {ingests['failed']}; "
        f"distinct generations seen by clients {len(rounds_seen)}")
    log(f"  {'query':<12} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for kind in [*QUERIES, "all"]:
        values = everything if kind == "all" else latencies[kind]
        errs = sum(errors.values()) if kind == "all" else errors[kind]
        log(f"  {kind:<12} {len(values):>7} {pct(values, 50) * 1000:>8.1f} {pct(values, 95) * 1000:>8.1f} {errs:>7}")
    log("  RSS over time (MiB): " + ", ".join(f"{t / 60:.1f}m {kb / 1024:.0f}" for t, kb in rss[::6]))
    if len(rss) >= 6:
        third = len(rss) // 3
        middle = max(kb for _, kb in rss[third:2 * third])
        last = max(kb for _, kb in rss[2 * third:])
        log(f"  RSS peak middle third {middle / 1024:.0f} MiB, last third {last / 1024:.0f} MiB "
            f"(ratio {last / middle:.2f})")
    for s in samples:
        log(f"  sample: {s}")
    return 0 if not errors and not mixed and server.poll() is None else 1


if __name__ == "__main__":
    sys.exit(main())
