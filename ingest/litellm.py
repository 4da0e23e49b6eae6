"""`litellm/`: a LiteLLM proxy's management API snapshot: virtual keys (full objects,
`/key/list?return_full_object=true`), teams, internal users and spend logs.

Keys are named by their token hash (`litellm:key:<token>`); the raw key is never
present (`key_name` is LiteLLM's own redacted display, kept as the hint). Spend logs
carry LiteLLM's own per-request `spend`, so their usage rows have `vendor_usd`.
Accepted envelopes: `/key/list` pages `{keys, total_count, current_page, total_pages}`,
`/user/list` pages `{users, ...}` (or a bare array), `/team/list` a bare array (or
`/v2/team/list` pages `{teams, ...}`), `/spend/logs` a bare array of request rows (or
`/spend/logs/v2` pages `{data, ...}`).

A spend log's `user` is the key's owner (the key's `user_id`); `end_user` is who
actually called (the request's `user` parameter, what a chat front end sets to the
person using it). Its usage row names the caller's account: `litellm:user:<end_user>`
(inventory `aliases: {litellm: [...]}` resolve it; an email links its person), else the
owner's. So a key two people call is over-shared, and spend by credential lists its
callers; spend is still attributed to the key's owner.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.ids import looks_like_email
from engine.model import EdgeKind, NodeKind, Records

from .ai_records import (vendor_extras, Graph, UsageSum, as_float, as_int, day_of, gc_paused, selected,
                         split_hint, ts, unknown_key_warnings)
from .errors import IngestError
from .files import list_items

SOURCE = "litellm"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Key fields that may hold upstream credentials or prompt content: never stored.
_DROP = {"key", "config", "token", "key_name", "messages", "response", "proxy_server_request",
         "litellm_credential_name"}


@gc_paused
def ingest(root: Path, only: set[Path] | None = None) -> Records:
    root = Path(root)
    rec = Records(source=SOURCE)
    g = Graph(rec)
    files = selected((p for p in root.rglob("*.json") if p.is_file()), only)
    listed: set[str] = set()
    saw_keys = False
    usage = UsageSum(SOURCE)
    used: list[str | None] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        rec.files.append(str(path))
        if rel == "key/list.json":
            saw_keys = True
            listed |= _keys(path, g)
        elif rel == "team/list.json":
            _teams(path, g)
        elif rel == "user/list.json":
            _users(path, g)
        elif rel == "spend/logs.json":
            used += _spend_logs(path, usage, rec, g)
        else:
            rec.warnings.append(f"{SOURCE}: {rel} is not in the snapshot layout (ignored)")
    rec.usage = usage.usage_rows()
    if saw_keys:
        rec.warnings += unknown_key_warnings(SOURCE, used, listed, "key")
    return rec


def _extras(item: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    return vendor_extras(item, skip, _DROP)


def _keys(path: Path, g: Graph) -> set[str]:
    tokens = set()
    for n, item in enumerate(list_items(path, ("keys", "data"))):
        token = item.get("token")
        if not isinstance(token, str) or not token:
            raise IngestError(path, f"key {n + 1}: no 'token' (save /key/list with "
                                    f"return_full_object=true)")
        tokens.add(token)
        node = f"litellm:key:{token}"
        blocked = bool(item.get("blocked"))
        props = _extras(item, {"created_at", "updated_at", "expires", "blocked", "user_id",
                               "team_id", "key_alias", "budget_reset_at"})
        props.update(split_hint(item.get("key_name")))
        if _HEX64.match(token):
            props["sha256"] = token
        props.update(token_hash=token, key_alias=item.get("key_alias"),
                     status="blocked" if blocked else "active",
                     created_at=ts(item.get("created_at")), updated_at=ts(item.get("updated_at")),
                     expires_at=ts(item.get("expires")),
                     budget_reset_at=ts(item.get("budget_reset_at")),
                     user_id=item.get("user_id"), team_id=item.get("team_id"), vendor=SOURCE)
        g.node(node, NodeKind.Credential, name=item.get("key_alias") or item.get("key_name"),
               active=False if blocked else None, **props)
        owner = item.get("user_id") or _creator(item.get("created_by"))
        if owner:
            g.edge(f"litellm:user:{owner}", node, EdgeKind.OWNS)
        if item.get("user_id"):
            g.edge(node, f"litellm:user:{item['user_id']}", EdgeKind.AUTHENTICATES_AS)
        if item.get("team_id"):
            g.edge(node, f"litellm:team:{item['team_id']}", EdgeKind.MEMBER_OF)
    return tokens


def _creator(created_by: Any) -> str | None:
    # The proxy's own admin identity creates many keys without owning them in any human sense.
    if isinstance(created_by, str) and created_by and created_by not in ("default_user_id",
                                                                          "litellm_proxy_admin"):
        return created_by
    return None


def _teams(path: Path, g: Graph) -> None:
    for n, item in enumerate(list_items(path, ("teams", "data"))):
        tid = item.get("team_id")
        if not isinstance(tid, str) or not tid:
            raise IngestError(path, f"team {n + 1}: missing string 'team_id'")
        node = f"litellm:team:{tid}"
        props = _extras(item, {"team_id", "team_alias", "members_with_roles", "members", "admins",
                               "created_at", "updated_at", "blocked", "keys", "budget_reset_at"})
        g.node(node, NodeKind.Team, name=item.get("team_alias") or tid,
               active=False if item.get("blocked") else None,
               created_at=ts(item.get("created_at")), updated_at=ts(item.get("updated_at")),
               vendor=SOURCE, **props)
        roles: dict[str, str] = {}
        emails: dict[str, str] = {}
        for m in item.get("members_with_roles") or []:
            if isinstance(m, dict) and m.get("user_id"):
                roles[m["user_id"]] = m.get("role") or "user"
                if m.get("user_email"):
                    emails[m["user_id"]] = m["user_email"]
        # Older team objects list bare user ids in `admins` and `members`.
        for field, role in (("admins", "admin"), ("members", "user")):
            for uid in item.get(field) or []:
                if isinstance(uid, str) and uid:
                    roles.setdefault(uid, role)
        for uid, role in sorted(roles.items()):
            acct = f"litellm:user:{uid}"
            if uid in emails:
                g.account(acct, emails[uid])
            g.edge(acct, node, EdgeKind.MEMBER_OF, role=role)
            if role == "admin":
                g.edge(acct, node, EdgeKind.OWNS)


def _users(path: Path, g: Graph) -> None:
    for n, item in enumerate(list_items(path, ("users", "data"))):
        uid = item.get("user_id")
        if not isinstance(uid, str) or not uid:
            raise IngestError(path, f"user {n + 1}: missing string 'user_id'")
        node = f"litellm:user:{uid}"
        props = _extras(item, {"user_id", "user_email", "user_alias", "created_at", "updated_at",
                               "teams", "budget_reset_at", "organization_memberships"})
        g.account(node, item.get("user_email"), name=item.get("user_alias"),
                  login=uid, created_at=ts(item.get("created_at")),
                  updated_at=ts(item.get("updated_at")), **props)
        for team in item.get("teams") or []:
            if isinstance(team, str) and team:
                g.edge(node, f"litellm:team:{team}", EdgeKind.MEMBER_OF)


def _caller(row: dict[str, Any], g: Graph, callers: set[str]) -> str | None:
    """The account of who made the call: `end_user`, else the key owner `user`."""
    end_user = row.get("end_user")
    if isinstance(end_user, str) and end_user.strip():
        end_user = end_user.strip()
        node = f"litellm:user:{end_user}"
        if node not in callers:
            callers.add(node)
            g.account(node, end_user if looks_like_email(end_user) else None, login=end_user,
                      end_user=True, vendor=SOURCE)
        return node
    user = row.get("user") or None
    return f"litellm:user:{user}" if user else None


def _spend_logs(path: Path, usage: UsageSum, rec: Records, g: Graph) -> list[str | None]:
    used = []
    summary_rows = 0
    callers: set[str] = set()
    for n, row in enumerate(list_items(path, ("data", "logs"))):
        where = f"log {n + 1}"
        when = row.get("startTime") or row.get("start_time") or row.get("endTime")
        day = day_of(when, path, f"{where} startTime")
        if "api_key" not in row and isinstance(row.get("models"), dict):
            # The per-day summary shape (`/spend/logs?start_date=..`) names no key.
            summary_rows += 1
            for model, spend in sorted(row["models"].items()):
                usage.add(day, str(model), None, None, None,
                          vendor_usd=as_float(spend, path, f"{where} models.{model}") or 0.0)
            continue
        key = row.get("api_key") or None
        used.append(key)
        usage.add(day, str(row.get("model") or row.get("model_group") or "unknown"),
                  f"litellm:key:{key}" if key else None, None, _caller(row, g, callers),
                  input_tokens=as_int(row.get("prompt_tokens"), path, f"{where} prompt_tokens"),
                  output_tokens=as_int(row.get("completion_tokens"), path, f"{where} completion_tokens"),
                  requests=1,
                  vendor_usd=as_float(row.get("spend"), path, f"{where} spend") or 0.0)
    if summary_rows:
        rec.warnings.append(f"{SOURCE}: {path.name}: {summary_rows} per-day summary row(s) name no "
                            f"key; their spend is kept unattributed (save per-request logs)")
    return used
