"""Spend by identity (contract): measured usage priced, attributed to owners.

USD of a usage row is the vendor's own figure when it states one (LiteLLM `spend`),
else tokens x price (engine.pricing). A row on a model with no price adds 0 USD but
is counted in `unpriced_requests` / `unpriced_tokens` and named in
`detail.unpriced_models` of every group it lands in: never a silent $0.

Attribution (deterministic, the same on every store because it reads only the Store
interface and the in-memory graph):

- the subject of a row is its credential, else the account it names;
- person: the subject's owner people (engine.ownership.owners_of: direct, else
  through the identity it acts as, else its project's owner); several owner people
  share it evenly;
- team: the owning team(s) when owners_of names a team, else each owner person's
  first inventory team. The store keeps no inventory order, so "first" is the
  lowest `team:<id>` the person is MEMBER_OF (else OWNS), by sorted id;
- tool: the AI tools holding the credential (HOLDS); several tools share evenly;
- environment: the credential's `environment`, else each holding tool's (per tool
  share), else null;
- project: the credential's `project_id`, else the row's project;
- model, credential: the row's own.

The store sums usage per (source, model, credential, project, account, vendor figure
or not) first (Store.usage_totals: one Cypher aggregation on Neo4j), and spend prices
those totals: prices depend on the model only, and pricing clamps per row before
summing, so a total's USD is its rows' USD up to float rounding, added in the same
order on every store.

Requests: a row whose vendor states no request count (`requests_known: false`, the
Anthropic messages usage report) adds none; rows say how many such usage rows they hold
(`requests_unknown_rows`, `requests_known`). groupBy credential rows name their callers
(`callers`: per usage-row account, with its person), beside the owner attribution.

What no rule places is the group with key null. Shares split USD (as whole
micro-dollars) and token/request counts as integers, remainders to the first keys
in sorted order, so every groupBy sums to exactly the same grand total.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .model import EdgeKind, NodeKind
from .store.base import NodeView

GROUP_BYS = ("person", "team", "credential", "tool", "project", "model", "environment")
_NULL_DETAIL_LIMIT = 50


@dataclass
class SpendRow:
    key: str | None
    usd: float
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    unpriced_requests: int = 0
    unpriced_tokens: int = 0
    detail: dict = field(default_factory=dict)
    # Stored usage rows whose vendor states no request count (Anthropic's messages usage
    # report): `requests` counts only the others, so it is a floor, not the number.
    requests_unknown_rows: int = 0
    unpriced_models: list = field(default_factory=list)
    # groupBy credential: who called it (usage rows' accounts: LiteLLM `end_user`,
    # OpenAI `user_id`...), each with its person when one resolves.
    callers: list | None = None

    @property
    def requests_known(self) -> bool:
        return self.requests_unknown_rows == 0


@dataclass(slots=True)
class PricedUsage:
    """One stored usage row with its USD (vendor figure or tokens x price)."""
    record: Any                  # engine.store.base.UsageRecord
    usd: float
    priced: bool                 # False: no vendor figure and no price; usd is 0
    price_source: str | None     # "vendor", "bundled:<date>", "inventory"


def priced_usage(engine, start: date | None = None, end: date | None = None) -> list[PricedUsage]:
    from .pricing import PriceBook
    book = PriceBook.for_store(engine.store)
    out = []
    append = out.append
    lookup = book.lookup
    for r in engine.store.usage(start, end):
        if r.vendor_usd is not None:
            append(PricedUsage(r, float(r.vendor_usd), True, "vendor"))
            continue
        price = lookup(r.model)
        if price is None:
            append(PricedUsage(r, 0.0, False, None))
            continue
        props = r.properties
        written = int(props.get("cache_creation_input_tokens") or 0) if props else 0
        append(PricedUsage(r, price.usd(r.input_tokens, r.output_tokens, r.cached_input_tokens, written),
                           True, price.source))
    return out


@dataclass
class _Acc:
    usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    unpriced_requests: int = 0
    unpriced_tokens: int = 0
    requests_unknown: int = 0
    unpriced_models: set = field(default_factory=set)
    subjects: set = field(default_factory=set)

    # USD is carried as whole micro-dollars once a subject's total is known, so that
    # splitting and regrouping lose nothing and every groupBy sums to the same total.
    usd_micros: int = 0

    _INTS = ("input_tokens", "output_tokens", "requests", "unpriced_requests", "unpriced_tokens",
             "usd_micros", "requests_unknown")

    def add_row(self, p: PricedUsage) -> None:
        r = p.record
        self.usd += p.usd
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        self.requests += r.requests
        if not p.priced:
            self.unpriced_requests += r.requests
            self.unpriced_tokens += r.input_tokens + r.output_tokens
            self.unpriced_models.add(r.model)

    def add_total(self, t, usd: float, priced: bool) -> None:
        """A engine.store.base.UsageTotal, priced (see priced_total)."""
        self.usd += usd
        self.input_tokens += t.input_tokens
        self.output_tokens += t.output_tokens
        self.requests += t.requests
        self.requests_unknown += t.requests_unknown
        if not priced:
            self.unpriced_requests += t.requests
            self.unpriced_tokens += t.input_tokens + t.output_tokens
            self.unpriced_models.add(t.model)

    def split(self, k: int) -> list["_Acc"]:
        """k shares: USD evenly, integers evenly with the remainder to the first shares."""
        parts = [_Acc(usd=self.usd / k, unpriced_models=set(self.unpriced_models),
                      subjects=set(self.subjects)) for _ in range(k)]
        for name in self._INTS:
            base, extra = divmod(getattr(self, name), k)
            for i, part in enumerate(parts):
                setattr(part, name, base + (1 if i < extra else 0))
        return parts

    def merge(self, other: "_Acc") -> None:
        self.usd += other.usd
        for name in self._INTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unpriced_models |= other.unpriced_models
        self.subjects |= other.subjects


class Attributor:
    """Answers, per subject, the keys each groupBy puts its spend under."""

    def __init__(self, engine):
        self.engine = engine
        self.graph = engine.graph()
        self._owners: dict[str, list[str]] = {}
        self._first_team: dict[str, str | None] = {}

    def _kind(self, node_id: str) -> str | None:
        view = self.graph.node_view(node_id)
        return view.kind if view is not None else None

    def owners(self, subject: str) -> list[str]:
        if subject not in self._owners:
            from .ownership import owners_of
            found: list[str] = []
            if self._kind(subject) == NodeKind.Account.value:
                # Usage an account made without a key is that account's person's.
                found = sorted(e.src for e in self.graph.in_edges(subject, {EdgeKind.HAS_ACCOUNT.value})
                               if self._kind(e.src) == NodeKind.Person.value)[:1]
            self._owners[subject] = found or owners_of(self.graph, subject)
        return self._owners[subject]

    def people(self, subject: str | None) -> list[str | None]:
        if subject is None:
            return [None]
        found = [o for o in self.owners(subject) if self._kind(o) == NodeKind.Person.value]
        return found or [None]

    def first_team(self, person: str) -> str | None:
        if person not in self._first_team:
            teams = []
            for kinds in ({EdgeKind.MEMBER_OF.value}, {EdgeKind.OWNS.value}):
                teams = sorted(e.dst for e in self.graph.out_edges(person, kinds)
                               if e.dst.startswith("team:"))
                if teams:
                    break
            self._first_team[person] = teams[0] if teams else None
        return self._first_team[person]

    def teams(self, subject: str | None) -> list[str | None]:
        if subject is None:
            return [None]
        owners = self.owners(subject)
        owning = [o for o in owners if self._kind(o) == NodeKind.Team.value]
        if owning:
            return owning
        people = [o for o in owners if self._kind(o) == NodeKind.Person.value]
        return [self.first_team(p) for p in people] or [None]

    def node_view(self, node_id: str) -> NodeView | None:
        return self.graph.node_view(node_id)

    def _holders(self, subject: str) -> set[str]:
        return {e.src for e in self.graph.in_edges(subject, {EdgeKind.HOLDS.value})}

    def tools(self, subject: str | None) -> list[str]:
        if subject is None:
            return []
        return sorted(h for h in self._holders(subject) if self._kind(h) == NodeKind.AITool.value)

    def environments(self, subject: str | None) -> list[str | None]:
        if subject is None:
            return [None]
        view = self.node_view(subject)
        env = view.properties.get("environment") if view is not None else None
        if env:
            return [str(env)]
        tools = self.tools(subject)
        if not tools:
            return [None]
        out = []
        for t in tools:
            tv = self.node_view(t)
            out.append(str(tv.properties["environment"]) if tv is not None
                       and tv.properties.get("environment") else None)
        return out

    def project(self, subject: str | None, row_project: str | None) -> list[str | None]:
        if subject is not None:
            view = self.node_view(subject)
            if view is not None and view.properties.get("project_id"):
                return [str(view.properties["project_id"])]
        return [row_project]

    def keys(self, group_by: str, subject: str | None, credential: str | None, model: str,
             row_project: str | None) -> list[str | None]:
        if group_by == "credential":
            return [credential]
        if group_by == "model":
            return [model]
        if group_by == "project":
            return self.project(subject, row_project)
        if group_by == "person":
            return self.people(subject)
        if group_by == "team":
            return self.teams(subject)
        if group_by == "tool":
            return self.tools(subject) or [None]
        if group_by == "environment":
            return self.environments(subject)
        raise ValueError(f"unknown groupBy {group_by!r} (one of {', '.join(GROUP_BYS)})")


def spend(engine, group_by: str, start: date | None = None, end: date | None = None) -> list[SpendRow]:
    return _cached(engine, "spend", _spend, group_by, start, end)


def _cached(engine, name: str, compute, group_by: str, start, end):
    """compute(engine, group_by, start, end), once per data generation."""
    if group_by not in GROUP_BYS:
        raise ValueError(f"unknown groupBy {group_by!r} (one of {', '.join(GROUP_BYS)})")
    if hasattr(engine, "cached"):
        return engine.cached(f"{name}:{group_by}:{start}:{end}", lambda: compute(engine, group_by, start, end))
    return compute(engine, group_by, start, end)


def priced_total(book, t) -> tuple[float, bool]:
    """(USD, priced) of a UsageTotal: the vendor figure when its rows state one, else
    its tokens x the model's price (Price.usd over the per-row-clamped sums, so the
    clamps are no-ops here); (0.0, False) when the model has no price."""
    if t.vendor:
        return t.vendor_usd, True
    price = book.lookup(t.model)
    if price is None:
        return 0.0, False
    return price.usd(t.priced_uncached + t.priced_cached + t.priced_written, t.priced_output,
                     t.priced_cached, t.priced_written), True


def _spend(engine, group_by: str, start, end) -> list[SpendRow]:
    from .pricing import PriceBook, bundled
    book = PriceBook.for_store(engine.store)
    # Usage comes summed per (source, credential, project, account, model, vendor) by
    # the store (in the database on Neo4j), always in the same order, so every store
    # adds the same floats in the same order. Then sum by what attribution depends
    # on, so owners are resolved once each.
    by_subject: dict[tuple, _Acc] = defaultdict(_Acc)
    callers: dict[str, dict[str | None, _Acc]] = defaultdict(lambda: defaultdict(_Acc))
    for t in engine.store.usage_totals(start, end):
        subject = t.credential_id or t.account_id
        acc = by_subject[(subject, t.credential_id, t.model, t.project_id)]
        usd, priced = priced_total(book, t)
        acc.add_total(t, usd, priced)
        if subject:
            acc.subjects.add(subject)
        if group_by == "credential" and t.credential_id:
            callers[t.credential_id][t.account_id].add_total(t, usd, priced)
    for acc in by_subject.values():
        acc.usd_micros = round(acc.usd * 1_000_000)
    # A store may answer attribution itself (Neo4j: Cypher, no in-memory graph).
    provider = getattr(engine.store, "spend_attributor", None)
    attrib = provider(engine) if provider is not None else Attributor(engine)
    groups: dict[str | None, _Acc] = defaultdict(_Acc)
    for (subject, credential, model, project), acc in sorted(
            by_subject.items(), key=lambda kv: tuple("" if x is None else x for x in kv[0])):
        keys = attrib.keys(group_by, subject, credential, model, project)
        ordered = sorted(keys, key=lambda k: (k is None, k or ""))
        for key, part in zip(ordered, acc.split(len(ordered))):
            groups[key].merge(part)
    as_of, _ = bundled()
    rows = []
    for key, acc in groups.items():
        detail: dict[str, Any] = {"unpriced_models": sorted(acc.unpriced_models),
                                  "subjects": len(acc.subjects), "price_table_as_of": as_of}
        if key is None:
            detail["unattributed"] = sorted(acc.subjects)[:_NULL_DETAIL_LIMIT]
        if acc.requests_unknown:
            detail["requests_unknown_rows"] = acc.requests_unknown
        row = SpendRow(key=key, usd=acc.usd_micros / 1_000_000, input_tokens=acc.input_tokens,
                       output_tokens=acc.output_tokens, requests=acc.requests,
                       unpriced_requests=acc.unpriced_requests, unpriced_tokens=acc.unpriced_tokens,
                       detail=detail, requests_unknown_rows=acc.requests_unknown,
                       unpriced_models=sorted(acc.unpriced_models))
        if group_by == "credential" and key is not None:
            row.callers = _callers(attrib, callers.get(key, {}))
            detail["callers"] = row.callers
        rows.append(row)
    rows.sort(key=lambda r: (-r.usd, r.key is None, r.key or ""))
    return rows


def _callers(attrib, by_account: dict[str | None, _Acc]) -> list[dict[str, Any]]:
    """Spend of one credential per caller (the usage rows' account), each with the
    person it resolves to (the account's person, an email's person); most spend first."""
    out = []
    for account, acc in by_account.items():
        person = None
        if account is not None:
            people = [k for k in attrib.keys("person", account, None, "", None) if k]
            person = people[0] if people else None
        out.append({"caller": account, "person": person, "usd": round(acc.usd, 6),
                    "input_tokens": acc.input_tokens, "output_tokens": acc.output_tokens,
                    "requests": acc.requests, "requests_unknown_rows": acc.requests_unknown,
                    "unpriced_models": sorted(acc.unpriced_models)})
    out.sort(key=lambda c: (-c["usd"], c["caller"] is None, c["caller"] or ""))
    return out


@dataclass
class SpendDay(SpendRow):
    """One group's spend on one UTC day (spend_daily); `detail` names unpriced models."""
    day: date | None = None


def spend_daily(engine, group_by: str, start: date | None = None, end: date | None = None) -> list[SpendDay]:
    """`spend` by day: each usage row priced as spend prices it and put under the
    same keys the same attribution gives it (a row several keys share is split
    evenly), summed per (day, key). Ordered by day, then key (null last). For charts:
    a day's shares are floats, so the days of a key sum to its `spend` row up to
    rounding, not to the micro-dollar."""
    return _cached(engine, "spend_daily", _spend_daily, group_by, start, end)


def _spend_daily(engine, group_by: str, start, end) -> list[SpendDay]:
    provider = getattr(engine.store, "spend_attributor", None)
    attrib = provider(engine) if provider is not None else Attributor(engine)
    keys_of: dict[tuple, list] = {}
    days: dict[tuple, _Acc] = defaultdict(_Acc)
    for p in priced_usage(engine, start, end):
        r = p.record
        subject = r.credential_id or r.account_id
        sig = (subject, r.credential_id, r.model, r.project_id)
        keys = keys_of.get(sig)
        if keys is None:
            keys = keys_of[sig] = attrib.keys(group_by, subject, r.credential_id, r.model, r.project_id)
        for key in keys:
            acc = days[(r.day, key)]
            n = len(keys)
            acc.usd += p.usd / n
            acc.input_tokens += r.input_tokens // n
            acc.output_tokens += r.output_tokens // n
            acc.requests += r.requests // n
            if not p.priced:
                acc.unpriced_requests += r.requests // n
                acc.unpriced_tokens += (r.input_tokens + r.output_tokens) // n
                acc.unpriced_models.add(r.model)
            if r.properties and r.properties.get("requests_known") is False:
                acc.requests_unknown += 1
    out = [SpendDay(day=d, key=k, usd=round(a.usd, 6), input_tokens=a.input_tokens,
                    output_tokens=a.output_tokens, requests=a.requests,
                    unpriced_requests=a.unpriced_requests, unpriced_tokens=a.unpriced_tokens,
                    detail={"unpriced_models": sorted(a.unpriced_models)},
                    requests_unknown_rows=a.requests_unknown, unpriced_models=sorted(a.unpriced_models))
           for (d, k), a in days.items()]
    out.sort(key=lambda x: (x.day, x.key is None, x.key or ""))
    return out


@dataclass
class Reconciliation:
    """Invoice-level cost beside measured spend for one vendor scope (project or
    workspace); the difference is spend no measured usage explains."""
    source: str
    scope: str | None
    invoice_usd: float
    measured_usd: float
    unpriced_requests: int = 0

    @property
    def difference_usd(self) -> float:
        return round(self.invoice_usd - self.measured_usd, 6)


def reconcile(engine, start: date | None = None, end: date | None = None) -> list[Reconciliation]:
    """Per source and scope: invoice costs (OpenAI costs, Anthropic cost_report) vs the
    measured spend of that source's usage in the same scope. Never adds the two."""
    provider = getattr(engine.store, "spend_attributor", None)   # Neo4j: views read with Cypher
    node_view = provider(engine).node_view if provider is not None else engine.graph().node_view
    invoice: dict[tuple, float] = defaultdict(float)
    for c in engine.store.costs(start, end):
        invoice[(c.source, c.scope_id)] += c.usd
    measured: dict[tuple, float] = defaultdict(float)
    unpriced: dict[tuple, int] = defaultdict(int)
    sources = {s for s, _ in invoice}
    for p in priced_usage(engine, start, end):
        r = p.record
        if r.source not in sources:
            continue
        scope = r.project_id
        if r.credential_id:
            view = node_view(r.credential_id)
            if view is not None and view.properties.get("project_id"):
                scope = view.properties["project_id"]
        measured[(r.source, scope)] += p.usd
        if not p.priced:
            unpriced[(r.source, scope)] += r.requests
    out = [Reconciliation(source=s, scope=scope, invoice_usd=round(invoice.get((s, scope), 0.0), 6),
                          measured_usd=round(measured.get((s, scope), 0.0), 6),
                          unpriced_requests=unpriced.get((s, scope), 0))
           for s, scope in set(invoice) | set(measured)]
    out.sort(key=lambda x: (x.source, -abs(x.difference_usd), x.scope or ""))
    return out


def activity(engine, start: date | None = None, end: date | None = None,
             actor: str | None = None, kind: str | None = None) -> list:
    """Per-person activity that is not spend (Claude Code sessions, lines, tool actions)."""
    rows = [a for a in engine.store.activity(start, end)
            if (actor is None or a.actor_id == actor) and (kind is None or a.kind == kind)]
    rows.sort(key=lambda a: (a.day, a.actor_id, a.kind))
    return rows
