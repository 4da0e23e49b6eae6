"""The facts rules are evaluated over: a small read-only API, computed here from the
in-memory graph (engine.graph.MemoryGraph, through its per-kind index
engine.graph_index) and the store's usage read once as columns (engine.rules.usage).

A store may supply its own implementation (the Neo4j store answering with Cypher)
by offering `rule_facts(engine) -> Facts`; anything it does not override falls back
to these embedded computations. Every method is deterministic and sorted.

| method | answers |
|---|---|
| `as_of` | "now": --as-of, else the latest timestamp in the data |
| `subjects(kinds)` | node views of those kinds, by id |
| `node(id)` | one node view (None when unknown) |
| `owners(id)` | resolved owners (engine.ownership: direct, else service account, project, team) |
| `owner_people(id)` | those owners as people with status (a team stands for its owners, else members) |
| `holders(id)` | who holds or uses a credential: HOLDS edges and usage rows' accounts |
| `environments(id)` | normalised environments a credential is held or used in, with where each comes from |
| `usage_rows(id)` | usage rows whose most specific subject (credential, else project, else account) is id |
| `has_usage(id)` / `usage_projects(id)` / `usage_accounts(id)` | whether it has usage rows; the projects they name; the accounts a credential's rows name |
| `usage_summary(id)` / `recent_usage(id, limit)` | its usage in one dict (usd, days, first/last day, models, requests, sources); its last rows by (day, model) as evidence |
| `daily_usd(id)` / `daily_by_model(id)` | priced usage per day (and model) on a credential |
| `first_use(id)` | first usage day per model (normalised name) on a credential |
| `grant(id)` | an OAuth grant's scopes, client, consenting accounts and what it opens |
| `exposures(id)` | secret-scanner findings a credential is EXPOSED_IN |
| `budgets_above(id)` | budget caps on the credential or anything above it |
| `claims(id)` | approved inventory tools that claim a credential, project or OAuth client |
| `reach(id)` / `reaches_sensitivity(id)` | blast radius and the most sensitive data it reaches |
| `row_usd(row)` | a usage row in USD (vendor figure, else tokens x price), None when unpriced |
| `edge_dicts(id, kind, out)` | its out- (or in-) edges of one kind as evidence dicts (src, kind, dst, properties) |

Bulk forms of some of these serve engine.rules.bulk's whole-rule checks (the same
answers, worked out for many nodes in one pass): `grants_in_bulk(views)`,
`has_budget_above(id)` (bool(budgets_above(id)) without collecting the caps),
`usage_summaries()` / `usage_projects_all()` (usage_summary / usage_projects as
functions over gathered columns).
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from operator import itemgetter
from typing import Any, Iterable, Mapping

import numpy as np

from ..graph import EDGE_CODES, KIND_CODES
from ..graph_index import adjacency
from ..model import EdgeKind, NodeKind
from ..ownership import owners_of, resolver_for
from ..store.base import EdgeView, NodeView, UsageRecord
from .kinds import (AITool as _KIND_AITool, Account as _KIND_Account, Credential as _KIND_Credential,
                    DataSource as _KIND_DataSource, OAuthClient as _KIND_OAuthClient,
                    Person as _KIND_Person, Project as _KIND_Project, Team as _KIND_Team)
from .loader import load_data
from .models import SENSITIVITY_ORDER
from .usage import RowsBy, UsageIndex

K = EdgeKind
# Plain strings of the kinds the hot paths compare against (no enum lookups per edge).
_CLIENT_KINDS = (NodeKind.OAuthClient.value, NodeKind.ServiceAccount.value)
_CONSENTED = EdgeKind.CONSENTED.value
_CONSENTED_CODE = EDGE_CODES[_CONSENTED]
_GRANTS = EdgeKind.GRANTS.value
_BUDGET_KINDS = (NodeKind.Project.value, NodeKind.Team.value)
_HOLDS = EdgeKind.HOLDS.value
_MEMBER_OF = EdgeKind.MEMBER_OF.value
_DATE_SUFFIX = re.compile(r"([-@](\d{4}-\d{2}-\d{2}|\d{8})|-latest)$")


def normalise_model(model: str) -> str:
    """A model name without its dated-snapshot suffix: a new snapshot of a model a key
    already uses is not a new endpoint."""
    name = (model or "").strip().lower()
    while True:
        shorter = _DATE_SUFFIX.sub("", name)
        if shorter == name or not shorter:
            return name
        name = shorter


def edge_dict(e: EdgeView) -> dict[str, Any]:
    out = {"src": e.src, "kind": e.kind, "dst": e.dst}
    if e.properties:
        out["properties"] = dict(e.properties)
    return out


@dataclass(frozen=True)
class OwnerFact:
    person: str                 # person id (or an unlinked account / ownerless team id)
    status: str                 # active | inactive | unverified
    deactivated_at: str | None
    via: str                    # the resolved owner this person stands for


@dataclass(frozen=True)
class Holder:
    id: str                     # the holding node (tool, person, account, service account)
    kind: str
    person: str | None          # the person behind it, when there is one
    environment: str | None
    via: str                    # "HOLDS" or "usage"


@dataclass
class GrantFact:
    id: str
    scopes: list[str]
    client_id: str | None
    client_name: str | None
    client_node: str | None
    consented_by: list[str]
    opens: list[dict[str, Any]]
    texts: list[str] = field(default_factory=list)   # names and URLs to match vendors against


@dataclass(frozen=True)
class Budget:
    node_id: str
    field: str
    usd: float
    period: str                 # month | total | <LiteLLM budget_duration>
    spent: float | None = None  # what the source says was already spent against it
    resets_at: str | None = None


_SCOPE_SEP = re.compile(r"[\s,]+")


def _split_scopes(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        if " " not in value and "," not in value and "\t" not in value and "\n" not in value:
            return [value] if value else []
        return [s for s in _SCOPE_SEP.split(value) if s]
    if isinstance(value, list) and all(type(v) is str and " " not in v and "," not in v for v in value):
        return [v for v in value if v]
    if isinstance(value, dict):
        # GitHub App permissions: {contents: write} -> contents:write
        return [f"{k}:{v}" for k, v in sorted(value.items())]
    if isinstance(value, (list, tuple, set)):
        out = []
        for v in value:
            if isinstance(v, dict):
                v = v.get("value") or v.get("scope") or v.get("name")
            out.extend(_split_scopes(v))
        return out
    return [str(value)]


_SPLIT_MEMO: dict[Any, tuple[str, ...]] = {}
_SORTED_MEMO: dict[tuple[str, ...], tuple[str, ...]] = {}


def _split_scopes_memo(value: Any) -> tuple[str, ...]:
    """tuple(_split_scopes(value)), each distinct text or list of texts split once
    (grants of one app repeat one scope list thousands of times)."""
    kind = type(value)
    if kind is list:
        try:
            key = (list, *value)
            found = _SPLIT_MEMO.get(key)
        except TypeError:           # unhashable items (dicts): no memo
            return tuple(_split_scopes(value))
    elif kind is str:
        key = value
        found = _SPLIT_MEMO.get(key)
    else:
        return tuple(_split_scopes(value))
    if found is None:
        if len(_SPLIT_MEMO) > 1 << 16:
            _SPLIT_MEMO.clear()
        found = _SPLIT_MEMO[key] = tuple(_split_scopes(value))
    return found


def _sorted_scopes(scopes: list[str]) -> list[str]:
    """sorted(set(scopes)), each distinct list worked out once."""
    key = tuple(scopes)
    found = _SORTED_MEMO.get(key)
    if found is None:
        if len(_SORTED_MEMO) > 1 << 16:
            _SORTED_MEMO.clear()
        found = _SORTED_MEMO[key] = tuple(sorted(set(scopes)))
    return list(found)


class Environments:
    """queries/environments.yaml: canonical names and their aliases."""

    def __init__(self, data: dict | None = None):
        data = data if data is not None else load_data("environments.yaml")
        self.production = data.get("production", "prod")
        self.aliases: dict[str, str] = {}
        for name, spec in (data.get("environments") or {}).items():
            self.aliases[str(name).lower()] = name
            for alias in (spec or {}).get("aliases", []):
                self.aliases[str(alias).lower()] = name

    def normalise(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        text = str(value).strip().lower()
        return self.aliases.get(text, text)


class Facts:
    # True for the embedded facts themselves: their private helpers may then read the
    # graph's per-kind index by node id (no edge objects built). A subclass answering
    # the public primitives itself (another store's) gets the helpers over those.
    _indexed = False

    def __init__(self, engine):
        self.engine = engine
        self.graph = engine.graph()
        # Per-kind edge tables: the same answers as the graph's, without re-filtering
        # every node's edges by kind on each of the pack's many questions.
        self.adj = adjacency(self.graph)
        self._indexed = type(self) is Facts
        self.as_of: datetime | None = engine.as_of
        self.envs = Environments()
        self._reach: dict[str, list] = {}

    # --- nodes ---------------------------------------------------------------
    def subjects(self, kinds: Iterable[str]) -> list[NodeView]:
        kinds = tuple(kinds)
        cache = self.__dict__.setdefault("_subjects", {})
        if kinds not in cache:
            cache[kinds] = self._subjects_of(kinds)
        return list(cache[kinds])

    def _subjects_of(self, kinds: tuple[str, ...]) -> list[NodeView]:
        out: list[NodeView] = []
        for kind in kinds:
            out.extend(v for v in (self.graph.views[self.graph.index[i]] for i in self.graph.by_kind.get(kind, []))
                       if not is_placeholder(v))
            if kind == _KIND_Credential:
                out.extend(self.usage_only.values())
        out.sort(key=lambda v: v.id)
        return out

    def subjects_among(self, kinds: Iterable[str], ids: Iterable[str]) -> list[NodeView]:
        """subjects(kinds) restricted to `ids`, same order, without listing every
        subject first (a screen leaves a few of a million)."""
        times = Counter(kinds)
        g = self.graph
        cred_times = times.get(_KIND_Credential, 0)
        picked: list[str] = []
        for nid in ids:
            i = g.index.get(nid)
            if i is not None:
                if not is_placeholder(g.views[i]):
                    picked.extend([nid] * times.get(self.adj.kind_at(i), 0))
            elif cred_times and nid in self.usage_only:
                picked.extend([nid] * cred_times)
        picked.sort()
        return [self.node(nid) for nid in picked]

    @cached_property
    def usage_only(self) -> dict[str, NodeView]:
        """Credentials that usage rows name but no source lists: spending keys nobody
        inventoried are subjects too (a stub view, active, properties.usage_only)."""
        return {cid: NodeView(id=cid, kind=_KIND_Credential, name=None, active=True,
                              properties={"stub": True, "usage_only": True}, sources=[])
                for cid in sorted(self.usage_by_credential) if cid not in self.graph.index}

    def node(self, node_id: str) -> NodeView | None:
        i = self.graph.index.get(node_id)
        if i is not None:
            return self.graph.views[i]
        return self.usage_only.get(node_id)

    def in_edges(self, node_id: str, *kinds: EdgeKind) -> list[EdgeView]:
        # `_value_` is the member's plain attribute: no enum descriptor per call.
        return self.adj.in_edges(node_id, [k._value_ for k in kinds] if kinds else None)

    def out_edges(self, node_id: str, *kinds: EdgeKind) -> list[EdgeView]:
        return self.adj.out_edges(node_id, [k._value_ for k in kinds] if kinds else None)

    def kind_of(self, node_id: str) -> str | None:
        if self._indexed:
            i = self.graph.index.get(node_id)
            if i is not None:
                return self.adj.kind_at(i)
        v = self.node(node_id)
        return v.kind if v else None

    def edge_dicts(self, node_id: str, kind: EdgeKind, out: bool = True) -> list[dict[str, Any]]:
        """edge_dict of node_id's out-edges (or in-edges) of one kind, in edge order."""
        if self._indexed:
            i = self.graph.index.get(node_id)
            return [] if i is None else self.adj.edge_dicts(i, kind._value_, out)
        return [edge_dict(e) for e in (self.out_edges(node_id, kind) if out else self.in_edges(node_id, kind))]

    def _src_ids(self, node_id: str, kind: EdgeKind) -> list[str]:
        """The sources of node_id's in-edges of one kind, in edge order."""
        if self._indexed:
            return self.adj.in_ids(node_id, kind._value_)
        return [e.src for e in self.in_edges(node_id, kind)]

    def _dst_ids(self, node_id: str, kind: EdgeKind) -> list[str]:
        """The targets of node_id's out-edges of one kind, in edge order."""
        if self._indexed:
            return self.adj.out_ids(node_id, kind._value_)
        return [e.dst for e in self.out_edges(node_id, kind)]

    # --- owners and people ----------------------------------------------------
    def _memo(self, name: str, key: str, compute):
        table = self.__dict__.setdefault("_memo_" + name, {})
        if key not in table:
            table[key] = compute()
        return table[key]

    def owners(self, node_id: str) -> list[str]:
        table = self.__dict__.setdefault("_memo_owners", {})
        found = table.get(node_id)
        if found is None:
            if self._indexed:
                found = table[node_id] = list(self._owner_resolver.owners(node_id))
            else:
                found = table[node_id] = owners_of(self.adj, node_id)
        return found

    @cached_property
    def _owner_resolver(self):
        resolver = resolver_for(self.graph)
        if resolver is not None and self._indexed:
            resolver.prime()        # a rule pass asks for most nodes' owners
        return resolver

    def person_of(self, node_id: str) -> str | None:
        """The person behind a person or account node."""
        table = self.__dict__.setdefault("_memo_person_of", {})
        if node_id not in table:
            table[node_id] = self._person_of(node_id)
        return table[node_id]

    def _person_of(self, node_id: str) -> str | None:
        kind = self.kind_of(node_id)
        if kind == _KIND_Person:
            return node_id
        if kind == _KIND_Account:
            people = sorted(p for p in self._src_ids(node_id, K.HAS_ACCOUNT)
                            if self.kind_of(p) == _KIND_Person)
            return people[0] if people else None
        return None

    def person_status(self, person_id: str) -> tuple[str, str | None]:
        v = self.node(person_id)
        if v is None:
            return "unverified", None
        if v.kind != _KIND_Person:
            # An owning account no person is linked to: nobody an IdP vouches for.
            return "unverified", None
        return str(v.properties.get("status", "unverified")), v.properties.get("deactivated_at")

    def owner_people(self, node_id: str) -> list[OwnerFact]:
        table = self.__dict__.setdefault("_memo_owner_people", {})
        found = table.get(node_id)
        if found is None:
            found = table[node_id] = self._owner_people(node_id)
        return found

    def _owner_people(self, node_id: str) -> list[OwnerFact]:
        owners = self.owners(node_id)
        per_owner = self.__dict__.setdefault("_memo_people_for_owner", {})
        if len(owners) == 1:
            # One owner (the common case): its people, already distinct and sorted...
            facts = per_owner.get(owners[0])
            if facts is None:
                facts = per_owner[owners[0]] = self._people_for_owner(owners[0])
            if all(a.person < b.person for a, b in zip(facts, facts[1:])):
                return list(facts)
        out: dict[str, OwnerFact] = {}
        for owner in owners:
            facts = per_owner.get(owner)
            if facts is None:
                facts = per_owner[owner] = self._people_for_owner(owner)
            for fact in facts:
                out.setdefault(fact.person, fact)
        return [out[k] for k in sorted(out)]

    def _people_for_owner(self, owner: str) -> list[OwnerFact]:
        """The people one resolved owner stands for (a team: its named owners, else its
        members), with their status: the same for every node that owner owns."""
        kind = self.kind_of(owner)
        people = [owner]
        if kind == _KIND_Team:
            named = sorted({self.person_of(s) or s for s in self._src_ids(owner, K.OWNS)})
            # Members only matter when no one is named (a big team has thousands).
            members = [] if named else sorted({p for p in map(self.person_of, self._src_ids(owner, K.MEMBER_OF))
                                               if p})
            people = named or members or [owner]
        facts = []
        for p in people:
            status, deactivated = self.person_status(p)
            if self.kind_of(p) == _KIND_Team:
                status = "unverified"
            facts.append(OwnerFact(p, status, deactivated, owner))
        return facts

    def people_of_owner(self, owner: str) -> list[OwnerFact]:
        """The people one resolved owner stands for (a team: its named owners, else its
        members), each with their status; memoised with owner_people's table."""
        per_owner = self.__dict__.setdefault("_memo_people_for_owner", {})
        found = per_owner.get(owner)
        if found is None:
            found = per_owner[owner] = self._people_for_owner(owner)
        return found

    def departed_owners(self, node_id: str) -> list[OwnerFact]:
        """Every departed person a node's ownership resolves to, with a known departure
        time: a person owner who left, and the people of an owning team when none of
        that team's people is active (a team one owner of which left keeps the others)."""
        out: dict[str, OwnerFact] = {}
        for owner in self.owners(node_id):
            group = self.people_of_owner(owner)
            if owner not in {o.person for o in group} and any(o.status == "active" for o in group):
                continue
            for o in group:
                if o.status == "inactive" and o.deactivated_at:
                    out.setdefault(o.person, o)
        return [out[k] for k in sorted(out)]

    def owner_status(self, node_id: str) -> str:
        """The best status among resolved owners: active, unverified, inactive, or none."""
        statuses = {o.status for o in self.owner_people(node_id)}
        for s in ("active", "unverified", "inactive"):
            if s in statuses:
                return s
        return "none"

    # --- holders and environments -------------------------------------------
    def holders(self, node_id: str) -> list[Holder]:
        out: dict[str, Holder] = {}
        for e in self.in_edges(node_id, K.HOLDS):
            v = self.node(e.src)
            if v is None:
                continue
            person = self.person_of(e.src)
            env = self.envs.normalise(v.properties.get("environment")) if v.kind != _KIND_Person else None
            key = person or e.src
            out.setdefault(key, Holder(e.src if not person else person, v.kind if not person else
                                       _KIND_Person, person, env, "HOLDS"))
        # Usage rows name the account a vendor attributes a key's calls to; that is
        # usually the key's own user (OpenAI user keys, LiteLLM user_id), which is its
        # owner, not a second party sharing it.
        owners = set(self.owners(node_id))
        for acct in self.usage_accounts(node_id):
            person = self.person_of(acct)
            if acct in owners or (person is not None and person in owners):
                continue
            kind = self.kind_of(acct) or _KIND_Account
            key = person or acct
            if key not in out:
                out[key] = Holder(person or acct, _KIND_Person if person else kind, person, None, "usage")
        return [out[k] for k in sorted(out)]

    def environments(self, node_id: str) -> dict[str, list[str]]:
        """{environment: [where it comes from]} for a credential: its own `environment`,
        its project's, and each holder's (tools and service accounts state one)."""
        out: dict[str, set[str]] = defaultdict(set)
        v = self.node(node_id)
        if v is not None:
            meta = v.properties.get("metadata")     # LiteLLM keys carry it in their metadata
            env = self.envs.normalise(v.properties.get("environment") or
                                      (meta.get("environment") if isinstance(meta, dict) else None))
            if env:
                out[env].add(node_id)
        for e in self.out_edges(node_id, K.MEMBER_OF):
            p = self.node(e.dst)
            if p is not None and p.kind == _KIND_Project:
                env = self.envs.normalise(p.properties.get("environment"))
                if env:
                    out[env].add(p.id)
        for h in self.holders(node_id):
            if h.environment:
                out[h.environment].add(h.id)
        return {k: sorted(out[k]) for k in sorted(out)}

    # --- usage -----------------------------------------------------------------
    @cached_property
    def _usage(self) -> UsageIndex:
        # Read once as columns and priced by engine.spend.priced_usage's rule, so
        # findings and `spend` agree to the cent; records are built only for the rows
        # someone looks at. Usage after "now" is the future of a replay (--as-of):
        # rules do not see it.
        end = self.as_of.date() if self.as_of is not None else None
        return UsageIndex(self.engine.store.usage_columns(None, end), self.prices)

    @cached_property
    def usage(self) -> list[UsageRecord]:
        u = self._usage
        return [u.record(i) for i in range(u.n)]

    @cached_property
    def prices(self):
        from ..pricing import PriceBook
        return PriceBook.for_store(self.engine.store)

    def row_usd(self, row: UsageRecord) -> float | None:
        """USD of a usage row: the vendor's figure, else tokens x price; None unpriced."""
        known = self._usage.usd_of_record
        key = id(row)
        if key in known:
            return known[key]
        if row.vendor_usd is not None:
            return float(row.vendor_usd)
        price = self.prices.lookup(row.model)
        if price is None:
            return None
        return price.usd(row.input_tokens, row.output_tokens, row.cached_input_tokens,
                         int((row.properties or {}).get("cache_creation_input_tokens") or 0))

    @cached_property
    def usage_by_credential(self) -> Mapping[str, list[UsageRecord]]:
        return RowsBy(self._usage, self._usage.by_credential)

    @cached_property
    def usage_by_subject(self) -> Mapping[str, list[UsageRecord]]:
        return RowsBy(self._usage, self._usage.by_subject)

    def usage_rows(self, node_id: str) -> list[UsageRecord]:
        return self.usage_by_subject.get(node_id, [])

    @cached_property
    def usage_by_account(self) -> Mapping[str, list[UsageRecord]]:
        """Rows by the account a vendor attributes them to (OpenAI user_id, LiteLLM
        user), whatever key they were made with: an account's own activity."""
        return RowsBy(self._usage, self._usage.by_account)

    def usage_rows_naming(self, node_id: str) -> list[UsageRecord]:
        """Usage rows made with a credential or attributed to an account."""
        seen = {id(r): r for r in self.usage_by_credential.get(node_id, [])}
        for r in self.usage_by_account.get(node_id, []):
            seen.setdefault(id(r), r)
        return list(seen.values())

    def has_usage(self, node_id: str) -> bool:
        return node_id in self._usage.by_subject.of

    def usage_projects(self, node_id: str) -> list[str]:
        """Projects (or workspaces) the usage rows of a subject name, sorted."""
        u = self._usage
        project = u.cols.project_id
        return sorted({project[i] for i in u.by_subject.rows(node_id) if project[i]})

    def usage_summary(self, node_id: str) -> dict[str, Any] | None:
        """A subject's usage in one dict (usd, days, first_day, last_day, models,
        requests, sources); None without usage."""
        u = self._usage
        rows = u.by_subject.rows(node_id)
        if not rows:
            return None
        c = u.cols
        days = sorted({c.day[i] for i in rows})
        return _say_unpriced({"usd": round(self._subject_usd(None).get(node_id, 0.0), 2), "days": len(days),
                              "first_day": days[0], "last_day": days[-1],
                              "models": sorted({c.model[i] for i in rows}),
                              "requests": sum(c.requests[i] for i in rows),
                              "sources": sorted({c.source[i] for i in rows})},
                             {c.model[i] for i in rows if not u.priced_list[i]})

    def usage_summaries(self):
        """usage_summary as a function: the same sets and sums, each column of a
        subject's rows gathered in one step (operator.itemgetter) instead of row by row."""
        u = self._usage
        c = u.cols
        rows_of = u.by_subject.rows
        usd = self._subject_usd(None)
        day, model, source, requests = c.day, c.model, c.source, c.requests
        priced = u.priced_list

        def summary(node_id: str) -> dict[str, Any] | None:
            rows = rows_of(node_id)
            if not rows:
                return None
            if len(rows) == 1:
                i = rows[0]
                return _say_unpriced({"usd": round(usd.get(node_id, 0.0), 2), "days": 1, "first_day": day[i],
                                      "last_day": day[i], "models": [model[i]], "requests": sum((requests[i],)),
                                      "sources": [source[i]]}, () if priced[i] else (model[i],))
            pick = itemgetter(*rows)
            days = sorted(set(pick(day)))
            return _say_unpriced({"usd": round(usd.get(node_id, 0.0), 2), "days": len(days), "first_day": days[0],
                                  "last_day": days[-1], "models": sorted(set(pick(model))),
                                  "requests": sum(pick(requests)), "sources": sorted(set(pick(source)))},
                                 () if all(pick(priced)) else
                                 {m for m, p in zip(pick(model), pick(priced)) if not p})
        return summary

    def usage_projects_all(self):
        """usage_projects as a function, a subject's project column gathered in one step."""
        u = self._usage
        project = u.cols.project_id
        rows_of = u.by_subject.rows

        def projects(node_id: str) -> list[str]:
            rows = rows_of(node_id)
            if len(rows) > 1:
                return sorted({p for p in itemgetter(*rows)(project) if p})
            return sorted({project[i] for i in rows if project[i]})
        return projects

    def recent_usage(self, node_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The last `limit` usage rows of a subject by (day, model), as evidence."""
        u = self._usage
        # Stable: rows tied on (day, model) keep their stored order, as a sort of records would.
        rows = sorted(u.by_subject.rows(node_id), key=u.day_model_rank.__getitem__)
        return u.row_dicts(rows[-limit:]) if limit else []

    def usage_accounts(self, node_id: str) -> list[str]:
        """Accounts the usage rows of a credential name, sorted."""
        u = self._usage
        account = u.cols.account_id
        return sorted({account[i] for i in u.by_credential.rows(node_id) if account[i]})

    def daily_by_model(self, node_id: str) -> dict[tuple[date, str], dict[str, Any]]:
        table = self.__dict__.setdefault("_memo_daily", {})
        cells = table.get(node_id)
        if cells is None:
            cells = table[node_id] = self._daily_cells(node_id)
        return cells

    def _daily_cells(self, node_id: str) -> dict[tuple[date, str], dict[str, Any]]:
        # The credential's rows in stored order: each cell adds its rows in that order.
        u = self._usage
        c = u.cols
        usd, priced, dates, model = u.usd_list, u.priced_list, u.dates, c.model
        cells: dict[tuple[date, str], dict[str, Any]] = {}
        for i in u.by_credential.rows(node_id):
            key = (dates[i], model[i])
            cell = cells.get(key)
            if cell is None:
                cell = cells[key] = {"usd": 0.0, "unpriced": False, "input_tokens": 0,
                                     "output_tokens": 0, "requests": 0}
            if priced[i]:
                cell["usd"] += usd[i]
            else:
                cell["unpriced"] = True
            cell["input_tokens"] += c.input_tokens[i]
            cell["output_tokens"] += c.output_tokens[i]
            cell["requests"] += c.requests[i]
        return cells

    def daily_usd(self, node_id: str) -> dict[date, float]:
        out: dict[date, float] = defaultdict(float)
        for (day, _), cell in self.daily_by_model(node_id).items():
            out[day] += cell["usd"]
        return dict(sorted(out.items()))

    def first_use(self, node_id: str) -> dict[str, date]:
        out: dict[str, date] = {}
        for (day, model), cell in self.daily_by_model(node_id).items():
            if cell["requests"] or cell["input_tokens"] or cell["output_tokens"] or cell["usd"]:
                m = normalise_model(model)
                if m not in out or day < out[m]:
                    out[m] = day
        return dict(sorted(out.items()))

    def last_usage_day(self, node_id: str) -> date | None:
        day = self._last_day_by_subject.get(node_id)
        return day if day is not None else self._last_day_by_credential.get(node_id)

    def _last_days(self, groups) -> dict[str, date]:
        u = self._usage
        if not groups.names:
            return {}
        ordinal = u.ordinal[groups.order]
        last = np.maximum.reduceat(ordinal, groups.bounds[:-1])
        return dict(zip(groups.names, map(date.fromordinal, last.tolist())))

    @cached_property
    def _last_day_by_subject(self) -> dict[str, date]:
        return self._last_days(self._usage.by_subject)

    @cached_property
    def _last_day_by_credential(self) -> dict[str, date]:
        return self._last_days(self._usage.by_credential)

    def _subject_usd(self, start: date | None) -> dict[str, float]:
        """{subject: USD of its rows from `start` on}, each added in row order."""
        table = self.__dict__.setdefault("_memo_subject_usd", {})
        found = table.get(start)
        if found is None:
            u = self._usage
            mask = None if start is None else u.ordinal >= start.toordinal()
            found = table[start] = dict(zip(u.by_subject.names, u.by_subject.sums(u.usd, mask).tolist()))
        return found

    def spend_usd(self, node_id: str, days: int | None = None) -> float:
        start = None
        if days is not None and self.as_of is not None:
            start = self.as_of.date() - timedelta(days=days - 1)
        return round(self._subject_usd(start).get(node_id, 0.0), 6)

    # --- grants, exposures, budgets, claims ----------------------------------
    @cached_property
    def _clients_by_native_id(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for c in self.graph.by_kind.get(_KIND_OAuthClient, []):
            out[c.rsplit(":", 1)[-1]].append(c)
        return out

    def grant(self, node_id: str) -> GrantFact:
        table = self.__dict__.setdefault("_memo_grant", {})
        found = table.get(node_id)
        if found is None:
            found = table[node_id] = self._grant(node_id)
        return found

    def grants_in_bulk(self, views: list[NodeView]) -> list[GrantFact]:
        """grant(v.id) for each of these OAuth grant views, worked out in one pass over
        the per-kind edge tables (the embedded facts only; the answers are _grant's,
        and each is kept where grant() finds it)."""
        table = self.__dict__.setdefault("_memo_grant", {})
        if not self._indexed:
            return [self.grant(v.id) for v in views]
        index = self.graph.index
        neighbours = self._client_neighbours
        adj = self.adj
        grants_out = adj.out_table(_GRANTS)
        consented_in = adj.in_table(_CONSENTED)
        ids = self.graph.ids
        client_nodes = self.__dict__.setdefault("_memo_client_nodes", {})
        client_texts = self.__dict__.setdefault("_memo_client_texts", {})
        node = self.node
        split = _split_scopes_memo
        out: list[GrantFact] = []
        for v in views:
            nid = v.id
            found = table.get(nid)
            if found is not None:
                out.append(found)
                continue
            i = index[nid]
            props = v.properties
            get = props.get
            client_id = get("client_id") or get("clientId")
            texts = [str(x) for x in (v.name, get("client_name"), get("displayText"), get("clientName"),
                                      get("app_name")) if x]
            least = neighbours.get(i)
            candidates = [] if least is None else [ids[least]]
            if client_id:
                key = str(client_id)
                named = client_nodes.get(key)
                if named is None:
                    named = client_nodes[key] = self._client_nodes(key)
                candidates += named
            client_node = None
            if candidates:
                client_node = min(candidates)
                more = client_texts.get(client_node)
                if more is None:
                    more = client_texts[client_node] = self._client_texts(client_node)
                texts += more
            client_name = get("client_name") or get("displayText") or (
                node(client_node).name if client_node and node(client_node) else None)
            scopes: list[str] = []
            for key in ("scopes", "scope", "scopeId", "scope_id", "permissions"):
                value = get(key)
                if value is not None:
                    scopes.extend(split(value))
            opens = adj.edge_dicts(i, _GRANTS, True) if i in grants_out.ranges else []
            for d in opens:
                scopes.extend(split(d.get("properties", {}).get("scopes")))
            r = consented_in.ranges.get(i)
            consented = sorted([ids[j] for j in consented_in.nbrs[r[0]:r[1]]]) if r is not None else []
            found = table[nid] = GrantFact(id=nid, scopes=_sorted_scopes(scopes),
                                           client_id=str(client_id) if client_id else None,
                                           client_name=client_name, client_node=client_node,
                                           consented_by=consented, opens=opens, texts=texts)
            out.append(found)
        return out

    def grant_client(self, node_id: str) -> tuple[str | None, str | None, str | None, list[str]]:
        """(client id, client name, client node, texts) of an OAuth grant: what its
        client is known by, without its scopes and edges (grant() adds those)."""
        built = self.__dict__.get("_memo_grant", {}).get(node_id)
        if built is not None:
            return built.client_id, built.client_name, built.client_node, built.texts
        return self._memo("grant_client", node_id, lambda: self._grant_client(node_id)[:4])

    def _grant_client(self, node_id: str):
        v = self.node(node_id)
        props = v.properties if v else {}
        client_id = props.get("client_id") or props.get("clientId")
        client_node = None
        texts = [str(x) for x in (v.name if v else None, props.get("client_name"), props.get("displayText"),
                                  props.get("clientName"), props.get("app_name")) if x]
        i = self.graph.index.get(node_id) if self._indexed else None
        if i is not None:
            # Client neighbours of every node found in one pass over the edge arrays;
            # _grant reads the two edge kinds it needs itself.
            outs = ins = None
            least = self._client_neighbours.get(i)
            candidates = [] if least is None else [self.graph.ids[least]]
        else:
            outs = self.out_edges(node_id)     # (every kind; a store's facts may answer these)
            ins = self.in_edges(node_id)
            candidates = [e.dst for e in outs if self.kind_of(e.dst) == _KIND_OAuthClient]
            candidates += [e.src for e in ins if e.kind != _CONSENTED and self.kind_of(e.src) in _CLIENT_KINDS]
        if client_id:
            candidates += self._memo("client_nodes", str(client_id),
                                     lambda: self._client_nodes(str(client_id)))
        if candidates:
            client_node = min(candidates)
            texts += self._memo("client_texts", client_node, lambda: self._client_texts(client_node))
        client_name = props.get("client_name") or props.get("displayText") \
            or (self.node(client_node).name if client_node and self.node(client_node) else None)
        return (str(client_id) if client_id else None, client_name, client_node, texts, props, outs, ins)

    @cached_property
    def _client_neighbours(self) -> dict[int, int]:
        """{node index: the least index among the OAuth clients it has an edge to and
        the OAuth clients and service accounts with an edge other than CONSENTED into
        it}: the one of _grant_client's edge-walk candidates that can be the least id
        (graph ids are sorted, so the least index is the least id)."""
        g = self.graph
        kinds = g.kinds
        src, dst, ekind = g.e_src, g.e_dst, g.e_kind
        client = KIND_CODES[_KIND_OAuthClient]
        holders = np.isin(kinds, [KIND_CODES[k] for k in _CLIENT_KINDS])
        out_hit = np.nonzero(kinds[dst] == client)[0]
        in_hit = np.nonzero(holders[src] & (ekind != _CONSENTED_CODE))[0]
        node = np.concatenate([src[out_hit], dst[in_hit]]).astype(np.int64)
        other = np.concatenate([dst[out_hit], src[in_hit]]).astype(np.int64)
        if not len(node):
            return {}
        order = np.lexsort((other, node))
        node, other = node[order], other[order]
        first = np.ones(len(node), dtype=bool)
        first[1:] = node[1:] != node[:-1]
        return dict(zip(node[first].tolist(), other[first].tolist()))

    def _grant(self, node_id: str) -> GrantFact:
        client_id, client_name, client_node, texts, props, outs, ins = self._grant_client(node_id)
        scopes: list[str] = []
        for key in ("scopes", "scope", "scopeId", "scope_id", "permissions"):
            value = props.get(key)
            if value is not None:
                scopes.extend(_split_scopes(value))
        opens = []
        if outs is None:
            opens = self.edge_dicts(node_id, K.GRANTS)
            for d in opens:
                scopes.extend(_split_scopes(d.get("properties", {}).get("scopes")))
        else:
            for e in outs:
                if e.kind == _GRANTS:
                    scopes.extend(_split_scopes(e.properties.get("scopes")))
                    opens.append(edge_dict(e))
        consented = sorted(self._src_ids(node_id, K.CONSENTED) if ins is None else
                           (e.src for e in ins if e.kind == _CONSENTED))
        scopes = sorted(set(scopes))
        return GrantFact(id=node_id, scopes=scopes, client_id=client_id, client_name=client_name,
                         client_node=client_node, consented_by=consented, opens=opens, texts=texts)

    def _client_nodes(self, client_id: str) -> list[str]:
        """OAuth client nodes a native client id names (many grants share a client)."""
        found = list(self._clients_by_native_id.get(client_id, []))
        for prefix in ("msgraph:service_principal:", "google:oauth_client:", "okta:app:", "github:app:"):
            if self.node(prefix + client_id) is not None:
                found.append(prefix + client_id)
        return found

    def _client_texts(self, client_node: str) -> list[str]:
        cv = self.node(client_node)
        if cv is None:
            return []
        return [str(x) for x in (cv.name, *(cv.properties.get(k) for k in (
            "displayName", "appDisplayName", "publisherName", "homepage", "homepageUrl",
            "publisherDomain", "verifiedPublisher", "website", "label", "url", "client_name",
            "replyUrls", "app_display_name", "publisher", "publisher_name", "homepage_url",
            "publisher_domain", "reply_urls"))) if x]

    def exposures(self, node_id: str) -> list[tuple[EdgeView, NodeView | None]]:
        return [(e, self.node(e.dst)) for e in sorted(self.out_edges(node_id, K.EXPOSED_IN),
                                                       key=lambda e: e.dst)]

    def budgets_above(self, node_id: str) -> list[Budget]:
        """Budget caps on the credential, the tools holding it, its project(s), the
        teams those belong to, and the teams that own it (LiteLLM `max_budget`,
        inventory `budget_usd_month`, a `budget_usd`/`hard_limit_usd` a source states)."""
        out: list[Budget] = []
        seen: set[str] = set()
        todo = [node_id]
        todo += [h for h in self._src_ids(node_id, K.HOLDS) if self.kind_of(h) == _KIND_AITool]
        todo += [o for o in self.owners(node_id) if self.kind_of(o) == _KIND_Team]
        # Everything within 3 MEMBER_OF hops (to projects and teams) of those: the
        # hops above a project or team are the same for every key in it, so memoised.
        for n in dict.fromkeys(todo):
            seen |= self._member_of_within(n, 3)
        table = self.__dict__.setdefault("_memo_budgets_of", {})
        for n in seen:
            found = table.get(n)
            if found is None:
                v = self.node(n)
                found = table[n] = _budgets_of(v) if v is not None else []
            out.extend(found)
        return sorted(out, key=lambda b: (b.node_id, b.field)) if out else out

    def has_budget_above(self, node_id: str) -> bool:
        """bool(budgets_above(node_id)), without collecting the caps: whether any node
        budgets_above looks at states one (each project or team's answer per hop count
        worked out once)."""
        if not self._indexed:
            return bool(self.budgets_above(node_id))
        i = self.graph.index.get(node_id)
        if i is None:
            v = self.node(node_id)
            return v is not None and bool(_budgets_of(v))
        adj = self.adj
        if self._budget_within(i, 3):
            return True
        for h in adj.in_nbrs(i, _HOLDS):
            if adj.kind_at(h) == _KIND_AITool and self._budget_within(h, 3):
                return True
        index = self.graph.index
        for o in self.owners(node_id):
            j = index.get(o)
            if j is not None and adj.kind_at(j) == _KIND_Team and self._budget_within(j, 3):
                return True
        return False

    def _budget_within(self, i: int, hops: int) -> bool:
        """Whether node i, or a project or team within `hops` MEMBER_OF edges above it,
        states a budget (_member_of_within's walk, by node index)."""
        table = self.__dict__.setdefault("_memo_budget_within", {})
        key = (i, hops)
        found = table.get(key)
        if found is None:
            caps = self.__dict__.setdefault("_memo_budgets_of", {})
            nid = self.graph.ids[i]
            own = caps.get(nid)
            if own is None:
                own = caps[nid] = _budgets_of(self.graph.views[i])
            found = bool(own)
            if not found and hops > 0:
                adj = self.adj
                for j in adj.out_nbrs(i, _MEMBER_OF):
                    if adj.kind_at(j) in _BUDGET_KINDS and self._budget_within(j, hops - 1):
                        found = True
                        break
            table[key] = found
        return found

    def _member_of_within(self, node_id: str, hops: int) -> frozenset:
        """node_id and the projects and teams within `hops` MEMBER_OF edges above it."""
        key = (node_id, hops)
        table = self.__dict__.setdefault("_memo_member_of_within", {})
        found = table.get(key)
        if found is None:
            up = {node_id}
            if hops > 0:
                for dst in self._dst_ids(node_id, K.MEMBER_OF):
                    if self.kind_of(dst) in _BUDGET_KINDS:
                        up |= self._member_of_within(dst, hops - 1)
            found = table[key] = frozenset(up)
        return found

    def is_approved_tool(self, node_id: str) -> bool:
        v = self.node(node_id)
        return (v is not None and v.kind == _KIND_AITool and v.active
                and v.properties.get("approved") is True)

    def claims(self, node_id: str) -> list[str]:
        """Approved inventory tools that claim a node: they hold it (a credential, an
        OAuth client, a grant) or hold a credential in it (a project or workspace)."""
        table = self.__dict__.setdefault("_memo_claims", {})
        found = table.get(node_id)
        if found is None:
            found = table[node_id] = self._claims(node_id)
        return found

    @cached_property
    def _approved_tool_indexes(self) -> frozenset:
        g = self.graph
        return frozenset(g.index[t] for t in g.by_kind.get(_KIND_AITool, []) if self.is_approved_tool(t))

    def _claims(self, node_id: str) -> list[str]:
        i = self.graph.index.get(node_id) if self._indexed else None
        if i is not None:
            # The same walk by node index: holders that are approved tools, and for a
            # project the claims of its member credentials.
            adj, ids, approved = self.adj, self.graph.ids, self._approved_tool_indexes
            tools = {ids[h] for h in adj.in_nbrs(i, _HOLDS) if h in approved}
            if adj.kind_at(i) == _KIND_Project:
                for m in adj.in_nbrs(i, _MEMBER_OF):
                    if adj.kind_at(m) == _KIND_Credential:
                        tools.update(self.claims(ids[m]))
            return sorted(tools)
        tools = {h for h in self._src_ids(node_id, K.HOLDS) if self.is_approved_tool(h)}
        if self.kind_of(node_id) == _KIND_Project:
            for member in self._src_ids(node_id, K.MEMBER_OF):
                if self.kind_of(member) == _KIND_Credential:
                    tools.update(self.claims(member))
        return sorted(tools)

    def projects_of(self, node_id: str) -> list[str]:
        return sorted(d for d in self._dst_ids(node_id, K.MEMBER_OF) if self.kind_of(d) == _KIND_Project)

    # --- reach -----------------------------------------------------------------
    def reach(self, node_id: str, max_depth: int = 8):
        key = f"{node_id}@{max_depth}"
        if key not in self._reach:
            from ..traversal import NodeNotFound
            try:
                self._reach[key] = self.engine.store.blast_radius(node_id, max_depth)
            except NodeNotFound:        # a usage-only credential reaches nothing we know
                self._reach[key] = []
        return self._reach[key]

    @cached_property
    def _reach_level(self):
        """Per node index, the most sensitive data level within 8 hops: one reverse
        multi-source BFS per level over the traversable-edge index, instead of a blast
        radius per subject."""
        import numpy as np
        g = self.graph
        n = len(g.ids)
        level = np.zeros(n, dtype=np.int8)
        by_level: dict[int, list[int]] = defaultdict(list)
        for nid in g.by_kind.get(_KIND_DataSource, []):
            sens = str(g.views[g.index[nid]].properties.get("sensitivity") or "internal").lower()
            if sens in SENSITIVITY_ORDER:
                by_level[SENSITIVITY_ORDER.index(sens)].append(g.index[nid])
        for lvl in sorted(by_level):
            seen = np.zeros(n, dtype=bool)
            frontier = np.array(sorted(set(by_level[lvl])), dtype=np.int64)
            for _ in range(8):
                if not len(frontier):
                    break
                starts, ends = g.rev.indptr[frontier], g.rev.indptr[frontier + 1]
                counts = ends - starts
                if not counts.sum():
                    break
                idx = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
                nbrs = np.unique(g.rev.indices[idx])
                nbrs = nbrs[~seen[nbrs]]
                seen[nbrs] = True
                frontier = nbrs.astype(np.int64)
            level[seen] = np.maximum(level[seen], lvl)
        return level

    def reaches_level(self, node_id: str) -> str:
        """The most sensitive data-source level its blast radius (8 hops) reaches."""
        i = self.graph.index.get(node_id)
        return "none" if i is None else SENSITIVITY_ORDER[self._reach_level_list[i]]

    @cached_property
    def _reach_level_list(self) -> list[int]:
        # Read once per finding of most rules: a list item instead of a numpy scalar.
        return self._reach_level.tolist()

    def reaches_sensitivity(self, node_id: str) -> tuple[str, list[str]]:
        """The most sensitive data-source level its blast radius reaches, and those sources."""
        best = "none"
        where: list[str] = []
        for r in self.reach(node_id):
            v = self.node(r.node_id)
            if v is None or v.kind != _KIND_DataSource:
                continue
            level = str(v.properties.get("sensitivity") or "internal").lower()
            if level not in SENSITIVITY_ORDER:
                continue
            if SENSITIVITY_ORDER.index(level) > SENSITIVITY_ORDER.index(best):
                best, where = level, [r.node_id]
            elif level == best:
                where.append(r.node_id)
        return best, sorted(where)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _budgets_of(v: NodeView) -> list[Budget]:
    p = v.properties
    out = []
    month = _num(p.get("budget_usd_month"))
    if month is not None:
        out.append(Budget(v.id, "budget_usd_month", month, "month"))
    maxb = _num(p.get("max_budget"))
    if maxb is not None:
        out.append(Budget(v.id, "max_budget", maxb, str(p.get("budget_duration") or "total"),
                          spent=_num(p.get("spend")), resets_at=p.get("budget_reset_at")))
    for key in ("budget_usd", "hard_limit_usd"):
        val = _num(p.get(key))
        if val is not None:
            out.append(Budget(v.id, key, val, "month"))
    return out


def _say_unpriced(summary: dict[str, Any], unpriced) -> dict[str, Any]:
    """A usage summary with models that have no price says so (`price: unpriced` and
    which models): their USD is not in `usd`, never a silent $0."""
    if unpriced:
        summary["price"] = "unpriced"
        summary["unpriced_models"] = sorted(unpriced)
    return summary


def is_placeholder(view: NodeView) -> bool:
    """An id a sample only references (a grant's client, a group member, an alias no
    source lists): the graph keeps a stub for it, and no rule makes findings about it.
    (Keys that usage rows name but no listing does are `usage_only` subjects, not this.)"""
    props = view.properties
    return bool(props.get("stub")) and not props.get("usage_only")
