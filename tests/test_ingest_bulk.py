"""The first ingest into an empty store builds its secondary indexes once at the end
(engine.store.sqlite_load.bulk_indexes) and stores exactly what an ingest into a store
that already holds something stores; the indexes are there afterwards however the
ingest ended. The pipeline's schedule gives the worker the largest source first."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.store.sqlite import PAGE_SIZE, SQLiteStore
from ingest.errors import IngestError
from ingest.pipeline import _Schedule, ingest_loads
from ingest.snapshot import plan
from synth.generate import generate
from tests.test_ingest_pipeline import TABLES

INDEX_NAMES = {"node_src_kind", "edge_src_dst", "usage_day"}


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bulk") / "snap"
    generate(60, 11, out)
    return out


def indexes(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        # (History's own tables keep their small indexes always: not the bulk path's.)
        return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index' "
                                 "AND sql IS NOT NULL AND tbl_name NOT IN ('node_hist', 'edge_hist')"))
    finally:
        conn.close()


def rows(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT {cols} FROM {t} ORDER BY 1, 2, 3, 4").fetchall()
                for t, cols in TABLES.items()}
    finally:
        conn.close()


def run(db: Path, paths: list, parallel: bool):
    store = SQLiteStore(db)
    try:
        return ingest_loads(store, plan(paths), parallel)
    finally:
        store.close()


@pytest.mark.parametrize("parallel", [False, True])
def test_empty_store_bulk_path_stores_what_a_non_empty_store_does(snap, tmp_path, parallel):
    bulk, kept = tmp_path / "bulk.db", tmp_path / "kept.db"
    # `kept` holds something first (a partial Okta load), so it keeps its indexes and
    # maintains them row by row; the complete ingest then restates those rows.
    groups = snap / "okta" / "api" / "v1" / "groups.json"
    run(kept, [groups], parallel=False)
    before = rows(kept)
    assert before["node_src"] and set(indexes(kept)) == INDEX_NAMES
    run(bulk, [snap], parallel)
    run(kept, [snap], parallel)
    a, b = rows(bulk), rows(kept)
    assert a["node_src"] and a["edge_src"] and a["usage"]
    for table in TABLES:
        assert a[table] == b[table], table
    # Indexes identical to the schema's, and the planner uses the rebuilt ones.
    assert indexes(bulk) == indexes(kept)
    assert set(indexes(bulk)) == INDEX_NAMES
    conn = sqlite3.connect(bulk)
    plan_text = " ".join(r[-1] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT src FROM edge_src WHERE dst = 'x'"))
    assert "edge_src_dst" in plan_text
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    conn.close()


def test_indexes_are_rebuilt_when_a_bulk_ingest_fails(snap, tmp_path):
    bad = tmp_path / "snap"
    shutil.copytree(snap, bad)
    (bad / "github" / "orgs").mkdir(parents=True, exist_ok=True)
    members = sorted((bad / "github" / "orgs").glob("*/members.json"))[0]
    members.write_text('{"not": "a listing"')
    db = tmp_path / "x.db"
    with pytest.raises(IngestError) as info:
        run(db, [bad], parallel=True)
    names = [load.source for load in plan([bad])]
    assert [r.source for r in info.value.loaded] == names[:names.index("github")]
    assert set(indexes(db)) == INDEX_NAMES
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM node_src WHERE source='github'").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM node_src WHERE source='okta'").fetchone()[0] > 0
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_opening_a_store_recreates_missing_indexes(snap, tmp_path):
    """A process that died inside a bulk ingest leaves committed sources without the
    indexes: the next open puts them back, and the rows are untouched."""
    db = tmp_path / "x.db"
    run(db, [snap / "okta"], parallel=False)
    stored = rows(db)
    conn = sqlite3.connect(db)
    for name in INDEX_NAMES:
        conn.execute(f"DROP INDEX {name}")
    conn.commit()
    conn.close()
    assert indexes(db) == {}
    SQLiteStore(db).close()
    assert set(indexes(db)) == INDEX_NAMES and rows(db) == stored


def test_a_non_empty_store_keeps_its_indexes_during_an_ingest(snap, tmp_path):
    """Only an empty store drops them: between two sources of a re-ingest (seen from
    another connection, as a server reading meanwhile would), they are all there."""
    db = tmp_path / "x.db"
    run(db, [snap / "openai"], parallel=False)
    store = SQLiteStore(db)
    seen = []
    write = store.write_prepared

    def watching(prepared, complete):
        seen.append(set(indexes(db)))
        return write(prepared, complete)

    store.write_prepared = watching
    try:
        ingest_loads(store, plan([snap / "okta", snap / "google"]), parallel=False)
    finally:
        store.close()
    assert seen == [INDEX_NAMES, INDEX_NAMES]


def test_an_old_store_keeps_its_page_size(tmp_path, snap):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA page_size=4096")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.commit()
    conn.close()
    run(db, [snap / "scim"], parallel=False)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA page_size").fetchone() == (4096,)
    assert conn.execute("SELECT count(*) FROM node_src").fetchone()[0] > 0
    conn.close()
    assert set(indexes(db)) == INDEX_NAMES


class RecordingPool:
    """Stands in for multiprocessing's pool: records what the worker would be given."""

    def __init__(self):
        self.given: list[int] = []

    def apply_async(self, fn, args, callback=None, error_callback=None):
        self.given.append(args[0])
        return None


