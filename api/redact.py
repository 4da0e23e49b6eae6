"""The last line of defence against secrets in responses: any string the API returns
from stored data passes through `redact`, which masks whatever has the shape of a
live credential down to its vendor prefix and last four characters.

Ingesters already keep only redacted values and hints; this catches what a source
states in the clear anyway (a scanner's `Redacted` field holding a full AWS key id,
a key pasted into a description).
"""
from __future__ import annotations

import re
from typing import Any

# (shape, how many leading characters stay visible)
_SHAPES = [
    r"sk-ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_\-]{16,}",
    r"sk-(?:proj-|svcacct-|admin-|None-|or-v1-)?[A-Za-z0-9_\-]{16,}",
    r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b",
    r"\bgithub_pat_[A-Za-z0-9_]{40,}",
    r"\bglpat-[A-Za-z0-9_\-]{20,}",
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
    r"\bAIza[0-9A-Za-z_\-]{35}\b",
    r"\b(?:hf|r8|gsk|shpat|npm)_[A-Za-z0-9]{20,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
]
_ANY = re.compile("|".join(f"(?:{s})" for s in _SHAPES))
_VENDOR_PREFIX = re.compile(r"^(sk-ant-(?:api|admin|oat)\d\d-|sk-(?:proj-|svcacct-|admin-|None-|or-v1-)?|"
                            r"AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|AIza|"
                            r"hf_|r8_|gsk_|shpat_|npm_|-----BEGIN [A-Z ]*PRIVATE KEY-----)")


def _mask(m: re.Match) -> str:
    text = m.group(0)
    if text.startswith("-----BEGIN"):
        return "-----BEGIN PRIVATE KEY-----...(redacted)"
    prefix = _VENDOR_PREFIX.match(text)
    head = prefix.group(0) if prefix else text[:3]
    return f"{head}...{text[-4:]}"


def redact_text(text: str) -> str:
    return _ANY.sub(_mask, text) if _ANY.search(text) else text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret-shaped strings masked (keys included)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(k) if isinstance(k, str) else k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
