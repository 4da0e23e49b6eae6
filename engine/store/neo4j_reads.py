"""Bulk graph reads in Cypher for the Neo4j store's rule facts and spend attribution.

The embedded store answers "who owns this key", "who holds it", "which teams is this
person in" from its in-memory graph. On Neo4j the same questions are Cypher queries
asked once per *family* (for every node of one kind, or every id a caller names) and
cached on a GraphReads object, which lives as long as the facts or the attributor
that made it (one store generation). Nothing here builds the in-memory graph.

Answers equal engine.graph.MemoryGraph's exactly:

- only what the engine's current graph holds is read: `live` nodes and relationships
  (engine.store.neo4j writes `live` from that very graph at every load);
- a node view is the node's `_view` (the merged, derived view, as JSON);
- an edge view is its relationship's merged statements (`_src`, merged as the
  embedded store merges them) or, for a derived edge, `_props`;
- edges come back in the graph's CSR order: by neighbour id, then stored edges by
  kind before derived ones in derivation order (the relationship's `_ord`);
- "the lowest id" is taken in Python (Cypher orders strings by UTF-16 code units,
  Python by code points): Cypher returns candidate lists, Python picks.
"""
from __future__ import annotations

import json
from typing import Iterable

from ..model import EdgeKind, NodeKind
from .base import EdgeView, NodeView

CHUNK = 20_000
_ACCOUNT = NodeKind.Account.value
_PERSON = NodeKind.Person.value
_KIND_NAMES = frozenset(k.value for k in NodeKind)


def person_candidates(var: str, tag: str) -> str:
    """Cypher: the ids of the people linked to `var` when it is an account (the
    person behind it is the lowest, picked in Python), else []."""
    return (f"CASE WHEN {var}.kind = 'Account' THEN [(q{tag}:Node)-[h{tag}:HAS_ACCOUNT]->({var}) "
            f"WHERE h{tag}.live AND q{tag}.kind = 'Person' | q{tag}.id] ELSE [] END")


def pick_person(node_id: str | None, kind: str | None, candidates: list[str]) -> str | None:
    """Facts.person_of from a node's kind and person candidates."""
    if kind == _PERSON:
        return node_id
    if kind == _ACCOUNT and candidates:
        return min(candidates)
    return None


# --- ownership (engine.ownership) --------------------------------------------------
# What ownership resolution reads about a node, in one query for many nodes:
#   direct: its OWNS sources as [id, people] (an owning account stands for the lowest
#           of the people linked to it; [] for anything else);
#   acting: the service accounts and accounts it AUTHENTICATES_AS, [id, kind, people];
#   member: the projects and teams it is MEMBER_OF or CAN_ACCESS, [id, kind, direct].
# Resolution (first non-empty of direct, acting, member; depth <= 4) combines them in
# Python: written as one nested Cypher expression it takes Neo4j 5 ~10 s to plan.
def _direct_of(x: str, tag: str) -> str:
    return (f"[(o{tag}:Node)-[w{tag}:OWNS]->({x}) WHERE w{tag}.live | [o{tag}.id, "
            f"CASE WHEN o{tag}.kind = 'Account' THEN [(q{tag}:Node)-[h{tag}:HAS_ACCOUNT]->(o{tag}) "
            f"WHERE h{tag}.live | q{tag}.id] ELSE [] END]]")


_OWNER_FACTS = (
    f"WITH x, {_direct_of('x', 'd')} AS direct, "
    f"[(x)-[a:AUTHENTICATES_AS]->(t:Node) WHERE a.live AND t.kind IN ['ServiceAccount', 'Account'] | "
    f"[t.id, t.kind, [(qa:Node)-[ha:HAS_ACCOUNT]->(t) WHERE ha.live | qa.id]]] AS acting, "
    f"[(x)-[m:MEMBER_OF|CAN_ACCESS]->(u:Node) WHERE m.live AND u.kind IN ['Project', 'Team'] | "
    f"[u.id, u.kind, {_direct_of('u', 'm')}]] AS member "
    f"WHERE size(direct) > 0 OR size(acting) > 0 OR size(member) > 0 "
    f"RETURN x.id AS id, direct, acting, member")
