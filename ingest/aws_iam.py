"""`aws/iam/credential-report.csv`: the IAM credential report (GetCredentialReport,
base64-decoded), parsed by header name.

Each row is an IAM user `aws:iam_user:<name>` (ServiceAccount; the root row is
`aws:iam_user:<root_account>` with `root: true`). Each access key slot that exists
(active, or rotated at some time) is a Credential `aws:access_key:<user>:<1|2>` that
AUTHENTICATES_AS the user, active per `access_key_N_active`, `created_at` =
`access_key_N_last_rotated` (creation or last rotation), `last_used_at` =
`access_key_N_last_used_date`. The report carries no key ids: the full `key_id`
used for leak matching comes from inventory `credentials:` enrichment.
Placeholders `N/A`, `no_information`, `not_supported` mean "nothing".
`iam/account-authorization-details.json` beside it: users, groups, roles and policies
(ingest.aws_authz).
"""
from __future__ import annotations

from pathlib import Path

from engine.model import EdgeKind, NodeKind, Records, trusted_node

from . import aws_authz
from .accounts import clean, edge, ts
from .errors import IngestError
from .files import read_csv
from .layout import select

REPORT = "iam/credential-report.csv"
REQUIRED = ("user", "arn", "access_key_1_active", "access_key_1_last_rotated",
            "access_key_2_active", "access_key_2_last_rotated")
PLACEHOLDERS = {"", "n/a", "no_information", "not_supported", "null"}


def _value(row: dict, key: str) -> str | None:
    v = (row.get(key) or "").strip()
    return None if v.lower() in PLACEHOLDERS else v


def _bool(row: dict, key: str, path: Path, line: int) -> bool | None:
    v = _value(row, key)
    if v is None:
        return None
    low = v.lower()
    if low not in ("true", "false"):
        raise IngestError(path, f"line {line}: {key} is {v!r}, expected true or false")
    return low == "true"


def _time(row: dict, key: str, path: Path, line: int) -> str | None:
    v = _value(row, key)
    if v is None:
        return None
    stamp = ts(v)
    if stamp is None:
        raise IngestError(path, f"line {line}: {key} is {v!r}, expected an ISO 8601 time or N/A")
    return stamp


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source="aws")
    files = select(root, only, (REPORT, aws_authz.DETAILS))
    for path in files[aws_authz.DETAILS]:
        rec.files.append(str(path))
        aws_authz.ingest_details(path, rec)
    for path in files[REPORT]:
        rec.files.append(str(path))
        for line, row in enumerate(read_csv(path, REQUIRED), 2):
            user = _value(row, "user")
            if not user:
                raise IngestError(path, f"line {line}: empty user")
            uid = f"aws:iam_user:{user}"
            root_row = user == "<root_account>"
            rec.nodes.append(trusted_node(id=uid, kind=NodeKind.ServiceAccount, name=user, properties=clean({
                "arn": _value(row, "arn"), "root": root_row or None,
                "created_at": _time(row, "user_creation_time", path, line),
                "password_enabled": _bool(row, "password_enabled", path, line),
                "password_last_used_at": _time(row, "password_last_used", path, line),
                "password_last_changed_at": _time(row, "password_last_changed", path, line),
                "mfa_active": _bool(row, "mfa_active", path, line),
            })))
            for n in (1, 2):
                active = _bool(row, f"access_key_{n}_active", path, line)
                rotated = _time(row, f"access_key_{n}_last_rotated", path, line)
                if not active and rotated is None:
                    continue  # the slot was never used: no key
                kid = f"aws:access_key:{user}:{n}"
                rec.nodes.append(trusted_node(id=kid, kind=NodeKind.Credential, name=f"{user} access key {n}",
                                      active=bool(active), properties=clean({
                                          "status": "Active" if active else "Inactive",
                                          "created_at": rotated, "last_rotated_at": rotated,
                                          "last_used_at": _time(row, f"access_key_{n}_last_used_date", path, line),
                                          "last_used_region": _value(row, f"access_key_{n}_last_used_region"),
                                          "last_used_service": _value(row, f"access_key_{n}_last_used_service"),
                                          "iam_user": user})))
                edge(rec, kid, uid, EdgeKind.AUTHENTICATES_AS)
    return rec
