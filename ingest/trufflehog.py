"""`trufflehog/*.jsonl`: trufflehog v3 `--json` output, one finding per line.

Each finding is a SecretExposure `trufflehog:finding:<short_hash(source, redacted)>`,
where source is the finding's `SourceMetadata` as canonical JSON and redacted the
stored redacted form, so the same secret at the same place keeps its id. Kept:
detector, decoder, verified flag, source type/name, repository, file, line, commit,
author email, date, link, ExtraData (AWS: account, arn). Never kept: `Raw`, `RawV2`
(reduced to a redacted form and sha256). For AWS the key id (`Redacted`, else `Raw`)
is an identifier and kept as `key_id` for leak matching.
"""
from __future__ import annotations

import json
from pathlib import Path

from engine.ids import short_hash
from engine.model import Node, NodeKind, Records
from engine.secret_hints import aws_key_id

from .accounts import clean, ts
from .exposures import secret_properties
from .files import read_jsonl
from .gitleaks import repository_from_url

SOURCE = "trufflehog"


def _location(meta: dict) -> dict:
    data = meta.get("Data") if isinstance(meta.get("Data"), dict) else {}
    for kind, loc in data.items():
        if isinstance(loc, dict):
            return {"source_kind": kind, **loc}
    return {}


def ingest(root: Path, only: set[Path] | None = None) -> Records:
    rec = Records(source=SOURCE)
    files = sorted(p for p in Path(root).rglob("*.jsonl") if p.is_file())
    if only is not None:
        files = [p for p in files if p.resolve() in only]
    for path in files:
        rec.files.append(str(path))
        for lineno, f in read_jsonl(path):
            if "DetectorName" not in f and "DetectorType" not in f:
                rec.warnings.append(f"{path}: line {lineno} is not a trufflehog finding; ignored")
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
                    "link": loc.get("link"), "extra": extra, **secret})))
    return rec
