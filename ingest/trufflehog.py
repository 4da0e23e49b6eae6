"""`trufflehog/*.jsonl` and `*.json`: trufflehog v3 `--json` output, one finding per
line, or the same findings saved as a JSON array (`trufflehog ... --json | jq -s .`),
a single finding object, or JSON lines under a `.json` name.

Each finding is a SecretExposure `trufflehog:finding:<short_hash(source, redacted)>`,
where source is the finding's `SourceMetadata` as canonical JSON and redacted the
stored redacted form, so the same secret at the same place keeps its id. Kept:
detector, decoder, verified flag, source type/name, repository, file, line, commit,
author email, date, link, ExtraData (AWS: account, arn), and every other field under
its own name. Never kept: `Raw`, `RawV2`, `Redacted` as given (reduced to what
engine.secret_hints allows and the sha256). For AWS the key id (`Redacted`, else
`Raw`) is an identifier and kept as `key_id` for leak matching.
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.ids import short_hash
from engine.model import Node, NodeKind, Records
from engine.secret_hints import aws_key_id

from .accounts import clean, ts
from .errors import IngestError
from .exposures import finding_objects, secret_properties
from .files import read_json, read_jsonl
from .gitleaks import repository_from_url

SOURCE = "trufflehog"
_SECRET_FIELDS = {"Raw", "RawV2", "Redacted"}
_MAPPED = {"SourceMetadata", "DetectorName", "DetectorType", "DecoderName", "Verified", "VerificationError",
           "SourceType", "SourceName", "ExtraData"}


def _location(meta: dict) -> dict:
    data = meta.get("Data") if isinstance(meta.get("Data"), dict) else {}
    for kind, loc in data.items():
        if isinstance(loc, dict):
            return {"source_kind": kind, **loc}
    return {}


def _findings(path: Path):
    """(where, finding) for each object in the file: `line N` of JSON lines, `item N`
    of a JSON array."""
    if path.suffix == ".jsonl":
        for lineno, f in read_jsonl(path):
            yield f"line {lineno}", f
        return
    try:
        body = read_json(path)
    except IngestError as exc:
        try:    # `--json > out.json`: JSON lines under a .json name
            yield from ((f"line {n}", f) for n, f in list(read_jsonl(path)))
            return
        except IngestError:
            raise exc from None
    if isinstance(body, dict):
        body = [body]
    for n, f in finding_objects(path, body, "trufflehog findings (a JSON array of finding objects, or "
                                            "JSON lines)", "item"):
        yield f"item {n}", f


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = sorted(p for p in Path(root).rglob("*") if p.suffix in (".jsonl", ".json") and p.is_file())
    if only is not None:
        files = [p for p in files if p.resolve() in only]
    for path in files:
        rec.files.append(str(path))
        for where, f in _findings(path):
            if "DetectorName" not in f and "DetectorType" not in f:
                rec.warnings.append(f"{path}: {where} is not a trufflehog finding; ignored")
                continue
            meta = f.get("SourceMetadata") if isinstance(f.get("SourceMetadata"), dict) else {}
            loc = _location(meta)
            redacted_in = f.get("Redacted")
            secret = secret_properties(redacted_in if aws_key_id(redacted_in) else None,
                                       f.get("Raw"), redacted_in)
            fid = short_hash(json.dumps(meta, sort_keys=True, separators=(",", ":")),
                             str(secret.get("key_id") or secret.get("redacted") or secret.get("sha256") or ""))
            extra = f.get("ExtraData") if isinstance(f.get("ExtraData"), dict) else None
            repo_url = loc.get("repository") or loc.get("link")
            detector = f.get("DetectorName") or str(f.get("DetectorType"))
            rec.nodes.append(Node(
                id=f"trufflehog:finding:{fid}", kind=NodeKind.SecretExposure,
                name=f"{detector} in {loc.get('file') or f.get('SourceName') or 'source'}",
                properties=clean({
                    "scanner": "trufflehog", "rule": detector, "detector": detector,
                    "detector_type": f.get("DetectorType"), "decoder": f.get("DecoderName"),
                    "verified": bool(f.get("Verified")), "verification_error": f.get("VerificationError"),
                    "source_type": f.get("SourceType"), "source_name": f.get("SourceName"),
                    "source_kind": loc.get("source_kind"),
                    "repository": repository_from_url(repo_url) or loc.get("repository"),
                    "repository_url": loc.get("repository"), "file": loc.get("file"),
                    "line": loc.get("line"), "commit": loc.get("commit"), "email": loc.get("email"),
                    "author": loc.get("email"), "date": ts(loc.get("timestamp")),
                    "link": loc.get("link"), "extra": extra,
                    **{k: v for k, v in f.items() if k not in _MAPPED and k not in _SECRET_FIELDS},
                    **secret})))
    return rec
