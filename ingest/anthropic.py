"""`anthropic/`: the Anthropic Admin API snapshot (users, workspaces and members, API
keys, the messages usage report, the cost report, the Claude Code usage report).

Listings are `{data: [...], has_more, first_id, last_id}`; reports are pages
`{data: [bucket...], has_more, next_page}` whose buckets carry `starting_at` and
`results`. A key or usage row with no workspace belongs to the default workspace,
`anthropic:workspace:default`, where every organization member works; organization
admins (roles `admin`, `owner`, `primary_owner`) own it. Cost report amounts are
decimal strings in cents.

Usage: the legacy messages usage report (`usage_report/messages.json`) gives tokens but
no request count, so its rows say `requests_known: false` (spend shows their requests
as unknown, not 0). The Usage and Cost Analytics API's usage listing
(`analytics/usage.json`, `GET /v1/organizations/analytics/usage`: items `{starting_at,
ending_at, group: {api_key_id, workspace_id, model, actor...}, usage: {uncached_input_tokens,
cache_creation, cache_read_input_tokens, output_tokens, requests, server_tool_use}}`)
gives requests; when a snapshot holds both, the analytics listing is the usage and the
legacy report is not added to it (they count the same traffic). A row with no key but a
`service_account_id` or `account_id` (user) is that identity's usage.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.ids import looks_like_email, person_id
from engine.model import ActivityRow, CostRow, EdgeKind, NodeKind, Records

from .ai_records import (vendor_extras, Graph, UsageSum, as_float, as_int, day_of, gc_paused, require_dict,
                         selected, split_hint, status_active, ts, unknown_key_warnings)
from .errors import IngestError
from .files import list_items

SOURCE = "anthropic"
DEFAULT_WORKSPACE = "anthropic:workspace:default"
_MEMBERS_FILE = re.compile(r"^organizations/workspaces/([^/]+)/members\.json$")
USAGE_FIELDS = {"uncached_input_tokens", "cache_creation", "cache_read_input_tokens",
                "cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens",
                "output_tokens", "server_tool_use", "api_key_id", "workspace_id", "model",
                "service_tier", "context_window", "account_id", "service_account_id",
                "inference_geo", "speed"}
OWNER_ROLES = {"admin", "owner", "primary_owner"}       # organization roles that own it all
ANALYTICS_USAGE = "organizations/analytics/usage.json"
ANALYTICS_METRICS = {"uncached_input_tokens", "input_tokens", "cache_creation", "cache_read_input_tokens",
                     "output_tokens", "requests", "server_tool_use"}


@gc_paused
def ingest(root: Path, only: set[Path] | None = None) -> Records:
    root = Path(root)
    rec = Records(source=SOURCE)
    g = Graph(rec)
    files = selected((p for p in root.rglob("*.json") if p.is_file()), only)
    usage = UsageSum(SOURCE)
    legacy = UsageSum(SOURCE, requests_known=False)   # the messages report states no request count
    analytics = False
    used: list[str | None] = []
    listed: dict[str, str] = {}           # key id -> key name
    saw_keys = False
    code_files = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        rec.files.append(str(path))
        m = _MEMBERS_FILE.match(rel)
        if rel == "organizations/users.json":
            _users(path, g)
        elif rel == "organizations/workspaces.json":
            _workspaces(path, g)
        elif m:
            _members(path, g, m.group(1))
        elif rel == "organizations/api_keys.json":
            saw_keys = True
            listed.update(_api_keys(path, g))
        elif rel == "organizations/usage_report/messages.json":
            used += _messages(path, legacy, rec)
        elif rel == ANALYTICS_USAGE:
            analytics = True
            used += _analytics_usage(path, usage, rec, g)
        elif rel == "organizations/cost_report.json":
            _cost_report(path, rec)
        elif rel == "organizations/usage_report/claude_code.json":
            code_files.append(path)
        else:
            rec.warnings.append(f"{SOURCE}: {rel} is not in the snapshot layout (ignored)")
    names = {name: kid for kid, name in listed.items() if name}
    for path in code_files:
        _claude_code(path, rec, names)
    if analytics and legacy.rows:
        rec.warnings.append(f"{SOURCE}: usage_report/messages.json not added: {ANALYTICS_USAGE} "
                            f"reports the same usage (with request counts)")
        legacy.rows.clear()
    rec.usage = usage.usage_rows() + legacy.usage_rows()
    if saw_keys:
        rec.warnings += unknown_key_warnings(SOURCE, used, set(listed), "API key")
    return rec


def _workspace_node(wid: Any) -> str:
    return f"anthropic:workspace:{wid}" if wid else DEFAULT_WORKSPACE


def _extras(item: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    return vendor_extras({k: v for k, v in item.items() if not isinstance(v, (dict, list))}, skip)


def _need(item: dict[str, Any], field: str, path: Path, where: str) -> str:
    value = item.get(field)
    if not isinstance(value, str) or not value:
        raise IngestError(path, f"{where}: missing string {field!r}")
    return value


def _default_workspace(g: Graph) -> None:
    g.node(DEFAULT_WORKSPACE, NodeKind.Project, name="Default workspace", vendor=SOURCE)


def _users(path: Path, g: Graph) -> None:
    _default_workspace(g)
    for n, item in enumerate(list_items(path, "data")):
        uid = _need(item, "id", path, f"user {n + 1}")
        node = f"anthropic:user:{uid}"
        # An unexpected vendor `created_at` must not collide with ours: added_at wins.
        g.account(node, item.get("email"), name=item.get("name"),
                  **{**_extras(item, {"id", "email", "name", "added_at", "type"}),
                     "created_at": ts(item.get("added_at")), "added_at": ts(item.get("added_at"))})
        role = item.get("role")
        g.edge(node, DEFAULT_WORKSPACE, EdgeKind.MEMBER_OF, role=role)
        if role in OWNER_ROLES:
            g.edge(node, DEFAULT_WORKSPACE, EdgeKind.OWNS)


def _workspaces(path: Path, g: Graph) -> None:
    for n, item in enumerate(list_items(path, "data")):
        wid = _need(item, "id", path, f"workspace {n + 1}")
        archived = item.get("archived_at") is not None or item.get("status") == "archived"
        g.node(_workspace_node(wid), NodeKind.Project, name=item.get("name"),
               active=False if archived else None,
               status="archived" if archived else item.get("status") or "active",
               created_at=ts(item.get("created_at")), archived_at=ts(item.get("archived_at")),
               vendor=SOURCE,
               **_extras(item, {"id", "name", "created_at", "archived_at", "type", "status"}))


def _members(path: Path, g: Graph, workspace: str) -> None:
    wnode = _workspace_node(workspace)
    for n, item in enumerate(list_items(path, "data")):
        uid = _need(item, "user_id", path, f"member {n + 1}")
        role = item.get("workspace_role") or item.get("role")
        g.edge(f"anthropic:user:{uid}", wnode, EdgeKind.MEMBER_OF, role=role)
        if role == "workspace_admin":
            g.edge(f"anthropic:user:{uid}", wnode, EdgeKind.OWNS)


def _actor(value: Any) -> tuple[str | None, str | None]:
    """(type, id) of `created_by`/`principal`: `{id, type}` or a bare id string."""
    if isinstance(value, dict):
        return value.get("type") or "user", value.get("id") or value.get("user_id")
    if isinstance(value, str) and value:
        return ("service_account" if value.startswith(("svcacct_", "service_account")) else "user"), value
    return None, None


def _scope_workspace(item: dict[str, Any]) -> Any:
    """Current keys name `workspace_id`; older exports a `scope` of the org or a workspace."""
    if "workspace_id" in item:
        return item.get("workspace_id")
    scope = item.get("scope")
    if isinstance(scope, dict):
        if scope.get("type") in ("organization", "org"):
            return None
        return scope.get("workspace_id") or scope.get("id")
    if isinstance(scope, str) and scope.startswith("wrkspc_"):
        return scope
    if isinstance(scope, str) and scope.startswith("workspace:"):
        return scope.split(":", 1)[1]
    return None


def _api_keys(path: Path, g: Graph) -> dict[str, str]:
    listed = {}
    for n, item in enumerate(list_items(path, "data")):
        where = f"API key {n + 1}"
        kid = _need(item, "id", path, where)
        listed[kid] = item.get("name") or ""
        node = f"anthropic:api_key:{kid}"
        wnode = _workspace_node(_scope_workspace(item))
        status = item.get("status")
        props = _extras(item, {"id", "name", "created_at", "expires_at", "partial_key_hint",
                               "status", "type", "workspace_id", "created_by", "principal",
                               "scope", "last_used_at"})
        props.update(split_hint(item.get("partial_key_hint")))
        creator_type, creator = _actor(item.get("created_by"))
        principal_type, principal = _actor(item.get("principal"))
        if creator:
            props.update(created_by_type=creator_type, created_by_id=creator)
            if creator_type == "user":
                g.edge(f"anthropic:user:{creator}", node, EdgeKind.OWNS)
        if principal:
            # The identity the key acts as (older exports): it also owns a user key.
            props.update(principal_type=principal_type, principal_id=principal)
            if principal_type == "user":
                g.edge(f"anthropic:user:{principal}", node, EdgeKind.OWNS)
                g.edge(node, f"anthropic:user:{principal}", EdgeKind.AUTHENTICATES_AS)
            else:
                sa = g.node(f"anthropic:service_account:{principal}", NodeKind.ServiceAccount,
                            vendor=SOURCE)
                g.edge(node, sa, EdgeKind.AUTHENTICATES_AS)
        g.node(node, NodeKind.Credential, name=item.get("name"), active=status_active(status),
               status=status, created_at=ts(item.get("created_at")),
               expires_at=ts(item.get("expires_at")), last_used_at=ts(item.get("last_used_at")),
               project_id=wnode, workspace_id=item.get("workspace_id"), vendor=SOURCE, **props)
        g.edge(node, wnode, EdgeKind.MEMBER_OF)
    return listed


def _buckets(path: Path):
    for n, bucket in enumerate(list_items(path, "data")):
        where = f"bucket {n + 1}"
        if "starting_at" not in bucket or not isinstance(bucket.get("results"), list):
            raise IngestError(path, f"{where}: expected a time bucket with 'starting_at' and a "
                                    f"'results' list, got keys {sorted(bucket)[:8]}")
        yield day_of(bucket["starting_at"], path, f"{where} starting_at"), where, bucket["results"]


def _messages(path: Path, usage: UsageSum, rec: Records) -> list[str | None]:
    used = []
    unknown: set[str] = set()
    add = usage.add
    for day, where, results in _buckets(path):
        for m, r in enumerate(results):
            if type(r) is not dict:
                require_dict(r, path, f"{where} result {m + 1}")
            if not r.keys() <= USAGE_FIELDS:
                unknown |= r.keys() - USAGE_FIELDS
            # Millions of rows: plain ints pass straight through; only a wrong value
            # pays for formatting its location.
            creation = r.get("cache_creation")
            if isinstance(creation, dict):
                written = 0
                for k, v in creation.items():
                    written += v if type(v) is int else as_int(
                        v, path, f"{where} result {m + 1} cache_creation.{k}")
            elif creation is None:
                c5, c1 = r.get("cache_creation_5m_input_tokens"), r.get("cache_creation_1h_input_tokens")
                if type(c5) is not int or type(c1) is not int:
                    c5 = as_int(c5, path, f"{where} result {m + 1}")
                    c1 = as_int(c1, path, f"{where} result {m + 1}")
                written = c5 + c1
            else:
                raise IngestError(path, f"{where} result {m + 1}: cache_creation is "
                                        f"{type(creation).__name__}, expected an object")
            uncached, read = r.get("uncached_input_tokens"), r.get("cache_read_input_tokens")
            if type(uncached) is not int or type(read) is not int:
                uncached = as_int(uncached, path, f"{where} result {m + 1} uncached_input_tokens")
                read = as_int(read, path, f"{where} result {m + 1} cache_read_input_tokens")
            extra = _extra_counts(written, r.get("server_tool_use"), path, f"{where} result {m + 1}")
            output = r.get("output_tokens")
            if type(output) is not int:
                output = as_int(output, path, f"{where} result {m + 1} output_tokens")
            kid = r.get("api_key_id")
            used.append(kid)
            add(day, str(r.get("model") or "unknown"),
                f"anthropic:api_key:{kid}" if kid else None,
                _workspace_node(r.get("workspace_id")), _usage_identity(r),
                uncached + read + written, output, read, 0, None, extra)
    if unknown:
        rec.warnings.append(f"{SOURCE}: {path.name}: unknown usage field(s) "
                            f"{', '.join(sorted(unknown))} (rows kept)")
    return used


def _extra_counts(written: int, tools: Any, path: Path, where: str) -> dict[str, int]:
    """A usage row's counts beyond tokens: cache writes and server tool uses."""
    extra: dict[str, int] = {}
    if written:
        extra["cache_creation_input_tokens"] = written
    if isinstance(tools, dict):
        for k, v in tools.items():
            if v:
                extra[k] = as_int(v, path, f"{where} server_tool_use.{k}")
    return extra


