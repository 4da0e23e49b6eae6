"""The Neo4j store: the same answers as the embedded store, on a server that scales.

How the graph looks in Neo4j (so users can write their own Cypher in Neo4j Browser):

- Every node carries `:Node` plus one label named after its kind (`:Person`,
  `:Credential`, ...). Its properties are the merged, *current* view the engine
  answers with: `id`, `kind`, `name`, `active`, `removed_at`, `sources`, plus every
  merged property (derived ones included: a person's `status` and `deactivated_at`,
  a credential's `inactive_reason`). Nested values (maps, mixed lists) are JSON
  strings. A property whose name collides with one of those fields is only in `_view`.
- Relationships have the edge kind as type (`HAS_ACCOUNT`, `CAN_ACCESS`, ...), carry
  their merged properties, `sources` and `removed_at` (set when every source that
  stated the edge has re-synced without it). Edges derived at load (cross-source
  linking, leak matching: engine.linking) have `derived: true`.
  `live: true` marks what is in the engine's current graph (on relationships: not
  removed and neither end removed): `MATCH (a:Node)-[r]->(b:Node) WHERE r.live`.
- Bookkeeping sits in underscore properties users can ignore: `_src` (JSON map
  source -> that source's own statement, so a source's complete re-sync marks only
  what *it* no longer states as removed), `_view` (the exact view as JSON, nested
  values intact), `_h` (a hash of the element's properties, so a load rewrites
  only what changed), and `_acc`/`_ord` on relationships (access level as 0-3,
  tie-break order).
- Usage, cost and activity rows, settings, ingest runs and store metadata are
  `:UsageRow`, `:CostRow`, `:ActivityRow`, `:Setting`, `:IngestRun` and
  `:BurnpathMeta` nodes (no `:Node` label, so they stay out of graph queries).
  A `:UsageRow` also carries `cache_write_tokens` (its `cache_creation_input_tokens`
  property as an integer) so that spend's aggregation can sum it in Cypher.

Each source load is one managed write transaction (retried by the driver on
transient errors), written in UNWIND batches of `batch_size`. Derived state (person
status, credential activity, derived edges, "now") is computed by the very
functions the embedded store uses (engine.graph.MemoryGraph, engine.derive,
engine.linking) over every source's statements, and written in it: a failed load
leaves nothing behind. The statements come from the store's mirror of its last
committed load when the database is still at that load, else they are read back
inside the transaction; only what changed is serialised and written
(engine.store.neo4j_write).

Which reads run in Cypher:

- `blast_radius`, `who_can_reach`, `blast_radius_many`: one Cypher query per walk
  (or per batch of walks): a bounded variable-length pattern over the live
  traversable relationships (a pruning breadth-first expand in Neo4j) returns the
  relationships within reach, and engine.traversal's own BFS picks depth, access and
  evidence path over just those (engine.store.neo4j_traversal), so ties break exactly
  as on the embedded store.
- `usage_totals` (what `spend` prices and attributes): one Cypher aggregation over
  the `:UsageRow` nodes in the day window and not removed, grouped per (source,
  model, credential_id, project_id, account_id, has a vendor figure) with count,
  token/request sums and the per-row-clamped pricing sums (usage rows carry
  `cache_write_tokens` for that). Only the vendor USD figures come back per row,
  as one list per group, so Python adds them with math.fsum (a float sum in Cypher
  depends on row order; both stores must agree exactly). Rows stored before
  `cache_write_tokens` existed make it aggregate the rows in Python instead.
- The graph facts of `findings` (and risk, trace) and of `spend` attribution:
  `rule_facts` and `spend_attributor` hand out engine.store.neo4j_facts objects
  whose node views, edges by kind, owner resolution, team people, budgets' hops,
  claims and sensitivity reach are bulk Cypher queries (engine.store.neo4j_reads),
  one per fact family. `data_as_of` gives "now" as the last load stored it.
- `get_node`, `list_nodes` (count and page), `generation`, `settings`, `runs`,
  `get_meta`, and the day window / removed filter of `usage`, `costs`, `activity`.

Still on `graph()` (the engine's in-memory graph of this database, built once per
generation and counted in `graph_builds`): engine.ownership.owners_of called with
the engine (a node's GraphQL `owners`), node paging cursors, and the API's warm-up
and readiness checks.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from datetime import date, datetime, timezone
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from ..model import EDGE_KINDS, EdgeKind, LoadResult, NodeKind, Records
from .base import (resync_windows, cache_write_tokens, ActivityRecord, CostRecord, EdgeView, NodeView, Reach,
                   Store, StoreError, UsageRecord, UsageTotal, usage_totals_of)
from .sqlite import merge_contributions

DEFAULT_BATCH_SIZE = 5000
KIND_LABELS = [k.value for k in NodeKind]
TRAVERSABLE_TYPES = [k.value for k, s in EDGE_KINDS.items() if s.traversable]

# Node fields the engine owns; a source property of the same name stays in `_view` only.
NODE_FIELDS = frozenset({"id", "kind", "name", "active", "removed_at", "sources", "derived", "live"})
REL_FIELDS = frozenset({"removed_at", "sources", "derived", "live"})

SCHEMA = [
    "CREATE CONSTRAINT burnpath_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT burnpath_usage_uid IF NOT EXISTS FOR (n:UsageRow) REQUIRE n.uid IS UNIQUE",
    "CREATE CONSTRAINT burnpath_cost_uid IF NOT EXISTS FOR (n:CostRow) REQUIRE n.uid IS UNIQUE",
    "CREATE CONSTRAINT burnpath_activity_uid IF NOT EXISTS FOR (n:ActivityRow) REQUIRE n.uid IS UNIQUE",
    "CREATE CONSTRAINT burnpath_setting_uid IF NOT EXISTS FOR (n:Setting) REQUIRE n.uid IS UNIQUE",
    "CREATE CONSTRAINT burnpath_run_id IF NOT EXISTS FOR (n:IngestRun) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT burnpath_sync_id IF NOT EXISTS FOR (n:SyncRun) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX burnpath_version_key IF NOT EXISTS FOR (n:HistoryVersion) ON (n.key)",
    "CREATE CONSTRAINT burnpath_meta_key IF NOT EXISTS FOR (n:BurnpathMeta) REQUIRE n.key IS UNIQUE",
    # the ingest lock node (engine.store.neo4j_lock)
    "CREATE CONSTRAINT burnpath_lock_name IF NOT EXISTS FOR (n:BurnpathLock) REQUIRE n.name IS UNIQUE",
    "CREATE INDEX burnpath_node_kind IF NOT EXISTS FOR (n:Node) ON (n.kind)",
    "CREATE INDEX burnpath_usage_source IF NOT EXISTS FOR (n:UsageRow) ON (n.source)",
    "CREATE INDEX burnpath_usage_day IF NOT EXISTS FOR (n:UsageRow) ON (n.day)",
    "CREATE INDEX burnpath_usage_credential IF NOT EXISTS FOR (n:UsageRow) ON (n.credential_id)",
    "CREATE INDEX burnpath_cost_source IF NOT EXISTS FOR (n:CostRow) ON (n.source)",
    "CREATE INDEX burnpath_activity_source IF NOT EXISTS FOR (n:ActivityRow) ON (n.source)",
    "CREATE INDEX burnpath_setting_source IF NOT EXISTS FOR (n:Setting) ON (n.source)",
]

ROW_LABELS = {"usage": "UsageRow", "costs": "CostRow", "activity": "ActivityRow"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


try:  # several times faster than json on the load path; same decoded values
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency, json is the fallback
    _orjson = None


_SORTED = _UNSORTED = 0
if _orjson is not None:
    _UNSORTED = _orjson.OPT_NON_STR_KEYS
    _SORTED = _UNSORTED | _orjson.OPT_SORT_KEYS


def _dumps(value: Any, sort: bool = True) -> str:
    """JSON text, keys sorted as the embedded store stores statements; `sort=False`
    keeps insertion order (node views and derived edges, whose derived keys the
    engine appends: they come back in the embedded graph's order)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, default=str, option=_SORTED if sort else _UNSORTED).decode()
        except (TypeError, _orjson.JSONEncodeError):
            pass   # e.g. an integer wider than 64 bits: json handles it
    return json.dumps(value, sort_keys=sort, separators=(",", ":"), default=str)


def _key(parts: tuple) -> str:
    return "\x1f".join(parts)


def _neo_value(value: Any) -> Any:
    """A Neo4j property value for a JSON value; None means 'leave it out'."""
    t = type(value)
    if t is str or t is bool or t is float:
        return value
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, str) or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -2**63 <= value < 2**63 else str(value)
    if isinstance(value, list) and value:
        kinds = {bool if isinstance(v, bool) else type(v) for v in value}
        if len(kinds) == 1 and kinds <= {str, bool, float} | ({int} if all(
                isinstance(v, int) and -2**63 <= v < 2**63 for v in value) else set()):
            return list(value)
    return _dumps(value)


