"""The Neo4j store's write path: one source's load, in the transaction Neo4jStore.load runs.

What a load must leave in the database (engine.store.neo4j's module doc) depends on the
whole graph: a person's status on every account linked to them, "now" on the latest
timestamp anywhere, derived edges on every source's nodes. So each load rebuilds the
engine's graph (engine.graph.MemoryGraph) from every source's statements and writes
what differs from what the database holds.

Doing that from scratch each time (reading every node and relationship back, merging
and hashing all of them) made a load cost the size of the whole graph, twelve times
over for a snapshot's twelve sources. Instead the store keeps a `Mirror` of what it
last committed: every source's statements, the hash of each element as written, the
merged views and, per element, what its written properties were computed from.

- The mirror is trusted only when the database is at the very load that produced it:
  the generation node carries the id of the last committed load (`token`), read under
  the load's lock. Any other writer's load (another process, another store object)
  changes it, and the load reads the state back from the database instead.
- A load takes the mirror out of the store before it changes it; only a committed load
  puts one back. A failed or retried transaction therefore never sees a mirror its own
  rolled-back attempt modified.
- Per element, only what the load touched (its statements, what a complete re-sync
  marked removed) is merged and serialised again; any other element is rewritten only
  when the rebuilt graph derived something else for it (status, activity, liveness,
  a derived edge's properties or position), compared on the values it is made of.

The first load into an empty database, or of a source never loaded before, writes its
rows with CREATE (no row of it can exist) and skips the stale-row scans.
"""
from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from datetime import date

from ..model import EdgeKind, NodeKind, Records
from .base import EdgeView, NodeView


@dataclass
class Mirror:
    """What the database holds after the load `token` (generation `gen`), as this
    process wrote it (see the module doc)."""
    gen: int
    token: str | None
    node_src: dict[str, dict[str, dict]]          # id -> source -> that source's statement
    edge_src: dict[tuple, dict[str, dict]]        # (src, kind, dst) -> source -> statement
    node_state: dict[str, tuple[str, frozenset]]  # id -> (_h, labels) as written
    rel_state: dict[tuple, str]                   # ((src, kind, dst), derived) -> _h as written
    rel_eid: dict[tuple, str] = field(default_factory=dict)   # elementIds, when read back
    drop_eids: list[str] = field(default_factory=list)        # duplicates / foreign relationships
    last_day: str | None = None                   # latest live usage day
    # source -> (node ids, edge keys) it has a statement about (removed ones included)
    by_source: dict[str, tuple[set, set]] = field(default_factory=dict)
    # Merged (not derived) views, removed ones included; None: nothing merged yet.
    node_views: dict[str, NodeView] = field(default_factory=dict)
    edge_views: dict[tuple, EdgeView] = field(default_factory=dict)
    views_ready: bool = False                     # node_views/edge_views hold every element
    node_ids: list[str] = field(default_factory=list)     # sorted node_src keys
    edge_keys: list[tuple] = field(default_factory=list)  # sorted edge_src keys
    live_edges: tuple | None = None               # (keys, views) of the edges not removed
    # What each element's written properties were computed from (absent: unknown).
    memo_ready: bool = False                      # the fields below describe what is written
    node_memo: dict[str, tuple] = field(default_factory=dict)
    rel_memo: dict[tuple, tuple] = field(default_factory=dict)    # derived edges
    stub_ids: set = field(default_factory=set)        # ids no source states
    removed_edges: set = field(default_factory=set)   # stored edges every source removed
    nonlive_edges: set = field(default_factory=set)   # stored edges written with live false
    derived_keys: set = field(default_factory=set)    # derived relationships written
    # Superseded statements the current load kept as versions (engine.history), to write.
    versions: list = field(default_factory=list)


def empty_mirror() -> Mirror:
    return Mirror(gen=0, token=None, node_src={}, edge_src={}, node_state={}, rel_state={})


