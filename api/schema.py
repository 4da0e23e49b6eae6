"""The GraphQL schema (contract names from DESIGN.md). Resolvers are thin: each calls
one engine method and maps its dataclasses onto these types.

Conventions: every type and field is described; lists that grow with the org have a
Relay-style connection (`first`/`after`, `edges{cursor node}`, `nodes`, `totalCount`,
`pageInfo`); enums on output fields; `DateTime`/`Date` scalars. Arguments the
contract types as `String` stay `String`. The SDL is checked in as
api/schema.graphql (`burnpath schema`); tests fail when the two drift.
"""
from __future__ import annotations

import base64
import threading
import time
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Callable, Optional, Sequence, TypeVar

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.config import StrawberryConfig
from strawberry.scalars import JSON
from strawberry.types import Info

from engine.model import NodeKind as _NodeKind
from engine.service import BlastRadiusResult, Engine
from engine.store.base import NodeView, Reach as _Reach
from engine.traversal import NodeNotFound

from .context import context_of, engine_of, limits_of
from .errors import BAD_INPUT, LIMIT_EXCEEDED, NOT_FOUND, error
from .limits import Limits
from .redact import redact, redact_text
from .mutations import ApiToken, Mutation, api_tokens
from . import lookup_fields, spend_fields, time_fields, trace_types
from .risk_types import NodeOrder
from .time_fields import AS_OF_HELP, at_engine

# Defaults; the limits in force for a request come from its context (api.limits).
MAX_PAGE = Limits.max_page_size
DEFAULT_PAGE = Limits.default_page_size

__all__ = ["schema", "build_schema", "Query", "error", "engine_of", "page_size", "node_of"]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        value = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except Exception as exc:  # noqa: BLE001 - any malformed cursor is the caller's error
        raise error(f"invalid cursor {cursor!r}", BAD_INPUT) from exc
    if not value or encode_cursor(value) != cursor:
        raise error(f"invalid cursor {cursor!r}", BAD_INPUT)
    return value


def page_size(first: Optional[int], info: Optional[Info] = None) -> int:
    limits = limits_of(info) if info is not None else Limits()
    if first is None:
        return limits.default_page_size
    if first < 0:
        raise error("first must be 0 or more", BAD_INPUT)
    if first > limits.max_page_size:
        raise error(f"first={first} exceeds the page size cap of {limits.max_page_size}",
                    LIMIT_EXCEEDED, limit="max_page_size", value=first, maximum=limits.max_page_size)
    return first


def traversal_depth(max_depth: int, info: Optional[Info] = None) -> int:
    cap = (limits_of(info) if info is not None else Limits()).max_traversal_depth
    if max_depth < 0:
        raise error("maxDepth must be 0 or more", BAD_INPUT)
    if max_depth > cap:
        raise error(f"maxDepth={max_depth} exceeds the cap of {cap}", LIMIT_EXCEEDED,
                    limit="max_traversal_depth", value=max_depth, maximum=cap)
    return max_depth


def engine_at(info: Info) -> Engine:
    """The engine, after checking the request's deadline: every resolver that calls
    the engine starts here, so a query past its time limit stops at its next one."""
    ctx = context_of(info)
    ctx.check_deadline()
    return ctx.engine


def _ts(value) -> Optional[datetime]:
    from engine.derive import parse_ts
    return parse_ts(value)


from .scalars import BigInt, SCALARS  # noqa: E402 (shared with api.spend_fields)


# --- enums -----------------------------------------------------------------------

NodeKindEnum = strawberry.enum(_NodeKind, name="NodeKind", description="Kinds of node in the graph.")


@strawberry.enum(description="Access an attacker holding the source gains on a node.")
class AccessLevel(Enum):
    read = strawberry.enum_value("read", description="Can read it.")
    write = strawberry.enum_value("write", description="Can change it.")
    admin = strawberry.enum_value("admin", description="Full control, including over its access.")


@strawberry.enum(description="Finding severity.")
class Severity(Enum):
    critical = strawberry.enum_value("critical", description="Act now: live exposure or active abuse.")
    high = strawberry.enum_value("high", description="Act this week.")
    medium = strawberry.enum_value("medium", description="Plan a fix.")
    low = strawberry.enum_value("low", description="Hygiene.")


# --- nodes -----------------------------------------------------------------------

@strawberry.type(description="One reason in a risk score, with the points it adds (the weights add up to the score).")
class RiskFactor:
    reason: str = strawberry.field(description="Why points were added (a rule or graph fact).")
    weight: float = strawberry.field(description="Points this reason adds to the score (negative: taken off).")
    detail: Optional[JSON] = strawberry.field(default=None, description="Facts behind the reason.")
    name: str = strawberry.field(default="", description="The factor: severity, findings, reach_sensitivity, "
                                                         "blast_radius, spend_rate, owner_status, "
                                                         "identities_with_findings, departed_owner, inactive.")
    value: Optional[JSON] = strawberry.field(default=None, description="What the factor measured (a severity, a "
                                                                       "count, dollars an hour, a sensitivity).")


@strawberry.type(description="An explainable 0-100 risk score.")
class Risk:
    score: float = strawberry.field(description="0 (no known risk) to 100.")
    reasons: list[str] = strawberry.field(description="Each factor as text, with its points.")
    factors: list[RiskFactor] = strawberry.field(description="The factors the score sums.")


