"""`burnpath collect msgraph`: Microsoft Graph v1.0 into `<out>/msgraph/v1.0/...`.

Token: MSGRAPH_TOKEN (an app-only bearer token with Directory.Read.All), from the
environment only. Listings page by `@odata.nextLink`. Users are read with `$select`
for the status fields (`accountEnabled` is not in the default set); when the tenant
refuses `employeeLeaveDateTime` (it needs User-LifeCycleInfo.Read.All) the listing is
retried without it."""
from __future__ import annotations

from pathlib import Path

from . import CollectError
from .http import Client, env_key, write_pages
from .link_paging import items, odata_pages

BASE_URL = "https://graph.microsoft.com"
USER_FIELDS = ("id,displayName,givenName,surname,userPrincipalName,mail,userType,accountEnabled,"
               "createdDateTime,onPremisesLastSyncDateTime,department,jobTitle")


def collect(out: Path, args) -> dict[str, int]:
    token = env_key("MSGRAPH_TOKEN")
    root = Path(out) / "msgraph"
    summary: dict[str, int] = {}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with Client(getattr(args, "base_url", None) or BASE_URL, headers,
                max_retries=getattr(args, "max_retries", 5)) as client:

        def save(rel: str, pages: list) -> list[dict]:
            write_pages(root, rel, pages)
            found = items(pages, "value")
            summary[f"msgraph/{rel}"] = len(found)
            return found

        try:
            pages = odata_pages(client, "/v1.0/users",
                                {"$select": USER_FIELDS + ",employeeLeaveDateTime", "$top": 999})
        except CollectError as exc:
            if getattr(exc, "status", None) != 403:
                raise
            pages = odata_pages(client, "/v1.0/users", {"$select": USER_FIELDS, "$top": 999})
        save("v1.0/users.json", pages)
        for g in save("v1.0/groups.json", odata_pages(client, "/v1.0/groups", {"$top": 999})):
            save(f"v1.0/groups/{g['id']}/members.json",
                 odata_pages(client, f"/v1.0/groups/{g['id']}/members", {"$top": 999}))
        for sp in save("v1.0/servicePrincipals.json",
                       odata_pages(client, "/v1.0/servicePrincipals", {"$top": 999})):
            save(f"v1.0/servicePrincipals/{sp['id']}/appRoleAssignments.json",
                 odata_pages(client, f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignments"))
        save("v1.0/oauth2PermissionGrants.json", odata_pages(client, "/v1.0/oauth2PermissionGrants"))
    return summary
