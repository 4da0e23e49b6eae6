"""Which changes to a source's statement about a node or edge start a new version.

History keeps one version per change that matters, never one per sync: re-stating
the same thing (or only volatile fields such as `last_used_at`) updates the current
version in place, so storage grows with changes, not with syncs. What matters is
the identity's standing: kind, active/status, owner, scopes, access, expiry,
environment, approval, and a statement coming back after its removal.

Both stores decide with these same names: the embedded store in SQL
(`sqlite_changed_sql`, in its load's statements), Neo4j in Python (`changed`).
"""
from __future__ import annotations

import json
from typing import Any

# Properties (of nodes and edges) whose change starts a new version.
MATTERS: tuple[str, ...] = (
    "status", "active", "state", "suspended", "disabled", "expired", "archived_at",
    "deactivated_at", "owner", "owners", "owner_id", "owner_type", "owner_login",
    "scopes", "scope", "access", "role", "roles", "permission", "permissions",
    "expires_at", "expires", "environment", "approved", "budget_usd_month",
)


def _prop(props: Any, name: str) -> Any:
    if isinstance(props, str):
        props = json.loads(props) if props not in ("", "{}") else {}
    return (props or {}).get(name)


def changed_fields(old: dict, new: dict) -> dict[str, tuple[Any, Any]]:
    """{field: (before, after)} of what matters between two statements or views
    (`kind`, `active`, `name` and MATTERS properties)."""
    out: dict[str, tuple[Any, Any]] = {}
    for f in ("kind", "active"):
        a, b = old.get(f), new.get(f)
        if f == "active" and a is not None and b is not None:
            a, b = bool(a), bool(b)
        if a != b:
            out[f] = (a, b)
    po, pn = old.get("properties") or {}, new.get("properties") or {}
    if isinstance(po, str):
        po = json.loads(po)
    if isinstance(pn, str):
        pn = json.loads(pn)
    for name in MATTERS:
        a, b = po.get(name), pn.get(name)
        if a != b:
            out[name] = (a, b)
    return out


def changed(old: dict, new: dict) -> bool:
    """Whether `new` starts a new version after `old` (statements as dicts with kind,
    active, properties, removed_at)."""
    if old.get("removed_at") is not None:
        return True
    if old.get("kind") != new.get("kind"):
        return True
    a, b = old.get("active"), new.get("active")
    if (None if a is None else int(a)) != (None if b is None else int(b)):
        return True
    po, pn = old.get("properties"), new.get("properties")
    if po == pn:
        return False
    return any(_prop(po, n) != _prop(pn, n) for n in MATTERS)


def sqlite_changed_sql(old: str, kind: str | None, active: str | None, props: str) -> str:
    """The SQL condition, true when a statement (`kind`, `active`, `props`: SQL
    expressions; None for edges) starts a new version of the stored row `old`."""
    # JSON text is written with sorted keys, so equal text is equal properties: the
    # per-property comparison runs only when the text differs. (json_valid: text
    # json.dumps wrote with NaN is no JSON to SQLite; it counts as a change rather
    # than failing the load.)
    each = " OR ".join(f"json_extract({old}.properties, '$.{n}') IS NOT json_extract({props}, '$.{n}')"
                       for n in MATTERS)
    parts = [f"{old}.removed_at IS NOT NULL"]
    if kind is not None:
        parts += [f"{old}.kind IS NOT {kind}", f"{old}.active IS NOT {active}"]
    parts.append(f"({old}.properties <> {props} AND (NOT json_valid({old}.properties) "
                 f"OR NOT json_valid({props}) OR {each}))")
    return "(" + " OR ".join(parts) + ")"
