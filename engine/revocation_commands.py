"""What to run for a revocation step: a copy-pasteable command or API call per vendor,
with the target's own ids filled in, and the console page where one exists.

Endpoints are the vendors' documented ones:
- OpenAI Admin API: DELETE /v1/organization/projects/{project_id}/api_keys/{key_id},
  DELETE /v1/organization/admin_api_keys/{key_id}, DELETE
  /v1/organization/projects/{project_id}/service_accounts/{id}, DELETE
  /v1/organization/users/{user_id}.
- Anthropic Admin API: POST /v1/organizations/api_keys/{id} {"status": "inactive"}
  (the Admin API updates keys; deletion is the Console's), DELETE
  /v1/organizations/users/{user_id}.
- AWS: `aws iam update-access-key --status Inactive`, `aws iam delete-login-profile`.
- Okta: DELETE /api/v1/users/{userId}/grants/{grantId}, POST
  /api/v1/users/{id}/lifecycle/deactivate.
- Microsoft Graph: DELETE /v1.0/oauth2PermissionGrants/{id}, DELETE
  /v1.0/servicePrincipals/{resourceId}/appRoleAssignedTo/{id}, PATCH users /
  servicePrincipals {"accountEnabled": false}.
- Google Directory: DELETE /admin/directory/v1/users/{userKey}/tokens/{clientId}.
- GitHub: POST /orgs/{org}/personal-access-tokens/{pat_id} {"action": "revoke"}
  (callable by a GitHub App), DELETE /orgs/{org}/members/{username}.
- LiteLLM proxy: POST /key/delete {"keys": [...]}, POST /user/delete.

Secrets are never in a command: each reads the caller's admin credential from an
environment variable ($OPENAI_ADMIN_KEY, ...). Every id from the data is quoted for
the shell (and percent-encoded inside URLs), so a hostile id cannot inject a command.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from urllib.parse import quote

from .ids import source_of


@dataclass(frozen=True)
class HowTo:
    command: str | None = None
    url: str | None = None


def _seg(value: str | None, placeholder: str = "<id>") -> str:
    """One URL path segment, percent-encoded; a placeholder for the responder to fill
    when the data does not state it (kept readable; the command quotes it)."""
    return placeholder if value is None or value == "" else quote(str(value), safe="")


def _native(node_id: str) -> str:
    parts = node_id.split(":", 2)
    return parts[2] if len(parts) == 3 else node_id


def _strip(node_id: str | None, prefix: str) -> str | None:
    if not node_id:
        return None
    return node_id[len(prefix):] if node_id.startswith(prefix) else node_id


def _curl(method: str, url: str, headers: list[str], body: dict | None = None,
          base_var: str | None = None) -> str:
    """A curl call; with `base_var`, `url` is a path under the base URL that variable
    holds (a tenant's own host: $OKTA_ORG_URL, $LITELLM_URL)."""
    target = f'"${base_var}"{shlex.quote(url)}' if base_var else shlex.quote(url)
    cmd = [f"curl -sS -X {method} {target}"]
    cmd += [f"-H {h}" for h in headers]
    if body is not None:
        cmd.append("-H 'Content-Type: application/json'")
        cmd.append(f"-d {shlex.quote(json.dumps(body, separators=(',', ':')))}")
    return " ".join(cmd)


OPENAI = "https://api.openai.com/v1/organization"
OPENAI_AUTH = ['"Authorization: Bearer $OPENAI_ADMIN_KEY"']
ANTHROPIC = "https://api.anthropic.com/v1/organizations"
ANTHROPIC_AUTH = ['"x-api-key: $ANTHROPIC_ADMIN_KEY"', "'anthropic-version: 2023-06-01'"]
OKTA_AUTH = ['"Authorization: SSWS $OKTA_API_TOKEN"', "'Accept: application/json'"]
LITELLM_AUTH = ['"Authorization: Bearer $LITELLM_MASTER_KEY"']
GOOGLE_AUTH = ['"Authorization: Bearer $GOOGLE_ADMIN_TOKEN"']


def _az(method: str, path: str, body: dict | None = None) -> str:
    cmd = f"az rest --method {method} --url {shlex.quote('https://graph.microsoft.com/v1.0/' + path)}"
    if body is not None:
        cmd += f" --body {shlex.quote(json.dumps(body, separators=(',', ':')))}"
    return cmd


def _openai(view, kind: str, disable: bool) -> HowTo:
    native = _native(view.id)
    p = view.properties or {}
    project = _seg(_strip(p.get("project_id"), "openai:project:"), "<project_id>")
    if kind == "api_key":
        if p.get("admin"):
            return HowTo(_curl("DELETE", f"{OPENAI}/admin_api_keys/{_seg(native)}", OPENAI_AUTH),
                         "https://platform.openai.com/settings/organization/admin-keys")
        return HowTo(_curl("DELETE", f"{OPENAI}/projects/{project}/api_keys/{_seg(native)}", OPENAI_AUTH),
                     "https://platform.openai.com/api-keys")
    if kind == "admin_api_key":
        return HowTo(_curl("DELETE", f"{OPENAI}/admin_api_keys/{_seg(native)}", OPENAI_AUTH),
                     "https://platform.openai.com/settings/organization/admin-keys")
    if kind == "service_account":
        return HowTo(_curl("DELETE", f"{OPENAI}/projects/{project}/service_accounts/{_seg(native)}",
                           OPENAI_AUTH))
    if kind == "user" and disable:
        return HowTo(_curl("DELETE", f"{OPENAI}/users/{_seg(native)}", OPENAI_AUTH),
                     "https://platform.openai.com/settings/organization/people")
    return HowTo()


def _anthropic(view, kind: str, disable: bool) -> HowTo:
    native = _native(view.id)
    if kind == "api_key":
        return HowTo(_curl("POST", f"{ANTHROPIC}/api_keys/{_seg(native)}", ANTHROPIC_AUTH, {"status": "inactive"}),
                     "https://console.anthropic.com/settings/keys")
    if kind == "user" and disable:
        return HowTo(_curl("DELETE", f"{ANTHROPIC}/users/{_seg(native)}", ANTHROPIC_AUTH),
                     "https://console.anthropic.com/settings/members")
    return HowTo()


def _aws(view, kind: str, disable: bool) -> HowTo:
    p = view.properties or {}
    if kind == "access_key":
        user, _, _n = _native(view.id).rpartition(":")
        user = p.get("iam_user") or p.get("user") or user
        key_id = str(p.get("key_id") or p.get("access_key_id") or "")
        console = (f"https://console.aws.amazon.com/iam/home#/users/details/{_seg(user)}"
                   "?section=security_credentials")
        deactivate = "aws iam update-access-key --status Inactive --access-key-id {} --user-name " + shlex.quote(user)
        last4 = key_id[-4:]
        if not (len(last4) == 4 and last4.isalnum()):
            # The credential report names no key ids: list them, then deactivate the one.
            return HowTo(f"aws iam list-access-keys --user-name {shlex.quote(user)} && "
                         + deactivate.replace("{}", "<AccessKeyId>"), console)
        # The full key id is never shown (api.redact masks it like a secret): the key is
        # picked by its user and last four characters, then deactivated.
        # (last4 is alphanumeric: safe inside double quotes)
        query = f"\"AccessKeyMetadata[?ends_with(AccessKeyId, '{last4}')].AccessKeyId\""
        return HowTo(f"aws iam list-access-keys --user-name {shlex.quote(user)} --query {query} "
                     f"--output text | xargs -I{{}} " + deactivate, console)
    if kind == "iam_user" and disable:
        user = _native(view.id)
        return HowTo(f"aws iam delete-login-profile --user-name {shlex.quote(user)}",
                     f"https://console.aws.amazon.com/iam/home#/users/details/{_seg(user)}")
    return HowTo()


def _okta(view, kind: str, disable: bool) -> HowTo:
    native = _native(view.id)
    p = view.properties or {}
    if kind == "grant":
        user = _seg(p.get("user_id"), "<userId>")
        return HowTo(_curl("DELETE", f"/api/v1/users/{user}/grants/{_seg(native)}", OKTA_AUTH,
                           base_var="OKTA_ORG_URL"))
    if kind == "user" and disable:
        return HowTo(_curl("POST", f"/api/v1/users/{_seg(native)}/lifecycle/deactivate", OKTA_AUTH,
                           base_var="OKTA_ORG_URL"))
    return HowTo()


def _msgraph(view, kind: str, disable: bool) -> HowTo:
    native = _native(view.id)
    p = view.properties or {}
    if kind == "oauth2_grant":
        return HowTo(_az("DELETE", f"oauth2PermissionGrants/{_seg(native)}"))
    if kind == "app_role_assignment":
        resource = _seg(p.get("resource_id"), "<resourceId>")
        return HowTo(_az("DELETE", f"servicePrincipals/{resource}/appRoleAssignedTo/{_seg(native)}"))
    if kind == "user" and disable:
        return HowTo(_az("PATCH", f"users/{_seg(native)}", {"accountEnabled": False}))
    if kind == "service_principal" and disable:
        return HowTo(_az("PATCH", f"servicePrincipals/{_seg(native)}", {"accountEnabled": False}))
    return HowTo()


def _google(view, kind: str, disable: bool) -> HowTo:
    p = view.properties or {}
    base = "https://admin.googleapis.com/admin/directory/v1/users"
    if kind == "token":
        user_key, _, client = _native(view.id).partition(":")
        user_key = p.get("user_key") or user_key
        client = p.get("client_id") or client
        return HowTo(_curl("DELETE", f"{base}/{_seg(user_key)}/tokens/{_seg(client)}", GOOGLE_AUTH))
    if kind == "user" and disable:
        return HowTo(_curl("PUT", f"{base}/{_seg(_native(view.id))}", GOOGLE_AUTH, {"suspended": True}))
    return HowTo()


def _github(view, kind: str, disable: bool, org: str | None = None) -> HowTo:
    native = _native(view.id)
    p = view.properties or {}
    org = _seg(p.get("org") or org, "<org>")
    if kind == "pat":
        # The REST endpoint is callable by a GitHub App only; the page works for an owner.
        return HowTo(f"gh api -X POST {shlex.quote(f'/orgs/{org}/personal-access-tokens/{_seg(native)}')} "
                     f"-f action=revoke",
                     f"https://github.com/organizations/{org}/settings/personal-access-tokens/active")
    if kind == "installation":
        return HowTo(None, f"https://github.com/organizations/{org}/settings/installations/{_seg(native)}")
    if kind == "user" and disable:
        login = p.get("login") or native
        return HowTo(f"gh api -X DELETE {shlex.quote(f'/orgs/{org}/members/{_seg(login)}')}",
                     f"https://github.com/orgs/{org}/people")
    return HowTo()


def _litellm(view, kind: str, disable: bool) -> HowTo:
    native = _native(view.id)
    if kind == "key":
        # /key/delete takes the key or its hashed token (the id burnpath keeps).
        return HowTo(_curl("POST", "/key/delete", LITELLM_AUTH, {"keys": [native]}, base_var="LITELLM_URL"))
    if kind == "user" and disable:
        return HowTo(_curl("POST", "/user/delete", LITELLM_AUTH, {"user_ids": [native]}, base_var="LITELLM_URL"))
    return HowTo()


VENDORS = {"openai": _openai, "anthropic": _anthropic, "aws": _aws, "okta": _okta, "msgraph": _msgraph,
           "google": _google, "github": _github, "litellm": _litellm}

USAGE_PAGES = {"openai": "https://platform.openai.com/usage", "anthropic": "https://console.anthropic.com/usage"}

# Actions that take the target out of service (the vendor's revoke/disable call).
REVOKING = {"revoke", "rotate", "rotate-secret", "revoke-grant", "disable"}


def _github_org(view, facts) -> str | None:
    """The org a GitHub member belongs to (its MEMBER_OF edge to `github:org:<org>`)."""
    if facts is None:
        return None
    from .model import EdgeKind
    for e in facts.out_edges(view.id, EdgeKind.MEMBER_OF):
        if e.dst.startswith("github:org:"):
            org = facts.node(e.dst)
            return ((org.properties or {}).get("org") if org else None) or e.dst[len("github:org:"):]
    return None


def how_to(action: str, view, facts=None) -> HowTo:
    """The command and console URL for one revocation step on `view` (None where the
    step is a human one: notify, assign an owner, update a tool). `facts` (the rule
    facts) lets a command name what the node itself does not state (a member's org)."""
    if view is None:
        return HowTo()
    src = source_of(view.id)
    if action == "review-usage":
        return HowTo(None, USAGE_PAGES.get(src))
    if action not in REVOKING and action != "confirm-revoked":
        return HowTo()
    parts = view.id.split(":")
    if len(parts) < 3 or src not in VENDORS:
        return HowTo()
    if src == "github":
        found = _github(view, parts[1], action == "disable", _github_org(view, facts))
    else:
        found = VENDORS[src](view, parts[1], action == "disable")
    if action == "confirm-revoked":
        return HowTo(None, found.url)       # look, don't act: it is already inactive
    return found
