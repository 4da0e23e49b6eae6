"""burnpath's own inventory format (`inventory/*.yaml`): what no vendor API exports.

Every key is optional; people are named by email, everything else by node id.
All files of the directory together are the inventory source.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.ids import canonical, looks_like_email, person_id
from engine.model import Access, EdgeKind, NodeKind, Records, trusted_edge, trusted_node

from .errors import IngestError
from .files import read_yaml

SOURCE = "inventory"
Environment = Literal["prod", "staging", "dev", "personal"]
Sensitivity = Literal["public", "internal", "confidential", "restricted"]


class _Item(BaseModel):
    # Unknown keys are kept as properties: users annotate their inventory freely.
    model_config = ConfigDict(extra="allow")

    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Team(_Item):
    id: str
    name: str | None = None
    members: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)


class AITool(_Item):
    id: str
    name: str | None = None
    owner: str | None = None
    approved: bool | None = None
    environment: Environment | None = None
    credentials: list[str] = Field(default_factory=list)
    oauth_clients: list[str] = Field(default_factory=list)
    budget_usd_month: float | None = None
    vendor: str | None = None


class DataRef(_Item):
    id: str
    access: str | None = None

    @field_validator("access")
    @classmethod
    def _access(cls, v):
        if v is not None:
            Access.parse(v)
        return v


class SaaSApp(_Item):
    id: str
    name: str | None = None
    oauth_clients: list[str] = Field(default_factory=list)
    data: list[DataRef | str] = Field(default_factory=list)


class DataSource(_Item):
    id: str
    name: str | None = None
    sensitivity: Sensitivity | None = None
    stores_secrets: list[str] = Field(default_factory=list)


class Credential(_Item):
    id: str
    environment: Environment | None = None
    owner: str | None = None
    used_by: list[str] = Field(default_factory=list)
    budget_usd_month: float | None = None


class AccessEntry(_Item):
    principal: str
    target: str
    access: str = "read"

    @field_validator("access")
    @classmethod
    def _access(cls, v):
        Access.parse(v)
        return v


class Price(_Item):
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)


class Person(_Item):
    """Extension: name people and map accounts that carry no email (GitHub logins...)."""
    email: str
    name: str | None = None
    aliases: dict[str, str | list[str]] = Field(default_factory=dict)


class Ownership(_Item):
    """Extension: owners of identities no other key covers (service accounts, vendor
    apps, IAM users), so that ownership is stated where the humans keep it."""
    id: str
    owner: str | list[str]


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teams: list[Team] = Field(default_factory=list)
    ai_tools: list[AITool] = Field(default_factory=list)
    saas_apps: list[SaaSApp] = Field(default_factory=list)
    data_sources: list[DataSource] = Field(default_factory=list)
    credentials: list[Credential] = Field(default_factory=list)
    access: list[AccessEntry] = Field(default_factory=list)
    prices: dict[str, Price] = Field(default_factory=dict)
    people: list[Person] = Field(default_factory=list)
    owners: list[Ownership] = Field(default_factory=list)

    @field_validator("*", mode="before")
    @classmethod
    def _none_is_empty(cls, v, info):
        if v is None:
            return {} if info.field_name == "prices" else []
        return v


# Account id prefixes by alias source, for `people[].aliases`.
ALIAS_ACCOUNTS = {"github": "github:user:", "litellm": "litellm:user:", "openai": "openai:user:",
                  "anthropic": "anthropic:user:", "okta": "okta:user:", "google": "google:user:",
                  "msgraph": "msgraph:user:", "scim": "scim:user:", "aws": "aws:iam_user:"}


def _principal(ref: str, path: Path, where: str) -> str:
    """A person's email or a node id."""
    ref = str(ref).strip()
    if looks_like_email(ref) and not ref.startswith(("person:",)) and ":" not in ref.split("@")[0]:
        return person_id(ref)
    if ":" not in ref:
        raise IngestError(path, f"{where}: {ref!r} is neither an email nor a node id "
                                f"(like team:<id> or tool:<id>)")
    if ref.startswith("person:"):
        return person_id(ref[len("person:"):])
    return ref


