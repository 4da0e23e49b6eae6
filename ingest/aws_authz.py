"""`aws/iam/account-authorization-details.json`: `aws iam get-account-authorization-details`
output (GetAccountAuthorizationDetails: `UserDetailList`, `GroupDetailList`,
`RoleDetailList`, `Policies`; one body or an array of pages, `IsTruncated`/`Marker`).

- Users are ServiceAccounts `aws:iam_user:<UserName>` (the credential report's ids);
  groups are Teams `aws:iam_group:<GroupName>`, users MEMBER_OF their `GroupList`;
  roles are ServiceAccounts `aws:iam_role:<RoleName>` (`last_used_at` from
  `RoleLastUsed`).
- Policies (inline `*PolicyList`, `AttachedManagedPolicies` resolved in `Policies` to
  their default version, and a user's groups' policies) give each principal an `access`
  level: `admin` when an Allow statement grants every action on every resource, `write`
  when it grants any action that is not a read (`Get*`, `List*`, `Describe*`...),
  else `read`; the policy names are kept in `policies`. Policy documents arrive decoded
  (the CLI) or URL-encoded JSON text (the raw API): both are read.
- A role's trust policy (`AssumeRolePolicyDocument`): every IAM user or role it trusts
  CAN_ACCESS the role (`access` the role's, `via` sts:AssumeRole): holding that user's
  key reaches what the role reaches. Trusted services, federated providers and other
  accounts are kept as properties.
- A tag `owner` (any case) holding an email: that person OWNS the user or role.
- Access keys are not part of this output; a user entry that carries
  `AccessKeyMetadata` (the `aws iam list-access-keys` shape, merged by some exporters)
  adds its keys as `aws:access_key:<user>:<n>` (n by creation order, as the credential
  report's slots) with their `key_id`.
Every other field is kept under its own name; tags as a {Key: Value} object.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from engine.ids import looks_like_email, person_id
from engine.model import EdgeKind, NodeKind, Records, trusted_node

from .accounts import clean, edge, ts
from .errors import IngestError
from .files import read_json

DETAILS = "iam/account-authorization-details.json"
LISTS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
READ_VERBS = ("get", "list", "describe", "head", "view", "read", "search", "query", "scan", "select",
              "batchget", "lookup", "check", "test")
ACCESS_RANK = {None: 0, "read": 1, "write": 2, "admin": 3}
# Fields mapped (or summarised) by this module; the rest are kept as they are.
_MAPPED = {"UserName", "GroupName", "RoleName", "Arn", "CreateDate", "Tags", "UserPolicyList",
           "GroupPolicyList", "RolePolicyList", "AttachedManagedPolicies", "GroupList",
           "AssumeRolePolicyDocument", "RoleLastUsed", "AccessKeyMetadata", "InstanceProfileList"}


def _pages(path: Path) -> list[dict]:
    body = read_json(path)
    pages = body if isinstance(body, list) else [body]
    for n, page in enumerate(pages):
        if not isinstance(page, dict) or not any(k in page for k in LISTS):
            got = sorted(page)[:8] if isinstance(page, dict) else type(page).__name__
            raise IngestError(path, f"page {n + 1}: expected get-account-authorization-details output "
                                    f"(UserDetailList, GroupDetailList, RoleDetailList, Policies), got {got}")
        for key in LISTS:
            if key in page and not isinstance(page[key], list):
                raise IngestError(path, f"page {n + 1}: {key} is {type(page[key]).__name__}, expected a list")
    return pages


def _document(doc: Any, path: Path, where: str) -> dict:
    if doc is None or doc == "":
        return {}
    if isinstance(doc, str):
        try:
            doc = json.loads(unquote(doc))
        except ValueError:
            raise IngestError(path, f"{where}: policy document is neither JSON nor URL-encoded JSON") from None
    if not isinstance(doc, dict):
        raise IngestError(path, f"{where}: policy document is {type(doc).__name__}, expected an object")
    return doc


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def document_access(doc: dict) -> str | None:
    """The strongest access an identity policy's Allow statements grant."""
    best = None
    for st in _as_list(doc.get("Statement")):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        if "NotAction" in st:
            level = "admin" if "*" in [str(r) for r in _as_list(st.get("Resource"))] else "write"
        else:
            actions = [str(a).lower() for a in _as_list(st.get("Action"))]
            resources = [str(r) for r in _as_list(st.get("Resource"))]
            if any(a in ("*", "*:*") for a in actions) and "*" in resources:
                level = "admin"
            elif any(a in ("*", "*:*") or not a.split(":", 1)[-1].startswith(READ_VERBS) for a in actions):
                level = "write"
            elif actions:
                level = "read"
            else:
                level = None
        if ACCESS_RANK[level] > ACCESS_RANK[best]:
            best = level
    return best