def read_mirror(tx, gen: int, token: str | None) -> Mirror:
    """The database's current state, read back (no mirror to trust)."""
    m = empty_mirror()
    m.gen, m.token = gen, token
    for r in tx.run("MATCH (n:Node) RETURN n.id AS id, n._src AS src, n._h AS h, labels(n) AS labels"):
        nid = r["id"]
        m.node_src[nid] = json.loads(r["src"] or "{}")
        m.node_state[nid] = (r["h"], frozenset(r["labels"]))
    for r in tx.run("MATCH (a:Node)-[r]->(b:Node) RETURN elementId(r) AS eid, a.id AS src, type(r) AS kind, "
                    "b.id AS dst, r._src AS s, r._h AS h, r.derived AS derived"):
        skd = (r["src"], r["kind"], r["dst"])
        key = (skd, bool(r["derived"]))
        if key in m.rel_state or r["kind"] not in EDGE_KIND_NAMES or r["h"] is None:
            m.drop_eids.append(r["eid"])
            continue
        m.rel_state[key] = r["h"]
        m.rel_eid[key] = r["eid"]
        if not r["derived"]:
            m.edge_src[skd] = json.loads(r["s"] or "{}")
    m.node_ids, m.edge_keys = sorted(m.node_src), sorted(m.edge_src)
    for contribs, i in ((m.node_src, 0), (m.edge_src, 1)):
        for key, c in contribs.items():
            for source in c:
                m.by_source.setdefault(source, (set(), set()))[i].add(key)
    m.last_day = tx.run("MATCH (u:UsageRow) WHERE u.removed_at IS NULL RETURN max(u.day) AS d").single()["d"]
    return m


EDGE_KIND_NAMES = frozenset(k.value for k in EdgeKind)


def scrub_version(tx) -> bool:
    """Whether the database's rows passed the current secret-reduction rule
    (engine.secret_scrub); False for a store written before it (or empty)."""
    from ..secret_scrub import SCRUB_META_KEY, SCRUB_VERSION
    rec = tx.run("MATCH (m:BurnpathMeta {key: $k}) RETURN m.value AS v", k=SCRUB_META_KEY).single()
    return rec is not None and rec["v"] == SCRUB_VERSION


def rescrub_mirror(m: Mirror) -> None:
    """Every source's statements read back from an older store, scrubbed again in
    place: the load's diff then rewrites each element whose properties change."""
    from ..secret_scrub import HINTED_KINDS, rescrub_name, scrub_props
    for contribs in m.node_src.values():
        for c in contribs.values():
            props = scrub_props(c["properties"], c["kind"] in HINTED_KINDS)
            if props is not None:
                c["properties"] = props
            name = rescrub_name(c.get("name"))
            if name is not None:
                c["name"] = name
    for contribs in m.edge_src.values():
        for c in contribs.values():
            props = scrub_props(c["properties"])
            if props is not None:
                c["properties"] = props


def rescrub_rows(tx, batches) -> None:
    """Usage, cost, activity rows and settings of an older store scrubbed again; then
    the store is marked as at the current rule."""
    from ..secret_scrub import SCRUB_META_KEY, SCRUB_VERSION, rescrub_json
    from .neo4j import _dumps
    for label, field in (("UsageRow", "properties"), ("CostRow", "properties"),
                         ("ActivityRow", "properties"), ("Setting", "value")):
        changed = []
        for r in tx.run(f"MATCH (u:{label}) RETURN u.uid AS uid, u.{field} AS text"):
            text = r["text"]
            if not isinstance(text, str):
                continue
            if field == "value":
                props = rescrub_json('{"v":' + text + "}")
                new = _dumps(props["v"]) if props is not None else None
            else:
                props = rescrub_json(text)
                new = _dumps(props) if props is not None else None
            if new is not None:
                changed.append({"uid": r["uid"], "text": new})
        for batch in batches(changed):
            tx.run(f"UNWIND $rows AS row MATCH (u:{label} {{uid: row.uid}}) SET u.{field} = row.text",
                   rows=batch).consume()
    tx.run("MERGE (m:BurnpathMeta {key: $k}) SET m.value = $v", k=SCRUB_META_KEY, v=SCRUB_VERSION).consume()


