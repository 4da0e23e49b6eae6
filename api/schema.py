"""The GraphQL schema (contract names from DESIGN.md). Resolvers are thin: each calls
one engine method and maps its dataclasses onto these types."""
from __future__ import annotations

import base64
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Optional

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types import Info

from engine.model import NodeKind as _NodeKind
from engine.service import BlastRadiusResult, Engine
from engine.store.base import NodeView, Reach as _Reach
from engine.traversal import NodeNotFound

MAX_PAGE = 500
DEFAULT_PAGE = 50


def error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def engine_of(info: Info) -> Engine:
    return info.context["engine"]


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except Exception as exc:  # noqa: BLE001 - any malformed cursor is the caller's error
        raise error(f"invalid cursor {cursor!r}", "BAD_INPUT") from exc


def page_size(first: Optional[int]) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise error("first must be 0 or more", "BAD_INPUT")
    limit = engine_of_limits().get("max_page_size", MAX_PAGE)
    if first > limit:
        raise error(f"first={first} exceeds the page size cap of {limit}", "LIMIT_EXCEEDED")
    return first


_LIMITS: dict = {}


def engine_of_limits() -> dict:
    return _LIMITS


NodeKindEnum = strawberry.enum(_NodeKind, name="NodeKind", description="Kinds of node in the graph.")


@strawberry.enum(description="Access an attacker holding the source gains on a node.")
class AccessLevel(Enum):
    read = "read"
    write = "write"
    admin = "admin"


