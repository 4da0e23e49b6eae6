"""`msgraph/`: Microsoft Graph v1.0 listings (`{"value": [...], "@odata.nextLink"}` pages).

- `v1.0/users.json`: accounts. Every field not mapped is kept under its own name
  (directory extension attributes `extension_<appId>_<name>` included). Active follows
  `accountEnabled`; a listing without it (a `$select` that left it out) gives an
  unknown status (`active` null, `status_known: false`) and a warning. `deactivated_at` is
  `employeeLeaveDateTime` when set, else `deletedDateTime` (a user from the deleted
  items); Graph has no "disabled at" stamp, so a disabled user without either has none.
- `v1.0/groups.json`, `v1.0/groups/<id>/members.json`: groups (Team); members by their
  `@odata.type` (user, group, service principal) MEMBER_OF the group, so nested groups
  are group MEMBER_OF parent; `transitive_members` counts users reached through nesting.
- `v1.0/servicePrincipals.json`: apps as service principals (ServiceAccount, the
  OAuth client of Entra).
- `v1.0/oauth2PermissionGrants.json`: delegated grants (OAuthGrant): client SP HOLDS,
  the consenting user CONSENTED (consentType Principal), grant GRANTS the resource SP
  with `scopes`, `access`, `consent_type` and `principal_id`.
- `v1.0/servicePrincipals/<id>/appRoleAssignments.json`: app roles granted to that
  principal (application permissions): principal HOLDS assignment, assignment GRANTS the
  resource SP with the role's value as its scope (looked up in the resource's appRoles).
"""
from __future__ import annotations

from pathlib import Path

from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import add_account, clean, edge, ts
from .errors import IngestError
from .files import list_items
from .layout import segment, select
from .scopes import access_for, split_scopes

SOURCE = "msgraph"
USERS, GROUPS, MEMBERS = "v1.0/users.json", "v1.0/groups.json", "v1.0/groups/*/members.json"
SPS, GRANTS = "v1.0/servicePrincipals.json", "v1.0/oauth2PermissionGrants.json"
ROLE_ASSIGNMENTS = "v1.0/servicePrincipals/*/appRoleAssignments.json"
PATTERNS = (USERS, GROUPS, MEMBERS, SPS, GRANTS, ROLE_ASSIGNMENTS)
ENVELOPE = "value"
TYPE_PREFIX = {"user": "msgraph:user:", "group": "msgraph:group:",
               "serviceprincipal": "msgraph:service_principal:", "device": None,
               "orgcontact": None}


def _id(item: dict, path: Path, what: str) -> str:
    value = item.get("id")
    if not value:
        raise IngestError(path, f"{what} without 'id': keys {sorted(item)[:8]}")
    return str(value)


# Graph user fields mapped to our own properties (or read for the person link); every
# other field, directory extension attributes (`extension_<appId>_<name>`) and
# `onPremisesExtensionAttributes` included, is kept under its own name.
_USER_MAPPED = frozenset({"id", "accountEnabled", "employeeLeaveDateTime", "deletedDateTime",
                          "signInActivity", "userPrincipalName", "userType", "createdDateTime",
                          "onPremisesLastSyncDateTime", "department", "jobTitle", "displayName", "mail"})
# Our property names a vendor field must not overwrite.
_OURS = frozenset({"status", "account_enabled", "login", "user_type", "created_at", "last_login_at",
                   "on_premises_last_sync_at", "employee_leave_at", "deleted_at", "deactivated_at",
                   "department", "job_title", "email", "status_known", "sign_in_activity"})