def _kind_name(kind) -> str:
    return kind if type(kind) is str else kind._value_    # (Enum.value's descriptor is slow)


def apply_records(m: Mirror, records: Records, run_id: str, now: str, complete: bool
                  ) -> tuple[set[str], set[tuple], dict[str, int]]:
    """This load's statements into the mirror (as SQLiteStore writes them: two statements
    about one id in one load merge, later wins) and, on a complete re-sync, removed_at on
    what this source stated before and not now. Returns the node ids and edge keys whose
    statements changed, and the removed counts."""
    from .neo4j import _dumps
    from .sqlite import _loads
    source = records.source
    merged: dict[str, dict] = {}
    for n in records.nodes:
        cur = merged.get(n.id)
        active = None if n.active is None else int(n.active)
        if cur is None:
            merged[n.id] = {"kind": _kind_name(n.kind), "name": n.name, "active": active,
                            "properties": dict(n.properties), "enrichment": int(n.enrichment)}
        else:
            cur["enrichment"] = min(cur["enrichment"], int(n.enrichment))
            cur["name"] = n.name or cur["name"]
            if active is not None:
                cur["active"] = active if cur["active"] is None else min(cur["active"], active)
            cur["properties"].update(n.properties)
    node_src = m.node_src
    m.node_ids = _merge_sorted(m.node_ids, [nid for nid in merged if nid not in node_src])
    m.versions = []
    for nid, c in merged.items():
        # Round-trip through JSON so stored and freshly written values compare equal.
        c["properties"] = _loads(_dumps(c["properties"]))
        contribs = node_src.setdefault(nid, {})
        contribs[source] = _versioned(m, "node", nid, source, contribs.get(source),
                                      {**c, "run_id": run_id, "removed_at": None}, now)
    dirty_nodes = set(merged)
    del merged

    edges: dict[tuple, dict] = {}
    for e in records.edges:
        edges.setdefault((e.src, _kind_name(e.kind), e.dst), {}).update(e.properties)
    edge_src = m.edge_src
    m.edge_keys = _merge_sorted(m.edge_keys, [key for key in edges if key not in edge_src])
    for key, props in edges.items():
        contribs = edge_src.setdefault(key, {})
        contribs[source] = _versioned(m, "edge", key, source, contribs.get(source),
                                      {"properties": _loads(_dumps(props)), "run_id": run_id,
                                       "removed_at": None}, now)
    dirty_edges = set(edges)
    del edges

    mine_nodes, mine_edges = m.by_source.setdefault(source, (set(), set()))
    mine_nodes |= dirty_nodes
    mine_edges |= dirty_edges
    removed: dict[str, int] = {}
    if complete:
        for contribs, label, dirty, keys in ((node_src, "nodes", dirty_nodes, mine_nodes),
                                             (edge_src, "edges", dirty_edges, mine_edges)):
            removed[label] = 0
            for key in keys:
                mine = contribs[key][source]
                if mine["run_id"] != run_id and mine["removed_at"] is None:
                    mine["removed_at"] = now
                    removed[label] += 1
                    dirty.add(key)
    return dirty_nodes, dirty_edges, removed


def _versioned(m: Mirror, entity: str, key, source: str, old: dict | None, new: dict, now: str) -> dict:
    """`new` with its first_seen and since (engine.history): a new version starts when
    the change matters, and the superseded one is queued in m.versions to be kept;
    otherwise the current version is updated in place."""
    from ..history.versions import changed
    if old is None:
        new["first_seen"] = new["since"] = now
        return new
    new["first_seen"] = old.get("first_seen")
    if changed(old, new):
        new["since"] = now
        m.versions.append({"entity": entity, "key": list(key) if entity == "edge" else key,
                           "source": source, "valid_from": old.get("since"),
                           "valid_to": old["removed_at"] or now, "statement": old})
    else:
        new["since"] = old.get("since")
    return new


