"""The overlapped ingest (ingest.pipeline: a worker process parses while this one
writes, and this one parses too while it waits) stores exactly what the one-source-at-
a-time ingest stores, keeps one transaction per source, and on a bad file writes every
earlier source and nothing of the bad one or any later one, whichever process parsed it."""
from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.service import Engine
from ingest.errors import IngestError
from ingest.pipeline import PARALLEL_MIN_BYTES, _size
from ingest.snapshot import plan
from synth.generate import generate
from tests.conftest import DEMO

TABLES = {
    "node_src": "id, source, kind, name, active, properties, enrichment, removed_at IS NULL",
    "edge_src": "src, kind, dst, source, properties, removed_at IS NULL",
    "usage": "source, key, day, model, credential_id, project_id, account_id, input_tokens, "
             "output_tokens, cached_input_tokens, requests, vendor_usd, properties, removed_at IS NULL",
    "costs": "source, key, day, scope_id, line_item, usd, properties, removed_at IS NULL",
    "activity": "source, key, day, actor_id, kind, properties, removed_at IS NULL",
    "settings": "source, key, value, removed_at IS NULL",
}


def dump(db: Path) -> dict:
    """Every stored row but run ids and wall-clock stamps, plus each run's counts."""
    conn = sqlite3.connect(db)
    out = {t: conn.execute(f"SELECT {cols} FROM {t} ORDER BY 1, 2, 3").fetchall()
           for t, cols in TABLES.items()}
    out["runs"] = sorted(conn.execute("SELECT source, complete, counts, removed FROM runs").fetchall())
    out["generation"] = conn.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
    conn.close()
    return out


@pytest.fixture(scope="module")
def synth_snap(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pipe") / "snap"
    generate(80, 5, out)
    return out


def ingest(db: Path, paths: list, parallel: bool):
    eng = Engine.open(str(db))
    try:
        return eng.ingest(paths, parallel=parallel)
    finally:
        eng.close()


def shrink(snap: Path) -> Path:
    """A later sync of the same org: Okta users, an app and member listings gone, usage
    days re-stated with rows gone, Google member listings gone; what vanished must be marked removed."""
    okta_users = snap / "okta" / "api" / "v1" / "users.json"
    users = json.loads(okta_users.read_text())
    users = users[0] if users and isinstance(users[0], list) else users
    okta_users.write_text(json.dumps(users[: len(users) // 2]))
    for path in sorted((snap / "okta").glob("api/v1/groups/*/users.json"))[:4]:
        path.unlink()
    apps = snap / "okta" / "api" / "v1" / "apps.json"
    listing = json.loads(apps.read_text())
    listing = listing[0] if listing and isinstance(listing[0], list) else listing
    apps.write_text(json.dumps(listing[1:]))
    for path in sorted((snap / "google").rglob("members.json"))[:3]:
        path.unlink()
    usage = snap / "openai" / "organization" / "usage" / "completions.json"
    pages = json.loads(usage.read_text())
    for page in (pages if isinstance(pages, list) else [pages]):
        for bucket in page["data"][:2]:
            bucket["results"] = bucket["results"][:-1]
            for r in bucket["results"]:
                r["input_tokens"] += 7
    usage.write_text(json.dumps(pages))
    return snap


def test_overlapped_ingest_stores_what_sequential_does(synth_snap, tmp_path):
    assert len(plan([synth_snap])) == 12
    dumps = {}
    for parallel in (False, True):
        snap = tmp_path / f"snap-{parallel}"
        shutil.copytree(synth_snap, snap)
        db = tmp_path / f"{parallel}.db"
        first = ingest(db, [snap], parallel)
        # A complete re-sync of a changed snapshot (removals), then a partial load.
        second = ingest(db, [shrink(snap)], parallel)
        third = ingest(db, [snap / "okta" / "api" / "v1" / "groups.json",
                            *sorted((snap / "github").rglob("members.json"))[:2]], parallel)
        dumps[parallel] = dump(db)
        dumps[parallel]["results"] = [
            [(r.source, r.complete, r.counts, r.removed, r.warnings) for r in res]
            for res in (first, second, third)]
    seq, par = dumps[False], dumps[True]
    for key in seq:
        assert par[key] == seq[key], key
    # The re-sync really removed things (so the comparison covered removal).
    removed = dict((r[0], r[3]) for r in seq["results"][1])
    assert removed["okta"]["nodes"] > 0 and removed["okta"]["edges"] > 0
    assert removed["google"]["edges"] > 0 and removed["openai"]["usage"] > 0
    assert [r[1] for r in seq["results"][2]] == [False, False]     # partial loads
    assert len(seq["runs"]) == 12 + 12 + 2 and seq["generation"] == ("26",)


@pytest.mark.parametrize("bad", [("okta", "api/v1/groups.json"),
                                 ("litellm", "team/list.json")])
def test_bad_file_writes_earlier_sources_only(synth_snap, tmp_path, bad):
    """Two bad sources: the error is the earlier one's in plan order, whichever process
    parsed which, and neither they nor anything after them is written."""
    snap = tmp_path / "snap"
    shutil.copytree(synth_snap, snap)
    source, rel = bad
    (snap / source / rel).write_text('{"truncated": ')
    members = sorted((snap / "github" / "orgs").glob("*/members.json"))[0]
    members.write_text('[{"id": 1}]')   # a member without a login: a later bad source
    db = tmp_path / "x.db"
    names = [load.source for load in plan([snap])]
    with pytest.raises(IngestError) as info:
        ingest(db, [snap], parallel=True)
    exc = info.value
    assert exc.source == source and rel.split("/")[-1] in str(exc) and exc.path.endswith(rel)
    before = names[:names.index(source)]
    assert [r.source for r in exc.loaded] == before
    conn = sqlite3.connect(db)
    written = {r[0] for r in conn.execute("SELECT DISTINCT source FROM runs")}
    assert written == set(before)
    stored = {r[0] for r in conn.execute("SELECT DISTINCT source FROM node_src")}
    assert source not in stored and "github" not in stored and "inventory" not in stored
    conn.close()


def test_small_snapshots_stay_in_one_process(tmp_path):
    # The demo org is far below the size where a worker pays off; the automatic choice
    # is the one-process path, and it stores the same as a forced overlap.
    assert sum(_size(load) for load in plan([DEMO])) < PARALLEL_MIN_BYTES
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    ingest(a, [DEMO], parallel=None)
    ingest(b, [DEMO], parallel=True)
    assert dump(a) == dump(b)


def test_ingest_error_survives_the_process_boundary():
    exc = pickle.loads(pickle.dumps(IngestError("/snap/okta/api/v1/users.json", "invalid JSON")))
    assert isinstance(exc, IngestError)
    assert exc.path == "/snap/okta/api/v1/users.json" and exc.problem == "invalid JSON"
    assert str(exc) == "/snap/okta/api/v1/users.json: invalid JSON"


def test_overlap_from_a_threaded_process(synth_snap, tmp_path):
    """A server runs threads, and forking one is unsafe: the worker is started clean
    (forkserver) instead, with the same results."""
    import threading
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        ingest(tmp_path / "threaded.db", [synth_snap], parallel=True)
    finally:
        stop.set()
        other.join()
    ingest(tmp_path / "plain.db", [synth_snap], parallel=False)
    assert dump(tmp_path / "threaded.db") == dump(tmp_path / "plain.db")