def _format_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


# The key that says a file is empty on purpose (see parse_file).
EMPTY_MARKER = "empty"


def parse_file(path: Path) -> Inventory:
    """One inventory file. A file that states nothing (empty, only comments, `{}`) is an
    error, as an empty JSON file is: a truncated or unsynced file must not re-sync the
    inventory to nothing. `empty: true` (and no other key) says it is empty on purpose."""
    data = read_yaml(path)
    if data is None or data == {}:
        raise IngestError(path, f"empty inventory file (a re-sync would remove everything the "
                                f"inventory stated); write `{EMPTY_MARKER}: true` in it if it is "
                                f"empty on purpose")
    if not isinstance(data, dict):
        raise IngestError(path, f"expected a mapping of inventory keys (teams, ai_tools, ...), "
                                f"got {type(data).__name__}")
    if EMPTY_MARKER in data:
        if data[EMPTY_MARKER] is not True:
            raise IngestError(path, f"`{EMPTY_MARKER}:` must be true (the file is empty on purpose), "
                                    f"got {data[EMPTY_MARKER]!r}")
        others = sorted(str(k) for k in data if k != EMPTY_MARKER)
        if others:
            raise IngestError(path, f"`{EMPTY_MARKER}: true` says the file states nothing, but it "
                                    f"holds {', '.join(others)}")
        return Inventory()
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        raise IngestError(path, f"wrong shape: {_format_error(exc)}") from exc


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    files = sorted(p for p in Path(root).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    if only is not None:
        files = [f for f in files if f.resolve() in only]
    rec = Records(source=SOURCE)
    for path in files:
        inv = parse_file(path)
        rec.files.append(str(path))
        _emit(inv, path, rec)
    return rec


def _emit(inv: Inventory, path: Path, rec: Records) -> None:
    # Every field was validated by the Inventory models (ids and names are text, extras
    # have text keys): the records are built without re-validation (trusted_node/edge).
    nodes, edges = rec.nodes, rec.edges
    people: set[str] = set()

    def who(ref: str, where: str) -> str:
        pid = _principal(ref, path, where)
        if pid.startswith("person:") and pid not in people:
            people.add(pid)
            nodes.append(trusted_node(id=pid, kind=NodeKind.Person, name=None,
                              properties={"email": pid[len("person:"):]}))
        return pid

    for p in inv.people:
        pid = who(p.email, f"people[{p.email}]")
        nodes.append(trusted_node(id=pid, kind=NodeKind.Person, name=p.name,
                          properties={"email": pid[len("person:"):], **p.extras()}))
        for src, logins in p.aliases.items():
            prefix = ALIAS_ACCOUNTS.get(src)
            if prefix is None:
                raise IngestError(path, f"people[{p.email}].aliases: unknown source {src!r} "
                                        f"(one of {', '.join(ALIAS_ACCOUNTS)})")
            for login in [logins] if isinstance(logins, str) else logins:
                native = login.lower() if src == "github" else login
                edges.append(trusted_edge(src=pid, dst=f"{prefix}{native}", kind=EdgeKind.HAS_ACCOUNT,
                                  properties={"via": "inventory alias"}))

    for t in inv.teams:
        tid = canonical("team", t.id)
        nodes.append(trusted_node(id=tid, kind=NodeKind.Team, name=t.name or t.id, properties=t.extras()))
        for m in t.members:
            edges.append(trusted_edge(src=who(m, f"teams[{t.id}].members"), dst=tid, kind=EdgeKind.MEMBER_OF))
        for o in t.owners:
            edges.append(trusted_edge(src=who(o, f"teams[{t.id}].owners"), dst=tid, kind=EdgeKind.OWNS))

    for tool in inv.ai_tools:
        tid = canonical("tool", tool.id)
        props = {k: v for k, v in {
            "approved": tool.approved, "environment": tool.environment,
            "budget_usd_month": tool.budget_usd_month, "vendor": tool.vendor,
            "owner": tool.owner, "inventory": True}.items() if v is not None}
        props.update(tool.extras())
        nodes.append(trusted_node(id=tid, kind=NodeKind.AITool, name=tool.name or tool.id, properties=props))
        if tool.owner:
            edges.append(trusted_edge(src=who(tool.owner, f"ai_tools[{tool.id}].owner"), dst=tid,
                              kind=EdgeKind.OWNS))
        for cred in tool.credentials:
            edges.append(trusted_edge(src=tid, dst=_principal(cred, path, f"ai_tools[{tool.id}].credentials"),
                              kind=EdgeKind.HOLDS))
        for client in tool.oauth_clients:
            edges.append(trusted_edge(src=tid, dst=_principal(client, path, f"ai_tools[{tool.id}].oauth_clients"),
                              kind=EdgeKind.HOLDS))

    for app in inv.saas_apps:
        sid = canonical("saas", app.id)
        nodes.append(trusted_node(id=sid, kind=NodeKind.SaaSApp, name=app.name or app.id, properties=app.extras()))
        for client in app.oauth_clients:
            edges.append(trusted_edge(src=_principal(client, path, f"saas_apps[{app.id}].oauth_clients"),
                              dst=sid, kind=EdgeKind.CAN_ACCESS, properties={"via": "oauth_client"}))
        for ref in app.data:
            ref = DataRef(id=ref) if isinstance(ref, str) else ref
            props = {"access": Access.parse(ref.access).name} if ref.access else {}
            edges.append(trusted_edge(src=sid, dst=canonical("data", ref.id), kind=EdgeKind.CONTAINS,
                              properties=props))

    for ds in inv.data_sources:
        did = canonical("data", ds.id)
        props = {"sensitivity": ds.sensitivity} if ds.sensitivity else {}
        props.update(ds.extras())
        nodes.append(trusted_node(id=did, kind=NodeKind.DataSource, name=ds.name or ds.id, properties=props))
        for cred in ds.stores_secrets:
            edges.append(trusted_edge(src=did, dst=_principal(cred, path, f"data_sources[{ds.id}].stores_secrets"),
                              kind=EdgeKind.STORES_SECRET))

    for cred in inv.credentials:
        cid = _principal(cred.id, path, "credentials")
        props = {k: v for k, v in {"environment": cred.environment, "owner": cred.owner,
                                   "budget_usd_month": cred.budget_usd_month}.items() if v is not None}
        props.update(cred.extras())
        nodes.append(trusted_node(id=cid, kind=NodeKind.Credential, properties=props, enrichment=True))
        if cred.owner:
            edges.append(trusted_edge(src=who(cred.owner, f"credentials[{cred.id}].owner"), dst=cid,
                              kind=EdgeKind.OWNS))
        for user in cred.used_by:
            edges.append(trusted_edge(src=who(user, f"credentials[{cred.id}].used_by"), dst=cid,
                              kind=EdgeKind.HOLDS, properties={"via": "used_by"}))

    for n, entry in enumerate(inv.access):
        src = who(entry.principal, f"access[{n}].principal")
        dst = _principal(entry.target, path, f"access[{n}].target")
        edges.append(trusted_edge(src=src, dst=dst, kind=EdgeKind.CAN_ACCESS,
                          properties={"access": Access.parse(entry.access).name}))

    for item in inv.owners:
        target = _principal(item.id, path, "owners")
        for owner in [item.owner] if isinstance(item.owner, str) else item.owner:
            edges.append(trusted_edge(src=who(owner, f"owners[{item.id}].owner"), dst=target, kind=EdgeKind.OWNS))

    for model, price in inv.prices.items():
        rec.settings[f"price:{model}"] = price.model_dump(exclude_none=True)
