"""`openai/`: the OpenAI Admin API snapshot (organization users, projects and their
users, service accounts and API keys, admin keys, completions usage, costs).

Listings are `{object: "list", data: [...], first_id, last_id, has_more}`; usage and
costs are pages `{object: "page", data: [bucket...], has_more, next_page}` whose
buckets carry `start_time` (unix seconds) and `results`. The API names no
organization id, so the organization node is `openai:organization:default`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.model import CostRow, EdgeKind, NodeKind, Records

from .ai_records import (vendor_extras, Graph, UsageSum, as_float, as_int, day_of, gc_paused, require_dict,
                         selected, split_hint, status_active, ts, unknown_key_warnings)
from .errors import IngestError
from .fields import text
from .files import list_items

SOURCE = "openai"
ORG_DEFAULT = "default"
_PROJECT_FILE = re.compile(r"^organization/projects/([^/]+)/(users|service_accounts|api_keys)\.json$")
# Result fields of the usage endpoints we map; anything else is kept and reported.
USAGE_FIELDS = {"object", "input_tokens", "output_tokens", "input_cached_tokens",
                "input_audio_tokens", "output_audio_tokens", "num_model_requests",
                "project_id", "user_id", "api_key_id", "model", "batch", "service_tier",
                # other usage endpoints (embeddings, moderations...) share the envelope
                "images", "size", "source", "characters", "seconds", "num_requests"}
_SECRET_FIELDS = {"value", "key", "secret"}


@gc_paused
def ingest(root: Path, only: set[Path] | None = None) -> Records:
    root = Path(root)
    rec = Records(source=SOURCE)
    g = Graph(rec)
    files = selected((p for p in root.rglob("*.json") if p.is_file()), only)
    org_node = f"openai:organization:{ORG_DEFAULT}"
    listed_keys: set[str] = set()
    saw_key_listing = False
    usage = UsageSum(SOURCE)
    used_keys: list[str | None] = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        rec.files.append(str(path))
        m = _PROJECT_FILE.match(rel)
        if rel == "organization/users.json":
            g.node(org_node, NodeKind.Project, name="OpenAI organization", vendor=SOURCE)
            _users(path, g, org_node)
        elif rel == "organization/projects.json":
            g.node(org_node, NodeKind.Project, name="OpenAI organization", vendor=SOURCE)
            _projects(path, g, org_node)
        elif m and m.group(2) == "users":
            _project_users(path, g, m.group(1))
        elif m and m.group(2) == "service_accounts":
            _service_accounts(path, g, m.group(1))
        elif m and m.group(2) == "api_keys":
            saw_key_listing = True
            listed_keys |= _api_keys(path, g, m.group(1))
        elif rel == "organization/admin_api_keys.json":
            saw_key_listing = True
            listed_keys |= _admin_keys(path, g, org_node)
        elif rel.startswith("organization/usage/"):
            used_keys += _usage(path, usage, rec)
        elif rel == "organization/costs.json":
            _costs(path, rec, org_node)
        else:
            rec.warnings.append(f"{SOURCE}: {rel} is not in the snapshot layout (ignored)")
    rec.usage = usage.usage_rows()
    # Name unlisted keys only when every key listing on disk was read (a partial load
    # of one project's keys says nothing about the others').
    if saw_key_listing and (only is None or {p.resolve() for p in root.glob(
            "organization/projects/*/api_keys.json")} <= only):
        rec.warnings += unknown_key_warnings(SOURCE, used_keys, listed_keys, "API key")
    return rec


def _vendor_props(item: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Fields kept under their own names (minus what is mapped and any secret)."""
    return vendor_extras({k: v for k, v in item.items() if not isinstance(v, (dict, list))},
                         skip, _SECRET_FIELDS)


def _need_id(item: dict[str, Any], path: Path, where: str) -> str:
    value = item.get("id")
    if not isinstance(value, str) or not value:
        raise IngestError(path, f"{where}: missing string 'id'")
    return value


def _users(path: Path, g: Graph, org_node: str) -> None:
    for n, item in enumerate(list_items(path, "data")):
        uid = _need_id(item, path, f"user {n + 1}")
        node = f"openai:user:{uid}"
        props = _vendor_props(item, {"id", "email", "name", "added_at", "object"})
        # An unexpected vendor `created_at` must not collide with ours: added_at wins.
        g.account(node, item.get("email"), name=item.get("name"),
                  **{**props, "created_at": ts(item.get("added_at")), "added_at": ts(item.get("added_at"))})
        role = item.get("role")
        g.edge(node, org_node, EdgeKind.MEMBER_OF, role=role)
        if role == "owner":
            g.edge(node, org_node, EdgeKind.OWNS)


