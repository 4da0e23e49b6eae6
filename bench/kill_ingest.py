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

Prints, per outcome, how many rounds ended there (killed before anything was written,
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


def by_source(st: dict) -> dict[str, tuple]:
    """Each source's live statements: what its OLD and NEW states are told apart by.
    Nodes and edges several sources state are left out: whether one stays live depends
    on the other sources too (an inventory enrichment does not keep alive a credential
    its vendor removed), so they say nothing about one source alone; the re-run check
    compares them all."""
    out: dict[str, list] = {}
    for n in st["nodes"]:
        if not n[6] and len(n[5]) == 1:
            out.setdefault(n[5][0], []).append(("n", n[0], n[4]))
    for e in st["edges"]:
        if not e[5] and len(e[4]) == 1:
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


def one_round(store: Store, new: Path, refs: dict, delay: float, name: str,
              after_lines: int | None = None) -> dict:
    """One kill: after `delay` seconds, or (with `after_lines`) as soon as the ingest has
    printed that many sources as loaded (a kill certain to fall between two sources)."""
    db = store.fresh(name)
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "ingest", str(new), "--db", db, "--wait", "5"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if after_lines is None:
        time.sleep(delay)
    else:
        seen = 0
        while seen < after_lines and proc.stdout.readline().startswith(tuple("abcdefghijklmnopqrstuvwxyz")):
            seen += 1
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
    per = by_source(after)
    old_src, new_src = by_source(refs["old"]), by_source(refs["new"])
    n_new = 0
    for source in sorted(set(old_src) | set(new_src) | set(per)):
        got = per.get(source, ())
        if got == new_src.get(source, ()):
            n_new += got != old_src.get(source, ())
        elif got != old_src.get(source, ()):
            failures.append(f"{source}: neither its old nor its new state")
    left = leftovers(db, proc.pid)
    if left:
        failures.append(f"left behind after the next open: {left}")
    r = cli("ingest", new, "--db", db, "--wait", "30")
    if r.returncode:
        failures.append(f"re-run failed: {r.stderr.strip()[-300:]}")
    elif state(db) != refs["new"]:
        failures.append("re-run differs from a clean OLD-then-NEW ingest")
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
        outcomes: dict[str, int] = {}
        failed = 0
        for i in range(args.rounds):
            # (before the process has imported anything there is nothing to kill)
            delay = rng.uniform(0.8 * startup, full)
            res = one_round(store, new, refs, delay, f"round{i}")
            outcomes[res["outcome"]] = outcomes.get(res["outcome"], 0) + 1
            if res["failures"]:
                failed += 1
                print(f"round {i} (kill at {delay:.2f} s): FAILED: {'; '.join(res['failures'])}")
        for k, v in sorted(outcomes.items()):
            print(f"{v:4d} rounds: {k}")
        print(f"{args.rounds} rounds, {failed} failed ({time.monotonic() - t0:.0f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