@strawberry.type(description="A node: a person, account, team, project, key, grant, tool, app or data source.")
class Node:
    view: strawberry.Private[NodeView]
    # Plain values (set by node_from) resolve faster than methods on long pages.
    id: strawberry.ID = strawberry.field(
        description="Node id, e.g. `openai:api_key:key_abc` or `person:ana@example.com`.")
    kind: NodeKindEnum = strawberry.field(description="The node kind (Person, Credential, ...).")
    name: Optional[str] = strawberry.field(description="Display name, when a source states one.")
    active: Optional[bool] = strawberry.field(
        description="False when the vendor says inactive, it expired, its project is archived, "
                    "it was removed, or (people) no identity provider account is active; null when "
                    "the source lists it without its status (properties.status `unknown`).")
    # The engine that produced the view (an `asOf` one), for the fields below; None: the request's.
    eng: strawberry.Private[Optional[Engine]] = None

    @strawberry.field(description="Every property the sources state (no secret values: only ids, "
                                  "redacted values, hints and hashes).")
    def properties(self) -> JSON:
        return redact(self.view.properties)

    @strawberry.field(description="Sources that state this node.")
    def sources(self) -> list[str]:
        return self.view.sources

    @strawberry.field(description="When the last source stating it re-synced without it.")
    def removed_at(self) -> Optional[datetime]:
        return _ts(self.view.removed_at)

    @strawberry.field(description="`properties.created_at` as a DateTime, when stated.")
    def created_at(self) -> Optional[datetime]:
        return _ts(self.view.properties.get("created_at"))

    @strawberry.field(description="`properties.last_used_at` as a DateTime, when stated.")
    def last_used_at(self) -> Optional[datetime]:
        return _ts(self.view.properties.get("last_used_at"))

    @strawberry.field(description="`properties.expires_at` as a DateTime, when stated.")
    def expires_at(self) -> Optional[datetime]:
        return _ts(self.view.properties.get("expires_at"))

    @strawberry.field(description="Resolved owners: direct, else through service account, project or team.")
    def owners(self, info: Info) -> list["Node"]:
        eng = self.eng or engine_at(info)
        return [node_from(v, self.eng) for v in eng.owners(self.view.id)]

    @strawberry.field(description="Risk score with its reasons: the most severe finding sets a band, everything "
                                  "else adds within it (docs/RISK.md); people roll up what they own and hold.")
    def risk(self, info: Info) -> Risk:
        from engine.risk import risk_of
        eng = engine_at(info)
        score = risk_of(self.eng or eng, self.view.id)
        return Risk(score=score.score, reasons=[redact_text(f"{f.reason} (+{f.weight:g})") for f in score.factors],
                    factors=[RiskFactor(reason=redact_text(f.reason), weight=f.weight, detail=redact(f.detail),
                                        name=f.name, value=redact(f.value)) for f in score.factors])


    @strawberry.field(description="When a source first stated it (history).")
    def first_seen(self, info: Info) -> Optional[datetime]:
        return time_fields.seen_of(self.eng or engine_at(info), self.view.id, "first_seen")

    @strawberry.field(description="The last ingest run that stated it (history).")
    def last_seen(self, info: Info) -> Optional[datetime]:
        return time_fields.seen_of(self.eng or engine_at(info), self.view.id, "last_seen")


def node_from(view: NodeView, eng: Optional[Engine] = None) -> Node:
    return Node(view=view, id=strawberry.ID(view.id), kind=_KINDS[view.kind],
                name=redact_text(view.name) if view.name else None, active=view.active, eng=eng)


def node_of(engine: Engine, node_id: str) -> Node:
    view = engine.node(node_id)
    if view is None:
        raise error(f"no node with id {node_id!r}", NOT_FOUND)
    return node_from(view, engine)


@strawberry.type(description="A node reached by a traversal, with how and how strongly.")
class Reach:
    r: strawberry.Private[_Reach]
    view: strawberry.Private[NodeView]
    # Plain values (set by reach_of) resolve faster than methods in long lists.
    id: strawberry.ID = strawberry.field(description="The reached node's id (same as `node.id`).")
    kind: NodeKindEnum = strawberry.field(description="The reached node's kind (same as `node.kind`).")
    name: Optional[str] = strawberry.field(description="The reached node's name (same as `node.name`).")
    active: Optional[bool] = strawberry.field(description="Whether the reached node is active (same as `node.active`).")
    depth: int = strawberry.field(description="Hops on the shortest path.")
    access: AccessLevel = strawberry.field(description="Strongest access any shortest path delivers.")
    eng: strawberry.Private[Optional[Engine]] = None

    @strawberry.field(description="The node reached.")
    def node(self) -> Node:
        return node_from(self.view, self.eng)

    @strawberry.field(description="One shortest path as node ids, from the traversal's start to its end.")
    def path(self) -> list[strawberry.ID]:
        return [strawberry.ID(p) for p in self.r.path]

    @strawberry.field(description="Edge kinds along `path` (one fewer than its nodes).")
    def path_edges(self) -> list[str]:
        return self.r.edge_kinds

    @strawberry.field(description="The reached node's properties (same as `node.properties`).")
    def properties(self) -> JSON:
        return redact(self.view.properties)


_KINDS = {k.value: k for k in _NodeKind}
_ACCESS = {a.value: a for a in AccessLevel}