def _hash(props: dict[str, Any]) -> str:
    """sha1 of _dumps(props) as UTF-8 (orjson's bytes are exactly that, undecoded)."""
    if _orjson is not None:
        try:
            return hashlib.sha1(_orjson.dumps(props, default=str, option=_SORTED)).hexdigest()
        except (TypeError, _orjson.JSONEncodeError):
            pass
    return hashlib.sha1(_dumps(props).encode()).hexdigest()


def _flatten(props: dict[str, Any], reserved: frozenset) -> dict[str, Any]:
    out = {}
    for k, v in props.items():
        if k in reserved or k.startswith("_"):
            continue
        nv = _neo_value(v)
        if nv is not None:
            out[k] = nv
    return out


def _view_doc(v: NodeView) -> dict[str, Any]:
    return {"kind": v.kind, "name": v.name, "active": v.active, "properties": v.properties,
            "sources": list(v.sources), "removed_at": v.removed_at}


def _view_of(node_id: str, view_json: str | None) -> NodeView | None:
    if not view_json:
        return None
    d = json.loads(view_json)
    return NodeView(id=node_id, kind=d["kind"], name=d["name"], active=d["active"],
                    properties=d["properties"], sources=d["sources"], removed_at=d["removed_at"])


def merge_edge_contributions(src: str, kind: str, dst: str, contribs: dict[str, dict]) -> EdgeView:
    """The embedded store's edge merge (SQLiteStore.iter_edges), over one edge's
    per-source statements: sources in name order, the first one seeds the view."""
    cur: EdgeView | None = None
    for source in sorted(contribs):
        c = contribs[source]
        if cur is None:
            cur = EdgeView(src=src, dst=dst, kind=kind, properties=dict(c["properties"]),
                           sources=[source] if c["removed_at"] is None else [],
                           removed_at=c["removed_at"])
        elif c["removed_at"] is None:
            cur.properties.update(c["properties"])
            cur.sources.append(source)
            cur.removed_at = None
    return cur


