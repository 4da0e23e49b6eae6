"""`github/`: GitHub REST listings for one or more organisations (`orgs/<org>/...`).

- `members.json`: `github:user:<login lower-cased>` accounts (no email; person
  resolution by inventory aliases or SCIM, engine.linking), MEMBER_OF `github:org:<org>`
  (a Project-kind node standing for the organisation).
- `teams.json`, `teams/<slug>/members.json`: teams `github:team:<org>/<slug>`, members
  MEMBER_OF team, a child team MEMBER_OF its `parent`.
- `personal-access-tokens.json`: fine-grained PATs granted access to the org,
  `github:pat:<id>` (Credential): owner OWNS it, it AUTHENTICATES_AS the owner and
  CAN_ACCESS the org with the strongest of its `permissions`; `created_at` =
  access_granted_at, `expires_at` = token_expires_at, `last_used_at` = token_last_used_at;
  inactive when `token_expired`.
- `installations.json` (`installations`): app installations `github:installation:<id>`
  (OAuthGrant), `github:app:<app_id>` HOLDS it, it GRANTS the org with `scopes`
  (`<permission>:<level>`) and `access`; inactive when suspended.
- `copilot/billing/seats.json` (`seats`): `github:user:<login>` USES `github:copilot`
  (AITool) with `last_activity_at`; engine.linking adds the person's USES when the
  login resolves to a person.
"""
from __future__ import annotations

from pathlib import Path

from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import add_account, clean, edge, ts
from .errors import IngestError
from .files import list_items
from .layout import segment, select

SOURCE = "github"
MEMBERS, TEAMS, TEAM_MEMBERS = "orgs/*/members.json", "orgs/*/teams.json", "orgs/*/teams/*/members.json"
SEATS, PATS, INSTALLS = ("orgs/*/copilot/billing/seats.json", "orgs/*/personal-access-tokens.json",
                         "orgs/*/installations.json")
PATTERNS = (MEMBERS, TEAMS, TEAM_MEMBERS, SEATS, PATS, INSTALLS)
COPILOT = "github:copilot"
LEVELS = {"read": 1, "write": 2, "admin": 3}


def _login(user: object, path: Path, what: str) -> str:
    if not isinstance(user, dict) or not user.get("login"):
        raise IngestError(path, f"{what} without a user 'login'")
    return str(user["login"]).lower()


def _member(rec: Records, user: dict, path: Path) -> str:
    login = _login(user, path, "member")
    add_account(rec, f"github:user:{login}", user.get("login"), None,
                {"login": user.get("login"), "github_id": user.get("id"), "type": user.get("type"),
                 "site_admin": user.get("site_admin") or None}, user.get("email"))
    return login


