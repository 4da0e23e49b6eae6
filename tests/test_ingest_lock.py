"""One ingest at a time per store (issue 13, mixed snapshots): a second ingest waits for
the first (bounded) or refuses naming the holder; two ingests never interleave; what a
killed process left beside the store is removed by the next verb that opens it."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from engine.service import Engine
from tests.conftest import DEMO, write
from tests.neo4j_support import neo4j_settings, wipe

HOLD = """
import sys, time
from engine.store import open_store
store = open_store(sys.argv[1])
with store.ingest_lock(wait=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
store.close()
"""


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _holder(db, seconds):
    p = subprocess.Popen([sys.executable, "-c", HOLD, db, str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def _small_snapshot(tmp_path, name, teams):
    write(tmp_path / name / "inventory" / "org.yaml",
          "teams:\n" + "".join(f"  - {{id: {t}}}\n" for t in teams))
    return tmp_path / name


def _team_ids(db):
    eng = Engine.open(db)
    try:
        return sorted(v.id for v in eng.store.iter_nodes() if v.kind == "Team")
    finally:
        eng.close()


@pytest.fixture(params=["sqlite", "neo4j"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "x.db")
    uri, user, password = neo4j_settings()
    wipe(uri, user, password)
    return uri


def test_a_second_ingest_refuses_naming_the_holder(db, tmp_path):
    snap = _small_snapshot(tmp_path, "a", ["t1"])
    holder = _holder(db, 30)
    try:
        t0 = time.monotonic()
        r = _cli("ingest", str(snap), "--db", db, "--wait", "1")
        waited = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert r.returncode == 1, r.stdout + r.stderr
    assert "another ingest is running" in r.stderr and f"pid {holder.pid}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and waited >= 1
    assert _team_ids(db) == []          # nothing written


def test_a_second_ingest_waits_for_the_first(db, tmp_path):
    snap = _small_snapshot(tmp_path, "a", ["t1"])
    holder = _holder(db, 2)
    r = _cli("ingest", str(snap), "--db", db, env={"BURNPATH_INGEST_WAIT": "60"})
    holder.wait()
    assert r.returncode == 0, r.stderr
    assert _team_ids(db) == ["team:t1"]


def test_a_killed_holder_does_not_keep_the_store_locked(db, tmp_path):
    snap = _small_snapshot(tmp_path, "a", ["t1"])
    holder = _holder(db, 60)
    holder.kill()
    holder.wait()
    r = _cli("ingest", str(snap), "--db", db, "--wait", "0")
    assert r.returncode == 0, r.stderr


def test_two_ingests_at_once_never_interleave(db, tmp_path, monkeypatch):
    """A is paused between two sources (before its inventory, the last one) while B
    ingests the whole of another snapshot. Without the lock B's sources land while A is
    paused, then A's inventory lands on them: an org that never existed. With it, B
    waits for A and the store ends wholly B. Deterministic: the pause is a gate A's
    thread waits on, opened once B has finished or has waited 15 s."""
    import threading
    import ingest.snapshot as snapshot
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(DEMO, a, ignore=shutil.ignore_patterns("*.py", "*.md"))
    shutil.copytree(DEMO, b, ignore=shutil.ignore_patterns("*.py", "*.md"))
    write(a / "inventory" / "zz.yaml", "teams: [{id: only-in-a}]\n")
    write(b / "inventory" / "zz.yaml", "teams: [{id: only-in-b}]\n")
    (b / "scim" / "Groups.json").unlink()       # an earlier source differs too
    assert _cli("ingest", str(DEMO / "okta"), "--db", db).returncode == 0   # not a first, bulk load

    gate, paused = threading.Event(), threading.Event()
    real = snapshot.read_source

    def read_source(load):
        if threading.current_thread().name == "ingest-a" and load.source == "inventory":
            paused.set()
            gate.wait(60)
        return real(load)
    monkeypatch.setattr("ingest.pipeline.read_source", read_source)
    errors = []

    def run(path):
        eng = Engine.open(db)
        try:
            eng.ingest([path], parallel=False, wait=60)
        except Exception as exc:    # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            eng.close()
    ta = threading.Thread(target=run, args=(a,), name="ingest-a")
    tb = threading.Thread(target=run, args=(b,), name="ingest-b")
    ta.start()
    assert paused.wait(60)
    tb.start()
    tb.join(timeout=15)         # ends here without a lock; waits for A with one
    gate.set()
    ta.join(120)
    tb.join(120)
    assert not errors, errors
    live = _live_ids(db)
    winner = tmp_path / ("b" if "team:only-in-b" in live else "a")
    clean = str(tmp_path / "clean.db")
    assert _cli("ingest", str(winner), "--db", clean).returncode == 0
    assert live == _live_ids(clean)


def _live_ids(db):
    eng = Engine.open(db)
    try:
        return {v.id for v in eng.store.iter_nodes()}
    finally:
        eng.close()


def test_graph_temp_of_a_dead_process_is_removed_on_open(tmp_path):
    from engine.store.leftovers import hold
    db = tmp_path / "x.db"
    snap = _small_snapshot(tmp_path, "a", ["t1"])
    assert _cli("ingest", str(snap), "--db", str(db)).returncode == 0
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"x.db.graph.tmp-{int(gone.stdout)}"
    dead.write_bytes(b"x" * 1000)
    live = tmp_path / f"x.db.graph.tmp-{os.getpid()}"
    live.write_bytes(b"y")
    held = tmp_path / f"x.db.graph.tmp-{int(gone.stdout) + 1000000}"   # held by a live owner
    held.write_bytes(b"z")
    fd = hold(held)
    try:
        r = _cli("query", "--db", str(db), "{ nodes(kind: \"Team\") { totalCount } }")
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert not dead.exists() and live.exists() and held.exists()


def test_ingest_mutation_while_another_ingest_runs_is_limit_exceeded(tmp_path, monkeypatch):
    from tests.api_helpers import post, serving, small_org
    from tests.test_api_auth import make_token
    db = small_org(tmp_path)
    admin = make_token(db, "admin")
    snap = _small_snapshot(tmp_path, "m", ["t9"])
    monkeypatch.setenv("BURNPATH_INGEST_WAIT", "0.5")
    holder = _holder(str(db), 30)
    try:
        with serving(db) as (srv, _, _):
            resp = post(srv, 'mutation($p: [String!]!) { ingest(paths: $p) { source } }', admin,
                        {"p": [str(snap)]})
    finally:
        holder.kill()
        holder.wait()
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "LIMIT_EXCEEDED", err
    assert f"pid {holder.pid}" in err["message"] and "nothing was written" in err["message"]
