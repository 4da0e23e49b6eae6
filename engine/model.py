"""The graph model as declarative data: node kinds, edge kinds, usage rows.

Edge kinds declare their own traversability and how access flows along them,
so traversal code never hard-codes a list of kinds (BloodHound's OpenGraph
kinds and Cartography's schema classes work the same way).
"""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class NodeKind(str, Enum):
    Person = "Person"
    Account = "Account"
    Team = "Team"
    Project = "Project"
    ServiceAccount = "ServiceAccount"
    Credential = "Credential"
    OAuthClient = "OAuthClient"
    OAuthGrant = "OAuthGrant"
    AITool = "AITool"
    SaaSApp = "SaaSApp"
    DataSource = "DataSource"
    SecretExposure = "SecretExposure"


# Identities a risk score and ownership apply to.
IDENTITY_KINDS = frozenset({
    NodeKind.Account, NodeKind.ServiceAccount, NodeKind.Credential,
    NodeKind.OAuthClient, NodeKind.OAuthGrant, NodeKind.AITool,
})


class Access(int, Enum):
    """Ordered so that max() is 'strongest' and min() is 'bottleneck'."""
    none = 0
    read = 1
    write = 2
    admin = 3

    @classmethod
    def parse(cls, value: Any, default: "Access" = None) -> "Access":
        if value is None or value == "":
            return default if default is not None else cls.read
        if isinstance(value, Access):
            return value
        text = str(value).strip().lower()
        aliases = {"owner": "admin", "full": "admin", "manage": "admin", "readwrite": "write",
                   "read_write": "write", "edit": "write", "view": "read", "readonly": "read",
                   "read-only": "read"}
        text = aliases.get(text, text)
        try:
            return cls[text]
        except KeyError as exc:
            raise ValueError(f"unknown access level {value!r} (read, write or admin)") from exc


class AccessFlow(str, Enum):
    """How an edge changes the access an attacker has when crossing it."""
    explicit = "explicit"   # the edge's own `access` property, bottlenecked by what came before
    inherit = "inherit"     # passes on the access held at the source
    possess = "possess"     # holding the target outright: full control from here on


class EdgeKindSpec(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    traversable: bool
    flow: AccessFlow
    description: str


class EdgeKind(str, Enum):
    HAS_ACCOUNT = "HAS_ACCOUNT"
    MEMBER_OF = "MEMBER_OF"
    OWNS = "OWNS"
    HOLDS = "HOLDS"
    AUTHENTICATES_AS = "AUTHENTICATES_AS"
    CAN_ACCESS = "CAN_ACCESS"
    GRANTS = "GRANTS"
    CONTAINS = "CONTAINS"
    STORES_SECRET = "STORES_SECRET"
    EXPOSED_IN = "EXPOSED_IN"
    CONSENTED = "CONSENTED"
    USES = "USES"

    @property
    def spec(self) -> EdgeKindSpec:
        return EDGE_KINDS[self]

    @property
    def traversable(self) -> bool:
        return EDGE_KINDS[self].traversable


def _spec(kind: EdgeKind, traversable: bool, flow: AccessFlow, description: str) -> tuple:
    return kind, EdgeKindSpec(name=kind.value, traversable=traversable, flow=flow,
                              description=description)


EDGE_KINDS: dict[EdgeKind, EdgeKindSpec] = dict([
    _spec(EdgeKind.HAS_ACCOUNT, True, AccessFlow.possess, "Person -> one of their per-source accounts"),
    _spec(EdgeKind.MEMBER_OF, True, AccessFlow.inherit, "member -> Team or Project it belongs to"),
    _spec(EdgeKind.OWNS, True, AccessFlow.possess, "owner -> what it controls"),
    _spec(EdgeKind.HOLDS, True, AccessFlow.possess, "tool, account or workload -> credential or grant it possesses"),
    _spec(EdgeKind.AUTHENTICATES_AS, True, AccessFlow.inherit, "Credential -> the identity it acts as"),
    _spec(EdgeKind.CAN_ACCESS, True, AccessFlow.explicit, "-> SaaSApp, DataSource or Project, with access read/write/admin"),
    _spec(EdgeKind.GRANTS, True, AccessFlow.explicit, "OAuthGrant -> what it opens, with scopes"),
    _spec(EdgeKind.CONTAINS, True, AccessFlow.explicit, "SaaSApp -> DataSource kept inside it, capped by its `access` when given"),
    _spec(EdgeKind.STORES_SECRET, True, AccessFlow.possess, "DataSource -> credential stored inside it"),
    _spec(EdgeKind.EXPOSED_IN, False, AccessFlow.inherit, "Credential -> SecretExposure where it leaked"),
    _spec(EdgeKind.CONSENTED, False, AccessFlow.inherit, "Account -> OAuthGrant it consented to"),
    _spec(EdgeKind.USES, False, AccessFlow.inherit, "Person -> AITool they use"),
])

TRAVERSABLE_EDGE_KINDS = tuple(k for k, s in EDGE_KINDS.items() if s.traversable)


class Node(BaseModel):
    """One source's statement about a node. Several sources may describe the same id;
    the store keeps each contribution and merges them on read. An `enrichment`
    statement (inventory adding facts to a key a vendor lists) adds properties but
    does not keep the node alive once every non-enrichment source has removed it."""
    model_config = ConfigDict(use_enum_values=False)
    id: str
    kind: NodeKind
    name: str | None = None
    # None: this source says nothing about status; False: the vendor says inactive.
    active: bool | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    enrichment: bool = False

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_text(cls, v):
        # Vendors put numbers (or worse) where a display name belongs; keep it as text.
        return v if v is None or isinstance(v, str) else str(v)


class Edge(BaseModel):
    src: str
    dst: str
    kind: EdgeKind
    properties: dict[str, Any] = Field(default_factory=dict)


class UsageRow(BaseModel):
    """Measured AI-provider usage for one day on one credential (or project when the
    vendor gives no key) and one model."""
    day: date
    model: str
    credential_id: str | None = None
    project_id: str | None = None
    account_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    requests: int = 0
    # USD from the vendor's own per-request/per-key figure; None means "price it".
    vendor_usd: float | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> tuple:
        return (self.day.isoformat(), self.credential_id or "", self.project_id or "",
                self.account_id or "", self.model, self.properties.get("bucket_key", ""))


class CostRow(BaseModel):
    """Invoice-level cost (OpenAI costs, Anthropic cost_report): shown beside measured
    spend to reconcile, never added to it."""
    day: date
    scope_id: str | None = None
    line_item: str | None = None
    usd: float
    properties: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> tuple:
        return (self.day.isoformat(), self.scope_id or "", self.line_item or "",
                self.properties.get("bucket_key", ""))


class ActivityRow(BaseModel):
    """Per-person activity that is not spend (Claude Code sessions, lines, tool actions)."""
    day: date
    actor_id: str
    kind: str
    properties: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> tuple:
        return (self.day.isoformat(), self.actor_id, self.kind)


class Records(BaseModel):
    """What an ingester returns for one source: pure data, no I/O done."""
    source: str
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    usage: list[UsageRow] = Field(default_factory=list)
    costs: list[CostRow] = Field(default_factory=list)
    activity: list[ActivityRow] = Field(default_factory=list)
    # Rows kept but worth telling the user about (e.g. usage for a key never listed).
    warnings: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    # Named settings the source states (e.g. inventory `prices:` as "price:<model>").
    settings: dict[str, Any] = Field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"nodes": len(self.nodes), "edges": len(self.edges), "usage": len(self.usage),
                "costs": len(self.costs), "activity": len(self.activity),
                "settings": len(self.settings)}

    def extend(self, other: "Records") -> None:
        self.nodes += other.nodes
        self.edges += other.edges
        self.usage += other.usage
        self.costs += other.costs
        self.activity += other.activity
        self.warnings += other.warnings
        self.files += other.files
        self.settings.update(other.settings)


