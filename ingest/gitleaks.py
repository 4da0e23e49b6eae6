"""`gitleaks/*.json`: gitleaks JSON reports (an array of findings; v8 field names, and
the older v7 lower-case ones).

Each finding is a SecretExposure `gitleaks:finding:<Fingerprint>` (v7 and reports
without a fingerprint: `<commit>:<file>:<rule>:<line>`, gitleaks' own recipe). Kept:
rule, description, file, line, columns, commit, repository (from `Link`, else v7
`repo`/`repoURL`), author, email, date, message, tags (a v7 comma-separated string
becomes a list), entropy, and every other field under its own name. Never kept:
`Secret`, `Match`, `Line` (v8) and `offender`, `line` (v7): they hold the secret (with
its context). The secret is reduced to what engine.secret_hints allows and, when the
report holds it raw, its sha256 (see ingest.exposures); a generic rule's v7 offender
(`key = '…'`) is reduced to the value it assigns. gitleaks does not verify secrets:
`verified` is false.
"""
from __future__ import annotations

import re
from pathlib import Path

from engine.model import Node, NodeKind, Records

from .accounts import clean, ts
from .errors import IngestError
from .exposures import finding_objects, secret_properties
from .files import read_json

SOURCE = "gitleaks"
_REPO_URL = re.compile(r"^(?:https?://|git@)[^/:]+[/:]([^/]+)/([^/#?]+?)(?:\.git)?(?:/|$)")


def repository_from_url(url: object) -> str | None:
    m = _REPO_URL.match(str(url or ""))
    return f"{m.group(1)}/{m.group(2)}" if m else None


# Fields that hold the secret: never kept, not even scrubbed.
_SECRET_FIELDS = {"Secret", "Match", "Line", "offender", "line"}
_MAPPED = {"RuleID", "rule", "Description", "File", "file", "Commit", "commit", "StartLine", "EndLine",
           "lineNumber", "Fingerprint", "Link", "leakURL", "repo", "repoURL", "Author", "author", "Email",
           "email", "Date", "date", "Message", "commitMessage", "Tags", "tags", "Entropy", "StartColumn",
           "EndColumn", "SymlinkFile"}


def _tags(value: object) -> list | None:
    if isinstance(value, str):      # v7: "key, AWS"
        return [t.strip() for t in value.split(",") if t.strip()] or None
    return value or None


def _finding(rec: Records, f: dict, path: Path, n: int) -> None:
    v7 = "offender" in f or "rule" in f and "RuleID" not in f
    rule = f.get("RuleID") or f.get("rule")
    file_ = f.get("File") or f.get("file")
    commit = f.get("Commit") or f.get("commit")
    line = f.get("StartLine") if not v7 else f.get("lineNumber")
    if not rule:
        raise IngestError(path, f"finding {n}: no RuleID (is this a gitleaks JSON report?)")
    fingerprint = f.get("Fingerprint") or f"{commit or ''}:{file_ or ''}:{rule}:{line or ''}"
    link = f.get("Link") or f.get("leakURL")
    secret = secret_properties(f.get("Secret"), f.get("offender"), _masked_match(f.get("Match")))
    rec.nodes.append(Node(
        id=f"gitleaks:finding:{fingerprint}", kind=NodeKind.SecretExposure,
        name=f"{rule} in {file_}", properties=clean({
            "scanner": "gitleaks", "rule": rule, "description": f.get("Description"),
            "file": file_, "line": line, "end_line": f.get("EndLine"), "commit": commit,
            "repository": repository_from_url(link) or f.get("repo") or repository_from_url(f.get("repoURL")),
            "link": link, "author": f.get("Author") or f.get("author"),
            "email": f.get("Email") or f.get("email"), "date": ts(f.get("Date") or f.get("date")),
            "message": f.get("Message") or f.get("commitMessage"), "tags": _tags(f.get("Tags") or f.get("tags")),
            "entropy": f.get("Entropy"), "start_column": f.get("StartColumn"), "end_column": f.get("EndColumn"),
            "symlink_file": f.get("SymlinkFile") or None, "repository_url": f.get("repoURL"),
            **{k: v for k, v in f.items() if k not in _MAPPED and k not in _SECRET_FIELDS},
            "fingerprint": fingerprint, "verified": False, "report": path.name, **secret})))


def _masked_match(match: object) -> str | None:
    """A redacted `Match` may show more of the key than `Secret`; a raw one is not used."""
    if not isinstance(match, str):
        return None
    token = next((t for t in re.split(r"[\s\"'=:,;()<>\[\]{}`]+", match)
                  if "..." in t or "…" in t), None)
    return token


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = sorted(p for p in Path(root).rglob("*.json") if p.is_file())
    if only is not None:
        files = [p for p in files if p.resolve() in only]
    for path in files:
        rec.files.append(str(path))
        body = read_json(path)
        if body is None:
            continue
        for n, f in finding_objects(path, body, "a gitleaks report (a JSON array of findings)", "finding"):
            _finding(rec, f, path, n)
    return rec
