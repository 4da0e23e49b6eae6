"""A few rounds of bench/kill_ingest.py (issue 13): `burnpath ingest` killed with
SIGKILL, as a real subprocess, between two sources and at random points; afterwards the
store opens, each source is wholly old or wholly new, nothing of the killed process is
left, and a re-run equals a clean ingest. The benchmark script runs 50+ rounds."""
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from bench.kill_ingest import one_round, prepare
from tests.neo4j_support import neo4j_settings


@pytest.fixture(params=["sqlite", "neo4j"])
def kind(request):
    if request.param == "sqlite":
        return "sqlite"
    return neo4j_settings()[0]


def test_killed_ingests_leave_old_or_new_sources_and_rerun_cleanly(kind):
    work = Path(tempfile.mkdtemp(prefix="burnpath-kill-test-"))
    try:
        store, _old, new, refs, full = prepare(work, people=25, seed=3, kind=kind)
        assert refs["old"] != refs["new"]
        rng = random.Random(7)
        rounds = [one_round(store, new, refs, 0, "between", after_commits=3)]
        rounds += [one_round(store, new, refs, rng.uniform(0.3, full), f"r{i}") for i in range(2)]
        for res in rounds:
            assert res["failures"] == [], res
        # The round killed between sources really left a mix of old and new sources.
        assert rounds[0]["outcome"] == "killed mid-ingest" and rounds[0]["new_sources"] >= 1, rounds[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