OWNER_FACTS_OF_KIND = "MATCH (x:{label}) WHERE x.live " + _OWNER_FACTS
_OWNER_FIELDS = ("id", "direct", "acting", "member")
OWNER_FACTS_OF_IDS = "UNWIND $ids AS id MATCH (x:Node {id: id}) WHERE x.live " + _OWNER_FACTS


def owner_ids(elements: list) -> list[str]:
    """Resolved owners from [id, people] elements, sorted."""
    return sorted({min(people) if people else oid for oid, people in elements})


def _edge_types(kinds: tuple[str, ...] | None) -> str:
    if kinds is None:
        return ""
    for k in kinds:
        EdgeKind(k)   # spliced into Cypher: only known kinds
    return ":" + "|".join(kinds)


def _label(kind: str) -> str:
    if kind not in _KIND_NAMES:
        raise ValueError(f"unknown node kind {kind!r}")
    return kind


class GraphReads:
    """Cached bulk reads of one Neo4j store generation (see the module docstring)."""

    def __init__(self, store):
        self.store = store
        self.views: dict[str, NodeView | None] = {}
        self.kinds: dict[str, str | None] = {}
        self.people: dict[str, list[str]] = {}          # person candidates (accounts)
        self._edges: dict[tuple, dict[str, list[EdgeView]]] = {}
        self._owners: dict[str, list[str]] = {}
        self._owner_families: set[str] = set()
        self._owner_facts: dict[str, tuple] = {}
        self._owner_facts_read: set[str] = set()
        self._team_people: dict[str, tuple[list, list]] = {}
        self._within: dict[tuple, dict[str, frozenset]] = {}
        self._claims: dict[str, list[str]] | None = None
        self._subjects: dict[str, list[NodeView]] = {}
        self.queries = 0

    def run(self, cypher: str, fields: tuple[str, ...], **params) -> list[dict]:
        """The rows of a query whose RETURN names `fields`, as dicts. They come back as
        one collected list in a single record: the driver's per-record overhead is
        most of the cost of reading tens of thousands of small rows."""
        self.queries += 1
        wrapped = f"CALL {{ {cypher} }} RETURN collect([{', '.join(fields)}]) AS rows"
        got = self.store._query(wrapped, **params)
        return [dict(zip(fields, row)) for row in got[0]["rows"]] if got else []

    def run_chunked(self, cypher: str, fields: tuple[str, ...], ids: list, **params) -> list[dict]:
        out: list = []
        for i in range(0, len(ids), CHUNK):
            out.extend(self.run(cypher, fields, ids=ids[i:i + CHUNK], **params))
        return out

    # --- node views ------------------------------------------------------------
    _VIEWS = (f"UNWIND $ids AS id MATCH (n:Node {{id: id}}) WHERE n.live "
              f"RETURN n.id AS id, n.kind AS kind, n._view AS v, {person_candidates('n', 'v')} AS pc")

    def _take_view(self, r) -> None:
        from .neo4j import _view_of
        nid = r["id"]
        view = _view_of(nid, r["v"])
        self.views[nid] = view
        self.kinds[nid] = view.kind if view is not None else r["kind"]
        self.people[nid] = r["pc"] or []

    def prefetch(self, ids: Iterable[str]) -> None:
        """Views (and kinds, person candidates) of many nodes in one query; ids the
        graph does not hold are remembered as None."""
        missing = sorted({i for i in ids if i is not None and i not in self.views})
        if not missing:
            return
        for r in self.run_chunked(self._VIEWS, ("id", "kind", "v", "pc"), missing):
            self._take_view(r)
        for i in missing:
            if i not in self.views:
                self.views[i] = None
                self.kinds[i] = None
                self.people[i] = []

    def view(self, node_id: str) -> NodeView | None:
        if node_id not in self.views:
            self.prefetch([node_id])
        return self.views[node_id]

    def kind(self, node_id: str) -> str | None:
        if node_id not in self.kinds:
            self.prefetch([node_id])
        return self.kinds[node_id]

    def person_of(self, node_id: str) -> str | None:
        kind = self.kind(node_id)
        return pick_person(node_id, kind, self.people.get(node_id, []))

    def subjects(self, kind: str) -> list[NodeView]:
        """Every live node of one kind (views cached), in id order."""
        if kind in self._subjects:
            return list(self._subjects[kind])
        rows = self.run(f"MATCH (n:{_label(kind)}) WHERE n.live RETURN n.id AS id, n.kind AS kind, "
                        f"n._view AS v, {person_candidates('n', 'v')} AS pc", ("id", "kind", "v", "pc"))
        for r in rows:
            self._take_view(r)
        self._subjects[kind] = sorted((self.views[r["id"]] for r in rows), key=lambda v: v.id)
        return list(self._subjects[kind])

    def live(self, ids: Iterable[str]) -> set[str]:
        self.prefetch(ids)
        return {i for i in ids if self.views.get(i) is not None}

    # --- edges -------------------------------------------------------------------
    def edges(self, direction: str, kinds: tuple[str, ...] | None, node_id: str) -> list[EdgeView]:
        """in_edges / out_edges of a node, of some kinds (None: all), in CSR order. The
        first ask for a (direction, kinds, kind of node) reads them for every node of
        that kind, and prefetches the views of the nodes at their other ends."""
        kind = self.kind(node_id)
        if kind is None:
            return []
        key = (direction, kinds, kind)
        table = self._edges.get(key)
        if table is None:
            table = self._edges[key] = self._edge_family(direction, kinds, kind)
        return table.get(node_id, [])

    def _edge_family(self, direction: str, kinds: tuple[str, ...] | None, kind: str) -> dict:
        from .neo4j import merge_edge_contributions
        arrow = f"<-[r{_edge_types(kinds)}]-" if direction == "in" else f"-[r{_edge_types(kinds)}]->"
        rows = self.run(f"MATCH (n:{_label(kind)}){arrow}(m:Node) WHERE r.live "
                        f"RETURN n.id AS n, m.id AS m, type(r) AS kind, r.derived AS derived, "
                        f"r._src AS src, r._props AS props, r.sources AS sources, r._ord AS ord",
                        ("n", "m", "kind", "derived", "src", "props", "sources", "ord"))
        grouped: dict[str, list[tuple]] = {}
        for r in rows:
            n, m, k = r["n"], r["m"], r["kind"]
            src, dst = (m, n) if direction == "in" else (n, m)
            if r["derived"]:
                view = EdgeView(src=src, dst=dst, kind=k, properties=json.loads(r["props"] or "{}"),
                                sources=list(r["sources"] or []))
            else:
                view = merge_edge_contributions(src, k, dst, json.loads(r["src"] or "{}"))
            grouped.setdefault(n, []).append((m, r["ord"], view))
        self.prefetch({m for rows_ in grouped.values() for m, _, _ in rows_})
        return {n: [e for _, _, e in sorted(items, key=lambda t: (t[0], t[1]))]
                for n, items in grouped.items()}

    # --- ownership -----------------------------------------------------------------
    def owners(self, node_id: str) -> list[str]:
        """engine.ownership.owners_of: what it reads comes from Cypher, for every node
        of the node's kind at once (then for what they act as, level by level)."""
        if node_id not in self._owners:
            kind = self.kind(node_id)
            if kind is not None and kind not in self._owner_families:
                self._owner_families.add(kind)
                rows = self.run(OWNER_FACTS_OF_KIND.replace("{label}", _label(kind)), _OWNER_FIELDS)
                self._resolve_owners([r["id"] for r in rows], rows)
            self._owners.setdefault(node_id, [])
        return self._owners[node_id]

    def prefetch_owners(self, ids: Iterable[str]) -> None:
        """owners_of many named nodes (spend's subjects)."""
        missing = sorted({i for i in ids if i is not None and i not in self._owners})
        if missing:
            self._resolve_owners(missing, self.run_chunked(OWNER_FACTS_OF_IDS, _OWNER_FIELDS, missing))

    def _resolve_owners(self, ids: list[str], rows: list) -> None:
        facts = self._owner_facts
        for r in rows:
            facts[r["id"]] = (r["direct"], r["acting"], r["member"])
        # What the subjects act as and belong to (service accounts, projects), read
        # level by level down to the depth resolution stops at.
        todo = list(ids)
        for _ in range(4):
            nxt = set()
            for x in todo:
                direct, acting, member = facts.get(x, ((), (), ()))
                if direct:
                    continue
                nxt.update(t for t, kind, _ in acting if kind != _ACCOUNT)
                nxt.update(t for t, kind, _ in member if kind != NodeKind.Team.value)
            if not nxt:
                break
            unread = sorted(t for t in nxt if t not in self._owner_facts_read)
            self._owner_facts_read.update(unread)
            for r in self.run_chunked(OWNER_FACTS_OF_IDS, _OWNER_FIELDS, unread):
                facts[r["id"]] = (r["direct"], r["acting"], r["member"])
            todo = sorted(nxt)
        self._owner_facts_read.update(ids)
        memo: dict[tuple, list[str]] = {}
        found = set()
        for x in ids:
            owners = self._owners[x] = self._resolve(x, 0, memo)
            found.update(owners)
        self.prefetch(found)

    def _resolve(self, x: str, depth: int, memo: dict) -> list[str]:
        """engine.ownership._resolve over the facts read."""
        key = (x, depth)
        if key in memo:
            return memo[key]
        direct, acting, member = self._owner_facts.get(x, ((), (), ()))
        found = owner_ids(direct)
        if not found and depth <= 3:
            out: set[str] = set()
            for t, kind, people in acting:
                if kind == _ACCOUNT:
                    out.add(min(people) if people else t)     # a key acting as a user is that user's
                else:
                    out.update(self._resolve(t, depth + 1, memo))
            if not out:
                for t, kind, t_direct in member:
                    if kind == NodeKind.Team.value:
                        # A team with no named owner owns it as a team; else its owners do.
                        out.update(owner_ids(t_direct) or [t])
                    else:
                        out.update(self._resolve(t, depth + 1, memo))
            found = sorted(out)
        memo[key] = found
        return found

    # A team stands for its named owners, else its members (Facts._people_for_owner).
    _TEAM_PEOPLE = (
        f"UNWIND $ids AS id MATCH (o:Node {{id: id}}) WHERE o.live AND o.kind = 'Team' "
        f"WITH o, [(a:Node)-[r:OWNS]->(o) WHERE r.live | [a.id, a.kind, {person_candidates('a', 'n')}]] AS named "
        f"RETURN o.id AS id, named, CASE WHEN size(named) > 0 THEN [] ELSE "
        f"[(a:Node)-[r:MEMBER_OF]->(o) WHERE r.live AND a.kind IN ['Person', 'Account'] | "
        f"[a.id, a.kind, {person_candidates('a', 'm')}]] END AS members")

    def team_people(self, team_id: str) -> tuple[list[str], list[str]]:
        """(named owners as people-or-ids, members as people) of a team, each sorted."""
        if team_id not in self._team_people:
            teams = [o for o in set().union(*self._owners.values(), [team_id])
                     if o not in self._team_people and self.kind(o) == NodeKind.Team.value]
            found: set[str] = set()
            for r in self.run_chunked(self._TEAM_PEOPLE, ("id", "named", "members"), sorted(teams)):
                named = sorted({pick_person(a, k, pc) or a for a, k, pc in r["named"]})
                members = sorted({p for p in (pick_person(a, k, pc) for a, k, pc in r["members"]) if p})
                self._team_people[r["id"]] = (named, members)
                found.update(named + members)
            self.prefetch(found)
            for t in teams:
                self._team_people.setdefault(t, ([], []))
            self._team_people.setdefault(team_id, ([], []))
        return self._team_people[team_id]

    # --- budgets: projects and teams above a node ------------------------------------
    def member_of_within(self, node_id: str, hops: int) -> frozenset:
        """node_id and the projects and teams within `hops` MEMBER_OF edges above it,
        every step onto a project or team (Facts._member_of_within)."""
        kind = self.kind(node_id)
        if kind is None or hops <= 0:
            return frozenset({node_id})
        key = (kind, int(hops))
        table = self._within.get(key)
        if table is None:
            rows = self.run(
                f"MATCH (s:{_label(kind)}) WHERE s.live "
                f"MATCH p = (s)-[:MEMBER_OF*1..{int(hops)}]->(x:Node) "
                f"WHERE all(r IN relationships(p) WHERE r.live) "
                f"AND all(y IN tail(nodes(p)) WHERE y.kind IN ['Project', 'Team']) "
                f"RETURN s.id AS id, collect(DISTINCT x.id) AS up", ("id", "up"))
            table = self._within[key] = {r["id"]: frozenset(r["up"]) | {r["id"]} for r in rows}
            self.prefetch(set().union(*table.values()) if table else ())
        return table.get(node_id, frozenset({node_id}))

    # --- claims ------------------------------------------------------------------------
    _CLAIMS = """
        MATCH (t:AITool)-[r:HOLDS]->(x:Node)
        WHERE r.live AND t.kind = 'AITool' AND t.active = true AND t.approved = true
        RETURN x.id AS id, t.id AS tool
        UNION
        MATCH (t:AITool)-[r:HOLDS]->(c:Node)-[m:MEMBER_OF]->(x:Node)
        WHERE r.live AND m.live AND t.kind = 'AITool' AND t.active = true AND t.approved = true
          AND c.kind = 'Credential' AND x.kind = 'Project'
        RETURN x.id AS id, t.id AS tool
    """

    def claims(self, node_id: str) -> list[str]:
        """Approved tools claiming a node (Facts._claims), for every node in one query."""
        if self._claims is None:
            out: dict[str, set[str]] = {}
            for r in self.run(self._CLAIMS, ("id", "tool")):
                out.setdefault(r["id"], set()).add(r["tool"])
            self._claims = {k: sorted(v) for k, v in out.items()}
        return list(self._claims.get(node_id, []))

    # --- people's teams (spend) -----------------------------------------------------------
    _TEAMS = ("UNWIND $ids AS id MATCH (p:Node {id: id}) WHERE p.live "
              "RETURN p.id AS id, [(p)-[r:MEMBER_OF]->(t:Node) WHERE r.live AND t.id STARTS WITH 'team:' | t.id] "
              "AS member, [(p)-[r:OWNS]->(t:Node) WHERE r.live AND t.id STARTS WITH 'team:' | t.id] AS owns")

    def first_teams(self, people: Iterable[str]) -> dict[str, str | None]:
        """Attributor.first_team for many people: the lowest `team:` they are
        MEMBER_OF, else the lowest they OWN."""
        people = sorted(set(people))
        out: dict[str, str | None] = {p: None for p in people}
        for r in self.run_chunked(self._TEAMS, ("id", "member", "owns"), people):
            teams = r["member"] or r["owns"]
            out[r["id"]] = min(teams) if teams else None
        return out

    def usage_subjects(self) -> list[str]:
        """Every id spend attributes usage to (a row's credential, else its account)."""
        rows = self.run("MATCH (u:UsageRow) WHERE u.removed_at IS NULL "
                        "RETURN DISTINCT coalesce(u.credential_id, u.account_id) AS s", ("s",))
        return sorted(r["s"] for r in rows if r["s"] is not None)

    # --- most sensitive data reached ------------------------------------------------------
    def sensitivity_levels(self, order: tuple[str, ...], traversable: list[str]) -> dict[str, int]:
        """Per node id, the highest level (index in `order`) of a data source it reaches
        within 8 hops over live traversable edges (Facts._reach_level): one reverse
        breadth-first walk from all data sources, every level walked together, one
        query per hop."""
        sources = self.subjects(NodeKind.DataSource.value)
        frontier: list[list] = []
        for v in sources:
            sens = str(v.properties.get("sensitivity") or "internal").lower()
            if sens in order:
                frontier.append([order.index(sens), v.id])
        frontier = [list(t) for t in sorted({tuple(f) for f in frontier})]
        types = "|".join(traversable)
        seen: set[tuple[int, str]] = set()
        for _ in range(8):
            if not frontier:
                break
            rows = self.run_chunked(f"UNWIND $ids AS f MATCH (:Node {{id: f[1]}})<-[r:{types}]-(n:Node) "
                                    f"WHERE r.live RETURN DISTINCT f[0] AS lvl, n.id AS id", ("lvl", "id"),
                                    frontier)
            new = {(r["lvl"], r["id"]) for r in rows} - seen
            seen |= new
            frontier = [[lvl, nid] for lvl, nid in sorted(new)]
        level: dict[str, int] = {}
        for lvl, nid in seen:
            if lvl > level.get(nid, 0):
                level[nid] = lvl
        return level