def reach_of(r: _Reach, view: NodeView, eng: Optional[Engine] = None) -> Reach:
    return Reach(r=r, view=view, id=strawberry.ID(view.id), kind=_KINDS[view.kind],
                 name=redact_text(view.name) if view.name else None, active=view.active,
                 depth=r.depth, access=_ACCESS[r.access], eng=eng)


def reaches(engine: Engine, rs: Sequence[_Reach], kind: Optional[str] = None,
            info: Optional[Info] = None) -> list[Reach]:
    ctx = context_of(info) if info is not None else None
    out = []
    for i, r in enumerate(rs):
        if ctx is not None and i % 256 == 0:
            ctx.check_deadline()
        v = engine.node(r.node_id)
        if v is not None and (kind is None or v.kind == kind):
            out.append(reach_of(r, v, engine))
    return out


# --- connections -----------------------------------------------------------------

@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: Optional[str] = strawberry.field(description="Cursor of the first item on the page.")
    end_cursor: Optional[str] = strawberry.field(description="Cursor of the last item; pass as `after` for the next page.")


@strawberry.type(description="A node with its cursor.")
class NodeEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: Node = strawberry.field(description="The node.")


@strawberry.type(description="A page of nodes, ordered by id.")
class NodeConnection:
    nodes: list[Node] = strawberry.field(description="The nodes on this page.")
    edges: list[NodeEdge] = strawberry.field(description="The nodes on this page with their cursors.")
    total_count: int = strawberry.field(description="Nodes in the whole list, all pages.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


@strawberry.type(description="A reach with its cursor.")
class ReachEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: Reach = strawberry.field(description="The reach.")


@strawberry.type(description="A page of reaches, ordered by depth then node id.")
class ReachConnection:
    nodes: list[Reach] = strawberry.field(description="The reaches on this page.")
    edges: list[ReachEdge] = strawberry.field(description="The reaches on this page with their cursors.")
    total_count: int = strawberry.field(description="Reaches in the whole list, all pages.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


T = TypeVar("T")


def list_cursor(index: int, item_id: str) -> str:
    """Cursor into an in-memory result list: the position makes the next page O(1),
    the id checks it still points where it did (else the id is searched for)."""
    return encode_cursor(f"{index}:{item_id}")


def window_of(items: Sequence[T], key: Callable[[T], str], first: Optional[int], after: Optional[str],
            info: Optional[Info]) -> tuple[list[T], int, int]:
    """(page, start index, limit) of an in-memory list for a `first`/`after` request."""
    limit = page_size(first, info)
    start = 0
    if after:
        index, sep, wanted = decode_cursor(after).partition(":")
        if not sep or not index.isdigit():
            raise error(f"invalid cursor {after!r}", BAD_INPUT)
        pos = int(index)
        if pos < len(items) and key(items[pos]) == wanted:
            start = pos + 1
        else:
            start = next((i + 1 for i, item in enumerate(items) if key(item) == wanted), -1)
            if start < 0:
                raise error(f"cursor {after!r} is not in this result", BAD_INPUT)
    return list(items[start:start + limit]), start, limit


def page_info_of(start: int, count: int, total: int, cursors: list[str]) -> PageInfo:
    return PageInfo(has_next_page=start + count < total, has_previous_page=start > 0,
                    start_cursor=cursors[0] if cursors else None,
                    end_cursor=cursors[-1] if cursors else None)


def reach_connection(engine: Engine, rs: Sequence[_Reach], kind: Optional[str], first: Optional[int],
                     after: Optional[str], info: Info) -> ReachConnection:
    if kind is not None:
        _check_kind(kind)
        rs = [r for r in rs if (v := engine.node(r.node_id)) is not None and v.kind == kind]
    page, start, _ = window_of(rs, lambda r: r.node_id, first, after, info)
    edges = []
    for i, r in enumerate(page):
        view = engine.node(r.node_id)
        if view is not None:
            edges.append(ReachEdge(cursor=list_cursor(start + i, r.node_id), node=reach_of(r, view)))
    return ReachConnection(nodes=[e.node for e in edges], edges=edges, total_count=len(rs),
                           page_info=page_info_of(start, len(page), len(rs), [e.cursor for e in edges]))


def _check_kind(kind: str) -> None:
    if kind not in _NodeKind.__members__:
        raise error(f"unknown node kind {kind!r} (one of {', '.join(_NodeKind.__members__)})", BAD_INPUT)


@strawberry.type(description="What an attacker holding the source can reach.")
class BlastRadius:
    res: strawberry.Private[BlastRadiusResult]
    eng: strawberry.Private[Engine]
    # Every reach with its node view, looked up once however many fields ask.
    _all: strawberry.Private[Optional[list]] = None

    def _reaches(self, info: Info, kind: Optional[str] = None) -> list[Reach]:
        if self._all is None:
            self._all = reaches(self.eng, self.res.reachable, info=info)
        return self._all if kind is None else [x for x in self._all if x.view.kind == kind]

    @strawberry.field(description="The node the traversal starts from.")
    def source(self) -> Node:
        return node_from(self.res.source, self.eng)

    @strawberry.field(description="Every node reachable over traversable edges within maxDepth "
                                  "(ordered by depth, then id). `reachableConnection` pages it.")
    def reachable(self, info: Info) -> list[Reach]:
        return self._reaches(info)

    @strawberry.field(description="`reachable` as a cursor connection, optionally of one node kind.")
    def reachable_connection(
            self, info: Info,
            kind: Annotated[Optional[str], strawberry.argument(description="Only reaches of this NodeKind.")] = None,
            first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
            after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
    ) -> ReachConnection:
        return reach_connection(self.eng, self.res.reachable, kind, first, after, info)

    @strawberry.field(description="Reachable data sources.")
    def data_sources(self, info: Info) -> list[Reach]:
        return self._reaches(info, _NodeKind.DataSource.value)

    @strawberry.field(description="Reachable SaaS apps.")
    def saas_apps(self, info: Info) -> list[Reach]:
        return self._reaches(info, _NodeKind.SaaSApp.value)

    @strawberry.field(description="Reachable credentials.")
    def credentials(self, info: Info) -> list[Reach]:
        return self._reaches(info, _NodeKind.Credential.value)

    @strawberry.field(description="Dollars an hour the reachable active credentials could burn.")
    def spend_exposure_usd_per_hour(self) -> Optional[float]:
        return self.res.spend_exposure_usd_per_hour

    @strawberry.field(description="Per-credential basis of spendExposureUsdPerHour.")
    def spend_exposure_detail(self) -> JSON:
        return redact(self.res.exposure_detail)

    @strawberry.field(description="How many nodes are reachable.")
    def total_count(self) -> int:
        return len(self.res.reachable)

    @strawberry.field(description="The maxDepth the traversal used.")
    def max_depth(self) -> int:
        return self.res.max_depth


def _paginate_nodes(engine: Engine, kind: Optional[str], first: Optional[int],
                    after: Optional[str], info: Optional[Info] = None) -> NodeConnection:
    if kind is not None:
        _check_kind(kind)
    limit = page_size(first, info)
    offset = engine.store.first_index_after(kind, decode_cursor(after)) if after else 0
    views, total = engine.nodes(kind, offset, limit)
    edges = [NodeEdge(cursor=encode_cursor(v.id), node=node_from(v)) for v in views]
    return NodeConnection(nodes=[e.node for e in edges], edges=edges, total_count=total,
                          page_info=page_info_of(offset, len(views), total, [e.cursor for e in edges]))


def _ranked_ids(engine: Engine, kind: Optional[str], every_node: bool) -> list[str]:
    """Node ids by risk score, highest first (engine.risk.ranking, cached per data
    generation); with `every_node`, the nodes that are not scored follow by id."""
    from engine.risk import ranking
    ranked = [nid for nid, _ in ranking(engine, kind)]
    if not every_node:
        return ranked

    def build():
        scored = set(ranked)
        total = engine.nodes(kind, 0, 0)[1]
        rest = [v.id for v in engine.nodes(kind, 0, total)[0] if v.id not in scored]
        return ranked + rest
    return engine.cached(f"api:risk-order:{kind}:{engine.as_of}", build)


def _risk_connection(info: Info, kind: Optional[str], first: Optional[int], after: Optional[str],
                     every_node: bool) -> NodeConnection:
    if kind is not None:
        _check_kind(kind)
    page_size(first, info)
    eng = engine_at(info)
    ids = under_rule_pack_lock(info, lambda: _ranked_ids(eng, kind, every_node))
    page, start, _ = window_of(ids, lambda nid: nid, first, after, info)
    edges = []
    for i, nid in enumerate(page):
        view = eng.node(nid)
        if view is not None:
            edges.append(NodeEdge(cursor=list_cursor(start + i, nid), node=node_from(view)))
    return NodeConnection(nodes=[e.node for e in edges], edges=edges, total_count=len(ids),
                          page_info=page_info_of(start, len(page), len(ids), [e.cursor for e in edges]))


MAX_SEARCH = 200  # characters: a search is what a person types, not a document


def _search_nodes(engine: Engine, search: str, kind: Optional[str], first: Optional[int],
                  after: Optional[str], info: Optional[Info] = None) -> NodeConnection:
    if kind is not None:
        _check_kind(kind)
    if len(search) > MAX_SEARCH:
        raise error(f"search is longer than {MAX_SEARCH} characters", BAD_INPUT)
    limit = page_size(first, info)
    after_id = decode_cursor(after) if after else None
    # One more than the page tells whether another page follows.
    views, total = engine.store.search_nodes(search, kind, after_id, limit + 1)
    more, views = len(views) > limit, views[:limit]
    edges = [NodeEdge(cursor=encode_cursor(v.id), node=node_from(v)) for v in views]
    return NodeConnection(nodes=[e.node for e in edges], edges=edges, total_count=total,
                          page_info=PageInfo(has_next_page=more, has_previous_page=after_id is not None,
                                             start_cursor=edges[0].cursor if edges else None,
                                             end_cursor=edges[-1].cursor if edges else None))


# --- spend -----------------------------------------------------------------------

@strawberry.type(description="Spend for one group: measured usage priced (vendor figure where given).")
class SpendRow(spend_fields.SpendRowExtras):
    key: Optional[str] = strawberry.field(description="The group's id or name; null is spend no owner explains.")
    usd: float = strawberry.field(description="Measured spend in US dollars.")
    input_tokens: BigInt = strawberry.field(description="Input (prompt) tokens.")
    output_tokens: BigInt = strawberry.field(description="Output (completion) tokens.")
    requests: BigInt = strawberry.field(description="Requests (model calls).")
    unpriced_requests: BigInt = strawberry.field(description="Requests on models with no known price (not counted as $0).")
    unpriced_tokens: BigInt = strawberry.field(description="Tokens on models with no known price.")
    detail: JSON = strawberry.field(description="Breakdown behind the row (by source, model...).")


@strawberry.type(description="One group's spend on one UTC day (a row several groups share is split evenly; "
                             "`detail` names the day's unpriced models).")
class SpendDayRow(SpendRow):
    day: date = strawberry.field(description="The UTC day.")


def spend_row_of(r, cls=SpendRow, **extra):
    return cls(key=r.key, usd=r.usd, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
               requests=r.requests, unpriced_requests=r.unpriced_requests,
               unpriced_tokens=r.unpriced_tokens, detail=redact(r.detail),
               **spend_fields.extras_of(r), **extra)


def check_spend_args(group_by: str, from_: Optional[date], to: Optional[date]) -> None:
    from engine.spend import GROUP_BYS
    if group_by not in GROUP_BYS:
        raise error(f"unknown groupBy {group_by!r} (one of {', '.join(GROUP_BYS)})", BAD_INPUT)
    if from_ and to and from_ > to:
        raise error("from is after to", BAD_INPUT)


# --- findings --------------------------------------------------------------------

@strawberry.type(description="A rule's finding about one subject, with the evidence it rests on.")
class Finding:
    f: strawberry.Private[object]
    eng: strawberry.Private[Engine]
    # Plain values (set by finding_of) resolve faster than methods on long pages.
    id: strawberry.ID = strawberry.field(description="Stable id: rule and subject (and day, for per-day rules).")
    rule: str = strawberry.field(description="Rule id, e.g. `leaked-credential`.")
    title: str = strawberry.field(description="One-line summary for people.")
    severity: Severity = strawberry.field(description="How urgent it is.")
    frameworks: list[str] = strawberry.field(description="OWASP NHI / LLM and NIST CSF 2.0 ids.")

    @strawberry.field(description="The node the finding is about.")
    def subject(self) -> Node:
        view = self.eng.node(self.f.subject_id)
        if view is None:
            view = NodeView(id=self.f.subject_id, kind="Credential", name=None, active=False,
                            properties={"stub": True})
        return node_from(view, self.eng)

    @strawberry.field(description="Teams the subject answers to (owning team, else its owners' first team; "
                                  "a person's own), as spend attribution puts them.")
    def teams(self) -> list[str]:
        from engine.teams import teams_of
        return teams_of(self.eng, self.f.subject_id)

    @strawberry.field(description="Edges, usage rows and timestamps the finding rests on.")
    def evidence(self) -> JSON:
        return redact(self.f.evidence)


_SEVERITIES = {s.value: s for s in Severity}


def finding_of(f, eng: Engine) -> Finding:
    return Finding(f=f, eng=eng, id=strawberry.ID(f.id), rule=f.rule, title=redact_text(f.title),
                   severity=_SEVERITIES[f.severity], frameworks=list(f.frameworks))


@strawberry.type(description="A finding with its cursor.")
class FindingEdge:
    cursor: str = strawberry.field(description="Opaque position; pass as `after`.")
    node: Finding = strawberry.field(description="The finding.")


# The rule pack is evaluated once per store generation (then cached by the engine);
# one evaluation at a time, so concurrent first requests wait for it instead of each
# repeating it, and a waiter gives up at its own deadline.
FINDINGS_LOCK = threading.Lock()


def under_rule_pack_lock(info: Info, compute: Callable[[], T]) -> T:
    """Run what evaluates the rule pack (findings, risk scores) one request at a time;
    a waiter gives up at its own deadline."""
    ctx = context_of(info)
    wait = -1 if ctx.deadline is None else max(0.0, ctx.deadline - time.monotonic())
    if not FINDINGS_LOCK.acquire(timeout=wait):
        raise error("the rule pack is still being evaluated for the current data; retry shortly",
                    LIMIT_EXCEEDED, limit="timeout_seconds")
    try:
        return compute()
    finally:
        FINDINGS_LOCK.release()


def findings_filtered(info: Info, rule: Optional[str], severity: Optional[str], subject,
                      engine: Optional[Engine] = None) -> list:
    from engine.findings import findings as run_findings
    eng = engine or context_of(info).engine

    def compute():
        if subject is not None:
            return run_findings(eng, rule=rule, severity=severity, subject=str(subject))
        # Filtering tens of thousands of findings per page request adds up; the
        # (rule, severity) combinations are few, so keep each list for the generation.
        return eng.cached(f"api:findings:{rule}:{severity}",
                          lambda: run_findings(eng, rule=rule, severity=severity))
    try:
        return under_rule_pack_lock(info, compute)
    except ValueError as exc:  # an unknown rule id
        raise error(str(exc), BAD_INPUT) from exc


@strawberry.type(description="A page of findings, in the order the rule pack reports them.")
class FindingConnection:
    nodes: list[Finding] = strawberry.field(description="The findings on this page.")
    edges: list[FindingEdge] = strawberry.field(description="The findings on this page with their cursors.")
    total_count: int = strawberry.field(description="Findings matching the filters, all pages.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


# --- compromise trace ------------------------------------------------------------

@strawberry.type(description="One day of usage on one model since the compromise.")
class UsageDay:
    day: date = strawberry.field(description="The UTC day.")
    model: str = strawberry.field(description="The model called.")
    credential: Optional[str] = strawberry.field(description="Credential node id the usage is on, when known.")
    usd: Optional[float] = strawberry.field(description="Spend that day; null when the model has no price.")
    input_tokens: BigInt = strawberry.field(description="Input tokens that day.")
    output_tokens: BigInt = strawberry.field(description="Output tokens that day.")
    requests: BigInt = strawberry.field(description="Requests that day.")
    anomalous: bool = strawberry.field(description="Far above the credential's own trailing baseline.")
    note: Optional[str] = strawberry.field(description="Why the day stands out, when it does.")


@strawberry.type(description="One step of the revocation plan, in order.")
class RevocationStep:
    order: int = strawberry.field(description="1 first.")
    action: str = strawberry.field(description="What to do: revoke, rotate, revoke-grant, rotate-secret, notify...")
    target: strawberry.ID = strawberry.field(description="Node id the action applies to.")
    reason: str = strawberry.field(description="Why this step, and why at this point in the order.")
    eng: strawberry.Private[Engine]
    command: Optional[str] = strawberry.field(
        default=None, description="A copy-pasteable command or API call that does it, with the target's ids filled "
                                  "in and the admin credential read from an environment variable "
                                  "($OPENAI_ADMIN_KEY, $ANTHROPIC_ADMIN_KEY, ...); null for a human step.")
    url: Optional[str] = strawberry.field(default=None, description="The vendor console page for it, where one exists.")

    @strawberry.field(description="The target as a node, when it is one.")
    def target_node(self) -> Optional[Node]:
        view = self.eng.node(str(self.target))
        return node_from(view, self.eng) if view else None


@strawberry.type(description="For a responder holding one leaked key: who, what, since when, and what to revoke.")
class CompromiseTrace:
    t: strawberry.Private[object]
    eng: strawberry.Private[Engine]

    @strawberry.field(description="The compromised node.")
    def subject(self) -> Node:
        return node_of(self.eng, self.t.subject_id)

    @strawberry.field(description="The start of the window looked at (the `since` argument, or the exposure).")
    def since(self) -> Optional[datetime]:
        return self.t.since

    @strawberry.field(description="Resolved owners; each Node carries its status (active, properties.status).")
    def owners(self) -> list[Node]:
        return [node_of(self.eng, o) for o in self.t.owners if self.eng.node(o)]

    @strawberry.field(description="Who or what holds it.")
    def holders(self) -> list[Node]:
        return [node_of(self.eng, h) for h in self.t.holders if self.eng.node(h)]

    @strawberry.field(description="What the holder of the key can reach.")
    def blast_radius(self) -> BlastRadius:
        return BlastRadius(res=self.t.blast, eng=self.eng)

    @strawberry.field(description="Usage since `since`, by day and model, unlike-baseline days marked.")
    def usage_since(self) -> list[UsageDay]:
        return [UsageDay(day=u.day, model=u.model, credential=u.credential_id, usd=u.usd,
                         input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                         requests=u.requests, anomalous=u.anomalous,
                         note=redact_text(u.note) if u.note else None)
                for u in self.t.usage_since]

    @strawberry.field(description="What to revoke or rotate, in order.")
    def revocation_plan(self) -> list[RevocationStep]:
        return [RevocationStep(order=s.order, action=s.action, target=strawberry.ID(s.target_id),
                               reason=redact_text(s.reason), eng=self.eng,
                               command=redact_text(s.command) if s.command else None,
                               url=redact_text(s.url) if s.url else None) for s in self.t.revocation_plan]

    @strawberry.field(description="What happened to it, in time order, each event with its source: created, "
                                  "each exposure and who committed it, departures, first and last use since the "
                                  "compromise per signal, anomalies, revocation.")
    def timeline(self) -> list[trace_types.TimelineEvent]:
        return trace_types.timeline_of(self.t)

    @strawberry.field(description="Who committed each exposure, linked to a person; a departed author is flagged.")
    def exposure_authors(self) -> list[trace_types.ExposureAuthor]:
        return trace_types.authors_of(self.t)

    @strawberry.field(description="Every activity signal since the compromise: usage days, the vendor's own "
                                  "last-used time and service, last sign-in, Claude Code activity.")
    def activity_since(self) -> list[trace_types.ActivitySignal]:
        return trace_types.signals_of(self.t)

    @strawberry.field(description="Measured spend since the compromise (sum of usageSince; unpriced days add 0).")
    def usd_since(self) -> float:
        return self.t.usd_since

    @strawberry.field(description="Input tokens since the compromise.")
    def input_tokens_since(self) -> BigInt:
        return self.t.input_tokens_since

    @strawberry.field(description="Output tokens since the compromise.")
    def output_tokens_since(self) -> BigInt:
        return self.t.output_tokens_since

    @strawberry.field(description="Requests since the compromise (0 where the vendor reports no request count).")
    def requests_since(self) -> BigInt:
        return self.t.requests_since

    @strawberry.field(description="Secret-scanner findings that exposed it.")
    def exposures(self) -> list[Node]:
        return [node_of(self.eng, x) for x in self.t.exposures if self.eng.node(x)]


# --- the root --------------------------------------------------------------------

def _not_found(exc: NodeNotFound):
    return error(str(exc), NOT_FOUND)


@strawberry.type(description="Questions about the identity graph. Every field is read-only.")
class Query:
    @strawberry.field(description="One node by id; null when there is none.")
    def node(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Node id.")],
             as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,) -> Optional[Node]:
        eng = at_engine(engine_at(info), as_of)
        view = eng.node(str(id))
        return node_from(view, eng if as_of is not None else None) if view else None

    @strawberry.field(description="Nodes, optionally of one kind, ordered by id, with cursor pagination.")
    def nodes(self, info: Info,
              kind: Annotated[Optional[str], strawberry.argument(description="A NodeKind name, e.g. `Credential`.")] = None,
              search: Annotated[Optional[str], strawberry.argument(
                  description="Only nodes whose id, name, email, login, key hint, last four, redacted "
                              "value or aliases contain this text (case-insensitive).")] = None,
              first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
              after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
              order_by: Annotated[Optional[NodeOrder], strawberry.argument(
                  description="ID (default) or RISK: highest risk score first, unscored kinds after.")] = None,
              as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
              ) -> NodeConnection:
        if order_by == NodeOrder.RISK:
            if search is not None:
                raise error("orderBy: RISK cannot be combined with search yet; page `riskiest` instead",
                            BAD_INPUT)
            if as_of is not None:
                raise error("orderBy: RISK answers for the current data; drop asOf", BAD_INPUT)
            return _risk_connection(info, kind, first, after, every_node=True)
        eng = at_engine(engine_at(info), as_of)
        if search is not None:
            return _search_nodes(eng, search, kind, first, after, info)
        return _paginate_nodes(eng, kind, first, after, info)

    @strawberry.field(description="The riskiest identities and people first: every scored node (accounts, service "
                                  "accounts, credentials, OAuth clients and grants, AI tools, people) by risk score, "
                                  "highest first, ties by id; ranked once per data generation.")
    def riskiest(self, info: Info,
                 kind: Annotated[Optional[str], strawberry.argument(description="Only this NodeKind, e.g. `Credential` or `Person`.")] = None,
                 first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
                 after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
                 ) -> NodeConnection:
        return _risk_connection(info, kind, first, after, every_node=False)

    @strawberry.field(description="If this node is compromised: what is reachable, and how fast money burns.")
    def blast_radius(self, info: Info,
                     id: Annotated[strawberry.ID, strawberry.argument(description="The compromised node.")],
                     max_depth: Annotated[int, strawberry.argument(description="Hops to follow (capped by the server).")] = 8,
                     as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
                     ) -> BlastRadius:
        eng = at_engine(engine_at(info), as_of)
        try:
            return BlastRadius(res=eng.blast_radius(str(id), traversal_depth(max_depth, info)), eng=eng)
        except NodeNotFound as exc:
            raise _not_found(exc) from exc

    @strawberry.field(description="Who can reach this node over traversable edges (the reverse question). "
                                  "`whoCanReachConnection` pages it.")
    def who_can_reach(self, info: Info,
                      id: Annotated[strawberry.ID, strawberry.argument(description="The node to protect.")],
                      max_depth: Annotated[int, strawberry.argument(description="Hops to follow back (capped by the server).")] = 8,
                      as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
                      ) -> list[Reach]:
        eng = at_engine(engine_at(info), as_of)
        try:
            return reaches(eng, eng.who_can_reach(str(id), traversal_depth(max_depth, info)), info=info)
        except NodeNotFound as exc:
            raise _not_found(exc) from exc

    @strawberry.field(description="`whoCanReach` as a cursor connection, optionally of one node kind.")
    def who_can_reach_connection(
            self, info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The node to protect.")],
            max_depth: Annotated[int, strawberry.argument(description="Hops to follow back (capped by the server).")] = 8,
            kind: Annotated[Optional[str], strawberry.argument(description="Only reachers of this NodeKind.")] = None,
            first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
            after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
            as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
    ) -> ReachConnection:
        eng = at_engine(engine_at(info), as_of)
        try:
            rs = eng.who_can_reach(str(id), traversal_depth(max_depth, info))
        except NodeNotFound as exc:
            raise _not_found(exc) from exc
        return reach_connection(eng, rs, kind, first, after, info)

    @strawberry.field(description="Findings of the rule pack, filtered, with cursor pagination.")
    def findings(self, info: Info,
                 rule: Annotated[Optional[str], strawberry.argument(description="A rule id, e.g. `stale-credential`.")] = None,
                 severity: Annotated[Optional[str], strawberry.argument(description="critical, high, medium or low.")] = None,
                 subject: Annotated[Optional[strawberry.ID], strawberry.argument(description="Only findings about this node.")] = None,
                 first: Annotated[Optional[int], strawberry.argument(description="Page size (capped by the server).")] = None,
                 after: Annotated[Optional[str], strawberry.argument(description="`endCursor` of the previous page.")] = None,
                 framework: Annotated[Optional[str], strawberry.argument(
                     description="Only findings listing this framework id, e.g. `OWASP-NHI1`.")] = None,
                 team: Annotated[Optional[str], strawberry.argument(
                     description="Only findings whose subject answers to this team (`team:<id>`; see Finding.teams).")] = None,
                 as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
                 ) -> FindingConnection:
        eng = at_engine(engine_at(info), as_of)
        if severity is not None and severity not in Severity.__members__:
            raise error(f"unknown severity {severity!r} (critical, high, medium, low)", BAD_INPUT)
        page_size(first, info)  # reject a bad page size before the rules run
        items = findings_filtered(info, rule, severity, subject, eng)
        if framework is not None:
            items = [f for f in items if framework in f.frameworks]
        if team is not None:
            from engine.teams import teams_of
            items = [f for f in items if team in teams_of(eng, f.subject_id)]
        page, start, _ = window_of(items, lambda f: f.id, first, after, info)
        edges = [FindingEdge(cursor=list_cursor(start + i, f.id), node=finding_of(f, eng))
                 for i, f in enumerate(page)]
        return FindingConnection(nodes=[e.node for e in edges], edges=edges, total_count=len(items),
                                 page_info=page_info_of(start, len(page), len(items), [e.cursor for e in edges]))

    @strawberry.field(description="Spend grouped by person, team, credential, tool, project, model or environment.")
    def spend(self, info: Info,
              group_by: Annotated[str, strawberry.argument(description="person, team, credential, tool, project, model or environment.")],
              from_: Annotated[Optional[date], strawberry.argument(name="from", description="First day included (UTC).")] = None,
              to: Annotated[Optional[date], strawberry.argument(description="Last day included (UTC).")] = None,
              as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
              ) -> list[SpendRow]:
        from engine.spend import spend as run_spend
        check_spend_args(group_by, from_, to)
        return [spend_row_of(r) for r in run_spend(at_engine(engine_at(info), as_of), group_by, from_, to)]

    @strawberry.field(description="`spend` per UTC day (for charts over time): the same pricing and attribution, "
                                  "one row per day and group that has usage.")
    def spend_daily(self, info: Info,
                    group_by: Annotated[str, strawberry.argument(description="person, team, credential, tool, project, model or environment.")],
                    from_: Annotated[Optional[date], strawberry.argument(name="from", description="First day included (UTC).")] = None,
                    to: Annotated[Optional[date], strawberry.argument(description="Last day included (UTC).")] = None,
                    as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
                    ) -> list[SpendDayRow]:
        from engine.spend import spend_daily
        check_spend_args(group_by, from_, to)
        return [spend_row_of(r, SpendDayRow, day=r.day)
                for r in spend_daily(at_engine(engine_at(info), as_of), group_by, from_, to)]

    @strawberry.field(description="A responder's trace of one compromised key: owners, holders, usage since, "
                                  "reach, and an ordered revocation plan.")
    def trace_compromise(self, info: Info,
                         id: Annotated[strawberry.ID, strawberry.argument(description="The compromised key or grant.")],
                         since: Annotated[Optional[datetime], strawberry.argument(description="When the compromise began (default: its first exposure).")] = None,
                         as_of: Annotated[Optional[datetime], strawberry.argument(description=AS_OF_HELP)] = None,
                         ) -> CompromiseTrace:
        from engine.trace import trace_compromise as run_trace
        eng = at_engine(engine_at(info), as_of)
        try:
            return CompromiseTrace(t=run_trace(eng, str(id), since), eng=eng)
        except NodeNotFound as exc:
            raise _not_found(exc) from exc


    @strawberry.field(description="API tokens (ids, roles, names, dates; never secrets). Needs the admin role.")
    def api_tokens(self, info: Info) -> list[ApiToken]:
        return api_tokens(info)

    # Issue 3 extensions (resolvers in api/spend_fields.py).
    spend_reconciliation = strawberry.field(
        resolver=spend_fields.spend_reconciliation,
        description="Invoice-level costs beside measured spend per source and project/workspace.")
    claude_code_activity = strawberry.field(
        resolver=spend_fields.claude_code_activity,
        description="Claude Code activity per person and day (sessions, lines, tool actions); not spend.")
    lookup_secret = strawberry.field(
        resolver=lookup_fields.lookup_secret,
        description="The credentials a secret matches (sha256, vendor prefix + last four, vendor hint), "
                    "strongest first. Pass it in a variable over POST; it is never stored or logged.")

    # Issue 16: time (resolvers in api/time_fields.py).
    ingest_runs = strawberry.field(
        resolver=time_fields.ingest_runs,
        description="Recorded ingest (sync) runs, newest first; an incomplete one is flagged.")
    drift = strawberry.field(
        resolver=time_fields.drift,
        description="What changed between two runs or times: nodes, edges and findings added, removed "
                    "and changed (default: the run before the last, and the last).")


class DeadlineExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Introspection fields resolve in graphql-core, not through engine_at: each one
    checks the request's deadline here, so a document of introspection stops at its
    time limit like any other query (the whole request then answers LIMIT_EXCEEDED)."""

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        if parent_type.name[:2] == "__" or field_details_list[0].node.name.value[:2] == "__":
            check = getattr(self.context_value, "check_deadline", None)
            if check is not None:
                check()
        return super().execute_field(parent_type, source, field_details_list, path, position_context)


class BurnpathSchema(strawberry.Schema):
    """Strawberry's schema, minus its own error logging: api.errors logs what is
    unexpected (with a reference the client sees) and nothing that is the caller's."""

    def process_errors(self, errors, execution_context=None) -> None:
        return None


def build_schema(query=Query, mutation=Mutation) -> strawberry.Schema:
    return BurnpathSchema(query=query, mutation=mutation, config=StrawberryConfig(scalar_map=SCALARS),
                          execution_context_class=DeadlineExecutionContext,
                          extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)])


schema = build_schema()
