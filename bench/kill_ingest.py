"""Fault injection: kill a real `burnpath ingest` at random points and check the store.

    python bench/kill_ingest.py [--rounds 50] [--people 150] [--db sqlite|NEO4J_URL] [--seed 1]

Two synthetic orgs (`burnpath generate`, seeds differ): OLD is loaded, then each round
starts `burnpath ingest NEW` as a subprocess on a store holding OLD and SIGKILLs it
after a random delay between the process's start-up time and the time a whole
ingest takes. Then, for each round:

- the store opens (a new Engine, a query through it);
- each source is wholly its OLD or wholly its NEW state (its live nodes, edges and
  usage rows compared with the two references), never a mix;
- no other ingest is refused afterwards (the lock died with its holder);
- what the killed process left (spool directories, `<db>.graph.tmp-<pid>`) is gone
  after the next verb opens the store;
- re-running `ingest NEW` to the end gives exactly the store a clean OLD-then-NEW
  ingest gives (every node, edge and usage row, removed marks included).

Half the rounds kill at a random time, half right after a random number of source
commits (polled from the store's run log: the write phase is a small part of a run,
after the process start-up). Prints, per outcome, how many rounds ended there (killed before anything was written,
mid-ingest with some sources new, after the last source) and the failures (0 expected).
The suite runs a few rounds of the same (tests/test_ingest_kill.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.service import Engine  # noqa: E402
from engine.store.leftovers import SPOOL_PREFIX  # noqa: E402


def cli(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "api.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})})


def generate(out: Path, people: int, seed: int) -> Path:
    r = cli("generate", "--people", people, "--seed", seed, "--out", out)
    if r.returncode:
        raise SystemExit(r.stderr)
    return out


def state(db: str) -> dict:
    """Everything stored, removed marks included (not their timestamps)."""
    eng = Engine.open(db)
    try:
        nodes = sorted((v.id, v.kind, v.name, v.active, json.dumps(v.properties, sort_keys=True, default=str),
                        tuple(sorted(v.sources)), v.removed_at is not None)
                       for v in eng.store.iter_nodes(include_removed=True))
        edges = sorted((e.src, e.kind, e.dst, json.dumps(e.properties, sort_keys=True, default=str),
                        tuple(sorted(e.sources)), e.removed_at is not None)
                       for e in eng.store.iter_edges(include_removed=True))
        usage = sorted((u.source, u.day.isoformat(), u.model, u.credential_id or "", u.project_id or "",
                        u.account_id or "", u.input_tokens, u.output_tokens, u.requests)
                       for u in eng.store.usage())
    finally:
        eng.close()
    return {"nodes": nodes, "edges": edges, "usage": usage}


def shared(st: dict) -> set:
    """Nodes and edges not stated by exactly one source."""
    return ({("n", n[0]) for n in st["nodes"] if len(n[5]) != 1}
            | {("e", e[0], e[1], e[2]) for e in st["edges"] if len(e[4]) != 1})


def by_source(st: dict, skip: set) -> dict[str, tuple]:
    """Each source's live statements: what its OLD and NEW states are told apart by.
    Nodes and edges several sources state (in any of the states compared: `skip`) are
    left out: whether one stays live depends on the other sources too (an inventory
    enrichment does not keep alive a credential its vendor removed), so they say
    nothing about one source alone; the re-run check compares them all."""
    out: dict[str, list] = {}
    for n in st["nodes"]:
        if not n[6] and len(n[5]) == 1 and ("n", n[0]) not in skip:
            out.setdefault(n[5][0], []).append(("n", n[0], n[4]))
    for e in st["edges"]:
        if not e[5] and len(e[4]) == 1 and ("e", e[0], e[1], e[2]) not in skip:
            out.setdefault(e[4][0], []).append(("e", e[0], e[1], e[2], e[3]))
    for u in st["usage"]:
        out.setdefault(u[0], []).append(("u",) + u[1:])
    return {s: tuple(sorted(v)) for s, v in out.items()}


class Store:
    """A store to run rounds on: a SQLite file copied from the OLD reference, or a
    Neo4j database wiped and loaded with OLD."""

    def __init__(self, kind: str, work: Path, old: Path):
        self.kind, self.work, self.old = kind, work, old
        self.neo4j = kind.startswith(("bolt://", "neo4j://"))
        self.reference = str(work / "old.db")
        if not self.neo4j:
            r = cli("ingest", old, "--db", self.reference)
            if r.returncode:
                raise SystemExit(r.stderr)

    def fresh(self, name: str) -> str:
        """A store holding OLD."""
        if self.neo4j:
            from tests.neo4j_support import wipe
            wipe(self.kind, os.environ.get("NEO4J_USER", "neo4j"), os.environ.get("NEO4J_PASSWORD", ""))
            r = cli("ingest", self.old, "--db", self.kind)
            if r.returncode:
                raise SystemExit(r.stderr)
            return self.kind
        db = self.work / f"{name}.db"
        for suffix in ("", ".graph"):
            if os.path.exists(self.reference + suffix):
                shutil.copyfile(self.reference + suffix, str(db) + suffix)
        return str(db)


def leftovers(db: str, pid: int) -> list[str]:
    found = [os.path.join(tempfile.gettempdir(), n) for n in os.listdir(tempfile.gettempdir())
             if n.startswith(f"{SPOOL_PREFIX}{pid}-")]
    if not db.startswith(("bolt://", "neo4j://")):
        d = Path(db).parent
        found += [str(p) for p in d.glob(f"{Path(db).name}.graph.tmp-{pid}")]
    return found


def runs_count(db: str) -> int:
    """How many source loads the store has committed (its run log), read beside a
    running ingest (SQLite in WAL mode and Neo4j both allow it)."""
    if db.startswith(("bolt://", "neo4j://")):
        from neo4j import GraphDatabase
        with GraphDatabase.driver(db, auth=(os.environ.get("NEO4J_USER", "neo4j"),
                                            os.environ.get("NEO4J_PASSWORD", ""))) as driver:
            return driver.execute_query("MATCH (r:IngestRun) RETURN count(r) AS n").records[0]["n"]
    import sqlite3
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        conn.close()


def latest_run(db: str) -> dict | None:
    """The newest recorded sync run (`burnpath runs --json`), with whether readers are
    told the store holds a mix of two snapshots."""
    r = cli("runs", "--db", db, "--json", "--limit", "1")
    if r.returncode:
        return None
    doc = json.loads(r.stdout)
    return {**doc["runs"][0], "mixed": doc["mixed"]} if doc["runs"] else None


def one_round(store: Store, new: Path, refs: dict, delay: float, name: str,
              after_commits: int | None = None) -> dict:
    """One kill: after `delay` seconds, or (with `after_commits`) as soon as the ingest
    has committed that many sources (polled from here: the kill lands between two
    sources, or a little later)."""
    db = store.fresh(name)
    before = runs_count(db) if after_commits else 0
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "ingest", str(new), "--db", db, "--wait", "5"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if after_commits is None:
        time.sleep(delay)
    else:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if runs_count(db) >= before + after_commits:
                    break
            except Exception:   # noqa: BLE001 - the store is being created; poll again
                pass
            time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    failures = []
    # The store opens and answers.
    q = cli("query", "--db", db, '{ nodes { totalCount } }')
    if q.returncode:
        failures.append(f"query after the kill failed: {q.stderr.strip()[-300:]}")
    after = state(db)
    skip = shared(after) | shared(refs["old"]) | shared(refs["new"])
    per = by_source(after, skip)
    old_src, new_src = by_source(refs["old"], skip), by_source(refs["new"], skip)
    n_new = 0
    for source in sorted(set(old_src) | set(new_src) | set(per)):
        got = per.get(source, ())
        if got == new_src.get(source, ()):
            n_new += got != old_src.get(source, ())
        elif got != old_src.get(source, ()):
            failures.append(f"{source}: neither its old nor its new state")
    if killed and n_new:
        # A run that committed some sources and died says so until a later run completes.
        latest = latest_run(db)
        if latest is None or latest.get("complete") or not latest.get("mixed"):
            failures.append(f"the killed run is not flagged incomplete: {latest}")
    left = leftovers(db, proc.pid)
    if left:
        failures.append(f"left behind after the next open: {left}")
    r = cli("ingest", new, "--db", db, "--wait", "30")
    if r.returncode:
        failures.append(f"re-run failed: {r.stderr.strip()[-300:]}")
    elif state(db) != refs["new"]:
        failures.append("re-run differs from a clean OLD-then-NEW ingest")
    elif (latest := latest_run(db)) is None or not latest.get("complete") or latest.get("mixed"):
        failures.append(f"the completed re-run is not the complete latest run: {latest}")
    outcome = ("finished before the kill" if not killed else
               "killed, nothing new written" if n_new == 0 else "killed mid-ingest")
    return {"outcome": outcome, "new_sources": n_new, "failures": failures}


def prepare(work: Path, people: int, seed: int, kind: str):
    old = generate(work / "old", people, seed)
    new = generate(work / "new", people, seed + 1)
    store = Store(kind, work, old)
    db = store.fresh("ref-new")
    t0 = time.monotonic()
    r = cli("ingest", new, "--db", db)
    full = time.monotonic() - t0
    if r.returncode:
        raise SystemExit(r.stderr)
    refs = {"new": state(db)}
    refs["old"] = state(store.fresh("ref-old"))
    return store, old, new, refs, full


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--people", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", default="sqlite", help="sqlite (a file per round) or a Neo4j URL")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="burnpath-kill-"))
    try:
        t0 = time.monotonic()
        store, old, new, refs, full = prepare(work, args.people, args.seed, args.db)
        t1 = time.monotonic()
        cli("--help")
        startup = time.monotonic() - t1
        print(f"store: {args.db}; OLD {len(refs['old']['nodes'])} nodes, NEW {len(refs['new']['nodes'])} nodes; "
              f"a whole ingest of NEW takes {full:.2f} s (process start included)")
        n_sources = len([p for p in new.iterdir() if p.is_dir()])
        outcomes: dict[str, int] = {}
        failed = 0
        for i in range(args.rounds):
            # Odd rounds: a random time (before the process has imported anything there is
            # nothing to kill); even rounds: right after a random number of source commits.
            delay = rng.uniform(0.8 * startup, full)
            commits = rng.randint(1, n_sources) if i % 2 == 0 else None
            res = one_round(store, new, refs, delay, f"round{i}", after_commits=commits)
            outcomes[res["outcome"]] = outcomes.get(res["outcome"], 0) + 1
            print(f"round {i}: {res['outcome']} ({res['new_sources']} sources new)", flush=True)
            if res["failures"]:
                failed += 1
                when = f"after {commits} commits" if commits else f"at {delay:.2f} s"
                print(f"round {i} (kill {when}): FAILED: {'; '.join(res['failures'])}")
        for k, v in sorted(outcomes.items()):
            print(f"{v:4d} rounds: {k}")
        print(f"{args.rounds} rounds, {failed} failed ({time.monotonic() - t0:.0f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
