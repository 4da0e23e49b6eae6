"""Rule facts and spend attribution on Neo4j, read with Cypher (engine.store.neo4j_reads)
instead of from the in-memory graph.

`Neo4jFacts` is engine.rules.facts.Facts with the graph primitives the rule logic
stands on (node views, subjects, edges by kind, owners, the people a team stands
for, person of an account, budgets' MEMBER_OF hops, claims, blast radius, most
sensitive data reached) answered by bulk Cypher queries, each asked once per fact
family and cached. The checks and the composed facts (holders, environments, grants,
exposures, budgets) are Facts' own code over those primitives, so both stores run
the same rule logic. It never builds the engine's in-memory graph: `graph` and `adj`
raise, so a path that still needs them fails loudly instead of pulling the graph in.

`Neo4jAttributor` is engine.spend.Attributor the same way: owners, teams, tools,
environments and projects of every usage subject in a few queries.
"""
from __future__ import annotations

import bisect
from functools import cached_property
from typing import Iterable

from ..model import EDGE_KINDS, IDENTITY_KINDS, NodeKind
from ..rules.facts import Environments, Facts, OwnerFact, is_placeholder
from ..rules.models import SENSITIVITY_ORDER
from ..spend import Attributor
from .base import EdgeView, NodeView
from .neo4j_reads import GraphReads

_TRAVERSABLE = [k.value for k, s in EDGE_KINDS.items() if s.traversable]
_IDENTITY_KINDS = sorted(k.value for k in IDENTITY_KINDS)


class InMemoryGraphNotBuilt(RuntimeError):
    """A fact asked for the in-memory graph, which the Neo4j facts never build."""


