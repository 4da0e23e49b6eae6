"""A long-running engine (`burnpath serve` between ingests) keeps one generation's
graph and rule state, not every generation's: what the rules and owner resolution
memoise per graph must not keep the graph it was built for alive."""
from __future__ import annotations

import gc
import weakref
from pathlib import Path

from engine.findings import all_findings
from engine.graph_index import adjacency
from engine.ownership import resolver_for
from engine.service import Engine

DEMO = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


def test_a_new_generation_frees_the_last_graph_and_its_indexes(tmp_path):
    eng = Engine.open(str(tmp_path / "d.db"))
    try:
        eng.ingest([DEMO])
        first = eng.graph()
        assert all_findings(eng)            # builds the adjacency index and owner resolver
        assert resolver_for(first) is not None and adjacency(first) is not None
        old = weakref.ref(first)
        del first
        gen = eng.store.generation()

        eng.ingest([DEMO / "okta"])         # a re-sync: a new generation
        assert eng.store.generation() != gen
        second = eng.graph()
        assert second is not old()
        assert all_findings(eng)
        gc.collect()
        assert old() is None, gc.get_referrers(old())
        # the live generation's index is still there and answers
        assert adjacency(second).g is second
    finally:
        eng.close()