def _projects(path: Path, g: Graph, org_node: str) -> None:
    for n, item in enumerate(list_items(path, "data")):
        pid = _need_id(item, path, f"project {n + 1}")
        node = f"openai:project:{pid}"
        status = item.get("status")
        archived = status == "archived" or item.get("archived_at") is not None
        props = _vendor_props(item, {"id", "name", "created_at", "archived_at", "object", "status"})
        g.node(node, NodeKind.Project, name=item.get("name"), active=False if archived else None,
               status="archived" if archived and not status else status,
               created_at=ts(item.get("created_at")), archived_at=ts(item.get("archived_at")),
               vendor=SOURCE, **props)
        g.edge(node, org_node, EdgeKind.MEMBER_OF)


def _project_users(path: Path, g: Graph, project: str) -> None:
    pnode = f"openai:project:{project}"
    for n, item in enumerate(list_items(path, "data")):
        uid = _need_id(item, path, f"project user {n + 1}")
        node = f"openai:user:{uid}"
        props = _vendor_props(item, {"id", "email", "name", "added_at", "object", "role"})
        g.account(node, item.get("email"), name=item.get("name"), **props)
        role = item.get("role")
        g.edge(node, pnode, EdgeKind.MEMBER_OF, role=role)
        if role == "owner":
            g.edge(node, pnode, EdgeKind.OWNS)


def _service_account(g: Graph, sa: dict[str, Any], project: str | None) -> str:
    node = f"openai:service_account:{sa['id']}"
    props = _vendor_props(sa, {"id", "name", "created_at", "object", "role"})
    g.node(node, NodeKind.ServiceAccount, name=sa.get("name"),
           created_at=ts(sa.get("created_at")),
           project_id=f"openai:project:{project}" if project else None, vendor=SOURCE, **props)
    if project:
        g.edge(node, f"openai:project:{project}", EdgeKind.MEMBER_OF, role=sa.get("role"))
    return node


def _service_accounts(path: Path, g: Graph, project: str) -> None:
    for n, item in enumerate(list_items(path, "data")):
        _need_id(item, path, f"service account {n + 1}")
        _service_account(g, item, project)


def _owner(path: Path, g: Graph, key_node: str, owner: Any, project: str | None, where: str) -> dict:
    """Link a key to its owner. Current shape `{type, user|service_account: {...}}`;
    admin keys and older exports put the owner's fields flat beside `type`."""
    if owner is None:
        return {}
    owner = require_dict(owner, path, f"{where}.owner")
    kind = text(owner.get("type"), path, f"{where}.owner.type") or ("service_account" if "service_account" in owner else
                                 "user" if "user" in owner else None)
    inner = owner.get(kind) if isinstance(owner.get(kind), dict) else owner
    oid = inner.get("id")
    if not oid:
        return {"owner_type": kind}
    if kind == "service_account":
        sa = _service_account(g, inner, project)
        g.edge(key_node, sa, EdgeKind.AUTHENTICATES_AS)
    elif kind == "user":
        acct = f"openai:user:{oid}"
        g.account(acct, inner.get("email"), name=inner.get("name"))
        g.edge(acct, key_node, EdgeKind.OWNS)
        g.edge(key_node, acct, EdgeKind.AUTHENTICATES_AS)
    return {"owner_type": kind, "owner_id": oid}


def _key_props(item: dict[str, Any]) -> dict[str, Any]:
    props = _vendor_props(item, {"id", "name", "created_at", "last_used_at", "expires_at",
                                 "object", "owner", "redacted_value", "status"})
    props.update(split_hint(item.get("redacted_value")))
    props.update(created_at=ts(item.get("created_at")), last_used_at=ts(item.get("last_used_at")),
                 expires_at=ts(item.get("expires_at")), redacted_value=item.get("redacted_value"),
                 status=item.get("status"), vendor=SOURCE)
    return props


def _api_keys(path: Path, g: Graph, project: str) -> set[str]:
    ids = set()
    pnode = f"openai:project:{project}"
    for n, item in enumerate(list_items(path, "data")):
        kid = _need_id(item, path, f"API key {n + 1}")
        ids.add(kid)
        node = f"openai:api_key:{kid}"
        props = _key_props(item)
        props.update(_owner(path, g, node, item.get("owner"), project, f"API key {n + 1}"))
        g.node(node, NodeKind.Credential, name=item.get("name"),
               active=status_active(item.get("status")), project_id=pnode, **props)
        g.edge(node, pnode, EdgeKind.MEMBER_OF)
    return ids