def _tags(item: dict) -> dict[str, Any]:
    return {str(t.get("Key")): t.get("Value") for t in _as_list(item.get("Tags"))
            if isinstance(t, dict) and t.get("Key") is not None}


def _extras(item: dict) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _MAPPED}


class _Policies:
    """Managed policies by ARN (their default version's document) and access levels."""

    def __init__(self, path: Path, managed: list[dict]):
        self.path = path
        self.by_arn: dict[str, dict] = {}
        for p in managed:
            if not isinstance(p, dict) or not p.get("Arn"):
                continue
            versions = [v for v in _as_list(p.get("PolicyVersionList")) if isinstance(v, dict)]
            default = next((v for v in versions if v.get("IsDefaultVersion")), None)
            doc = _document(default.get("Document"), path, f"policy {p['Arn']}") if default else {}
            self.by_arn[p["Arn"]] = {"name": p.get("PolicyName"), "doc": doc}

    def of(self, item: dict, inline_key: str, where: str) -> tuple[list[dict], str | None]:
        """(policies summary, access) of a principal's own inline and attached policies."""
        out, best = [], None
        for p in _as_list(item.get(inline_key)):
            if not isinstance(p, dict):
                continue
            level = document_access(_document(p.get("PolicyDocument"), self.path,
                                              f"{where} inline policy {p.get('PolicyName')}"))
            out.append(clean({"name": p.get("PolicyName"), "kind": "inline", "access": level}))
            best = max(best, level, key=ACCESS_RANK.__getitem__)
        for p in _as_list(item.get("AttachedManagedPolicies")):
            if not isinstance(p, dict):
                continue
            arn = p.get("PolicyArn")
            known = self.by_arn.get(arn)
            if known is not None:
                level = document_access(known["doc"])
            else:       # an AWS managed policy the output did not include: judge by its name
                level = "admin" if str(arn).endswith(":policy/AdministratorAccess") else (
                    "read" if "ReadOnly" in str(arn) else None)
            out.append(clean({"name": p.get("PolicyName"), "arn": arn, "kind": "managed", "access": level}))
            best = max(best, level, key=ACCESS_RANK.__getitem__)
        return out, best


def _owner(rec: Records, node: str, tags: dict[str, Any]) -> None:
    for k, v in tags.items():
        if k.lower() == "owner" and looks_like_email(v):
            pid = person_id(v)
            rec.nodes.append(trusted_node(pid, NodeKind.Person, None, None, {"email": pid[len("person:"):]}))
            edge(rec, pid, node, EdgeKind.OWNS, via="aws tag owner")


def _named(lists: dict, key: str, name_key: str, path: Path):
    """(name, item) of one detail list; an item without its name is a bad file."""
    for n, item in enumerate(lists[key]):
        name = item.get(name_key) if isinstance(item, dict) else None
        if not name:
            raise IngestError(path, f"{key} item {n + 1}: no {name_key}")
        yield str(name), item


def _principal(rec: Records, node: str, name: str, item: dict, policies: list[dict], access: str | None,
               **more: Any) -> None:
    """An IAM user or role (ServiceAccount) with its policies, tags and owner tag."""
    tags = _tags(item)
    rec.nodes.append(trusted_node(node, NodeKind.ServiceAccount, name, None, clean({
        "arn": item.get("Arn"), "created_at": ts(item.get("CreateDate")), "policies": policies or None,
        "access": access, "admin": access == "admin" or None, "tags": tags or None,
        **more, **_extras(item)})))
    _owner(rec, node, tags)


def _principal_of(arn: str) -> str | None:
    """`arn:aws:iam::<acct>:user/<path/>name` -> aws:iam_user:name (roles alike)."""
    if not arn.startswith("arn:aws") or ":iam::" not in arn:
        return None
    resource = arn.split(":", 5)[-1]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    if not name:
        return None
    return {"user": f"aws:iam_user:{name}", "role": f"aws:iam_role:{name}"}.get(kind)