@strawberry.enum(description="Finding severity.")
class Severity(Enum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


@strawberry.type(description="One reason in a risk score, with the points it adds.")
class RiskFactor:
    reason: str
    weight: float
    detail: Optional[JSON] = None


@strawberry.type(description="An explainable 0-100 risk score.")
class Risk:
    score: float
    reasons: list[str]
    factors: list[RiskFactor]


@strawberry.type(description="A node: a person, account, team, project, key, grant, tool, app or data source.")
class Node:
    view: strawberry.Private[NodeView]

    @strawberry.field(description="Node id, e.g. `openai:api_key:key_abc` or `person:ana@example.com`.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.view.id)

    @strawberry.field(description="The node kind (Person, Credential, ...).")
    def kind(self) -> NodeKindEnum:
        return _NodeKind(self.view.kind)

    @strawberry.field
    def name(self) -> Optional[str]:
        return self.view.name

    @strawberry.field(description="False when the vendor says inactive, it expired, its project is archived, "
                                  "it was removed, or (people) no identity provider account is active.")
    def active(self) -> bool:
        return self.view.active

    @strawberry.field(description="Every property the sources state (no secret values).")
    def properties(self) -> JSON:
        return self.view.properties

    @strawberry.field(description="Sources that state this node.")
    def sources(self) -> list[str]:
        return self.view.sources

    @strawberry.field(description="When the last source stating it re-synced without it.")
    def removed_at(self) -> Optional[str]:
        return self.view.removed_at

    @strawberry.field(description="Resolved owners: direct, else through service account, project or team.")
    def owners(self, info: Info) -> list["Node"]:
        return [Node(view=v) for v in engine_of(info).owners(self.view.id)]

    @strawberry.field(description="Risk score with its reasons.")
    def risk(self, info: Info) -> Risk:
        from engine.risk import risk_of
        score = risk_of(engine_of(info), self.view.id)
        return Risk(score=score.score, reasons=[f"{f.reason} (+{f.weight:g})" for f in score.factors],
                    factors=[RiskFactor(reason=f.reason, weight=f.weight, detail=f.detail)
                             for f in score.factors])


def node_of(engine: Engine, node_id: str) -> Node:
    view = engine.node(node_id)
    if view is None:
        raise error(f"no node with id {node_id!r}", "NOT_FOUND")
    return Node(view=view)


@strawberry.type(description="A node reached by a traversal, with how and how strongly.")
class Reach:
    r: strawberry.Private[_Reach]
    view: strawberry.Private[NodeView]

    @strawberry.field(description="The node reached.")
    def node(self) -> Node:
        return Node(view=self.view)

    @strawberry.field(description="Hops on the shortest path.")
    def depth(self) -> int:
        return self.r.depth

    @strawberry.field(description="Strongest access any shortest path delivers.")
    def access(self) -> AccessLevel:
        return AccessLevel(self.r.access)

    @strawberry.field(description="One shortest path as node ids, from the traversal's start to its end.")
    def path(self) -> list[strawberry.ID]:
        return [strawberry.ID(p) for p in self.r.path]

    @strawberry.field(description="Edge kinds along `path` (one fewer than its nodes).")
    def path_edges(self) -> list[str]:
        return self.r.edge_kinds

    # The reached node's own fields, so a list of reaches reads like a list of nodes.
    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.view.id)

    @strawberry.field
    def kind(self) -> NodeKindEnum:
        return _NodeKind(self.view.kind)

    @strawberry.field
    def name(self) -> Optional[str]:
        return self.view.name

    @strawberry.field
    def active(self) -> bool:
        return self.view.active

    @strawberry.field
    def properties(self) -> JSON:
        return self.view.properties


def reaches(engine: Engine, rs: list[_Reach]) -> list[Reach]:
    out = []
    for r in rs:
        v = engine.node(r.node_id)
        if v is not None:
            out.append(Reach(r=r, view=v))
    return out


@strawberry.type(description="What an attacker holding the source can reach.")
class BlastRadius:
    res: strawberry.Private[BlastRadiusResult]
    eng: strawberry.Private[Engine]

    @strawberry.field
    def source(self) -> Node:
        return Node(view=self.res.source)

    @strawberry.field(description="Every node reachable over traversable edges within maxDepth.")
    def reachable(self) -> list[Reach]:
        return reaches(self.eng, self.res.reachable)

    def _kind(self, kind: _NodeKind) -> list[Reach]:
        return [x for x in reaches(self.eng, self.res.reachable) if x.view.kind == kind.value]

    @strawberry.field(description="Reachable data sources.")
    def data_sources(self) -> list[Reach]:
        return self._kind(_NodeKind.DataSource)

    @strawberry.field(description="Reachable SaaS apps.")
    def saas_apps(self) -> list[Reach]:
        return self._kind(_NodeKind.SaaSApp)

    @strawberry.field(description="Reachable credentials.")
    def credentials(self) -> list[Reach]:
        return self._kind(_NodeKind.Credential)

    @strawberry.field(description="Dollars an hour the reachable active credentials could burn.")
    def spend_exposure_usd_per_hour(self) -> Optional[float]:
        return self.res.spend_exposure_usd_per_hour

    @strawberry.field(description="Per-credential basis of spendExposureUsdPerHour.")
    def spend_exposure_detail(self) -> JSON:
        return self.res.exposure_detail

    @strawberry.field
    def total_count(self) -> int:
        return len(self.res.reachable)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: Optional[str]
    end_cursor: Optional[str]


@strawberry.type
class NodeEdge:
    cursor: str
    node: Node


@strawberry.type(description="A page of nodes, ordered by id.")
class NodeConnection:
    nodes: list[Node]
    edges: list[NodeEdge]
    total_count: int
    page_info: PageInfo


def _paginate_nodes(engine: Engine, kind: Optional[str], first: Optional[int],
                    after: Optional[str]) -> NodeConnection:
    if kind is not None and kind not in _NodeKind.__members__:
        raise error(f"unknown node kind {kind!r} (one of {', '.join(_NodeKind.__members__)})", "BAD_INPUT")
    limit = page_size(first)
    graph = engine.graph()
    offset = graph.first_index_after(kind, decode_cursor(after)) if after else 0
    views, total = engine.nodes(kind, offset, limit)
    edges = [NodeEdge(cursor=encode_cursor(v.id), node=Node(view=v)) for v in views]
    return NodeConnection(
        nodes=[e.node for e in edges], edges=edges, total_count=total,
        page_info=PageInfo(has_next_page=offset + len(views) < total, has_previous_page=offset > 0,
                           start_cursor=edges[0].cursor if edges else None,
                           end_cursor=edges[-1].cursor if edges else None))


@strawberry.type(description="Spend for one group: measured usage priced (vendor figure where given).")
class SpendRow:
    key: Optional[str] = strawberry.field(description="The group's id or name; null is spend no owner explains.")
    usd: float
    input_tokens: int
    output_tokens: int
    requests: int
    unpriced_requests: int = strawberry.field(description="Requests on models with no known price (not counted as $0).")
    unpriced_tokens: int
    detail: JSON


@strawberry.type(description="A rule's finding about one subject, with the evidence it rests on.")
class Finding:
    f: strawberry.Private[object]
    eng: strawberry.Private[Engine]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.f.id)

    @strawberry.field
    def rule(self) -> str:
        return self.f.rule

    @strawberry.field
    def title(self) -> str:
        return self.f.title

    @strawberry.field
    def severity(self) -> Severity:
        return Severity(self.f.severity)

    @strawberry.field
    def subject(self) -> Node:
        view = self.eng.node(self.f.subject_id)
        if view is None:
            view = NodeView(id=self.f.subject_id, kind="Credential", name=None, active=False,
                            properties={"stub": True})
        return Node(view=view)

    @strawberry.field(description="Edges, usage rows and timestamps the finding rests on.")
    def evidence(self) -> JSON:
        return self.f.evidence

    @strawberry.field(description="OWASP NHI / LLM and NIST CSF 2.0 ids.")
    def frameworks(self) -> list[str]:
        return self.f.frameworks