def test_schedule_gives_the_worker_the_largest_source_first():
    loads = list(range(6))              # (the schedule only hands loads on)
    sizes = [10, 30, 5, 100, 20, 8]
    pool = RecordingPool()
    plan_ = _Schedule(loads, sizes, None, pool)
    assert plan_.start(0) is True       # nobody has the first: this process parses it
    # Two outstanding tasks: the largest, then the next largest within the budget.
    assert pool.given == [3, 1]
    # While waiting for the worker's source 1, this process takes the next unclaimed one
    # in plan order (no larger than the one waited for).
    plan_.writing = 1
    assert plan_.claim_ahead(1) == 2
    assert plan_.claim_ahead(1) == 4    # 3 is the worker's
    assert plan_.claim_ahead(1) == 5
    assert plan_.claim_ahead(1) is None
    # A finished task frees a slot, but nothing is left to claim.
    plan_._finished(None)
    assert pool.given == [3, 1]


def test_schedule_keeps_unwritten_sources_within_the_budget():
    loads = list(range(5))
    sizes = [100, 90, 80, 70, 60]       # budget: 200
    pool = RecordingPool()
    plan_ = _Schedule(loads, sizes, None, pool)
    assert plan_.start(0) is True
    assert pool.given == [1, 2]         # 90 + 80 <= 200 ahead of the one being written
    plan_._finished(None)
    assert pool.given == [1, 2]         # 90 + 80 + 70 > 200: the worker waits
    assert plan_.claim_ahead(0) is None  # and so does this process
    assert plan_.start(1) is False      # source 0 written: 80 ahead, room for 70
    assert pool.given == [1, 2, 3]
    # 80 + 70 + 60 ahead of the one being written would pass the budget: this process
    # waits too, until source 1 is written.
    assert plan_.claim_ahead(1) is None
    assert plan_.start(2) is False
    assert plan_.claim_ahead(2) == 4


def test_schedule_parses_nothing_here_larger_than_what_it_waits_for():
    loads = list(range(4))
    sizes = [10, 50, 5, 40]
    pool = RecordingPool()
    plan_ = _Schedule(loads, sizes, None, pool)
    plan_.running = 2                   # the worker is busy elsewhere
    assert plan_.start(0) is True and pool.given == []
    plan_.owner[1] = "worker"
    plan_.owner[2] = "worker"
    plan_.writing = 0
    assert plan_.claim_ahead(0) is None     # 3 (40) is larger than 0 (10)


@pytest.mark.parametrize("broken", [None, "openai/organization/projects.json", "inventory/people.yaml"])
def test_worker_results_spooled_through_files_leave_none_behind(snap, tmp_path, monkeypatch, broken):
    """The worker hands each source's rows over in a file in a private temporary
    directory; it is gone after the ingest, whether it succeeded or a bad file stopped it."""
    import tempfile
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    src = snap
    if broken:
        src = tmp_path / "snap"
        shutil.copytree(snap, src)
        assert (src / broken).is_file()
        (src / broken).write_text("people: [unclosed\n" if broken.endswith(".yaml") else '{"data": [')
    db = tmp_path / "x.db"
    if broken:
        with pytest.raises(IngestError):
            run(db, [src], parallel=True)
    else:
        results = run(db, [src], parallel=True)
        assert [r.source for r in results] == [load.source for load in plan([src])]
    assert list(spool_root.iterdir()) == []
    assert set(indexes(db)) == INDEX_NAMES


def test_a_killed_ingests_spool_is_swept_by_the_next(snap, tmp_path, monkeypatch):
    """A dead process's spool goes at once, whatever its age; a live one's stays, and
    so does one whose pid looks dead here but whose owner still holds its mark (another
    pid namespace sharing the directory)."""
    import os
    import subprocess
    import sys
    import tempfile
    from engine.store.leftovers import OWNER_FILE, SPOOL_PREFIX, hold
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    stale = spool_root / f"{SPOOL_PREFIX}{dead_pid}-abc"
    fresh = spool_root / f"{SPOOL_PREFIX}{dead_pid}-new"            # dead, just now
    marked = spool_root / f"{SPOOL_PREFIX}{dead_pid}-held"          # dead here, mark held
    live = spool_root / f"{SPOOL_PREFIX}{os.getpid()}-xyz"          # a live process's
    other = spool_root / f"{SPOOL_PREFIX}notapid"
    for d in (stale, fresh, marked, live, other):
        d.mkdir()
        (d / "okta-1.pickle").write_bytes(b"x" * 10)
    (stale / OWNER_FILE).write_text("")
    fd = hold(marked / OWNER_FILE)
    try:
        run(tmp_path / "x.db", [snap], parallel=True)
    finally:
        os.close(fd)
    assert sorted(p.name for p in spool_root.iterdir()) == sorted(p.name for p in (marked, live, other))
