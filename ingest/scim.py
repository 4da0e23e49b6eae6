"""`scim/`: SCIM 2.0 (RFC 7643/7644) `Users.json` and `Groups.json` ListResponses
(`Resources`), one body or an array of pages.

Users are accounts `scim:user:<id>`, active per `active` (no deactivation time in
SCIM; `meta.lastModified` is kept as `updated_at`). Email: the primary (else first)
`emails[].value`, else `userName` when it is an email.

GitHub logins for person resolution (engine.linking) are kept in `github_logins`:
- an explicit login in any schema extension under a key naming GitHub
  (`githubLogin`, `githubUsername`, `gitHubUser`...: the custom attribute Okta/Entra
  provisioning maps to GitHub), and
- `emu_handle`: GitHub Enterprise Managed Users name each account
  `<normalized userName>_<enterprise shortcode>`, where the IdP `userName` is normalized
  by dropping `@` and what follows and turning other non-alphanumerics into `-`.
Groups are Teams; members with `type` Group (or a `$ref` to /Groups/) nest groups.
A user's own `groups` (`value`, `display`, `type` direct/indirect) is membership too.
"""
from __future__ import annotations

import re
from pathlib import Path

from engine.ids import looks_like_email
from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import add_account, clean, edge, ts
from .errors import IngestError
from .files import list_items, read_json
from .layout import select

SOURCE = "scim"
USERS, GROUPS = "Users.json", "Groups.json"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_GITHUB_KEY = re.compile(r"git\s*hub.*(login|user|handle)", re.IGNORECASE)


def emu_handle(user_name: str) -> str:
    """GitHub EMU normalization of an IdP username (before the `_shortcode`)."""
    base = user_name.split("@", 1)[0]
    return re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-").lower()


def _github_logins(u: dict) -> list[str]:
    found = []
    for key, ext in u.items():
        if not key.startswith("urn:") or not isinstance(ext, dict):
            continue
        for name, value in ext.items():
            if _GITHUB_KEY.search(name) and isinstance(value, str) and value.strip():
                found.append(value.strip().lower())
    return sorted(set(found))


def _email(u: dict) -> str | None:
    emails = [e for e in u.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    if primary:
        return primary["value"]
    return u.get("userName") if looks_like_email(u.get("userName")) else None


def _resources(path: Path) -> list[dict]:
    """ListResponse items; RFC 7644 lets an empty result leave `Resources` out."""
    body = read_json(path)
    pages = body if isinstance(body, list) else [body]
    if pages and all(isinstance(p, dict) and "Resources" not in p and p.get("totalResults") == 0
                     for p in pages):
        return []
    return list_items(path, "Resources")


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = select(root, only, (USERS, GROUPS), rec)
    for path in files[USERS]:
        rec.files.append(str(path))
        for u in _resources(path):
            uid = u.get("id")
            if not uid:
                raise IngestError(path, f"SCIM user without 'id': keys {sorted(u)[:8]}")
            active = u.get("active")
            if active is not None and not isinstance(active, bool):
                active = str(active).strip().lower() == "true"
            meta = u.get("meta") if isinstance(u.get("meta"), dict) else {}
            name = u.get("name") if isinstance(u.get("name"), dict) else {}
            ent = u.get(ENTERPRISE) if isinstance(u.get(ENTERPRISE), dict) else {}
            user_name = u.get("userName")
            add_account(rec, f"scim:user:{uid}", u.get("displayName") or name.get("formatted") or user_name,
                        active, {
                            "status": None if active is None else ("active" if active else "inactive"),
                            "login": user_name, "user_name": user_name,
                            "external_id": u.get("externalId"),
                            "github_logins": _github_logins(u) or None,
                            "emu_handle": emu_handle(user_name) if user_name else None,
                            "department": ent.get("department"), "employee_number": ent.get("employeeNumber"),
                            "created_at": ts(meta.get("created")), "updated_at": ts(meta.get("lastModified")),
                        }, _email(u))
            # RFC 7643 4.1.2: a user's own (read-only) `groups` lists the groups it is in,
            # directly or not: membership even when no Groups listing names it.
            for grp in u.get("groups") or []:
                if isinstance(grp, dict) and grp.get("value"):
                    edge(rec, f"scim:user:{uid}", f"scim:group:{grp['value']}", EdgeKind.MEMBER_OF,
                         membership=grp.get("type") or None, group_name=grp.get("display") or None)

    for path in files[GROUPS]:
        rec.files.append(str(path))
        for g in _resources(path):
            gid = g.get("id")
            if not gid:
                raise IngestError(path, f"SCIM group without 'id': keys {sorted(g)[:8]}")
            meta = g.get("meta") if isinstance(g.get("meta"), dict) else {}
            members = [m for m in g.get("members") or [] if isinstance(m, dict) and m.get("value")]
            rec.nodes.append(trusted_node(id=f"scim:group:{gid}", kind=NodeKind.Team, name=g.get("displayName"),
                                  properties=clean({"external_id": g.get("externalId"),
                                                    "direct_members": len(members),
                                                    "created_at": ts(meta.get("created")),
                                                    "updated_at": ts(meta.get("lastModified"))})))
            for m in members:
                is_group = str(m.get("type") or "").lower() == "group" or "/Groups/" in str(m.get("$ref") or "")
                src = f"scim:{'group' if is_group else 'user'}:{m['value']}"
                edge(rec, src, f"scim:group:{gid}", EdgeKind.MEMBER_OF)
    return rec