def ingest_details(path: Path, rec: Records) -> None:
    pages = _pages(path)
    lists = {k: [x for page in pages for x in page.get(k) or []] for k in LISTS}
    policies = _Policies(path, lists["Policies"])
    groups: dict[str, tuple[list[dict], str | None]] = {}
    for name, g in _named(lists, "GroupDetailList", "GroupName", path):
        summary, access = policies.of(g, "GroupPolicyList", f"group {name}")
        groups[name] = (summary, access)
        rec.nodes.append(trusted_node(f"aws:iam_group:{name}", NodeKind.Team, name, None, clean({
            "arn": g.get("Arn"), "created_at": ts(g.get("CreateDate")), "policies": summary or None,
            "access": access, **_extras(g)})))
    for name, u in _named(lists, "UserDetailList", "UserName", path):
        node = f"aws:iam_user:{name}"
        summary, access = policies.of(u, "UserPolicyList", f"user {name}")
        member_of = [str(x) for x in _as_list(u.get("GroupList"))]
        for gname in member_of:
            edge(rec, node, f"aws:iam_group:{gname}", EdgeKind.MEMBER_OF)
            gsum, gaccess = groups.get(gname, ([], None))
            summary += [{**p, "via": f"group {gname}"} for p in gsum]
            access = max(access, gaccess, key=ACCESS_RANK.__getitem__)
        _principal(rec, node, name, u, summary, access, groups=member_of or None)
        _access_keys(rec, path, name, node, u.get("AccessKeyMetadata"))
    roles: dict[str, str | None] = {}
    trusts: list[tuple[str, list[str]]] = []
    for name, r in _named(lists, "RoleDetailList", "RoleName", path):
        node = f"aws:iam_role:{name}"
        summary, access = policies.of(r, "RolePolicyList", f"role {name}")
        roles[node] = access
        trust = _document(r.get("AssumeRolePolicyDocument"), path, f"role {name} trust policy")
        services, federated, aws = [], [], []
        for st in _as_list(trust.get("Statement")):
            if not isinstance(st, dict) or st.get("Effect") != "Allow":
                continue
            principal = st.get("Principal")
            if principal == "*":
                aws.append("*")
                continue
            if not isinstance(principal, dict):
                continue
            services += [str(x) for x in _as_list(principal.get("Service"))]
            federated += [str(x) for x in _as_list(principal.get("Federated"))]
            aws += [str(x) for x in _as_list(principal.get("AWS"))]
        trusts.append((node, aws))
        last = r.get("RoleLastUsed") if isinstance(r.get("RoleLastUsed"), dict) else {}
        _principal(rec, node, name, r, summary, access,
                   last_used_at=ts(last.get("LastUsedDate")), last_used_region=last.get("Region"),
                   trusted_services=sorted(set(services)) or None,
                   trusted_federated=sorted(set(federated)) or None, trusted_aws=sorted(set(aws)) or None,
                   instance_profiles=[p.get("InstanceProfileName") for p in _as_list(r.get("InstanceProfileList"))
                                      if isinstance(p, dict)] or None,
                   trust_policy=trust or None)
    for role, principals in trusts:
        for arn in principals:
            src = _principal_of(arn)
            if src is not None and src != role:
                edge(rec, src, role, EdgeKind.CAN_ACCESS, access=roles.get(role) or "read", via="sts:AssumeRole")


def _access_keys(rec: Records, path: Path, user: str, node: str, keys: Any) -> None:
    listed = sorted((k for k in _as_list(keys) if isinstance(k, dict) and k.get("AccessKeyId")),
                    key=lambda k: (ts(k.get("CreateDate")) or "", k["AccessKeyId"]))
    for slot, k in enumerate(listed[:2], 1):
        status = k.get("Status")
        kid = f"aws:access_key:{user}:{slot}"
        rec.nodes.append(trusted_node(kid, NodeKind.Credential, f"{user} access key {slot}",
                                      None if status is None else str(status).lower() == "active", clean({
                                          "status": status, "key_id": k["AccessKeyId"],
                                          "created_at": ts(k.get("CreateDate")), "iam_user": user})))
        edge(rec, kid, node, EdgeKind.AUTHENTICATES_AS)
    if len(listed) > 2:
        rec.warnings.append(f"{path}: user {user} lists {len(listed)} access keys; IAM allows two, "
                            f"the first two by creation date are kept")
