"""The Neo4j store's write path (engine.store.neo4j_write): a store that keeps what it
last committed (its mirror) and writes only what changed must leave exactly the
database a store reading everything back before each load leaves; a failed load
leaves nothing of its own and every earlier source intact; another writer's load in
between makes the store read the state back instead of trusting its mirror."""
from __future__ import annotations

import json
import time
from datetime import date

import pytest

from engine.model import Node, NodeKind, Records, UsageRow
from engine.store import StoreError
from engine.store.neo4j import Neo4jStore
from engine.store.sqlite import SQLiteStore
from tests.neo4j_support import neo4j_settings, neo4j_url, wipe  # noqa: F401 (fixtures)
from tests.parity_data import random_records, resync_without
from tests.test_neo4j_store import cypher
from tests.test_parity import assert_store_parity

pytestmark = pytest.mark.neo4j


VARYING = frozenset({"run_id", "started_at", "finished_at", "_h", "token"})


def _plain(labels: list[str], props: dict) -> list:
    """An element's properties without what differs from run to run: run ids and clock
    times (removed_at, history's since / first_seen / valid_from / valid_to kept as set
    / not set), hashes over them, the load token."""
    out = {}
    for k, v in props.items():
        if k in VARYING or (k == "id" and "IngestRun" in labels):
            continue
        if k == "removed_at":
            v = v is not None
        elif k == "_src":
            v = {s: _statement(c) for s, c in json.loads(v).items()}
        elif k in ("valid_from", "valid_to") and "HistoryVersion" in labels:
            v = v is not None
        elif k == "statement" and "HistoryVersion" in labels:
            v = _statement(json.loads(v))
        elif k == "_view":
            v = {**json.loads(v)}
            v["removed_at"] = v["removed_at"] is not None
        out[k] = v
    return sorted(out.items())


def _statement(c: dict) -> dict:
    """A source's statement without its run id and clock times (history's `since` and
    `first_seen` are load times, like removed_at: kept as set / not set)."""
    return {**c, "run_id": None, **{t: c.get(t) is not None for t in ("removed_at", "since", "first_seen")}}