def _admin_keys(path: Path, g: Graph, org_node: str) -> set[str]:
    ids = set()
    for n, item in enumerate(list_items(path, "data")):
        kid = _need_id(item, path, f"admin key {n + 1}")
        ids.add(kid)
        node = f"openai:admin_api_key:{kid}"
        props = _key_props(item)
        props.update(_owner(path, g, node, item.get("owner"), None, f"admin key {n + 1}"))
        g.node(node, NodeKind.Credential, name=item.get("name"),
               active=status_active(item.get("status")), project_id=org_node, admin=True, **props)
        g.edge(node, org_node, EdgeKind.MEMBER_OF)
    return ids


def _buckets(path: Path):
    for n, bucket in enumerate(list_items(path, "data")):
        where = f"bucket {n + 1}"
        if "start_time" not in bucket:
            raise IngestError(path, f"{where}: expected a time bucket with 'start_time' and "
                                    f"'results', got keys {sorted(bucket)[:8]}")
        results = bucket.get("results")
        if results is None:
            results = bucket.get("result") or []
        if not isinstance(results, list):
            raise IngestError(path, f"{where}: 'results' is {type(results).__name__}, expected a list")
        yield day_of(bucket["start_time"], path, f"{where} start_time"), where, results


def _usage(path: Path, usage: UsageSum, rec: Records) -> list[str | None]:
    used = []
    unknown: set[str] = set()
    add = usage.add
    for day, where, results in _buckets(path):
        for m, r in enumerate(results):
            if type(r) is not dict:
                require_dict(r, path, f"{where} result {m + 1}")
            # Millions of rows: plain ints pass straight through; only a wrong value
            # pays for formatting its location.
            tin, tout = r.get("input_tokens"), r.get("output_tokens")
            cached, reqs = r.get("input_cached_tokens"), r.get("num_model_requests")
            if type(tin) is not int or type(tout) is not int or type(cached) is not int \
                    or type(reqs) is not int:
                w = f"{where} result {m + 1}"
                tin = as_int(tin, path, f"{w} input_tokens")
                tout = as_int(tout, path, f"{w} output_tokens")
                cached = as_int(cached, path, f"{w} input_cached_tokens")
                reqs = as_int(reqs, path, f"{w} num_model_requests")
            extra = None
            odd = r.keys() - USAGE_FIELDS
            if odd:
                unknown |= odd
                extra = {k: r[k] for k in odd
                         if isinstance(r[k], (int, float)) and not isinstance(r[k], bool)}
            if r.get("input_audio_tokens") or r.get("output_audio_tokens"):
                extra = extra or {}
                for k in ("input_audio_tokens", "output_audio_tokens"):
                    if r.get(k):
                        extra[k] = as_int(r[k], path, f"{where} result {m + 1} {k}")
            kid, pid, uid = r.get("api_key_id"), r.get("project_id"), r.get("user_id")
            used.append(kid)
            add(day, str(r.get("model") or "unknown"),
                f"openai:api_key:{kid}" if kid else None,
                f"openai:project:{pid}" if pid else None,
                f"openai:user:{uid}" if uid else None,
                tin, tout, cached, reqs, None, extra)
    if unknown:
        rec.warnings.append(f"{SOURCE}: {path.name}: unknown usage field(s) {', '.join(sorted(unknown))} "
                            f"(rows kept; numeric values kept as properties)")
    return used


def _costs(path: Path, rec: Records, org_node: str) -> None:
    merged: dict[tuple, CostRow] = {}
    for day, where, results in _buckets(path):
        for m, r in enumerate(results):
            r = require_dict(r, path, f"{where} result {m + 1}")
            amount = r.get("amount")
            if isinstance(amount, dict):
                value, currency = amount.get("value"), amount.get("currency")
            else:
                value, currency = amount, r.get("currency")
            usd = as_float(value, path, f"{where} result {m + 1} amount")
            if usd is None:
                continue
            pid = r.get("project_id")
            scope = f"openai:project:{pid}" if pid else org_node
            line = text(r.get("line_item"), path, f"{where} result {m + 1} line_item")
            key = (day, scope, line)
            if key in merged:
                merged[key].usd += usd
                continue
            merged[key] = CostRow(day=day, scope_id=scope, line_item=line, usd=usd,
                                  properties={"currency": (text(currency, path, f"{where} result {m + 1} currency")
                                                           or "usd").lower(),
                                              "vendor": SOURCE})
    rec.costs += list(merged.values())