def _strongest(permissions: dict) -> tuple[list[str], str]:
    """GitHub permission maps (flat, or grouped by organization/repository/other) to
    `name:level` scopes and the strongest level as read/write/admin."""
    scopes, best = [], 1
    stack = [("", permissions)]
    while stack:
        prefix, perms = stack.pop()
        for name, level in (perms or {}).items():
            if isinstance(level, dict):
                stack.append((f"{prefix}{name}.", level))
                continue
            scopes.append(f"{prefix}{name}:{level}")
            best = max(best, LEVELS.get(str(level).lower(), 1))
    return sorted(scopes), {1: "read", 2: "write", 3: "admin"}[best]


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = select(root, only, PATTERNS, rec)
    orgs: set[str] = set()

    def org_of(path: Path) -> str:
        org = segment(path, root, 1)
        if org not in orgs:
            orgs.add(org)
            rec.nodes.append(trusted_node(id=f"github:org:{org.lower()}", kind=NodeKind.Project, name=org,
                                  properties={"org": org}))
        return org.lower()

    for path in files[MEMBERS]:
        rec.files.append(str(path))
        org = org_of(path)
        for m in list_items(path, None):
            login = _member(rec, m, path)
            edge(rec, f"github:user:{login}", f"github:org:{org}", EdgeKind.MEMBER_OF)

    for path in files[TEAMS]:
        rec.files.append(str(path))
        org = org_of(path)
        for t in list_items(path, None):
            slug = t.get("slug")
            if not slug:
                raise IngestError(path, f"team without 'slug': keys {sorted(t)[:8]}")
            tid = f"github:team:{org}/{slug}"
            rec.nodes.append(trusted_node(id=tid, kind=NodeKind.Team, name=t.get("name") or slug,
                                  properties=clean({"team_id": t.get("id"), "privacy": t.get("privacy"),
                                                    "description": t.get("description") or None,
                                                    "permission": t.get("permission")})))
            parent = t.get("parent")
            if isinstance(parent, dict) and parent.get("slug"):
                edge(rec, tid, f"github:team:{org}/{parent['slug']}", EdgeKind.MEMBER_OF)

    for path in files[TEAM_MEMBERS]:
        rec.files.append(str(path))
        org = org_of(path)
        slug = segment(path, root, 3)
        for m in list_items(path, None):
            login = _member(rec, m, path)
            edge(rec, f"github:user:{login}", f"github:team:{org}/{slug}", EdgeKind.MEMBER_OF)

    for path in files[PATS]:
        rec.files.append(str(path))
        org = org_of(path)
        for p in list_items(path, None):
            if p.get("id") is None:
                raise IngestError(path, f"personal access token without 'id': keys {sorted(p)[:8]}")
            owner = _login(p.get("owner"), path, f"personal access token {p.get('id')}")
            scopes, access = _strongest(p.get("permissions") if isinstance(p.get("permissions"), dict) else {})
            expired = p.get("token_expired")
            pid = f"github:pat:{p['id']}"
            rec.nodes.append(trusted_node(id=pid, kind=NodeKind.Credential, name=p.get("token_name"),
                                  active=None if expired is None else not expired,
                                  properties=clean({
                                      "status": None if expired is None else ("expired" if expired else "active"),
                                      "token_id": p.get("token_id"), "token_name": p.get("token_name"),
                                      "owner_login": owner, "permissions": p.get("permissions"),
                                      "scopes": scopes, "repository_selection": p.get("repository_selection"),
                                      "created_at": ts(p.get("access_granted_at")),
                                      "expires_at": ts(p.get("token_expires_at")),
                                      "last_used_at": ts(p.get("token_last_used_at")),
                                      "token_expired": expired, "org": org})))
            edge(rec, f"github:user:{owner}", pid, EdgeKind.OWNS)
            edge(rec, pid, f"github:user:{owner}", EdgeKind.AUTHENTICATES_AS)
            edge(rec, pid, f"github:org:{org}", EdgeKind.CAN_ACCESS, access=access, scopes=scopes)

    for path in files[INSTALLS]:
        rec.files.append(str(path))
        org = org_of(path)
        for i in list_items(path, "installations"):
            if i.get("id") is None or i.get("app_id") is None:
                raise IngestError(path, f"installation without 'id'/'app_id': keys {sorted(i)[:8]}")
            scopes, access = _strongest(i.get("permissions") if isinstance(i.get("permissions"), dict) else {})
            iid, aid = f"github:installation:{i['id']}", f"github:app:{i['app_id']}"
            suspended = ts(i.get("suspended_at"))
            rec.nodes.append(trusted_node(id=aid, kind=NodeKind.OAuthClient, name=i.get("app_slug"),
                                  properties=clean({"client_id": str(i["app_id"]),
                                                    "client_name": i.get("app_slug"),
                                                    "app_slug": i.get("app_slug")})))
            rec.nodes.append(trusted_node(id=iid, kind=NodeKind.OAuthGrant, name=i.get("app_slug"),
                                  active=not suspended, properties=clean({
                                      "client_id": str(i["app_id"]), "client_name": i.get("app_slug"),
                                      "scopes": scopes, "permissions": i.get("permissions"),
                                      "events": i.get("events") or None, "consent_type": "Installation",
                                      "repository_selection": i.get("repository_selection"),
                                      "target_type": i.get("target_type"),
                                      "created_at": ts(i.get("created_at")),
                                      "updated_at": ts(i.get("updated_at")), "suspended_at": suspended,
                                      "status": "suspended" if suspended else "active"})))
            edge(rec, aid, iid, EdgeKind.HOLDS)
            edge(rec, iid, f"github:org:{org}", EdgeKind.GRANTS, scopes=scopes, access=access)

    for path in files[SEATS]:
        rec.files.append(str(path))
        org = org_of(path)
        seats = list_items(path, "seats")
        if seats or path.exists():
            rec.nodes.append(trusted_node(id=COPILOT, kind=NodeKind.AITool, name="GitHub Copilot",
                                  properties={"vendor": "github", "billing": "seat"}))
        for s in seats:
            assignee = s.get("assignee")
            if not isinstance(assignee, dict) or str(assignee.get("type") or "User") != "User":
                continue  # seats assigned to a team/org name no one
            login = _member(rec, assignee, path)
            edge(rec, f"github:user:{login}", COPILOT, EdgeKind.USES, org=org,
                 last_activity_at=ts(s.get("last_activity_at")),
                 last_activity_editor=s.get("last_activity_editor"), created_at=ts(s.get("created_at")),
                 plan_type=s.get("plan_type"),
                 pending_cancellation_date=s.get("pending_cancellation_date"),
                 assigning_team=(s.get("assigning_team") or {}).get("slug")
                 if isinstance(s.get("assigning_team"), dict) else None)
    return rec