def _usage_identity(r: dict[str, Any]) -> str | None:
    """The identity a usage row grouped by `account_id` or `service_account_id` names."""
    if r.get("account_id"):
        return f"anthropic:user:{r['account_id']}"
    if r.get("service_account_id"):
        return f"anthropic:service_account:{r['service_account_id']}"
    return None


def _analytics_actor(group: dict[str, Any], g: Graph) -> str | None:
    """The user or service account behind an analytics row (`group.actor`, a tagged
    union: user_actor, service_account_actor, api_actor, federated_actor)."""
    actor = group.get("actor")
    if isinstance(actor, dict):
        kind = actor.get("type")
        if kind == "user_actor" and actor.get("user_id"):
            node = f"anthropic:user:{actor['user_id']}"
            if actor.get("email_address"):
                g.account(node, actor.get("email_address"), name=actor.get("name"))
            return node
        if kind == "service_account_actor" and actor.get("service_account_id"):
            return f"anthropic:service_account:{actor['service_account_id']}"
        if kind == "federated_actor" and actor.get("subject"):
            return f"anthropic:federated:{actor.get('provider') or 'idp'}:{actor['subject']}"
    return _usage_identity(group)


def _analytics_usage(path: Path, usage: UsageSum, rec: Records, g: Graph) -> list[str | None]:
    used = []
    unknown: set[str] = set()
    for n, item in enumerate(list_items(path, "data")):
        where = f"item {n + 1}"
        item = require_dict(item, path, where)
        if "starting_at" not in item or not isinstance(item.get("usage"), dict):
            raise IngestError(path, f"{where}: expected a usage item with 'starting_at' and a 'usage' "
                                    f"object, got keys {sorted(item)[:8]}")
        day = day_of(item["starting_at"], path, f"{where} starting_at")
        group = item.get("group") if isinstance(item.get("group"), dict) else {}
        m = item["usage"]
        unknown |= m.keys() - ANALYTICS_METRICS
        creation = m.get("cache_creation")
        written = 0
        if isinstance(creation, dict):
            for k, v in creation.items():
                written += as_int(v, path, f"{where} usage.cache_creation.{k}")
        elif creation is not None:
            written = as_int(creation, path, f"{where} usage.cache_creation")
        uncached = m.get("uncached_input_tokens", m.get("input_tokens"))
        uncached = as_int(uncached, path, f"{where} usage.uncached_input_tokens")
        read = as_int(m.get("cache_read_input_tokens"), path, f"{where} usage.cache_read_input_tokens")
        output = as_int(m.get("output_tokens"), path, f"{where} usage.output_tokens")
        requests = as_int(m.get("requests"), path, f"{where} usage.requests")
        extra = _extra_counts(written, m.get("server_tool_use"), path, f"{where} usage")
        kid = group.get("api_key_id")
        if not kid and isinstance(group.get("actor"), dict) and group["actor"].get("type") == "api_actor":
            kid = group["actor"].get("api_key_id")
        used.append(kid)
        usage.add(day, str(group.get("model") or "unknown"), f"anthropic:api_key:{kid}" if kid else None,
                  _workspace_node(group.get("workspace_id")), _analytics_actor(group, g),
                  uncached + read + written, output, read, requests, None, extra)
    if unknown:
        rec.warnings.append(f"{SOURCE}: {path.name}: unknown usage metric(s) "
                            f"{', '.join(sorted(unknown))} (rows kept)")
    return used


