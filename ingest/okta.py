"""`okta/`: Okta Management API listings (bare JSON arrays, paged by `Link`).

- `api/v1/users.json`: users. Active unless status is DEPROVISIONED or SUSPENDED, or
  STAGED/PROVISIONED: those have not activated yet (not active, `activated: false`, so
  they neither verify nor depart the person; the raw status is kept). `deactivated_at`
  is `statusChanged` of a DEPROVISIONED/SUSPENDED user (Okta stamps the status change;
  it is the only deactivation time the API gives).
- `api/v1/groups.json`, `api/v1/groups/<id>/users.json`: groups (Team) and MEMBER_OF.
  Okta groups do not nest; `transitive_members` is the member count.
- `api/v1/apps.json`, `api/v1/apps/<id>/users.json`: apps (OAuthClient) and
  assignments (user CAN_ACCESS app, `access` read; `scope` USER or GROUP kept). An
  assignment's status describes the assignment in that app, not the person: PROVISIONED
  (and ACTIVE, STAGED...) is a live one, only DEPROVISIONED/SUSPENDED ones open nothing.
  An assignment's `_embedded.user` (`?expand=user`) is the full user: read as a user.
- `api/v1/users/<id>/grants.json`: scope consent grants, one scope each (OAuthGrant
  `okta:grant:<id>`): user CONSENTED grant, client app HOLDS grant, grant GRANTS the
  app it was issued for (`_links.app`, else the client) with `scopes` and `access`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import add_account, clean, edge, ts
from .errors import IngestError
from .files import list_items
from .layout import segment, select
from .scopes import access_for

SOURCE = "okta"
INACTIVE = {"DEPROVISIONED", "SUSPENDED"}
NOT_ACTIVATED = {"STAGED", "PROVISIONED"}        # created, never activated by the person
USERS, GROUPS, GROUP_USERS = "api/v1/users.json", "api/v1/groups.json", "api/v1/groups/*/users.json"
APPS, APP_USERS, GRANTS = "api/v1/apps.json", "api/v1/apps/*/users.json", "api/v1/users/*/grants.json"
PATTERNS = (USERS, GROUPS, GROUP_USERS, APPS, APP_USERS, GRANTS)


def _require(item: dict, key: str, path: Path, what: str) -> Any:
    value = item.get(key)
    if value in (None, ""):
        raise IngestError(path, f"{what} without {key!r}: {sorted(item)[:8]}")
    return value


def _profile(item: dict) -> dict:
    p = item.get("profile")
    return p if isinstance(p, dict) else {}


def _user(rec: Records, u: dict, path: Path, seen: dict | None = None) -> str:
    """The user's account (and person). Group and app listings repeat the full user
    object: with `seen`, a user identical to the last one read for that id re-emits the
    records already built for it (the same statement, so the store merges it the same)."""
    uid = _require(u, "id", path, "user")
    node_id = f"okta:user:{uid}"
    if seen is not None:
        last = seen.get(node_id)
        if last is not None and last[0] == u:
            rec.nodes.extend(last[1])     # (extend: `+=` would go through pydantic's setattr)
            rec.edges.extend(last[2])
            return uid
        n0, e0 = len(rec.nodes), len(rec.edges)
    status = str(u.get("status") or "").upper() or None
    prof = _profile(u)
    active = None if status is None else status not in INACTIVE and status not in NOT_ACTIVATED
    name = " ".join(x for x in (prof.get("firstName"), prof.get("lastName")) if x) or prof.get("login")
    props = {
        "status": status, "login": prof.get("login"), "created_at": ts(u.get("created")),
        "activated_at": ts(u.get("activated")), "status_changed_at": ts(u.get("statusChanged")),
        "last_login_at": ts(u.get("lastLogin")), "updated_at": ts(u.get("lastUpdated")),
        "password_changed_at": ts(u.get("passwordChanged")),
        "deactivated_at": ts(u.get("statusChanged")) if status in INACTIVE else None,
        "profile": {k: v for k, v in prof.items() if k not in ("email",)} or None,
        "activated": False if status in NOT_ACTIVATED else None,
        "type": (u.get("type") or {}).get("id") if isinstance(u.get("type"), dict) else None,
    }
    add_account(rec, node_id, name, active, props,
                prof.get("email") or (prof.get("login") if "@" in str(prof.get("login")) else None))
    if seen is not None:
        seen[node_id] = (u, rec.nodes[n0:], rec.edges[e0:])
    return uid


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = select(root, only, PATTERNS, rec)
    seen: dict = {}
    for path in files[USERS]:
        rec.files.append(str(path))
        for u in list_items(path, None):
            _user(rec, u, path, seen)

    for path in files[GROUPS]:
        rec.files.append(str(path))
        for g in list_items(path, None):
            gid = _require(g, "id", path, "group")
            prof = _profile(g)
            rec.nodes.append(trusted_node(f"okta:group:{gid}", NodeKind.Team, prof.get("name"), properties=clean({
                "description": prof.get("description"), "type": g.get("type"),
                "created_at": ts(g.get("created")), "updated_at": ts(g.get("lastUpdated")),
                "membership_updated_at": ts(g.get("lastMembershipUpdated"))})))

    for path in files[GROUP_USERS]:
        rec.files.append(str(path))
        gid = segment(path, root, 3)
        members = list_items(path, None)
        for u in members:
            uid = _user(rec, u, path, seen) if u.get("status") else _require(u, "id", path, "group member")
            edge(rec, f"okta:user:{uid}", f"okta:group:{gid}", EdgeKind.MEMBER_OF)
        rec.nodes.append(trusted_node(f"okta:group:{gid}", NodeKind.Team,
                                      properties={"transitive_members": len(members)}))

    for path in files[APPS]:
        rec.files.append(str(path))
        for a in list_items(path, None):
            aid = _require(a, "id", path, "app")
            status = str(a.get("status") or "").upper() or None
            creds = a.get("credentials") if isinstance(a.get("credentials"), dict) else {}
            oauth = creds.get("oauthClient") if isinstance(creds.get("oauthClient"), dict) else {}
            rec.nodes.append(trusted_node(
                f"okta:app:{aid}", NodeKind.OAuthClient, a.get("label") or a.get("name"),
                None if status is None else status == "ACTIVE",
                properties=clean({"status": status, "app_name": a.get("name"),
                                  "sign_on_mode": a.get("signOnMode"),
                                  "client_id": oauth.get("client_id"),
                                  "created_at": ts(a.get("created")),
                                  "updated_at": ts(a.get("lastUpdated"))})))

    for path in files[APP_USERS]:
        rec.files.append(str(path))
        aid = segment(path, root, 3)
        for au in list_items(path, None):
            uid = _require(au, "id", path, "app user")
            embedded = au.get("_embedded") if isinstance(au.get("_embedded"), dict) else {}
            if isinstance(embedded.get("user"), dict) and embedded["user"].get("id"):
                _user(rec, embedded["user"], path, seen)    # the full user: email, person link
            status = str(au.get("status") or "").upper() or None
            if status in INACTIVE:
                continue  # an assignment Okta has deprovisioned opens nothing
            edge(rec, f"okta:user:{uid}", f"okta:app:{aid}", EdgeKind.CAN_ACCESS, access="read",
                 assignment_scope=au.get("scope"), status=status,
                 app_username=(au.get("credentials") or {}).get("userName")
                 if isinstance(au.get("credentials"), dict) else None,
                 sync_state=au.get("syncState"), created_at=ts(au.get("created")),
                 status_changed_at=ts(au.get("statusChanged")))

    for path in files[GRANTS]:
        rec.files.append(str(path))
        owner = segment(path, root, 3)
        for g in list_items(path, None):
            _grant(rec, g, owner, path)
    return rec


def _link_id(links: dict, name: str) -> tuple[str | None, str | None]:
    link = links.get(name) if isinstance(links, dict) else None
    if not isinstance(link, dict):
        return None, None
    href = str(link.get("href") or "").rstrip("/")
    return (href.rsplit("/", 1)[-1] or None) if href else None, link.get("title")


def _grant(rec: Records, g: dict, owner: str, path: Path) -> None:
    gid = _require(g, "id", path, "grant")
    client = _require(g, "clientId", path, "grant")
    links = g.get("_links") or {}
    embedded = g.get("_embedded") or {}
    scope_obj = embedded.get("scope") if isinstance(embedded, dict) else None
    _, scope_title = _link_id(links, "scope")
    scope = (scope_obj or {}).get("name") if isinstance(scope_obj, dict) else None
    scope = scope or scope_title or g.get("scopeId")
    app_id, _ = _link_id(links, "app")
    _, client_name = _link_id(links, "client")
    status = str(g.get("status") or "").upper() or None
    user = g.get("userId") or owner
    scopes = [scope] if scope else []
    gnode = f"okta:grant:{gid}"
    rec.nodes.append(trusted_node(
        gnode, NodeKind.OAuthGrant, f"{client_name or client}: {scope}",
        None if status is None else status == "ACTIVE", properties=clean({
            "status": status, "client_id": client, "client_name": client_name,
            "scopes": scopes, "scope_id": g.get("scopeId"), "issuer": g.get("issuer"),
            "consent_type": "Principal" if g.get("source") == "END_USER" else g.get("source"),
            "grant_source": g.get("source"), "user_id": user,
            "created_at": ts(g.get("created")), "updated_at": ts(g.get("lastUpdated"))})))
    edge(rec, f"okta:user:{user}", gnode, EdgeKind.CONSENTED)
    edge(rec, f"okta:app:{client}", gnode, EdgeKind.HOLDS)
    edge(rec, gnode, f"okta:app:{app_id or client}", EdgeKind.GRANTS, scopes=scopes,
         access=access_for(scopes), issuer=g.get("issuer"))