def dump() -> list[str]:
    """Everything in the database, comparable across runs."""
    nodes = cypher("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = cypher("MATCH (a)-[r]->(b) RETURN a.id AS a, type(r) AS t, b.id AS b, properties(r) AS p")
    out = sorted(repr((sorted(r["l"]), _plain(r["l"], r["p"]))) for r in nodes)
    return out + sorted(repr((r["a"], r["t"], r["b"], _plain([], r["p"]))) for r in rels)


def same_second() -> None:
    """Wait for a fresh second when this one is half gone: two loads that follow (each
    well under half a second here) stamp removed_at alike."""
    frac = time.time() % 1
    if frac > 0.5:
        time.sleep(1.01 - frac)


def store() -> Neo4jStore:
    uri, user, password = neo4j_settings()
    return Neo4jStore(uri, user, password)


def loads() -> list[tuple[Records, bool]]:
    """Loads that change derived state of nodes they do not touch: a re-sync removing
    and a later one restoring things, an account deactivated by a partial load (its
    person's status), usage on a later day (credentials expire as "now" moves), a
    source seen for the first time."""
    vendor, idp, inv = random_records(3)
    deactivate = Records(source="okta", nodes=[
        Node(id="okta:user:u0", kind=NodeKind.Account, active=False, properties={"status": "SUSPENDED"}),
        Node(id="okta:api_key:soon", kind=NodeKind.Credential, active=True,
             properties={"expires_at": "2026-03-01T00:00:00Z"})])
    later = Records(source="anthropic", usage=[UsageRow(day=date(2026, 6, 1), model="claude-3-5-sonnet",
                                                        credential_id="anthropic:api_key:ghost",
                                                        input_tokens=5)])
    return [(vendor, True), (idp, True), (inv, True), (resync_without(idp, 3), True),
            (resync_without(vendor, 4), False), (idp, True), (deactivate, False), (later, True),
            (resync_without(inv, 2), True)]


def test_incremental_loads_leave_what_loads_from_scratch_leave(neo4j_url, tmp_path):
    uri, user, password = neo4j_settings()
    # One store for every load: each load after the first trusts its mirror.
    sql = SQLiteStore(tmp_path / "same.db")
    incremental = store()
    try:
        def expired() -> set[str]:
            return {v.id for v in sql.graph().views if v.properties.get("inactive_reason") == "expired"}
        for i, (records, complete) in enumerate(loads()):
            if records.source == "anthropic":
                before = expired()
            same_second()       # both stores stamp removals with the same "now"
            a = incremental.load(records, complete)
            b = sql.load(records, complete)
            assert (a.counts, a.removed) == (b.counts, b.removed), records.source
            if i == 3:
                assert a.removed["nodes"] and a.removed["edges"]
        assert incremental.state_reads == 1      # the first load's (empty) database only
        assert_store_parity(sql, incremental, depths=(1, 8))
        # Untouched nodes whose derived state changed were rewritten: the person of the
        # deactivated account, the credentials the later "now" expired.
        assert incremental.get_node("person:p0@example.com").properties["status"] == "inactive"
        newly = expired() - before
        assert "okta:api_key:soon" in newly and all(incremental.get_node(c).properties["inactive_reason"] == "expired"
                             for c in newly)
        got = dump()
    finally:
        incremental.close()
        sql.close()
    # A new store per load: each reads the whole state back (no mirror).
    wipe(uri, user, password)
    for records, complete in loads():
        fresh = store()
        try:
            fresh.load(records, complete)
            assert fresh.state_reads == 1
        finally:
            fresh.close()
    assert dump() == got


def test_failed_load_leaves_earlier_sources_and_the_next_load_reads_back(neo4j_url):
    uri, user, password = neo4j_settings()
    sequence = loads()
    s = Neo4jStore(uri, user, password, batch_size=3)
    try:
        for records, complete in sequence[:3]:
            s.load(records, complete)
        before, gen = dump(), s.generation()
        # Rows, nodes and edges go out in many batches before the server refuses one
        # node: an id too large for the id index.
        bad = sequence[3][0].model_copy(deep=True)
        bad.nodes.append(Node(id="okta:user:" + "x" * 40_000, kind=NodeKind.Account))
        with pytest.raises(StoreError, match="refused the okta load; nothing of it was written"):
            s.load(bad, complete=True)
        assert dump() == before and s.generation() == gen
        reads = s.state_reads
        for records, complete in sequence[3:]:
            s.load(records, complete)
        assert s.state_reads == reads + 1     # the mirror went with the failed load
        got = dump()
    finally:
        s.close()
    wipe(uri, user, password)
    again = store()
    try:
        for records, complete in sequence:
            again.load(records, complete)
    finally:
        again.close()
    assert dump() == got


def test_another_writer_in_between_makes_the_store_read_back(neo4j_url):
    uri, user, password = neo4j_settings()
    sequence = loads()
    first, second = store(), store()
    try:
        for i, (records, complete) in enumerate(sequence):
            (second if i == 4 else first).load(records, complete)
        # Loads 0..3 trust the first store's mirror after its first read; load 4 is the
        # other store's; load 5 must see that and read back, 6.. trust the mirror again.
        assert (first.state_reads, second.state_reads) == (2, 1)
        got = dump()
    finally:
        first.close()
        second.close()
    wipe(uri, user, password)
    one = store()
    try:
        for records, complete in sequence:
            one.load(records, complete)
    finally:
        one.close()
    assert dump() == got


def test_a_sources_first_load_creates_its_rows_and_later_ones_merge(neo4j_url):
    s = store()
    try:
        def usage(days, tokens):
            return Records(source="openai", usage=[UsageRow(day=date(2025, 1, d), model="gpt-4o",
                                                            credential_id="openai:api_key:k",
                                                            input_tokens=tokens) for d in days])
        rows = usage([1, 2, 2, 3], 10)
        rows.usage[2].input_tokens = 11             # a key twice: the later row wins
        first = s.load(rows, complete=True)
        assert first.removed == {"nodes": 0, "edges": 0, "settings": 0, "usage": 0, "costs": 0,
                                 "activity": 0}
        assert cypher("MATCH (u:UsageRow) RETURN count(u) AS c") == [{"c": 3}]
        assert [(u.day.day, u.input_tokens) for u in s.usage()] == [(1, 10), (2, 11), (3, 10)]
        second = s.load(usage([2, 3], 99), complete=True)
        assert second.removed["usage"] == 0
        assert [(u.day.day, u.input_tokens) for u in s.usage()] == [(1, 10), (2, 99), (3, 99)]
        assert cypher("MATCH (u:UsageRow) RETURN count(u) AS c") == [{"c": 3}]
    finally:
        s.close()
