"""How much an OAuth grant opens, from its scopes: read, write or admin.

The mapping (strongest scope wins):
- admin: mailbox- or tenant-wide full control: Google `https://mail.google.com/`,
  Google admin-directory scopes that are not `.readonly`, Graph `*.ReadWrite.All` on
  directory/role/application objects, `Directory.AccessAsUser.All`,
  `full_access_as_app`/`full_access_as_user`, Salesforce-style `full`, and any scope
  naming `admin` or `FullControl` that is not read-only.
- write: scopes that change data: `ReadWrite`, `.write`, `modify`, `send`, `compose`,
  `insert`, `manage`, `api`, and Google whole-product scopes (`.../auth/drive`,
  `.../auth/calendar`) that are not read-only.
- read: `readonly`, `.read`, `Read`, `metadata`; also any other scope not recognised.
- none: identity-only scopes (`openid`, `profile`, `email`, `offline_access`).
A grant with only identity scopes is `read` (it still reveals who the user is)."""
from __future__ import annotations

import re
from typing import Iterable

from .fields import strings

IDENTITY_ONLY = {"openid", "profile", "email", "offline_access", "refresh_token",
                 "https://www.googleapis.com/auth/userinfo.email",
                 "https://www.googleapis.com/auth/userinfo.profile"}
_ADMIN_EXACT = {"https://mail.google.com/", "directory.accessasuser.all", "full_access_as_app",
                "full_access_as_user", "full", "https://www.googleapis.com/auth/cloud-platform"}
_ADMIN_GRAPH = re.compile(r"^(directory|rolemanagement|application|approleassignment|"
                          r"user|group|policy|mail)\.readwrite\.all$")
_WRITE = re.compile(r"readwrite|\.write|write$|modify|send|compose|insert|manage|^api$|"
                    r"\.edit|fullcontrol")
_READ = re.compile(r"readonly|\.read$|\.read\.|read$|metadata|\.view")
_GOOGLE_PRODUCT = re.compile(r"^https://www\.googleapis\.com/auth/[a-z]+$")

LEVELS = ("read", "write", "admin")


def scope_access(scope: str) -> str | None:
    s = scope.strip().lower()
    if not s or s in IDENTITY_ONLY:
        return None
    if s in _ADMIN_EXACT or _ADMIN_GRAPH.match(s):
        return "admin"
    if "admin.directory" in s and "readonly" not in s:
        return "admin"
    if ("admin" in s or "fullcontrol" in s) and not _READ.search(s):
        return "admin"
    if _WRITE.search(s):
        return "write"
    if _READ.search(s):
        return "read"
    if _GOOGLE_PRODUCT.match(s):
        return "write"
    return "read"


def access_for(scopes: Iterable[str]) -> str:
    best = 0
    for scope in scopes:
        level = scope_access(scope)
        if level is not None:
            best = max(best, LEVELS.index(level))
    return LEVELS[best]


def split_scopes(value, path=None, where: str = "scopes") -> list[str]:
    """Graph and OAuth space-separated scope strings, or lists of them, to a list;
    anything else is an IngestError naming `path` and `where`."""
    if value is None:
        return []
    if isinstance(value, str):
        return [s for s in value.replace(",", " ").split() if s]
    return [s for s in strings(value, path or "?", where) if s]