def _node_rows(node_id: str, contribs: dict[str, dict]) -> list[tuple]:
    return [(node_id, s, c["kind"], c["name"], c["active"], _dumps(c["properties"]),
             c["removed_at"], c["enrichment"]) for s, c in sorted(contribs.items())]


def _parse_url(url: str) -> tuple[str, str | None]:
    """Split an optional database name off the URL path (bolt://host:7687/mydb)."""
    parts = urlsplit(url)
    db = parts.path.strip("/") or None
    return urlunsplit((parts.scheme, parts.netloc, "", parts.query, "")), db


class Neo4jStore(Store):
    answers_in_database = True

    def __init__(self, url: str, user: str = "neo4j", password: str = "",
                 database: str | None = None, batch_size: int | None = None):
        from neo4j import GraphDatabase
        self.url = url
        self._uri, url_db = _parse_url(url)
        self.database = database or url_db or os.environ.get("NEO4J_DATABASE") or None
        self.batch_size = int(batch_size or os.environ.get("NEO4J_BATCH_SIZE") or DEFAULT_BATCH_SIZE)
        if self.batch_size < 1:
            raise StoreError("Neo4j batch size must be 1 or more")
        self._user = user
        self._graph = None
        self._graph_gen = -1
        self._mirror = None     # what the last committed load left (engine.store.neo4j_write)
        self.sync: tuple[str, str] | None = None    # (sync run id, observed-at) during an ingest
        self.state_reads = 0    # loads that read the graph's state back (no mirror to trust)
        self.last_writes: dict[str, int] = {}   # what the last load wrote (neo4j_write.Writes.counts)
        # How many times graph() built the in-memory graph from the database (findings
        # and spend never need it: tests/test_neo4j_facts.py holds them to 0).
        self.graph_builds = 0
        self._graph_lock = threading.Lock()
        try:
            self._driver = GraphDatabase.driver(self._uri, auth=(user, password),
                                                connection_timeout=10,
                                                max_transaction_retry_time=30,
                                                notifications_min_severity="OFF")
        except Exception as exc:  # noqa: BLE001 - bad URL shapes come back as various errors
            raise StoreError(f"Neo4j {url}: {exc}") from exc
        from neo4j.exceptions import Neo4jError
        try:
            self._driver.verify_connectivity()
            self.ensure_schema()
        except Exception as exc:
            self._driver.close()
            err = self._error(exc)
            if err is exc and isinstance(exc, Neo4jError):
                err = StoreError(f"Neo4j at {self._uri}: could not create burnpath's constraints and "
                                 f"indexes (does user {self._user!r} have schema rights?): {exc.message}")
            raise err from exc
        # What killed ingests left in the spool directory goes now.
        from .leftovers import sweep
        sweep()

    # --- connection and schema ----------------------------------------------
    def _error(self, exc: Exception) -> Exception:
        from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, AuthError):
            return StoreError(f"Neo4j at {self._uri} rejected the credentials of user {self._user!r} "
                              f"(set NEO4J_USER and NEO4J_PASSWORD)")
        if isinstance(exc, ServiceUnavailable):
            return StoreError(f"cannot reach Neo4j at {self._uri}: is the server running and the "
                              f"port right? ({exc})")
        if isinstance(exc, ClientError) and exc.code == "Neo.ClientError.Database.DatabaseNotFound":
            return StoreError(f"Neo4j at {self._uri} has no database {self.database!r} "
                              f"(create it, or drop the name to use the default database)")
        return exc

    def _session(self):
        return self._driver.session(database=self.database) if self.database else self._driver.session()

    def ensure_schema(self) -> None:
        """Constraints and indexes, created idempotently (IF NOT EXISTS)."""
        with self._session() as s:
            for stmt in SCHEMA:
                s.run(stmt).consume()
            s.run("CALL db.awaitIndexes(120)").consume()

    def ingest_lock(self, wait: float | None = None):
        from .neo4j_lock import neo4j_lock
        return neo4j_lock(self._session, wait=wait, store_url=self.url)

    def close(self) -> None:
        self._driver.close()

    def _read(self, fn, *args):
        return self._transact("execute_read", fn, *args)

    def _write(self, fn, *args):
        return self._transact("execute_write", fn, *args)

    def _transact(self, how: str, fn, *args):
        try:
            with self._session() as s:
                return getattr(s, how)(fn, *args)
        except Exception as exc:
            raise self._error(exc) from exc

    def _query(self, cypher: str, **params) -> list:
        return self._read(lambda tx: list(tx.run(cypher, params)))

    def _batches(self, rows: list):
        for i in range(0, len(rows), self.batch_size):
            yield rows[i:i + self.batch_size]

    # --- writes -------------------------------------------------------------
    def load(self, records: Records, complete: bool) -> LoadResult:
        from ..secret_scrub import scrub_records
        scrub_records(records)      # no secret value reaches the database (engine.secret_scrub)
        run_id = uuid.uuid4().hex
        # The time the load is observed at: its sync run's (engine.history.sync), else now.
        sync_id, now = self.sync if self.sync is not None else (None, _now())
        from neo4j.exceptions import DriverError, Neo4jError
        try:
            with self._session() as s:
                removed, graph, gen, mirror = s.execute_write(self._load_tx, records, complete, run_id, now,
                                                              sync_id)
        except Exception as exc:
            err = self._error(exc)
            if err is exc and isinstance(exc, (Neo4jError, DriverError)):
                detail = getattr(exc, "message", None) or str(exc)
                err = StoreError(f"Neo4j at {self._uri} refused the {records.source} load; nothing of "
                                 f"it was written (the transaction rolled back): {detail}")
            raise err from exc
        self._mirror = mirror
        with self._graph_lock:
            self._graph, self._graph_gen = graph, gen
        return LoadResult(source=records.source, run_id=run_id, complete=complete,
                          counts=records.counts(), removed=removed, warnings=records.warnings,
                          files=len(records.files))

    def _load_tx(self, tx, records: Records, complete: bool, run_id: str, now: str,
                 sync_id: str | None = None):
        """One source's load (engine.store.neo4j_write has the how and why)."""
        from ..graph import MemoryGraph
        from .neo4j_write import apply_records, diff_graph, merged_inputs, read_mirror
        source = records.source
        # Lock first: concurrent loads serialise here and each reads committed state.
        rec = tx.run("MERGE (m:BurnpathMeta {key: 'generation'}) ON CREATE SET m.value = '0' "
                     "SET m._lock = $run RETURN m.value AS v, m.token AS t", run=run_id).single()
        gen = int(rec["v"]) + 1
        # The mirror of the last load this store committed, if the database is still at
        # it; taken out of the store so that a retried attempt never reuses one a
        # rolled-back attempt changed (load() puts the committed one back).
        mirror, self._mirror = self._mirror, None
        from .neo4j_write import rescrub_mirror, rescrub_rows, scrub_version
        stale_rule = scrub_version(tx) is False
        if (stale_rule or mirror is None or (mirror.gen, mirror.token) != (gen - 1, rec["t"])
                or mirror.token is None):
            mirror = read_mirror(tx, gen - 1, rec["t"])
            self.state_reads += 1
        if stale_rule:      # rows written under an older secret-reduction rule: scrubbed again
            rescrub_mirror(mirror)
            rescrub_rows(tx, self._batches)
        # A source's first load: none of its rows can exist yet.
        seen = tx.run("MATCH (r:IngestRun {source: $source}) RETURN r.id LIMIT 1", source=source).peek()
        tx.run("CREATE (r:IngestRun {id: $id, source: $source, started_at: $now, complete: $complete, "
               "files: $files, sync_id: $sync})", id=run_id, source=source, now=now, complete=complete,
               files=_dumps(records.files), sync=sync_id).consume()

        dirty_nodes, dirty_edges, removed = apply_records(mirror, records, run_id, now, complete)
        from .neo4j_history import write_versions
        write_versions(tx, mirror, self._batches)
        self._write_rows(tx, source, run_id, records, fresh=seen is None)
        if seen is None and complete:
            removed.update({"settings": 0, **{t: 0 for t in ROW_LABELS}})
        else:
            removed.update(self._mark_rows_removed(tx, source, run_id, records, now, complete))
        if records.usage:
            last = max(u.day for u in records.usage).isoformat()
            mirror.last_day = max(mirror.last_day or last, last)

        inputs = merged_inputs(mirror, dirty_nodes, dirty_edges)
        graph = MemoryGraph.from_store(inputs)
        writes = diff_graph(mirror, graph, inputs, dirty_nodes, dirty_edges)
        self.last_writes = writes.counts()
        self._write_graph(tx, writes)

        counts = records.counts()
        tx.run("MATCH (r:IngestRun {id: $id}) SET r.finished_at = $at, r.counts = $counts, "
               "r.removed = $removed", id=run_id, at=_now(), counts=_dumps(counts),
               removed=_dumps(removed)).consume()
        as_of = graph.as_of.isoformat() if graph.as_of else None
        tx.run("MATCH (m:BurnpathMeta {key: 'generation'}) SET m.value = $gen, m.token = $run REMOVE m._lock "
               "MERGE (a:BurnpathMeta {key: 'as_of'}) SET a.value = $as_of",
               gen=str(gen), run=run_id, as_of=as_of).consume()
        mirror.gen, mirror.token = gen, run_id
        return removed, graph, gen, mirror

    @staticmethod
    def _node_views(node_src: dict, include_removed: bool = False) -> list[NodeView]:
        out = []
        for nid in sorted(node_src):
            if node_src[nid]:
                view = merge_contributions(_node_rows(nid, node_src[nid]))
                if include_removed or view.removed_at is None:
                    out.append(view)
        return out

    @staticmethod
    def _edge_views(edge_src: dict, include_removed: bool = False) -> list[EdgeView]:
        out = []
        for key in sorted(edge_src):
            if edge_src[key]:
                view = merge_edge_contributions(*key, edge_src[key])
                if include_removed or view.removed_at is None:
                    out.append(view)
        return out

    def _write_graph(self, tx, w) -> None:
        """Send a load's neo4j_write.Writes: nodes, then relationships dropped, updated, created."""
        other_labels = ":".join(KIND_LABELS)
        for (kind, new), rows in sorted(w.nodes.items()):
            if kind not in KIND_LABELS:
                raise StoreError(f"unknown node kind {kind!r}")
            if new:
                q = f"UNWIND $rows AS row CREATE (n:Node:{kind}) SET n = row.props"
            else:
                q = (f"UNWIND $rows AS row MATCH (n:Node {{id: row.id}}) "
                     f"REMOVE n:{other_labels} SET n:{kind} SET n = row.props")
            for batch in self._batches(rows):
                tx.run(q, rows=batch).consume()
        for batch in self._batches(w.drop_eids):
            tx.run("UNWIND $eids AS eid MATCH ()-[r]->() WHERE elementId(r) = eid DELETE r",
                   eids=batch).consume()
        # By endpoints: both ids are index seeks, the relationship an expand between them.
        between = ("UNWIND $rows AS row MATCH (a:Node {{id: row.src}})-[r:{kind}]->(b:Node {{id: row.dst}}) "
                   "WHERE r.derived = row.derived ")
        for kind, rows in sorted(w.drop.items()):
            EdgeKind(kind)  # a relationship type is spliced into Cypher: only known kinds
            for batch in self._batches(rows):
                tx.run(between.format(kind=kind) + "DELETE r", rows=batch).consume()
        for batch in self._batches(w.update_eid):
            tx.run("UNWIND $rows AS row MATCH ()-[r]->() WHERE elementId(r) = row.eid "
                   "SET r = row.props", rows=batch).consume()
        for kind, rows in sorted(w.update.items()):
            EdgeKind(kind)
            for batch in self._batches(rows):
                tx.run(between.format(kind=kind) + "SET r = row.props", rows=batch).consume()
        for kind, rows in sorted(w.create.items()):
            EdgeKind(kind)
            for batch in self._batches(rows):
                tx.run(f"UNWIND $rows AS row MATCH (a:Node {{id: row.src}}), (b:Node {{id: row.dst}}) "
                       f"CREATE (a)-[r:{kind}]->(b) SET r = row.props", rows=batch).consume()

    @staticmethod
    def _cache_write(props: dict) -> int | None:
        """The row's cache-write tokens as a property Cypher can sum (None when the
        value is not a 64-bit integer: usage_totals then aggregates in Python)."""
        try:
            n = cache_write_tokens(props)
        except (TypeError, ValueError):
            return None
        return n if -2**63 <= n < 2**63 else None

    def _write_rows(self, tx, source: str, run_id: str, records: Records, fresh: bool = False) -> None:
        """Upsert the rows by uid; `fresh` (the source never loaded before): CREATE them."""
        def base(key, day, props):
            return {"uid": _key((source, key)), "source": source, "key": key, "day": day,
                    "properties": _dumps(props), "run_id": run_id}
        usage = [{**base(_key(u.key()), u.day.isoformat(), u.properties), "model": u.model,
                  "credential_id": u.credential_id, "project_id": u.project_id,
                  "account_id": u.account_id, "input_tokens": u.input_tokens,
                  "output_tokens": u.output_tokens, "cached_input_tokens": u.cached_input_tokens,
                  "requests": u.requests, "vendor_usd": u.vendor_usd,
                  "cache_write_tokens": self._cache_write(u.properties),
                  "requests_unknown": 1 if u.properties.get("requests_known") is False else 0}
                 for u in records.usage]
        costs = [{**base(_key(c.key()), c.day.isoformat(), c.properties), "scope_id": c.scope_id,
                  "line_item": c.line_item, "usd": c.usd} for c in records.costs]
        activity = [{**base(_key(a.key()), a.day.isoformat(), a.properties), "actor_id": a.actor_id,
                     "kind": a.kind} for a in records.activity]
        settings = [{"uid": _key((source, k)), "source": source, "key": k, "value": _dumps(v),
                     "run_id": run_id} for k, v in records.settings.items()]
        for label, rows in (("UsageRow", usage), ("CostRow", costs), ("ActivityRow", activity),
                            ("Setting", settings)):
            # Later rows with the same key win, as with the embedded store's upserts.
            rows = list({r["uid"]: r for r in rows}.values())
            q = (f"UNWIND $rows AS row CREATE (u:{label}) SET u = row" if fresh else
                 f"UNWIND $rows AS row MERGE (u:{label} {{uid: row.uid}}) SET u = row")
            for batch in self._batches(rows):
                tx.run(q, rows=batch).consume()

    @staticmethod
    def _mark_rows_removed(tx, source, run_id, records: Records, now: str, complete: bool) -> dict:
        removed: dict[str, int] = {}
        if not complete:
            return removed
        removed["settings"] = tx.run(
            "MATCH (u:Setting {source: $source}) WHERE u.run_id <> $run AND u.removed_at IS NULL "
            "SET u.removed_at = $now RETURN count(u) AS c", source=source, run=run_id,
            now=now).single()["c"]
        for table, window in resync_windows(records).items():
            if window is None:
                removed[table] = 0
                continue
            lo, hi = window
            removed[table] = tx.run(
                f"MATCH (u:{ROW_LABELS[table]} {{source: $source}}) WHERE u.run_id <> $run "
                f"AND u.removed_at IS NULL AND u.day >= $lo AND u.day <= $hi "
                f"SET u.removed_at = $now RETURN count(u) AS c",
                source=source, run=run_id, lo=lo, hi=hi, now=now).single()["c"]
        # Same key order as the embedded store's LoadResult.removed.
        order = ["nodes", "edges", "settings", "usage", "costs", "activity"]
        return {k: removed[k] for k in order if k in removed}

    # --- reads --------------------------------------------------------------
    def live_generation(self) -> int:
        rows = self._query("MATCH (m:BurnpathMeta {key: 'generation'}) RETURN m.value AS v")
        return int(rows[0]["v"]) if rows else 0

    def get_node(self, node_id: str, include_removed: bool = False) -> NodeView | None:
        rows = self._query("MATCH (n:Node {id: $id}) RETURN n._view AS v, n.live AS live", id=node_id)
        if not rows or not (rows[0]["live"] or include_removed):
            return None
        return _view_of(node_id, rows[0]["v"])

    def secret_candidates(self, kinds: tuple[str, ...], digest: str, key_id: str | None,
                          last4: str) -> list[str]:
        """Ids of live nodes of `kinds` that may match a secret (engine.lookup decides):
        its hash, its AWS key id, or a stored hint or last4 ending in its last four.
        Only the hash, the key id and the last four are sent, never the value."""
        from ..lookup import HINT_KEYS
        kinds = [k for k in kinds if k in KIND_LABELS]
        rows = self._query(
            "MATCH (n:Node) WHERE n.kind IN $kinds AND n.live AND (n.sha256 = $h OR n.token = $h "
            "OR n.token_hash = $h OR n.id = 'litellm:key:' + $h OR ($kid IS NOT NULL AND n.key_id = $kid) "
            "OR n.last4 = $l4 OR any(k IN $keys WHERE n[k] ENDS WITH $l4)) RETURN n.id AS id ORDER BY id",
            kinds=kinds, h=digest, kid=key_id, l4=last4, keys=list(HINT_KEYS))
        return [r["id"] for r in rows]

    def list_nodes(self, kind: str | None, offset: int, limit: int,
                   include_removed: bool = False) -> tuple[list[NodeView], int]:
        if kind is not None and kind not in KIND_LABELS:
            return [], 0
        label = kind or "Node"
        def run(tx):
            total = tx.run(f"MATCH (n:{label}) WHERE n.live RETURN count(n) AS c").single()["c"]
            page = list(tx.run(f"MATCH (n:{label}) WHERE n.live RETURN n.id AS id, n._view AS v "
                               f"ORDER BY n.id SKIP $offset LIMIT $limit",
                               offset=max(offset, 0), limit=max(limit, 0)))
            return page, total
        page, total = self._read(run)
        return [_view_of(r["id"], r["v"]) for r in page], total

    def first_index_after(self, kind: str | None, after_id: str) -> int:
        # Counted in Cypher's own string order: the order list_nodes pages in.
        if kind is not None and kind not in KIND_LABELS:
            return 0
        rows = self._query(f"MATCH (n:{kind or 'Node'}) WHERE n.live AND n.id <= $after RETURN count(n) AS c",
                           after=after_id)
        return rows[0]["c"]

    def search_nodes(self, query: str, kind: str | None, after_id: str | None,
                     limit: int) -> tuple[list[NodeView], int]:
        """engine.search's match, in Cypher over the flattened node properties (no
        node is read into Python but the page)."""
        from ..search import SEARCH_PROPERTIES, normalise
        if kind is not None and kind not in KIND_LABELS:
            return [], 0
        label = kind or "Node"
        # A list property matches when one of its elements does (as in engine.search);
        # a value stored as a JSON string (a nested one) is not searched.
        tests = ["toLower(n.id) CONTAINS $q", "toLower(coalesce(n.name, '')) CONTAINS $q"]
        for key in SEARCH_PROPERTIES:
            f = f"n.`{key}`"
            tests.append(f"(CASE WHEN {f} IS NULL THEN false "
                         f"WHEN valueType({f}) STARTS WITH 'LIST' THEN "
                         f"any(x IN {f} WHERE valueType(x) IN ['STRING NOT NULL', 'INTEGER NOT NULL', "
                         f"'FLOAT NOT NULL'] AND toLower(toString(x)) CONTAINS $q) "
                         f"WHEN valueType({f}) = 'STRING NOT NULL' THEN toLower({f}) CONTAINS $q "
                         f"ELSE false END)")
        match = f"MATCH (n:{label}) WHERE n.live AND ({' OR '.join(tests)})"

        def run(tx):
            q = normalise(query)
            total = tx.run(match + " RETURN count(n) AS c", q=q).single()["c"]
            page = list(tx.run(match + " AND ($after IS NULL OR n.id > $after) "
                               "RETURN n.id AS id, n._view AS v ORDER BY n.id LIMIT $limit",
                               q=q, after=after_id, limit=max(limit, 0)))
            return page, total
        page, total = self._read(run)
        return [_view_of(r["id"], r["v"]) for r in page], total

    def _contributions(self) -> tuple[dict, dict]:
        def run(tx):
            nodes = {r["id"]: json.loads(r["s"] or "{}") for r in tx.run(
                "MATCH (n:Node) RETURN n.id AS id, n._src AS s")}
            edges = {(r["src"], r["kind"], r["dst"]): json.loads(r["s"] or "{}") for r in tx.run(
                "MATCH (a:Node)-[r]->(b:Node) WHERE NOT r.derived "
                "RETURN a.id AS src, type(r) AS kind, b.id AS dst, r._src AS s")}
            return nodes, edges
        return self._read(run)

    def iter_nodes(self, include_removed: bool = False) -> Iterable[NodeView]:
        nodes, _ = self._contributions()
        return iter(self._node_views(nodes, include_removed))

    def iter_edges(self, include_removed: bool = False) -> Iterable[EdgeView]:
        def run(tx):
            return {(r["src"], r["kind"], r["dst"]): json.loads(r["s"] or "{}") for r in tx.run(
                "MATCH (a:Node)-[r]->(b:Node) WHERE NOT r.derived "
                "RETURN a.id AS src, type(r) AS kind, b.id AS dst, r._src AS s")}
        return iter(self._edge_views(self._read(run), include_removed))

    def graph(self):
        """The engine's in-memory graph of this database, for analyses not pushed
        down yet; built once per generation (a load hands over the one it derived)."""
        from ..graph import MemoryGraph
        pin = self.pinned()
        if pin is not None and pin.graph is not None:
            return pin.graph
        gen = self.live_generation()      # what a build reads now, pinned or not
        with self._graph_lock:
            if self._graph is None or self._graph_gen != gen:
                self.graph_builds += 1
                self._graph = MemoryGraph.from_store(self)
                self._graph_gen = gen
            graph = self._graph
        if pin is not None:
            # Built from what is committed now: a load committing after the pin shows
            # in reads_at, and the request is run again.
            pin.graph = graph
        return graph

    def data_as_of(self):
        """"Now" of the data (the latest timestamp, as MemoryGraph.as_of), as the last
        load stored it, without building the in-memory graph."""
        rows = self._query("MATCH (m:BurnpathMeta {key: 'as_of'}) RETURN m.value AS v")
        if not rows:
            if self.generation() == 0:
                return None
            return self.graph().as_of     # loaded before `as_of` was kept
        return datetime.fromisoformat(rows[0]["v"]) if rows[0]["v"] else None

    # --- path queries, in the database --------------------------------------
    # One query per walk (engine.store.neo4j_traversal): a bounded variable-length
    # pattern finds what lies within reach, engine.traversal picks the answers.
    def blast_radius(self, node_id: str, max_depth: int) -> list[Reach]:
        return self._traverse_many([node_id], max_depth, reverse=False)[node_id]

    def who_can_reach(self, node_id: str, max_depth: int) -> list[Reach]:
        return self._traverse_many([node_id], max_depth, reverse=True)[node_id]

    def blast_radius_many(self, node_ids: list[str], max_depth: int) -> dict[str, list[Reach]]:
        """Blast radius of many nodes, walked together: one query for all of them (what
        rule evaluation and risk need for every identity)."""
        return self._traverse_many(list(dict.fromkeys(node_ids)), max_depth, reverse=False)

    def _traverse_many(self, starts: list[str], max_depth: int, reverse: bool) -> dict[str, list[Reach]]:
        from .neo4j_traversal import walk_many
        return walk_many(self, starts, max_depth, reverse)

    # --- rule facts and spend attribution, in Cypher ---------------------------
    def rule_facts(self, engine):
        """engine.rules.facts.Facts answered with Cypher (engine.store.neo4j_facts)."""
        from .neo4j_facts import Neo4jFacts
        return Neo4jFacts(self, engine)

    def spend_attributor(self, engine):
        """engine.spend.Attributor answered with Cypher (engine.store.neo4j_facts)."""
        from .neo4j_facts import Neo4jAttributor
        return Neo4jAttributor(self, engine)

    # --- rows ---------------------------------------------------------------
    def _rows(self, label: str, start, end) -> list[dict]:
        where = ["u.removed_at IS NULL"]
        if start is not None:
            where.append("u.day >= $start")
        if end is not None:
            where.append("u.day <= $end")
        # One collected list, not a record per row: far less driver work per row.
        rows = self._query(f"MATCH (u:{label}) WHERE {' AND '.join(where)} RETURN collect(properties(u)) AS ps",
                           start=start.isoformat() if start else None,
                           end=end.isoformat() if end else None)
        out = list(rows[0]["ps"]) if rows else []
        out.sort(key=lambda p: (p["day"], p["source"], p["key"]))
        return out

    def usage(self, start=None, end=None) -> list[UsageRecord]:
        return [UsageRecord(p["source"], date.fromisoformat(p["day"]), p["model"], p.get("credential_id"),
                            p.get("project_id"), p.get("account_id"), p["input_tokens"],
                            p["output_tokens"], p["cached_input_tokens"], p["requests"],
                            p.get("vendor_usd"), json.loads(p["properties"]))
                for p in self._rows("UsageRow", start, end)]

    # Spend's aggregation (Store.usage_totals), one query: the per-row clamps of
    # engine.pricing.Price.usd, summed per key. Vendor figures come back as a list per
    # group, summed with math.fsum: a float sum in Cypher depends on row order.
    # `legacy` counts rows written before `cache_write_tokens` was stored (or whose
    # value is not an integer); then the rows are aggregated in Python instead.
    _USAGE_TOTALS = """
        MATCH (u:UsageRow) WHERE u.removed_at IS NULL {window}
        WITH u, CASE WHEN u.cached_input_tokens > 0 THEN u.cached_input_tokens ELSE 0 END AS c,
             CASE WHEN u.cache_write_tokens > 0 THEN u.cache_write_tokens ELSE 0 END AS w
        RETURN u.source AS source, u.model AS model, u.credential_id AS credential_id,
               u.project_id AS project_id, u.account_id AS account_id,
               u.vendor_usd IS NOT NULL AS vendor, count(u) AS rows,
               sum(u.input_tokens) AS input_tokens, sum(u.output_tokens) AS output_tokens,
               sum(u.cached_input_tokens) AS cached_input_tokens, sum(u.requests) AS requests,
               sum(CASE WHEN u.input_tokens - c - w > 0 THEN u.input_tokens - c - w ELSE 0 END)
                 AS priced_uncached,
               sum(c) AS priced_cached, sum(w) AS priced_written,
               sum(CASE WHEN u.output_tokens > 0 THEN u.output_tokens ELSE 0 END) AS priced_output,
               collect(u.vendor_usd) AS vendor_values,
               sum(coalesce(u.requests_unknown, 0)) AS requests_unknown,
               sum(CASE WHEN (u.cache_write_tokens IS NULL
                              AND u.properties CONTAINS 'cache_creation_input_tokens')
                          OR (u.requests_unknown IS NULL AND u.properties CONTAINS 'requests_known')
                        THEN 1 ELSE 0 END) AS legacy
    """

    _TOTAL_FIELDS = ("source", "model", "credential_id", "project_id", "account_id", "vendor", "rows",
                     "input_tokens", "output_tokens", "cached_input_tokens", "requests", "priced_uncached",
                     "priced_cached", "priced_written", "priced_output", "vendor_values", "requests_unknown",
                     "legacy")

    def usage_totals(self, start=None, end=None) -> list[UsageTotal]:
        import math
        window = "".join([" AND u.day >= $start" if start is not None else "",
                          " AND u.day <= $end" if end is not None else ""])
        fields = self._TOTAL_FIELDS
        got = self._query(f"CALL {{ {self._USAGE_TOTALS.format(window=window)} }} "
                          f"RETURN collect([{', '.join(fields)}]) AS rows",
                          start=start.isoformat() if start else None,
                          end=end.isoformat() if end else None)
        rows = [dict(zip(fields, row)) for row in got[0]["rows"]] if got else []
        if any(r["legacy"] for r in rows):
            return usage_totals_of(self.usage(start, end))
        out = [UsageTotal(r["source"], r["model"], r["credential_id"], r["project_id"], r["account_id"],
                          r["vendor"], r["rows"], r["input_tokens"], r["output_tokens"],
                          r["cached_input_tokens"], r["requests"], r["priced_uncached"], r["priced_cached"],
                          r["priced_written"], r["priced_output"],
                          math.fsum(float(v) for v in r["vendor_values"]) if r["vendor"] else None,
                          r["requests_unknown"])
               for r in rows]
        out.sort(key=UsageTotal.sort_key)
        return out

    def costs(self, start=None, end=None) -> list[CostRecord]:
        return [CostRecord(p["source"], date.fromisoformat(p["day"]), p.get("scope_id"),
                           p.get("line_item"), p["usd"], json.loads(p["properties"]))
                for p in self._rows("CostRow", start, end)]

    def activity(self, start=None, end=None) -> list[ActivityRecord]:
        return [ActivityRecord(p["source"], date.fromisoformat(p["day"]), p["actor_id"], p["kind"],
                               json.loads(p["properties"]))
                for p in self._rows("ActivityRow", start, end)]

    def runs(self) -> list[dict[str, Any]]:
        rows = self._query("MATCH (r:IngestRun) RETURN properties(r) AS p ORDER BY p.started_at, p.id")
        out = [{"id": p["id"], "source": p["source"], "started_at": p["started_at"],
                "finished_at": p.get("finished_at"), "complete": bool(p["complete"]),
                "counts": json.loads(p.get("counts") or "{}"),
                "removed": json.loads(p.get("removed") or "{}"), "sync_id": p.get("sync_id")}
               for p in (r["p"] for r in rows)]
        out.sort(key=lambda r: (r["started_at"], r["id"]))
        return out

    # --- history (engine.store.neo4j_history) ---------------------------------
    def begin_sync(self, run: dict) -> None:
        from .neo4j_history import begin_sync
        self._write(begin_sync, run)
        self.sync = (run["id"], run["at"])

    def finish_sync(self, run: dict) -> None:
        from .neo4j_history import finish_sync
        self.sync = None
        self._write(finish_sync, run)

    def sync_runs(self) -> list[dict[str, Any]]:
        from .neo4j_history import sync_runs
        return self._read(sync_runs)

    def statements(self, node_ids=None, edge_srcs=None, edges: bool = True):
        from .neo4j_history import statements
        return self._read(statements, node_ids, edge_srcs, edges)

    def node_seen(self, node_id: str) -> dict[str, Any] | None:
        from .neo4j_history import node_seen
        return self._read(node_seen, node_id)

    def history_size(self) -> dict[str, int]:
        from .neo4j_history import history_size
        return self._read(history_size)

    def settings(self) -> dict[str, dict[str, Any]]:
        rows = self._query("MATCH (s:Setting) WHERE s.removed_at IS NULL "
                           "RETURN s.source AS source, s.key AS key, s.value AS value")
        out: dict[str, dict[str, Any]] = {}
        for r in sorted(rows, key=lambda r: (r["source"], r["key"])):
            out.setdefault(r["source"], {})[r["key"]] = json.loads(r["value"])
        return out

    def get_meta(self, key: str) -> str | None:
        rows = self._query("MATCH (m:BurnpathMeta {key: $key}) RETURN m.value AS v", key=key)
        return rows[0]["v"] if rows else None

    def set_meta(self, key: str, value: str | None) -> None:
        def run(tx):
            if value is None:
                tx.run("MATCH (m:BurnpathMeta {key: $key}) DELETE m", key=key).consume()
            else:
                tx.run("MERGE (m:BurnpathMeta {key: $key}) SET m.value = $value",
                       key=key, value=value).consume()
        self._write(run)
