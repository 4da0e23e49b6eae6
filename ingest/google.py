"""`google/`: Google Workspace Admin SDK Directory API (`{"kind", "<items>", "nextPageToken"}`).

- `admin/directory/v1/users.json` (`users`): accounts `google:user:<id>`, email
  `primaryEmail`. Inactive when `suspended` or `archived`; the API gives no suspension
  time, so no `deactivated_at` (`suspension_reason` kept).
- `admin/directory/v1/users/<userKey>/tokens.json` (`items`): OAuth tokens a user
  issued to third-party clients: OAuthGrant `google:token:<userKey>:<clientId>` (userKey:
  the token's own `userKey`, which is the user id), client `google:oauth_client:<clientId>`
  HOLDS it, the user CONSENTED, and it GRANTS the user's account (the client acts as the
  user within `scopes`; `access` from the scopes).
- `admin/directory/v1/groups.json` (`groups`), `.../groups/<groupKey>/members.json`
  (`members`): groups (Team) and MEMBER_OF; a member of type GROUP nests its group.
"""
from __future__ import annotations

from pathlib import Path

from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import add_account, clean, edge, ts
from .errors import IngestError
from .fields import items
from .files import list_items, read_json
from .layout import segment, select
from .scopes import access_for, split_scopes

SOURCE = "google"
BASE = "admin/directory/v1"
USERS, TOKENS = f"{BASE}/users.json", f"{BASE}/users/*/tokens.json"
GROUPS, MEMBERS = f"{BASE}/groups.json", f"{BASE}/groups/*/members.json"
PATTERNS = (USERS, TOKENS, GROUPS, MEMBERS)


def _items(path: Path, key: str) -> list[dict]:
    """Listing items; Google leaves the list out of a body when it is empty."""
    try:
        return list_items(path, key)
    except IngestError:
        body = read_json(path)
        pages = body if isinstance(body, list) else [body]
        if pages and all(isinstance(p, dict) and str(p.get("kind", "")).startswith("admin#directory#")
                         and p.get(key) is None for p in pages):
            return []
        raise


def _need(item: dict, key: str, path: Path, what: str) -> str:
    value = item.get(key)
    if not value:
        raise IngestError(path, f"{what} without {key!r}: keys {sorted(item)[:8]}")
    return str(value)


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = select(root, only, PATTERNS, rec)
    # userKey / groupKey in a path may be an id or an email: resolve emails to ids.
    user_by_key: dict[str, str] = {}
    group_by_key: dict[str, str] = {}

    for path in files[USERS]:
        rec.files.append(str(path))
        for u in _items(path, "users"):
            uid = _need(u, "id", path, "user")
            email = u.get("primaryEmail")
            for key in [uid, email, *items(u.get("aliases"), path, f"user {uid} aliases"),
                        *(e.get("address") for e in items(u.get("emails"), path, f"user {uid} emails")
                          if isinstance(e, dict))]:
                if key:
                    user_by_key[str(key).lower()] = uid
            suspended, archived = bool(u.get("suspended")), bool(u.get("archived"))
            name = u.get("name") if isinstance(u.get("name"), dict) else {}
            add_account(rec, f"google:user:{uid}", name.get("fullName") or email,
                        not (suspended or archived), {
                            "status": "suspended" if suspended else "archived" if archived else "active",
                            "suspended": suspended, "archived": archived,
                            "suspension_reason": u.get("suspensionReason"),
                            "is_admin": u.get("isAdmin"), "is_delegated_admin": u.get("isDelegatedAdmin"),
                            "is_enrolled_in_2sv": u.get("isEnrolledIn2Sv"),
                            "org_unit_path": u.get("orgUnitPath"),
                            "created_at": ts(u.get("creationTime")),
                            "last_login_at": ts(u.get("lastLoginTime")),
                        }, email)

    for path in files[GROUPS]:
        rec.files.append(str(path))
        for g in _items(path, "groups"):
            gid = _need(g, "id", path, "group")
            for key in [gid, g.get("email"), *(g.get("aliases") or [])]:
                if key:
                    group_by_key[str(key).lower()] = gid
            rec.nodes.append(trusted_node(id=f"google:group:{gid}", kind=NodeKind.Team,
                                  name=g.get("name") or g.get("email"),
                                  properties=clean({"email": g.get("email"),
                                                    "description": g.get("description") or None,
                                                    "direct_members": _int(g.get("directMembersCount")),
                                                    "admin_created": g.get("adminCreated")})))

    for path in files[MEMBERS]:
        rec.files.append(str(path))
        key = segment(path, root, 4)
        gid = group_by_key.get(key.lower(), key)
        for m in _items(path, "members"):
            mtype = str(m.get("type") or "USER").upper()
            mid = m.get("id")
            if mtype == "GROUP":
                target = f"google:group:{mid or group_by_key.get(str(m.get('email')).lower())}"
            elif mtype == "USER" and (mid or m.get("email")):
                target = f"google:user:{mid or user_by_key.get(str(m.get('email')).lower(), m.get('email'))}"
            else:
                continue  # CUSTOMER (whole domain) and external members name no account
            edge(rec, target, f"google:group:{gid}", EdgeKind.MEMBER_OF,
                 role=m.get("role"), status=m.get("status"))

    for path in files[TOKENS]:
        rec.files.append(str(path))
        path_key = segment(path, root, 4)
        for t in _items(path, "items"):
            client = _need(t, "clientId", path, "token")
            user_key = str(t.get("userKey") or path_key)
            uid = user_by_key.get(user_key.lower(), user_key)
            scopes = split_scopes(t.get("scopes"), path, f"token {client} scopes")
            gnode = f"google:token:{uid}:{client}"
            cnode = f"google:oauth_client:{client}"
            rec.nodes.append(trusted_node(id=cnode, kind=NodeKind.OAuthClient, name=t.get("displayText"),
                                  properties=clean({"client_id": client, "client_name": t.get("displayText"),
                                                    "native_app": t.get("nativeApp"),
                                                    "anonymous": t.get("anonymous")})))
            rec.nodes.append(trusted_node(id=gnode, kind=NodeKind.OAuthGrant,
                                  name=f"{t.get('displayText') or client}", properties=clean({
                                      "client_id": client, "client_name": t.get("displayText"),
                                      "scopes": scopes, "consent_type": "Principal", "user_key": uid,
                                      "native_app": t.get("nativeApp"), "anonymous": t.get("anonymous")})))
            edge(rec, cnode, gnode, EdgeKind.HOLDS)
            edge(rec, f"google:user:{uid}", gnode, EdgeKind.CONSENTED)
            edge(rec, gnode, f"google:user:{uid}", EdgeKind.GRANTS, scopes=scopes, access=access_for(scopes))
    return rec


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