@strawberry.type
class FindingEdge:
    cursor: str
    node: Finding


@strawberry.type
class FindingConnection:
    nodes: list[Finding]
    edges: list[FindingEdge]
    total_count: int
    page_info: PageInfo


@strawberry.type(description="One day of usage on one model since the compromise.")
class UsageDay:
    day: date
    model: str
    credential: Optional[str]
    usd: Optional[float]
    input_tokens: int
    output_tokens: int
    requests: int
    anomalous: bool
    note: Optional[str]


@strawberry.type(description="One step of the revocation plan, in order.")
class RevocationStep:
    order: int
    action: str
    target: strawberry.ID
    reason: str
    eng: strawberry.Private[Engine]

    @strawberry.field(description="The target as a node, when it is one.")
    def target_node(self) -> Optional[Node]:
        view = self.eng.node(str(self.target))
        return Node(view=view) if view else None


@strawberry.type(description="For a responder holding one leaked key: who, what, since when, and what to revoke.")
class CompromiseTrace:
    t: strawberry.Private[object]
    eng: strawberry.Private[Engine]

    @strawberry.field
    def subject(self) -> Node:
        return node_of(self.eng, self.t.subject_id)

    @strawberry.field
    def since(self) -> Optional[datetime]:
        return self.t.since

    @strawberry.field(description="Resolved owners; each Node carries its status (active, properties.status).")
    def owners(self) -> list[Node]:
        return [node_of(self.eng, o) for o in self.t.owners if self.eng.node(o)]

    @strawberry.field(description="Who or what holds it.")
    def holders(self) -> list[Node]:
        return [node_of(self.eng, h) for h in self.t.holders if self.eng.node(h)]

    @strawberry.field
    def blast_radius(self) -> BlastRadius:
        return BlastRadius(res=self.t.blast, eng=self.eng)

    @strawberry.field(description="Usage since `since`, by day and model, unlike-baseline days marked.")
    def usage_since(self) -> list[UsageDay]:
        return [UsageDay(day=u.day, model=u.model, credential=u.credential_id, usd=u.usd,
                         input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                         requests=u.requests, anomalous=u.anomalous, note=u.note)
                for u in self.t.usage_since]

    @strawberry.field
    def revocation_plan(self) -> list[RevocationStep]:
        return [RevocationStep(order=s.order, action=s.action, target=strawberry.ID(s.target_id),
                               reason=s.reason, eng=self.eng) for s in self.t.revocation_plan]

    @strawberry.field(description="Secret-scanner findings that exposed it.")
    def exposures(self) -> list[Node]:
        return [node_of(self.eng, x) for x in self.t.exposures if self.eng.node(x)]


