"""Readers see one store generation: a cached result is stored only under the
generation it was computed from, and a GraphQL request reads one generation from
start to end while ingests commit beside it (issue 13, stale and mixed answers)."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import httpx
import pytest

import engine.findings as findings_mod
from api.app import create_app
from engine.findings import findings
from engine.service import Engine
from engine.spend import spend
from tests.conftest import LiveServer
from tests.generation_snap import ECHO_QUERY, rounds_of, write_round
from tests.neo4j_support import neo4j_settings, neo4j_url  # noqa: F401 - fixture

AS_OF = datetime(2026, 10, 2, tzinfo=timezone.utc)   # fixed, so cache keys do not move with the data
WAIT = 30


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def db(request, tmp_path):
    """Where the store is: a SQLite file, or the Neo4j server (emptied first)."""
    if request.param == "sqlite":
        return tmp_path / "b.db"
    url = request.getfixturevalue("neo4j_url")
    _, user, password = neo4j_settings()
    request.getfixturevalue("monkeypatch").setenv("NEO4J_USER", user)
    request.getfixturevalue("monkeypatch").setenv("NEO4J_PASSWORD", password)
    return url


def _snapshot_store(db) -> bool:
    return not str(db).startswith(("bolt:", "neo4j"))


def _load(db, snap, k: int) -> None:
    write_round(snap, k)
    eng = Engine.open(str(db))
    try:
        eng.ingest([snap / "litellm"])
    finally:
        eng.close()


def _unbudgeted(eng) -> int:
    return sum(f.rule == "unbudgeted-credential" for f in findings(eng))


def test_findings_evaluated_across_a_commit_are_not_served_as_the_new_generation(db, tmp_path, monkeypatch):
    snap = tmp_path / "snap"
    _load(db, snap, 1)
    eng = Engine.open(str(db), as_of=AS_OF)
    evaluating, committed = threading.Event(), threading.Event()
    real = findings_mod.evaluate_rule

    def evaluate_then_wait(rule, facts):
        # The evaluation has read generation 1's facts; hold it until a load commits.
        out = real(rule, facts)
        if not evaluating.is_set():
            evaluating.set()
            assert committed.wait(WAIT)
        return out

    monkeypatch.setattr(findings_mod, "evaluate_rule", evaluate_then_wait)
    old: list = []
    worker = threading.Thread(target=lambda: old.append(_unbudgeted(eng)))
    worker.start()
    try:
        assert evaluating.wait(WAIT)
        _load(db, snap, 4)                   # commits while the evaluation is under way
        spend(eng, "credential")             # another request meanwhile, at the new generation
    finally:
        committed.set()
        worker.join(WAIT)
    if _snapshot_store(db):
        assert old == [1]                    # what it computed was generation 1's answer...
    assert _unbudgeted(eng) == 4             # ...and is not served as generation 2's
    fresh = Engine.open(str(db), as_of=AS_OF)
    assert [f.id for f in findings(eng)] == [f.id for f in findings(fresh)]
    fresh.close()
    eng.close()


def test_concurrent_first_askers_compute_once(tmp_path):
    db, snap = tmp_path / "b.db", tmp_path / "snap"
    _load(db, snap, 1)
    eng = Engine.open(str(db))
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute():
        calls.append(1)
        started.set()
        assert release.wait(WAIT)
        return object()

    got: list = []
    first = threading.Thread(target=lambda: got.append(eng.cached("k", compute)))
    first.start()
    assert started.wait(WAIT)
    others = [threading.Thread(target=lambda: got.append(eng.cached("k", compute))) for _ in range(6)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(WAIT)
    assert len(calls) == 1 and len(got) == 7 and len({id(v) for v in got}) == 1
    eng.close()


def test_a_failed_computation_is_not_cached_and_waiters_recompute(tmp_path):
    db, snap = tmp_path / "b.db", tmp_path / "snap"
    _load(db, snap, 1)
    eng = Engine.open(str(db))
    with pytest.raises(RuntimeError):
        eng.cached("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert eng.cached("k", lambda: 42) == 42
    eng.close()


def test_pinned_reader_keeps_its_generation_while_a_load_commits(db, tmp_path):
    snap = tmp_path / "snap"
    _load(db, snap, 2)
    eng = Engine.open(str(db), as_of=AS_OF)

    def answers():
        return (eng.node_count(), round(sum(r.usd for r in spend(eng, "credential"))), _unbudgeted(eng))

    with eng.pinned() as gen:
        before = answers()
        _load(db, snap, 5)
        after = answers()
        assert eng.store.generation() == gen
        if _snapshot_store(db):
            assert eng.consistent(gen) and before == after      # the snapshot holds
        else:
            assert not eng.consistent(gen)                      # the request would run again
    assert before[1:] == (2, 2)
    # Out of the pin, the new generation (and a cache not poisoned by the pinned reads).
    assert round(sum(r.usd for r in spend(eng, "credential"))) == 5 and _unbudgeted(eng) == 5
    eng.close()


def test_http_responses_read_one_generation_while_ingests_commit(db, tmp_path):
    snap = tmp_path / "snap"
    _load(db, snap, 1)
    eng = Engine.open(str(db), as_of=AS_OF)
    rounds, seen, problems = (30 if _snapshot_store(db) else 15), [], []
    done = threading.Event()

    def ingests():
        try:
            for k in range(2, rounds + 1):
                _load(db, snap, k)
                # Let a reader get an answer at this generation before the next commit
                # (the readers keep running: later commits still land mid-request).
                limit = time.monotonic() + WAIT
                while not any(k in r for r in seen) and time.monotonic() < limit:
                    time.sleep(0.01)
        finally:
            done.set()

    def reader(url):
        with httpx.Client(timeout=WAIT) as client:
            while not done.is_set():
                body = client.post(url + "/graphql", json={"query": ECHO_QUERY}).json()
                if "errors" in body:
                    problems.append(body["errors"])
                    continue
                seen.append(rounds_of(body["data"]))

    with LiveServer(create_app(eng)) as srv:
        threads = [threading.Thread(target=reader, args=(srv.url,)) for _ in range(4)]
        writer = threading.Thread(target=ingests)
        for t in threads:
            t.start()
        writer.start()
        writer.join(300)
        for t in threads:
            t.join(WAIT)
        final = srv.graphql(ECHO_QUERY).json()
    eng.close()
    mixed = [s for s in seen if len(s) != 1]
    if not _snapshot_store(db):
        # Without a read snapshot a query that keeps meeting commits is refused, never mixed.
        problems = [p for p in problems if p[0]["extensions"].get("limit") != "read_attempts"]
    assert not problems, problems[:3]
    assert len({min(s) for s in seen}) > 3, "the readers should have seen several generations"
    assert not mixed, f"{len(mixed)} of {len(seen)} responses mixed generations, e.g. {mixed[:5]}"
    assert rounds_of(final["data"]) == {rounds}