# --- trusted construction ------------------------------------------------------------
# A large snapshot makes millions of records. Where a parser has already checked every
# field's type (ids it formatted itself, enums it chose, dicts it built), these build the
# same pydantic objects as the validating constructors at a third of the cost: they set
# the instance state pydantic keeps (`__dict__`, the fields-set, extra and private slots)
# directly. Anything unchecked must go through the normal constructors.
_new = object.__new__
_set_dict = object.__setattr__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
# Shared, and holding every field: pydantic only ever adds names to it.
_NODE_FIELDS = set(Node.model_fields)
_EDGE_FIELDS = set(Edge.model_fields)
_USAGE_FIELDS = set(UsageRow.model_fields)


def trusted_node(id: str, kind: NodeKind, name: str | None = None, active: bool | None = None,
                 properties: dict[str, Any] | None = None, enrichment: bool = False) -> Node:
    """Node(...) for arguments of the declared types (`name` is coerced to text as the
    validator does)."""
    n = _new(Node)
    _set_dict(n, "__dict__", {"id": id, "kind": kind,
                              "name": name if name is None or type(name) is str else str(name),
                              "active": active,
                              "properties": {} if properties is None else properties,
                              "enrichment": enrichment})
    _set_fields(n, _NODE_FIELDS)
    _set_extra(n, None)
    _set_private(n, None)
    return n


def trusted_edge(src: str, dst: str, kind: EdgeKind, properties: dict[str, Any] | None = None) -> Edge:
    """Edge(...) for arguments of the declared types."""
    e = _new(Edge)
    _set_dict(e, "__dict__", {"src": src, "dst": dst, "kind": kind,
                              "properties": {} if properties is None else properties})
    _set_fields(e, _EDGE_FIELDS)
    _set_extra(e, None)
    _set_private(e, None)
    return e


def trusted_usage(day: date, model: str, credential_id: str | None, project_id: str | None,
                  account_id: str | None, input_tokens: int, output_tokens: int,
                  cached_input_tokens: int, requests: int, vendor_usd: float | None,
                  properties: dict[str, Any]) -> UsageRow:
    """UsageRow(...) for arguments of the declared types (ints as ints; `vendor_usd` is
    made a float as the validator does)."""
    u = _new(UsageRow)
    _set_dict(u, "__dict__", {"day": day, "model": model, "credential_id": credential_id,
                              "project_id": project_id, "account_id": account_id,
                              "input_tokens": input_tokens, "output_tokens": output_tokens,
                              "cached_input_tokens": cached_input_tokens, "requests": requests,
                              "vendor_usd": None if vendor_usd is None else float(vendor_usd),
                              "properties": properties})
    _set_fields(u, _USAGE_FIELDS)
    _set_extra(u, None)
    _set_private(u, None)
    return u


class LoadResult(BaseModel):
    source: str
    run_id: str
    complete: bool
    counts: dict[str, int]
    removed: dict[str, int] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    files: int = 0          # files the source's load read


PersonStatus = Literal["active", "inactive", "unverified"]
