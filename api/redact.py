"""The last line of defence against secrets in responses: any string the API returns
from stored data passes through `redact`, which reduces whatever has the shape of a
secret as the store's scrub does (engine.secret_scrub: known vendor prefix + last
four, PEM keys, credentialed URIs, `password=` pairs) and, beyond it, masks AWS
access key ids down to `AKIA...` + last four.

Ingesters and stores already keep only redacted values and hints; this catches what
a store written before the current rule still holds until its next load, and key ids
(identifiers the store keeps whole for leak matching, but no answer needs whole).
"""
from __future__ import annotations

import re
from typing import Any

from engine.secret_scrub import scrub_text

_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")
_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA")


def redact_text(text: str) -> str:
    text = scrub_text(text)
    if any(p in text for p in _AWS_PREFIXES):
        text = _AWS_KEY_ID.sub(lambda m: f"{m.group(0)[:4]}...{m.group(0)[-4:]}", text)
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secret-shaped strings masked (keys included)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {redact_text(k) if isinstance(k, str) else k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value