class _GraphInput:
    """The Store reads MemoryGraph.from_store makes, answered from the mirror."""

    def __init__(self, nodes: list[NodeView], edges: list[EdgeView], edge_keys: list[tuple],
                 last_day: str | None):
        self._nodes, self._edges, self.edge_keys = nodes, edges, edge_keys
        self.bases: list[NodeView] = []     # the merged views _nodes copies
        self._day = date.fromisoformat(last_day) if last_day else None

    def iter_nodes(self, include_removed: bool = False):
        return iter(self._nodes if include_removed else [v for v in self._nodes if v.removed_at is None])

    def iter_edges(self, include_removed: bool = False):
        return iter(self._edges)

    def last_usage_day(self):
        return self._day

    def usage(self, start=None, end=None) -> list:
        from types import SimpleNamespace
        return [SimpleNamespace(day=self._day)] if self._day else []


def _merge_sorted(old: list, new) -> list:
    """`old` (sorted) with the keys `new` adds: two sorted runs merged by timsort."""
    if not new:
        return old
    out = old + sorted(new)
    out.sort()
    return out


def merged_inputs(m: Mirror, dirty_nodes: set, dirty_edges: set) -> _GraphInput:
    """Merge what changed; hand the graph build copies of the views (it derives status
    into them) in the order a store reads them (ids sorted, edges by key)."""
    from .neo4j import _node_rows, merge_edge_contributions
    from .sqlite import merge_contributions
    views, edge_views = m.node_views, m.edge_views
    node_src, edge_src = m.node_src, m.edge_src
    if not m.views_ready:
        dirty_nodes, dirty_edges = node_src, edge_src
        m.views_ready = True
    for nid in dirty_nodes:
        contribs = node_src.get(nid)
        if contribs:
            views[nid] = merge_contributions(_node_rows(nid, contribs))
        else:
            views.pop(nid, None)
    for key in dirty_edges:
        edge_views[key] = merge_edge_contributions(*key, edge_src[key])
    # (a view for every id but stubs, an edge view for every key)
    bases = [v for v in map(views.get, m.node_ids) if v is not None]
    nodes = [NodeView(v.id, v.kind, v.name, v.active, v.properties, v.sources, v.removed_at) for v in bases]
    if dirty_edges or m.live_edges is None:
        keys = [k for k in m.edge_keys if edge_views[k].removed_at is None]
        m.live_edges = (keys, list(map(edge_views.__getitem__, keys)))
    keys, edges = m.live_edges
    graph_input = _GraphInput(nodes, edges, keys, m.last_day)
    graph_input.bases = bases
    return graph_input


def _changed_views(m: Mirror, graph, inputs: _GraphInput, dirty_nodes: set) -> set:
    """Node ids whose written properties may differ from the last load's: what the load
    touched, stubs (the build's new ones among them), and every view the graph build
    derived something into (or replaced)."""
    out = set(dirty_nodes) | m.stub_ids
    views, index = graph.views, graph.index
    for c, b in zip(inputs._nodes, inputs.bases):
        if (c.properties is not b.properties or c.active != b.active or c.name is not b.name
                or c.kind is not b.kind or c.sources is not b.sources or c.removed_at is not b.removed_at):
            out.add(c.id)
        elif c.removed_at is None:
            i = index.get(c.id)
            if i is None or views[i] is not c:
                out.add(c.id)
    return out