def _cost_report(path: Path, rec: Records) -> None:
    merged: dict[tuple, CostRow] = {}
    for day, where, results in _buckets(path):
        for m, r in enumerate(results):
            w = f"{where} result {m + 1}"
            r = require_dict(r, path, w)
            cents = as_float(r.get("amount"), path, f"{w} amount")
            if cents is None:
                continue
            scope = _workspace_node(r.get("workspace_id"))
            line = r.get("description") or r.get("cost_type")
            key = (day, scope, line)
            if key in merged:
                merged[key].usd += cents / 100.0
                continue
            props = {k: r.get(k) for k in ("cost_type", "model", "service_tier", "token_type",
                                           "context_window") if r.get(k) is not None}
            merged[key] = CostRow(day=day, scope_id=scope, line_item=line, usd=cents / 100.0,
                                  properties={"currency": str(r.get("currency") or "USD").lower(),
                                              "vendor": SOURCE, **props})
    rec.costs += list(merged.values())


_CODE_NUMBERS = ("sessions", "lines_added", "lines_removed", "commits", "pull_requests",
                 "tool_actions_accepted", "tool_actions_rejected", "input_tokens",
                 "output_tokens", "estimated_cost_usd")


def _claude_code(path: Path, rec: Records, key_names: dict[str, str]) -> None:
    """Activity per person per day (not spend: the contract shows it beside spend)."""
    merged: dict[tuple, dict[str, Any]] = {}
    days: dict[Any, Any] = {}
    n = 0

    # Tens of thousands of records with a dozen numbers each: plain ints pass straight
    # through, and only a wrong value pays for formatting where it was.
    def num(value: Any, what: str | None) -> int:
        if type(value) is int:
            return value
        return as_int(value, path, f"record {n + 1} {what}" if what else f"record {n + 1}")

    for n, item in enumerate(list_items(path, "data")):
        raw_day = item.get("date")
        day = days.get(raw_day) if type(raw_day) is str else None
        if day is None:
            day = day_of(raw_day, path, f"record {n + 1} date")
            if type(raw_day) is str:
                days[raw_day] = day
        actor = item.get("actor")
        if type(actor) is not dict:
            actor = require_dict(actor, path, f"record {n + 1} actor")
        email = actor.get("email_address") or actor.get("email")
        if looks_like_email(email):
            actor_id = person_id(email)
        elif actor.get("user_id") or actor.get("id"):
            actor_id = f"anthropic:user:{actor.get('user_id') or actor.get('id')}"
        elif actor.get("api_key_name"):
            name = actor["api_key_name"]
            kid = key_names.get(name)
            actor_id = f"anthropic:api_key:{kid}" if kid else f"anthropic:api_key_name:{name}"
        else:
            raise IngestError(path, f"record {n + 1}: actor names no email, user or API key")
        core = item.get("core_metrics") or {}
        lines = core.get("lines_of_code") or {}
        accepted = rejected = 0
        for tool in (item.get("tool_actions") or {}).values():
            if isinstance(tool, dict):
                accepted += num(tool.get("accepted"), "tool_actions")
                rejected += num(tool.get("rejected"), "tool_actions")
        tokens_in = tokens_out = 0
        cost_cents = 0.0
        models = []
        for b in item.get("model_breakdown") or []:
            if type(b) is not dict:
                b = require_dict(b, path, f"record {n + 1} model_breakdown")
            tok = b.get("tokens") or {}
            tokens_in += (num(tok.get("input"), "tokens") + num(tok.get("cache_read"), "tokens")
                          + num(tok.get("cache_creation"), "tokens"))
            tokens_out += num(tok.get("output"), "tokens")
            cost = b.get("estimated_cost") or {}
            cost_cents += as_float(cost.get("amount"), path, f"record {n + 1} estimated_cost") or 0.0
            if b.get("model"):
                models.append(b["model"])
        values = {
            "sessions": num(core.get("num_sessions"), "num_sessions"),
            "lines_added": num(lines.get("added"), "lines_of_code"),
            "lines_removed": num(lines.get("removed"), "lines_of_code"),
            "commits": num(core.get("commits_by_claude_code"), None),
            "pull_requests": num(core.get("pull_requests_by_claude_code"), None),
            "tool_actions_accepted": accepted, "tool_actions_rejected": rejected,
            "input_tokens": tokens_in, "output_tokens": tokens_out,
            "estimated_cost_usd": cost_cents / 100.0,
        }
        cur = merged.get((day, actor_id))
        if cur is None:
            terminals = [item["terminal_type"]] if item.get("terminal_type") else []
            merged[(day, actor_id)] = {**values, "models": sorted(set(models)),
                                       "actor_type": actor.get("type"), "terminal_types": terminals,
                                       "customer_type": item.get("customer_type")}
        else:
            for k in _CODE_NUMBERS:
                cur[k] += values[k]
            cur["models"] = sorted(set(cur["models"]) | set(models))
            if item.get("terminal_type"):
                cur["terminal_types"] = sorted(set(cur["terminal_types"]) | {item["terminal_type"]})
    for (day, actor_id), props in sorted(merged.items()):
        props["estimated_cost_usd"] = round(props["estimated_cost_usd"], 6)
        rec.activity.append(ActivityRow(day=day, actor_id=actor_id, kind="claude_code",
                                        properties={k: v for k, v in props.items() if v is not None}))