def _user(rec: Records, u: dict, path: Path, listing: bool = False) -> str:
    """`listing`: from the users listing, whose every user should state `accountEnabled`
    (a member listing's partial user objects say nothing about status)."""
    uid = _id(u, path, "user")
    enabled = u.get("accountEnabled")
    if enabled is not None and not isinstance(enabled, bool):
        enabled = str(enabled).strip().lower() == "true"
    active = None if enabled is None else bool(enabled)
    leave = ts(u.get("employeeLeaveDateTime"))
    deleted = ts(u.get("deletedDateTime"))
    sign_in = u.get("signInActivity") if isinstance(u.get("signInActivity"), dict) else {}
    props = {k if k not in _OURS else f"vendor_{k}": v for k, v in u.items()
             if k not in _USER_MAPPED and not k.startswith("@odata.")}
    status = None if enabled is None else ("enabled" if enabled else "disabled")
    if listing and enabled is None and not deleted:
        status = "unknown"          # listed without accountEnabled: unknown, not active
        props["status_known"] = False
    props.update({
        "status": status,
        "account_enabled": enabled, "login": u.get("userPrincipalName"),
        "user_type": u.get("userType"), "created_at": ts(u.get("createdDateTime")),
        "last_login_at": ts(sign_in.get("lastSignInDateTime")),
        "last_non_interactive_login_at": ts(sign_in.get("lastNonInteractiveSignInDateTime")),
        "on_premises_last_sync_at": ts(u.get("onPremisesLastSyncDateTime")),
        "employee_leave_at": leave, "deleted_at": deleted,
        "deactivated_at": (leave or deleted) if active is False or deleted else None,
        "department": u.get("department"), "job_title": u.get("jobTitle"),
    })
    email = u.get("mail") or (u.get("userPrincipalName") if u.get("userType") != "Guest" else None)
    add_account(rec, f"msgraph:user:{uid}", u.get("displayName"), False if deleted else active,
                props, email)
    return uid


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = select(root, only, PATTERNS, rec)
    for path in files[USERS]:
        rec.files.append(str(path))
        unknown = 0
        for u in list_items(path, ENVELOPE):
            _user(rec, u, path, listing=True)
            unknown += u.get("accountEnabled") is None and not u.get("deletedDateTime")
        if unknown:
            rec.warnings.append(f"{path}: {unknown} user(s) listed without accountEnabled: their status "
                                f"is unknown, not active (list users with $select=accountEnabled,...)")

    for path in files[GROUPS]:
        rec.files.append(str(path))
        for g in list_items(path, ENVELOPE):
            gid = _id(g, path, "group")
            rec.nodes.append(trusted_node(id=f"msgraph:group:{gid}", kind=NodeKind.Team, name=g.get("displayName"),
                                  properties=clean({
                                      "mail": g.get("mail"), "security_enabled": g.get("securityEnabled"),
                                      "mail_enabled": g.get("mailEnabled"),
                                      "group_types": g.get("groupTypes") or None,
                                      "description": g.get("description"),
                                      "created_at": ts(g.get("createdDateTime"))})))

    direct: dict[str, set[str]] = {}
    for path in files[MEMBERS]:
        rec.files.append(str(path))
        gid = segment(path, root, 2)
        for m in list_items(path, ENVELOPE):
            mid = _id(m, path, "group member")
            raw_type = str(m.get("@odata.type") or "#microsoft.graph.user")
            otype = raw_type.rsplit(".", 1)[-1].lower()
            if otype not in TYPE_PREFIX:
                rec.warnings.append(f"{path}: member {mid} of unknown type {raw_type!r} ignored")
                continue
            prefix = TYPE_PREFIX[otype]
            if prefix is None:
                continue
            if otype == "user" and ("userPrincipalName" in m or "mail" in m):
                _user(rec, m, path)
            edge(rec, f"{prefix}{mid}", f"msgraph:group:{gid}", EdgeKind.MEMBER_OF)
            direct.setdefault(gid, set()).add(f"{prefix}{mid}")
    for gid, count in _transitive_counts(direct).items():
        rec.nodes.append(trusted_node(id=f"msgraph:group:{gid}", kind=NodeKind.Team,
                              properties={"transitive_members": count}))

    roles: dict[str, dict[str, str]] = {}
    for path in files[SPS]:
        rec.files.append(str(path))
        for sp in list_items(path, ENVELOPE):
            sid = _id(sp, path, "service principal")
            publisher = sp.get("verifiedPublisher") if isinstance(sp.get("verifiedPublisher"), dict) else {}
            roles[sid] = {str(r.get("id")): r.get("value") for r in sp.get("appRoles") or []
                          if isinstance(r, dict) and r.get("id")}
            enabled = sp.get("accountEnabled")
            rec.nodes.append(trusted_node(
                id=f"msgraph:service_principal:{sid}", kind=NodeKind.ServiceAccount,
                name=sp.get("displayName"), active=None if enabled is None else bool(enabled),
                properties=clean({
                    "app_id": sp.get("appId"), "client_id": sp.get("appId"),
                    "client_name": sp.get("displayName"), "app_display_name": sp.get("appDisplayName"),
                    "publisher": sp.get("publisherName") or publisher.get("displayName"),
                    "verified_publisher": publisher.get("displayName"),
                    "app_owner_organization_id": sp.get("appOwnerOrganizationId"),
                    "service_principal_type": sp.get("servicePrincipalType"),
                    "homepage": sp.get("homepage"), "reply_urls": sp.get("replyUrls") or None,
                    "tags": sp.get("tags") or None, "created_at": ts(sp.get("createdDateTime"))})))
    names = {n.id: n.name for n in rec.nodes if n.id.startswith("msgraph:service_principal:")}

    for path in files[GRANTS]:
        rec.files.append(str(path))
        for g in list_items(path, ENVELOPE):
            gid = _id(g, path, "oauth2PermissionGrant")
            client, resource = g.get("clientId"), g.get("resourceId")
            if not client or not resource:
                raise IngestError(path, f"oauth2PermissionGrant {gid} without clientId/resourceId")
            scopes = split_scopes(g.get("scope"))
            consent = g.get("consentType")
            principal = g.get("principalId")
            client_id = f"msgraph:service_principal:{client}"
            gnode = f"msgraph:oauth2_grant:{gid}"
            rec.nodes.append(trusted_node(
                id=gnode, kind=NodeKind.OAuthGrant, name=f"{names.get(client_id) or client}: delegated",
                properties=clean({
                    "client_id": client, "client_name": names.get(client_id), "resource_id": resource,
                    "resource_name": names.get(f"msgraph:service_principal:{resource}"),
                    "scopes": scopes, "consent_type": consent, "principal_id": principal,
                    "created_at": ts(g.get("startTime")), "expires_at": ts(g.get("expiryTime"))})))
            edge(rec, client_id, gnode, EdgeKind.HOLDS)
            if consent == "Principal" and principal:
                edge(rec, f"msgraph:user:{principal}", gnode, EdgeKind.CONSENTED)
            edge(rec, gnode, f"msgraph:service_principal:{resource}", EdgeKind.GRANTS, scopes=scopes,
                 access=access_for(scopes), consent_type=consent, principal_id=principal)

    for path in files[ROLE_ASSIGNMENTS]:
        rec.files.append(str(path))
        for a in list_items(path, ENVELOPE):
            aid = _id(a, path, "appRoleAssignment")
            resource = a.get("resourceId")
            principal = a.get("principalId") or segment(path, root, 2)
            if not resource:
                raise IngestError(path, f"appRoleAssignment {aid} without resourceId")
            ptype = str(a.get("principalType") or "ServicePrincipal").lower()
            prefix = TYPE_PREFIX.get(ptype) or "msgraph:service_principal:"
            role_id = str(a.get("appRoleId") or "")
            role = roles.get(str(resource), {}).get(role_id)
            # The all-zero role id is the "default access" role: assignment without a named role.
            scopes = [role] if role else ([] if role_id.strip("0-") == "" else [role_id])
            anode = f"msgraph:app_role_assignment:{aid}"
            rec.nodes.append(trusted_node(
                id=anode, kind=NodeKind.OAuthGrant,
                name=f"{a.get('principalDisplayName') or principal}: {role or 'app role'}",
                properties=clean({
                    "client_id": principal, "client_name": a.get("principalDisplayName"),
                    "principal_type": a.get("principalType"), "resource_id": resource,
                    "resource_name": a.get("resourceDisplayName"), "app_role_id": role_id or None,
                    "scopes": scopes, "consent_type": "Application",
                    "created_at": ts(a.get("createdDateTime")),
                    "deleted_at": ts(a.get("deletedDateTime"))})))
            edge(rec, f"{prefix}{principal}", anode, EdgeKind.HOLDS)
            edge(rec, anode, f"msgraph:service_principal:{resource}", EdgeKind.GRANTS, scopes=scopes,
                 access=access_for(scopes), consent_type="Application")
    return rec


def _transitive_counts(direct: dict[str, set[str]]) -> dict[str, int]:
    """Users reached from each group through nested groups (cycles tolerated)."""
    out: dict[str, int] = {}
    for gid in direct:
        seen_groups, users, stack = {gid}, set(), [gid]
        while stack:
            for member in direct.get(stack.pop(), ()):
                if member.startswith("msgraph:group:"):
                    child = member[len("msgraph:group:"):]
                    if child not in seen_groups:
                        seen_groups.add(child)
                        stack.append(child)
                else:
                    users.add(member)
        out[gid] = len(users)
    return out