@strawberry.type
class Query:
    @strawberry.field(description="One node by id; null when there is none.")
    def node(self, info: Info, id: strawberry.ID) -> Optional[Node]:
        view = engine_of(info).node(str(id))
        return Node(view=view) if view else None

    @strawberry.field(description="Nodes, optionally of one kind, with cursor pagination.")
    def nodes(self, info: Info, kind: Optional[str] = None, first: Optional[int] = None,
              after: Optional[str] = None) -> NodeConnection:
        return _paginate_nodes(engine_of(info), kind, first, after)

    @strawberry.field(description="If this node is compromised: what is reachable, and how fast money burns.")
    def blast_radius(self, info: Info, id: strawberry.ID, max_depth: int = 8) -> BlastRadius:
        eng = engine_of(info)
        try:
            return BlastRadius(res=eng.blast_radius(str(id), _depth(max_depth)), eng=eng)
        except NodeNotFound as exc:
            raise error(str(exc), "NOT_FOUND") from exc

    @strawberry.field(description="Who can reach this node over traversable edges (the reverse question).")
    def who_can_reach(self, info: Info, id: strawberry.ID, max_depth: int = 8) -> list[Reach]:
        eng = engine_of(info)
        try:
            return reaches(eng, eng.who_can_reach(str(id), _depth(max_depth)))
        except NodeNotFound as exc:
            raise error(str(exc), "NOT_FOUND") from exc


    @strawberry.field(description="Findings of the rule pack, filtered, with cursor pagination.")
    def findings(self, info: Info, rule: Optional[str] = None, severity: Optional[str] = None,
                 subject: Optional[strawberry.ID] = None, first: Optional[int] = None,
                 after: Optional[str] = None) -> FindingConnection:
        from engine.findings import findings as run_findings
        eng = engine_of(info)
        if severity is not None and severity not in Severity.__members__:
            raise error(f"unknown severity {severity!r} (critical, high, medium, low)", "BAD_INPUT")
        items = run_findings(eng, rule=rule, severity=severity,
                             subject=str(subject) if subject is not None else None)
        limit = page_size(first)
        start = 0
        if after:
            key = decode_cursor(after)
            ids = [f.id for f in items]
            start = next((i + 1 for i, fid in enumerate(ids) if fid == key), None)
            if start is None:
                raise error(f"cursor {after!r} is not in this result", "BAD_INPUT")
        page = items[start:start + limit]
        edges = [FindingEdge(cursor=encode_cursor(f.id), node=Finding(f=f, eng=eng)) for f in page]
        return FindingConnection(
            nodes=[e.node for e in edges], edges=edges, total_count=len(items),
            page_info=PageInfo(has_next_page=start + len(page) < len(items), has_previous_page=start > 0,
                               start_cursor=edges[0].cursor if edges else None,
                               end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="Spend grouped by person, team, credential, tool, project, model or environment.")
    def spend(self, info: Info, group_by: str, from_: Annotated[Optional[date], strawberry.argument(name="from")] = None,
              to: Optional[date] = None) -> list[SpendRow]:
        from engine.spend import GROUP_BYS, spend as run_spend
        if group_by not in GROUP_BYS:
            raise error(f"unknown groupBy {group_by!r} (one of {', '.join(GROUP_BYS)})", "BAD_INPUT")
        if from_ and to and from_ > to:
            raise error("from is after to", "BAD_INPUT")
        rows = run_spend(engine_of(info), group_by, from_, to)
        return [SpendRow(key=r.key, usd=r.usd, input_tokens=r.input_tokens, output_tokens=r.output_tokens,
                         requests=r.requests, unpriced_requests=r.unpriced_requests,
                         unpriced_tokens=r.unpriced_tokens, detail=r.detail) for r in rows]

    @strawberry.field(description="A responder's trace of one compromised key: owners, holders, usage since, "
                                  "reach, and an ordered revocation plan.")
    def trace_compromise(self, info: Info, id: strawberry.ID, since: Optional[datetime] = None) -> CompromiseTrace:
        from engine.trace import trace_compromise as run_trace
        eng = engine_of(info)
        try:
            return CompromiseTrace(t=run_trace(eng, str(id), since), eng=eng)
        except NodeNotFound as exc:
            raise error(str(exc), "NOT_FOUND") from exc


def _depth(max_depth: int) -> int:
    cap = engine_of_limits().get("max_traversal_depth", 16)
    if max_depth < 0:
        raise error("maxDepth must be 0 or more", "BAD_INPUT")
    if max_depth > cap:
        raise error(f"maxDepth={max_depth} exceeds the cap of {cap}", "LIMIT_EXCEEDED")
    return max_depth


def build_schema(query=Query, mutation=None) -> strawberry.Schema:
    return strawberry.Schema(query=query, mutation=mutation)


schema = build_schema()