class Neo4jFacts(Facts):
    REACH_BATCH = 256

    def __init__(self, store, engine):
        # Not Facts.__init__: that loads the in-memory graph.
        self.engine = engine
        self.store = store
        self.reads = GraphReads(store)
        self.as_of = engine.as_of
        self.envs = Environments()
        self._reach: dict[str, list] = {}

    @property
    def graph(self):
        raise InMemoryGraphNotBuilt("the Neo4j rule facts read the graph with Cypher")

    @property
    def adj(self):
        raise InMemoryGraphNotBuilt("the Neo4j rule facts read the graph with Cypher")

    # --- nodes ---------------------------------------------------------------------
    def _subjects_of(self, kinds: tuple[str, ...]) -> list[NodeView]:
        by_kind = {k: self.reads.subjects(k) for k in dict.fromkeys(kinds)}
        out: list[NodeView] = []
        for kind in kinds:
            out.extend(v for v in by_kind[kind] if not is_placeholder(v))
            if kind == NodeKind.Credential.value:
                out.extend(self.usage_only.values())
        out.sort(key=lambda v: v.id)
        return out

    def subjects_among(self, kinds: Iterable[str], ids: Iterable[str]) -> list[NodeView]:
        kinds = list(kinds)
        keep = set(ids)
        return [v for v in self.subjects(kinds) if v.id in keep]

    @cached_property
    def usage_only(self) -> dict[str, NodeView]:
        ids = sorted(self.usage_by_credential)
        live = self.reads.live(ids)
        return {cid: NodeView(id=cid, kind=NodeKind.Credential.value, name=None, active=True,
                              properties={"stub": True, "usage_only": True}, sources=[])
                for cid in ids if cid not in live}

    def node(self, node_id: str) -> NodeView | None:
        view = self.reads.view(node_id)
        if view is not None:
            return view
        return self.usage_only.get(node_id)

    def kind_of(self, node_id: str) -> str | None:
        kind = self.reads.kind(node_id)
        if kind is not None:
            return kind
        v = self.usage_only.get(node_id)
        return v.kind if v else None

    def in_edges(self, node_id: str, *kinds) -> list[EdgeView]:
        return self.reads.edges("in", tuple(sorted({k._value_ for k in kinds})) if kinds else None, node_id)

    def out_edges(self, node_id: str, *kinds) -> list[EdgeView]:
        return self.reads.edges("out", tuple(sorted({k._value_ for k in kinds})) if kinds else None, node_id)

    # --- owners and people ---------------------------------------------------------------
    def owners(self, node_id: str) -> list[str]:
        return list(self.reads.owners(node_id))

    def _person_of(self, node_id: str) -> str | None:
        return self.reads.person_of(node_id)

    def _people_for_owner(self, owner: str) -> list[OwnerFact]:
        people = [owner]
        if self.kind_of(owner) == NodeKind.Team.value:
            named, members = self.reads.team_people(owner)
            people = named or members or [owner]
        facts = []
        for p in people:
            status, deactivated = self.person_status(p)
            if self.kind_of(p) == NodeKind.Team.value:
                status = "unverified"
            facts.append(OwnerFact(p, status, deactivated, owner))
        return facts

    # --- holders ---------------------------------------------------------------------------
    def holders(self, node_id: str):
        if "_usage_accounts_read" not in self.__dict__:
            # The accounts usage rows name, read in one query before any holder asks.
            self.__dict__["_usage_accounts_read"] = True
            self.reads.prefetch({a for cid in self.usage_by_credential for a in self.usage_accounts(cid)})
        return super().holders(node_id)

    # --- grants, budgets, claims -------------------------------------------------------------
    @cached_property
    def _clients_by_native_id(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for v in self.reads.subjects(NodeKind.OAuthClient.value):
            out.setdefault(v.id.rsplit(":", 1)[-1], []).append(v.id)
        return out

    def _grant_client(self, node_id: str):
        if "_grant_clients_read" not in self.__dict__:
            # Client nodes that grants name by native id, read together.
            self.__dict__["_grant_clients_read"] = True
            wanted = []
            for v in self.reads.subjects(NodeKind.OAuthGrant.value):
                cid = v.properties.get("client_id") or v.properties.get("clientId")
                if cid:
                    wanted += [p + str(cid) for p in ("msgraph:service_principal:", "google:oauth_client:",
                                                      "okta:app:", "github:app:")]
            self.reads.prefetch(wanted)
        return super()._grant_client(node_id)

    def _member_of_within(self, node_id: str, hops: int) -> frozenset:
        return self.reads.member_of_within(node_id, hops)

    def claims(self, node_id: str) -> list[str]:
        return self.reads.claims(node_id)

    # --- reach ---------------------------------------------------------------------------------
    def reach(self, node_id: str, max_depth: int = 8):
        """Blast radius walked in the database in batches: a miss walks that node
        together with the next identities in id order (what findings and risk ask for
        next), one Cypher query per level for all of them."""
        from ..traversal import NodeNotFound
        key = f"{node_id}@{max_depth}"
        if key not in self._reach:
            if self.reads.view(node_id) is None:
                self._reach[key] = []     # as Facts: reaches nothing we know
                return self._reach[key]
            order = self.__dict__.get("_reach_order")
            if order is None:
                order = self.__dict__["_reach_order"] = [v.id for v in self.subjects(_IDENTITY_KINDS)]
            at = bisect.bisect_left(order, node_id)
            batch = [node_id] + [i for i in order[at:at + 4 * self.REACH_BATCH]
                                 if i != node_id and f"{i}@{max_depth}" not in self._reach]
            try:
                got = self.store.blast_radius_many(batch[:self.REACH_BATCH], max_depth)
            except NodeNotFound:
                got = {node_id: self.store.blast_radius(node_id, max_depth)}
            for i, reaches in got.items():
                self._reach[f"{i}@{max_depth}"] = reaches
        return self._reach[key]

    def reaches_sensitivity(self, node_id: str) -> tuple[str, list[str]]:
        self.reads.prefetch(r.node_id for r in self.reach(node_id))
        return super().reaches_sensitivity(node_id)

    @cached_property
    def _levels(self) -> dict[str, int]:
        return self.reads.sensitivity_levels(SENSITIVITY_ORDER, _TRAVERSABLE)

    def reaches_level(self, node_id: str) -> str:
        if self.reads.view(node_id) is None:
            return "none"
        return SENSITIVITY_ORDER[self._levels.get(node_id, 0)]


class Neo4jAttributor(Attributor):
    """Spend attribution (engine.spend.Attributor) over Cypher reads: the owners,
    teams, tools and views of every usage subject, read in bulk on first use."""

    def __init__(self, store, engine):
        # Not Attributor.__init__: that loads the in-memory graph.
        self.engine = engine
        self.reads = GraphReads(store)
        self._owners: dict[str, list[str]] = {}
        self._first_team: dict[str, str | None] = {}
        self._ready = self._owners_ready = False
        self._subjects: list[str] = []

    def _prepare(self) -> None:
        """Views of every usage subject in one query (what every groupBy reads)."""
        if self._ready:
            return
        self._ready = True
        self._subjects = self.reads.usage_subjects()
        self.reads.prefetch(self._subjects)

    def _prepare_owners(self) -> None:
        if not self._owners_ready:
            self._owners_ready = True
            self._prepare()
            self.reads.prefetch_owners(self._subjects)

    def _kind(self, node_id: str) -> str | None:
        return self.reads.kind(node_id)

    def node_view(self, node_id: str) -> NodeView | None:
        """A node's view (MemoryGraph.node_view), for reconcile."""
        self._prepare()
        return self.reads.view(node_id)

    def owners(self, subject: str) -> list[str]:
        if subject not in self._owners:
            self._prepare_owners()
            found: list[str] = []
            if self._kind(subject) == NodeKind.Account.value:
                # Usage an account made without a key is that account's person's.
                person = self.reads.person_of(subject)
                found = [person] if person else []
            if not found:
                self.reads.prefetch_owners([subject])
                found = list(self.reads.owners(subject))
            self._owners[subject] = found
        return self._owners[subject]

    def first_team(self, person: str) -> str | None:
        if person not in self._first_team:
            self._prepare_owners()
            # Every owner person of every usage subject, in one query.
            people = {o for s in self._subjects for o in self.owners(s)
                      if self._kind(o) == NodeKind.Person.value} | {person}
            self._first_team.update(self.reads.first_teams(people - set(self._first_team)))
        return self._first_team[person]

    def _holders(self, subject: str) -> set[str]:
        self._prepare()
        from ..model import EdgeKind
        return {e.src for e in self.reads.edges("in", (EdgeKind.HOLDS.value,), subject)}