@dataclass
class Writes:
    """What one load sends to the database, by statement."""
    nodes: dict[tuple[str, bool], list] = field(default_factory=dict)   # (kind, new) -> rows
    drop_eids: list[str] = field(default_factory=list)
    drop: dict[str, list] = field(default_factory=dict)      # kind -> {src, dst, derived}
    update_eid: list[dict] = field(default_factory=list)
    update: dict[str, list] = field(default_factory=dict)    # kind -> {src, dst, derived, props}
    create: dict[str, list] = field(default_factory=dict)    # kind -> {src, dst, props}

    def counts(self) -> dict[str, int]:
        return {"nodes_created": sum(len(v) for (_, new), v in self.nodes.items() if new),
                "nodes_updated": sum(len(v) for (_, new), v in self.nodes.items() if not new),
                "rels_dropped": len(self.drop_eids) + sum(map(len, self.drop.values())),
                "rels_updated": len(self.update_eid) + sum(map(len, self.update.values())),
                "rels_created": sum(map(len, self.create.values()))}


def diff_graph(m: Mirror, graph, inputs: _GraphInput, dirty_nodes: set, dirty_edges: set) -> Writes:
    """What to write so the database holds `graph` (see Neo4jStore's module doc for the
    layout), updating the mirror to it. Only elements that may have changed are looked
    at (all of them when the mirror was just read back)."""
    from ..graph import edge_access, guess_kind
    from .neo4j import NODE_FIELDS, REL_FIELDS, _dumps, _flatten, _hash, _view_doc
    out = Writes()
    node_src, memo, state = m.node_src, m.node_memo, m.node_state
    index, gviews = graph.index, graph.views
    merged = m.node_views
    stubs = [nid for nid in index if nid not in node_src]
    for nid in stubs:               # an edge endpoint nothing states: kept as a stub
        node_src[nid] = {}
    m.node_ids = _merge_sorted(m.node_ids, stubs)
    if m.memo_ready:
        m.stub_ids.update(stubs)
        m.stub_ids.difference_update([nid for nid in dirty_nodes if node_src.get(nid)])
    else:
        m.stub_ids = {nid for nid, c in node_src.items() if not c}
        m.removed_edges = {k for k, v in m.edge_views.items() if v.removed_at is not None}
    candidates = _changed_views(m, graph, inputs, dirty_nodes) if m.memo_ready else m.node_ids
    for nid in sorted(candidates):
        i = index.get(nid)
        live = i is not None
        view = gviews[i] if live else merged.get(nid)
        sig = (None if view is None else
               (view.kind, view.name, view.active, view.properties, view.sources, view.removed_at, live))
        if nid not in dirty_nodes and memo.get(nid, memo) == sig:
            continue
        src_json = _dumps(node_src[nid])
        if view is None:   # only ever an edge endpoint, and no live edge names it now
            kind = (guess_kind(nid) or NodeKind.Account).value
            props = {"id": nid, "kind": kind, "_src": src_json, "live": False, "stub": True}
        else:
            kind = view.kind
            props = _flatten(view.properties, NODE_FIELDS)
            props.update({"id": nid, "kind": view.kind, "active": view.active,
                          "sources": list(view.sources), "_src": src_json,
                          "_view": _dumps(_view_doc(view), sort=False), "live": live})
            if view.name is not None:
                props["name"] = view.name
            if view.removed_at is not None:
                props["removed_at"] = view.removed_at
        props["_h"] = h = _hash(props)
        memo[nid] = sig
        old = state.get(nid)
        labels = frozenset(("Node", kind))
        if old is not None and old[0] == h and old[1] == labels:
            continue
        out.nodes.setdefault((kind, old is None), []).append({"id": nid, "props": props})
        state[nid] = (h, labels)

    # Relationships: stored edges keyed (src, kind, dst), derived ones apart. `live`: in
    # the engine's current graph (not removed, no removed endpoint). A stored edge's
    # properties change only with its statements (dirty) or its liveness.
    passed, gedges = inputs._edges, graph.edges
    if len(gedges) >= len(passed) and all(map(operator.is_, passed, gedges)):
        nonlive, derived = set(), gedges[len(passed):]    # every one kept, derived ones after
    else:
        in_graph = set(map(id, gedges))
        nonlive = {k for k, e in zip(inputs.edge_keys, passed) if id(e) not in in_graph}
        stored_ids = set(map(id, passed))
        derived = [e for e in gedges if id(e) not in stored_ids]
    removed_keys = m.removed_edges
    removed_keys.difference_update(dirty_edges)
    removed_keys.update(k for k in dirty_edges if m.edge_views[k].removed_at is not None)
    nonlive |= removed_keys
    if m.memo_ready:
        candidates = sorted(set(dirty_edges) | (nonlive ^ m.nonlive_edges))
    else:
        candidates = m.edge_keys
    m.nonlive_edges = nonlive
    want: dict[tuple, dict | None] = {}      # None: unchanged
    levels: dict[tuple, int] = {}

    def access(kind: str, props: dict) -> int:
        # edge_access reads the kind and the stated level only: memoised on those.
        value = props.get("access")
        key = (kind, type(value), value if isinstance(value, (str, int, type(None))) else repr(value))
        level = levels.get(key)
        if level is None:
            level = levels[key] = edge_access(kind, props)
        return level
    rmemo = m.rel_memo
    edge_views = m.edge_views
    for key in candidates:
        view = edge_views[key]
        live = key not in nonlive
        rkey = (key, False)
        contribs = m.edge_src[key]
        props = _flatten(view.properties, REL_FIELDS)
        props.update({"sources": list(view.sources), "derived": False, "_src": _dumps(contribs),
                      "_acc": access(key[1], view.properties), "_ord": "0" + key[1], "live": live})
        if view.removed_at is not None:
            props["removed_at"] = view.removed_at
        props["_h"] = _hash(props)
        want[rkey] = props
    for seq, e in enumerate(derived):
        rkey = ((e.src, e.kind, e.dst), True)
        sig = (seq, e.properties, e.sources)
        if rmemo.get(rkey) == sig:
            want[rkey] = None
        else:
            props = _flatten(e.properties, REL_FIELDS)
            props.update({"sources": list(e.sources), "derived": True, "_seq": seq, "live": True,
                          "_props": _dumps(e.properties, sort=False), "_acc": access(e.kind, e.properties),
                          "_ord": f"1{seq:09d}"})
            props["_h"] = _hash(props)
            rmemo[rkey] = sig
            want[rkey] = props

    rstate, reid = m.rel_state, m.rel_eid
    out.drop_eids, m.drop_eids = m.drop_eids, []
    # Gone: derived edges no longer derived (stored edges are never dropped: their
    # statements stay, removed ones included). Read back: whatever nothing wants.
    gone = [k for k in (m.derived_keys if m.memo_ready else rstate) if k not in want]
    m.derived_keys = {k for k in want if k[1]}
    m.memo_ready = True
    for rkey in gone:
        (src, kind, dst), derived = rkey
        eid = reid.pop(rkey, None)
        if eid is not None:
            out.drop_eids.append(eid)
        else:
            out.drop.setdefault(kind, []).append({"src": src, "dst": dst, "derived": derived})
        del rstate[rkey]
        rmemo.pop(rkey, None)
    for rkey, props in want.items():
        if props is None:
            continue
        old = rstate.get(rkey)
        (src, kind, dst), derived = rkey
        if old is None:
            out.create.setdefault(kind, []).append({"src": src, "dst": dst, "props": props})
        elif old != props["_h"]:
            eid = reid.get(rkey)
            if eid is not None:
                out.update_eid.append({"eid": eid, "props": props})
            else:
                out.update.setdefault(kind, []).append({"src": src, "dst": dst, "derived": derived,
                                                        "props": props})
        rstate[rkey] = props["_h"]
    return out
