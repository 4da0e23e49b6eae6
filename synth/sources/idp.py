"""Identity providers: Okta, Microsoft Graph (Entra), Google Workspace directory,
SCIM. Everyone employed is in Okta; the other directories cover a share of people.
Departed people stay listed, deprovisioned (that is what the APIs return)."""
from __future__ import annotations

import numpy as np

from ..org import (DAY, OKTA_SCOPES, Org, zipf_weights)
from ..timefmt import iso, iso_ms
from ..writer import Output, encode

OKTA = "https://acme.okta.com"


def group_pairs(org: Org, people: np.ndarray, n_groups: int, mean: float, s: float,
                base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Memberships (group, person) sorted by group then person: each person joins
    Poisson(mean) Zipf-popular groups, plus `base[person]` (their own group) if given."""
    rng = org.rng
    counts = rng.poisson(mean, len(people))
    who = np.repeat(people, counts)
    grp = rng.choice(n_groups, size=len(who), p=zipf_weights(n_groups, s)) if n_groups else who[:0]
    if base is not None:
        who = np.concatenate([people, who])
        grp = np.concatenate([base[people], grp])
    key = np.unique(grp.astype(np.int64) * (org.n + 1) + who)
    return key // (org.n + 1), key % (org.n + 1)


def spans(groups: np.ndarray, n_groups: int) -> np.ndarray:
    return np.searchsorted(groups, np.arange(n_groups + 1))


def write_all(org: Org, out: Output) -> dict:
    okta_ids = _okta(org, out)
    _msgraph(org, out)
    _google(org, out)
    _scim(org, out)
    return {"okta_ids": okta_ids}


# --- Okta ----------------------------------------------------------------------
def okta_id(org: Org, prefix: str, ns: str, i: int) -> str:
    return prefix + org.hid(ns, i, 17)


def _okta(org: Org, out: Output) -> list:
    rng = org.rng
    people = np.nonzero(org.has["okta"])[0]
    encoded: list = [None] * org.n
    ids: list = [None] * org.n
    last_login = org.as_of - rng.integers(0, 14 * DAY, org.n)
    for i in people.tolist():
        oid = okta_id(org, "00u", "oktauser", i)
        ids[i] = oid
        gone = bool(org.departed[i])
        hired = int(org.hired[i])
        changed = int(org.depart_ts[i]) if gone else hired + 3600
        email = org.email(i)
        encoded[i] = encode({
            "id": oid, "status": ("DEPROVISIONED" if i % 5 else "SUSPENDED") if gone else "ACTIVE",
            "created": iso_ms(hired - DAY), "activated": iso_ms(hired),
            "statusChanged": iso_ms(changed),
            "lastLogin": iso_ms(int(org.depart_ts[i]) - DAY if gone else int(last_login[i])),
            "lastUpdated": iso_ms(changed), "passwordChanged": iso_ms(hired + 3600),
            "type": {"id": "oty1a2b3c4d5e6f7g8h9"},
            "profile": {"firstName": org.full_name(i).split()[0], "lastName": org.full_name(i).split()[1],
                        "mobilePhone": None, "secondEmail": None, "login": email, "email": email,
                        "department": org.dept_names[org.dept[i]], "title": "Engineer" if org.eng[i] else "Specialist"},
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{OKTA}/api/v1/users/{oid}"}}})
    out.pages("okta/api/v1/users.json", (encoded[i] for i in people.tolist()), 200, _bare)

    # Groups: one per team, one per department, and extra (project, location, role) groups.
    n_teams, n_depts = len(org.team_slug), len(org.dept_names)
    n_extra = max(1, int(round(n_teams * org.rates.groups.okta_groups_per_team)))
    names = ([f"team-{s}" for s in org.team_slug] + [f"dept-{d}" for d in org.dept_names]
             + [f"grp-{i}" for i in range(n_extra)])
    gids = [okta_id(org, "00g", "oktagroup", g) for g in range(len(names))]
    created = iso_ms(org.as_of - 900 * DAY)
    out.body("okta/api/v1/groups.json", [
        {"id": gids[g], "created": created, "lastUpdated": created, "lastMembershipUpdated": iso_ms(org.as_of - DAY),
         "objectClass": ["okta:user_group"], "type": "OKTA_GROUP",
         "profile": {"name": name, "description": f"{name} (synthetic)"},
         "_links": {"users": {"href": f"{OKTA}/api/v1/groups/{gids[g]}/users"}}}
        for g, name in enumerate(names)], len(names))
    team_grp, t_people = group_pairs(org, people, 0, 0, 1.0, base=org.team.astype(np.int64))
    dept_grp = org.dept[people].astype(np.int64) + n_teams
    extra_g, extra_p = group_pairs(org, people, n_extra, max(0.0, org.rates.groups.okta_per_person - 1), 1.1)
    g_all = np.concatenate([team_grp, dept_grp, extra_g + n_teams + n_depts])
    p_all = np.concatenate([t_people, people, extra_p])
    order = np.lexsort((p_all, g_all))
    g_all, p_all = g_all[order], p_all[order]
    bounds = spans(g_all, len(names))
    for g in range(len(names)):
        members = p_all[bounds[g]:bounds[g + 1]].tolist()
        out.pages(f"okta/api/v1/groups/{gids[g]}/users.json", (encoded[i] for i in members), 1000, _bare)

    # Apps: one per SaaS app; assignments Zipf over apps (everyone has the head apps).
    created_app = org.as_of - 1000 * DAY
    apps = []
    for j, app in enumerate(org.saas):
        oidc = app["oidc"]
        body = {"id": app["okta"], "name": "oidc_client" if oidc else app["id"].replace("-", "_"),
                "label": app["id"].replace("-", " ").title(), "status": "ACTIVE",
                "lastUpdated": iso_ms(created_app + j * DAY), "created": iso_ms(created_app + j * 3600),
                "accessibility": {"selfService": False, "errorRedirectUrl": None},
                "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False}},
                "features": [], "signOnMode": "OPENID_CONNECT" if oidc else "SAML_2_0",
                "credentials": {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                                "signing": {}},
                "settings": {"app": {}},
                "_links": {"users": {"href": f"{OKTA}/api/v1/apps/{app['okta']}/users"}}}
        if oidc:
            body["credentials"]["oauthClient"] = {"autoKeyRotation": True, "client_id": app["okta"],
                                                  "token_endpoint_auth_method": "client_secret_basic"}
        apps.append(body)
    out.body("okta/api/v1/apps.json", apps, len(apps))
    assignees = people[~org.departed[people] | (rng.random(len(people)) < 0.1)]
    app_g, app_p = group_pairs(org, assignees, len(org.saas), org.rates.apps.okta_assignments_per_person,
                               org.rates.apps.apps_zipf)
    bounds = spans(app_g, len(org.saas))
    for j, app in enumerate(org.saas):
        members = app_p[bounds[j]:bounds[j + 1]].tolist()
        out.pages(f"okta/api/v1/apps/{app['okta']}/users.json",
                  (_app_user(org, ids[i], i, app) for i in members), 500, _bare)

    # OAuth grants: one per user x client x scope, for the few users who consented.
    oidc_apps = [a for a in org.saas if a["oidc"]]
    active = people[~org.departed[people]]
    holders = active[rng.random(len(active)) < org.rates.oauth.okta_grant_holder_rate]
    sw = zipf_weights(len(OKTA_SCOPES), org.rates.oauth.scopes_zipf)
    for i in holders.tolist():
        app = oidc_apps[int(min(len(oidc_apps) - 1, rng.zipf(1.6) - 1))]
        k = int(min(len(OKTA_SCOPES), rng.geometric(0.5)))
        scopes = sorted(rng.choice(len(OKTA_SCOPES), k, replace=False, p=sw).tolist())
        grants = []
        for q, s in enumerate(scopes):
            scope = OKTA_SCOPES[s]
            gid = okta_id(org, "oag", "oktagrant", i * 8 + q)
            ts = iso_ms(int(org.as_of - rng.integers(1, 300) * DAY))
            label = app["id"].replace("-", " ").title()
            grants.append({"id": gid, "status": "ACTIVE", "created": ts, "lastUpdated": ts,
                           "createdBy": {"id": ids[i], "type": "User"},
                           "issuer": f"{OKTA}/oauth2/default", "clientId": app["okta"], "userId": ids[i],
                           "scopeId": "scp" + org.hid("oktascope", s, 17), "source": "END_USER",
                           "_embedded": {"scope": {"id": "scp" + org.hid("oktascope", s, 17), "name": scope}},
                           "_links": {"app": {"href": f"{OKTA}/api/v1/apps/{app['okta']}", "title": label},
                                      "client": {"href": f"{OKTA}/oauth2/v1/clients/{app['okta']}", "title": label},
                                      "scope": {"href": f"{OKTA}/api/v1/authorizationServers/default/scopes/x",
                                                "title": scope},
                                      "user": {"href": f"{OKTA}/api/v1/users/{ids[i]}", "title": org.full_name(i)}}})
        out.body(f"okta/api/v1/users/{ids[i]}/grants.json", grants, len(grants))
    return ids


def _app_user(org: Org, oid: str, i: int, app: dict) -> dict:
    ts = iso_ms(int(org.hired[i]) + 2 * DAY)
    return {"id": oid, "externalId": None, "created": ts, "lastUpdated": ts, "scope": "USER",
            "status": "PROVISIONED" if org.departed[i] else "ACTIVE", "statusChanged": ts,
            "passwordChanged": None, "syncState": "DISABLED",
            "credentials": {"userName": org.email(i)}, "profile": {},
            "_links": {"app": {"href": f"{OKTA}/api/v1/apps/{app['okta']}"},
                       "user": {"href": f"{OKTA}/api/v1/users/{oid}"}}}


def _bare(items: str, page_no: int, last: bool) -> str:
    return f"[{items}]"


# --- Microsoft Graph -------------------------------------------------------------
GRAPH = "https://graph.microsoft.com/v1.0"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def _odata(entity: str):
    def page(items: str, page_no: int, last: bool) -> str:
        head = f'{{"@odata.context":"{GRAPH}/$metadata#{entity}",'
        nxt = "" if last else f',"@odata.nextLink":"{GRAPH}/{entity}?$skiptoken=p{page_no + 1}"'
        return f'{head}"value":[{items}]{nxt}}}'
    return page


def guid(org: Org, ns: str, i: int) -> str:
    h = org.hid(ns, i, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _msgraph(org: Org, out: Output) -> None:
    people = np.nonzero(org.has["msgraph"])[0]
    uid = {i: guid(org, "entrauser", i) for i in people.tolist()}

    def user(i: int) -> dict:
        first, last = org.full_name(i).split()
        return {"id": uid[i], "displayName": org.full_name(i), "givenName": first, "surname": last,
                "mail": org.email(i), "userPrincipalName": org.email(i),
                "jobTitle": "Engineer" if org.eng[i] else "Specialist",
                "department": org.dept_names[org.dept[i]],
                "accountEnabled": not bool(org.departed[i]),
                "createdDateTime": iso(int(org.hired[i]) - DAY)}
    out.pages("msgraph/v1.0/users.json", (user(i) for i in people.tolist()), 999, _odata("users"))

    n_depts = len(org.dept_names)
    n_extra = max(1, len(org.team_slug) // 3)
    names = [f"All {d.title()}" for d in org.dept_names] + [f"Project {i}" for i in range(n_extra)]
    gids = [guid(org, "entragroup", g) for g in range(len(names))]
    out.pages("msgraph/v1.0/groups.json", (
        {"id": gids[g], "displayName": name, "description": None, "mail": None, "mailEnabled": False,
         "securityEnabled": True, "groupTypes": [], "createdDateTime": iso(org.as_of - 800 * DAY)}
        for g, name in enumerate(names)), 999, _odata("groups"))
    ext_g, ext_p = group_pairs(org, people, n_extra, max(0.0, org.rates.groups.msgraph_per_person - 1), 1.2)
    g_all = np.concatenate([org.dept[people].astype(np.int64), ext_g + n_depts])
    p_all = np.concatenate([people, ext_p])
    order = np.lexsort((p_all, g_all))
    g_all, p_all = g_all[order], p_all[order]
    bounds = spans(g_all, len(names))
    for g in range(len(names)):
        members = p_all[bounds[g]:bounds[g + 1]].tolist()
        out.pages(f"msgraph/v1.0/groups/{gids[g]}/members.json", (
            {"@odata.type": "#microsoft.graph.user", "id": uid[i], "displayName": org.full_name(i),
             "userPrincipalName": org.email(i), "mail": org.email(i)} for i in members), 999,
            _odata("directoryObjects"))

    graph_sp = guid(org, "graphsp", 0)
    sps = [{"id": graph_sp, "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph",
            "appDisplayName": "Microsoft Graph", "servicePrincipalType": "Application",
            "accountEnabled": True, "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
            "publisherName": "Microsoft Services", "signInAudience": "AzureADMultipleOrgs", "tags": []}]
    for a in org.graph_apps:
        sps.append({"id": a["id"], "appId": a["appId"], "displayName": a["name"], "appDisplayName": a["name"],
                    "servicePrincipalType": "Application", "accountEnabled": True,
                    "appOwnerOrganizationId": guid(org, "tenant", len(sps)),
                    "publisherName": a["name"].split()[0], "signInAudience": "AzureADMultipleOrgs",
                    "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]})
    out.body("msgraph/v1.0/servicePrincipals.json",
             {"@odata.context": f"{GRAPH}/$metadata#servicePrincipals", "value": sps}, len(sps))

    rng = org.rng
    active = people[~org.departed[people] | (rng.random(len(people)) < 0.5)]
    consenters = active[rng.random(len(active)) < org.rates.oauth.msgraph_consent_rate]
    aw = zipf_weights(len(org.graph_apps), org.rates.oauth.clients_zipf)

    def grants():
        n = 0
        for a in org.graph_apps:
            if a["tenant_wide"]:
                yield {"id": org.hid("o2g-all", n, 43), "clientId": a["id"], "consentType": "AllPrincipals",
                       "principalId": None, "resourceId": graph_sp, "scope": " ".join(a["scope"].split()[:6])}
                n += 1
        for i in consenters.tolist():
            k = int(min(3, rng.geometric(0.6)))
            for j in sorted(set(rng.choice(len(org.graph_apps), k, p=aw).tolist())):
                yield {"id": org.hid("o2g", n, 43), "clientId": org.graph_apps[j]["id"],
                       "consentType": "Principal", "principalId": uid[i], "resourceId": graph_sp,
                       "scope": org.graph_apps[j]["scope"]}
                n += 1
    out.pages("msgraph/v1.0/oauth2PermissionGrants.json", grants(), 999, _odata("oauth2PermissionGrants"))

    from ..org import GRAPH_APP_ROLES
    for j, a in enumerate(org.graph_apps):
        if not a["roles"]:
            continue
        rows = [{"id": org.hid("ara", j * 8 + q, 43), "appRoleId": GRAPH_APP_ROLES[r][0],
                 "createdDateTime": iso(org.as_of - (30 + j) * DAY), "deletedDateTime": None,
                 "principalDisplayName": a["name"], "principalId": a["id"], "principalType": "ServicePrincipal",
                 "resourceDisplayName": "Microsoft Graph", "resourceId": graph_sp}
                for q, r in enumerate(a["roles"])]
        out.body(f"msgraph/v1.0/servicePrincipals/{a['id']}/appRoleAssignments.json",
                 {"@odata.context": f"{GRAPH}/$metadata#servicePrincipals('{a['id']}')/appRoleAssignments",
                  "value": rows}, len(rows))


# --- Google Workspace ---------------------------------------------------------------
def gid_user(org: Org, i: int) -> str:
    return str(100000000000000000000 + int(org.hid("guser", i, 15), 16) % 10**20)


def _google_page(kind: str, key: str):
    def page(items: str, page_no: int, last: bool) -> str:
        nxt = "" if last else f',"nextPageToken":"p{page_no + 1}"'
        return f'{{"kind":"{kind}","etag":"\\"e{page_no}\\"","{key}":[{items}]{nxt}}}'
    return page


def _google(org: Org, out: Output) -> None:
    rng = org.rng
    people = np.nonzero(org.has["google"])[0]
    uid = {i: gid_user(org, i) for i in people.tolist()}
    logins = org.as_of - rng.integers(0, 20 * DAY, org.n)

    def user(i: int) -> dict:
        first, last = org.full_name(i).split()
        gone = bool(org.departed[i])
        body = {"kind": "admin#directory#user", "id": uid[i], "etag": f"\"u{i}\"", "primaryEmail": org.email(i),
                "name": {"givenName": first, "familyName": last, "fullName": org.full_name(i)},
                "isAdmin": False, "isDelegatedAdmin": False,
                "lastLoginTime": iso_ms(int(org.depart_ts[i]) - DAY if gone else int(logins[i])),
                "creationTime": iso_ms(int(org.hired[i]) - DAY), "agreedToTerms": True, "suspended": gone,
                "archived": False, "changePasswordAtNextLogin": False, "ipWhitelisted": False,
                "emails": [{"address": org.email(i), "primary": True}], "customerId": "C03az79cb",
                "orgUnitPath": f"/{org.dept_names[org.dept[i]]}", "isMailboxSetup": True,
                "isEnrolledIn2Sv": True, "isEnforcedIn2Sv": False, "includeInGlobalAddressList": True}
        if gone:
            body["suspensionReason"] = "ADMIN"
        return body
    out.pages("google/admin/directory/v1/users.json", (user(i) for i in people.tolist()), 500,
              _google_page("admin#directory#users", "users"))

    n_depts = len(org.dept_names)
    n_extra = max(1, len(org.team_slug) // 4)
    names = [f"{d}" for d in org.dept_names] + [f"list-{i}" for i in range(n_extra)]
    gids = [f"0{org.hid('ggroup', g, 14)}" for g in range(len(names))]
    ext_g, ext_p = group_pairs(org, people, n_extra, max(0.0, org.rates.groups.google_per_person - 1), 1.2)
    g_all = np.concatenate([org.dept[people].astype(np.int64), ext_g + n_depts])
    p_all = np.concatenate([people, ext_p])
    order = np.lexsort((p_all, g_all))
    g_all, p_all = g_all[order], p_all[order]
    bounds = spans(g_all, len(names))
    out.pages("google/admin/directory/v1/groups.json", (
        {"kind": "admin#directory#group", "id": gids[g], "etag": f"\"g{g}\"",
         "email": f"{name}@{org.domain}", "name": name.title(),
         "directMembersCount": str(int(bounds[g + 1] - bounds[g])), "description": "", "adminCreated": True}
        for g, name in enumerate(names)), 200, _google_page("admin#directory#groups", "groups"))
    for g in range(len(names)):
        members = p_all[bounds[g]:bounds[g + 1]].tolist()
        out.pages(f"google/admin/directory/v1/groups/{gids[g]}/members.json", (
            {"kind": "admin#directory#member", "etag": f"\"m{i}\"", "id": uid[i], "email": org.email(i),
             "role": "OWNER" if org.team_manager[org.team[i]] == i else "MEMBER", "type": "USER",
             "status": "SUSPENDED" if org.departed[i] else "ACTIVE"} for i in members), 200,
            _google_page("admin#directory#members", "members"))

    # Third-party OAuth tokens: Zipf-popular clients, each with its own scope set.
    holders = people[rng.random(len(people)) < org.rates.oauth.google_token_holder_rate]
    cw = zipf_weights(len(org.google_clients), org.rates.oauth.clients_zipf)
    p = 1.0 / max(1.0, org.rates.oauth.google_tokens_per_holder)
    for i in holders.tolist():
        k = int(min(8, rng.geometric(p)))
        picks = sorted(set(rng.choice(len(org.google_clients), k, p=cw).tolist()))
        items = [{"kind": "admin#directory#token", "etag": f"\"t{i}-{j}\"",
                  "clientId": org.google_clients[j]["clientId"], "displayText": org.google_clients[j]["name"],
                  "anonymous": False, "nativeApp": org.google_clients[j]["native"], "userKey": uid[i],
                  "scopes": list(org.google_clients[j]["scopes"])} for j in picks]
        out.body(f"google/admin/directory/v1/users/{uid[i]}/tokens.json",
                 {"kind": "admin#directory#tokenList", "etag": f"\"tl{i}\"", "items": items}, len(items))


# --- SCIM ------------------------------------------------------------------------------
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _scim(org: Org, out: Output) -> None:
    people = np.nonzero(org.has["scim"])[0]
    sid = {i: guid(org, "scimuser", i) for i in people.tolist()}
    total = len(people)

    def page_for(total_n: int):
        def page(items: str, page_no: int, last: bool) -> str:
            # Each resource carries exactly one top-level "schemas" key.
            count = items.count('"schemas"') if items else 0
            return (f'{{"schemas":["{LIST}"],"totalResults":{total_n},"itemsPerPage":{count},'
                    f'"startIndex":{(page_no - 1) * 1000 + 1},"Resources":[{items}]}}')
        return page

    def user(i: int) -> dict:
        first, last = org.full_name(i).split()
        mgr = int(org.team_manager[org.team[i]])
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "id": sid[i],
                "externalId": f"E{100000 + i}", "userName": org.email(i),
                "name": {"givenName": first, "familyName": last, "formatted": org.full_name(i)},
                "displayName": org.full_name(i),
                "emails": [{"value": org.email(i), "type": "work", "primary": True}],
                "active": not bool(org.departed[i]), "title": "Engineer" if org.eng[i] else "Specialist",
                ENTERPRISE: {"employeeNumber": str(100000 + i), "department": org.dept_names[org.dept[i]],
                             **({"manager": {"value": sid[mgr]}} if mgr in sid and mgr != i else {})},
                "meta": {"resourceType": "User", "created": iso(int(org.hired[i]) - DAY),
                         "lastModified": iso(int(org.depart_ts[i]) if org.departed[i] else int(org.hired[i])),
                         "location": f"https://hr.{org.domain}/scim/v2/Users/{sid[i]}"}}
    out.pages("scim/Users.json", (user(i) for i in people.tolist()), 1000, page_for(total))

    order = np.lexsort((people, org.team[people]))
    ppl = people[order]
    bounds = np.searchsorted(org.team[ppl], np.arange(len(org.team_slug) + 1))
    teams = [t for t in range(len(org.team_slug)) if bounds[t + 1] > bounds[t]]

    def group(t: int) -> dict:
        gid = guid(org, "scimgroup", t)
        return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": gid,
                "displayName": org.team_slug[t],
                "members": [{"value": sid[i], "display": org.email(i),
                             "$ref": f"https://hr.{org.domain}/scim/v2/Users/{sid[i]}"}
                            for i in ppl[bounds[t]:bounds[t + 1]].tolist()],
                "meta": {"resourceType": "Group", "created": iso(org.as_of - 700 * DAY),
                         "lastModified": iso(org.as_of - 2 * DAY)}}
    out.pages("scim/Groups.json", (group(t) for t in teams), 1000, page_for(len(teams)))
