"""What a secret-scanner finding may keep of the secret it found: never the value.

A raw secret becomes what engine.secret_hints allows (known vendor prefix, last four
when enough stays hidden, sha256; a PEM key, URI or connection string its type, host
and user); an already-redacted one is kept as shown when it shows no more than that
(else cut back); an AWS access key id is an identifier, kept whole as `key_id`.
A generic rule's match (`api_key = '…'`, gitleaks v7 `offender`) holds the name it was
assigned to: the value after the `=` or `:` is the secret.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from .errors import IngestError
from engine.secret_hints import (aws_key_id, is_masked, parse_redacted, secret_facts, structured_secret,
                                 trim_hint, vendor_prefix)

# `name = 'value'`, `name: "value"`, `name := value`, `"name" => value`
_ASSIGNED = re.compile(r"""^\s*["'`]?[A-Za-z_][\w.\-]*["'`]?\s*(?::=|=>|[:=])\s*(["'`]?)([^\s"'`,;]+)\1""")


def assigned_value(text: str) -> str | None:
    """The value of a `name = 'value'` match (a generic rule's match holds the name
    too); None when `text` is no assignment or is a secret shape of its own."""
    if vendor_prefix(text) or structured_secret(text) is not None:
        return None
    m = _ASSIGNED.match(text)
    return m.group(2) if m and len(m.group(2)) >= 8 else None


def secret_properties(*candidates: Any) -> dict[str, Any]:
    """The first usable candidate (scanner fields in order of preference) reduced to
    storable properties: redacted, prefix, last4, sha256, key_id, secret_type (and for
    URIs and connection strings host, user, scheme), secret_form."""
    for value in candidates:
        if not isinstance(value, str) or not value.strip():
            continue
        value = value.strip()
        key_id = aws_key_id(value)
        if key_id:
            return {"key_id": key_id, "redacted": key_id, "prefix": key_id[:4], "last4": key_id[-4:],
                    "secret_form": "key_id"}
        if value.upper() == "REDACTED" or set(value) <= {"*", "."}:
            continue  # fully masked: nothing to compare
        if is_masked(value):
            shown = _masked_properties(value)
            if shown is None:
                continue
            return shown
        value = assigned_value(value) or value
        return {**secret_facts(value), "secret_form": "hashed"}
    return {"secret_form": "hidden"}


def _masked_properties(value: str) -> dict[str, Any] | None:
    structured = structured_secret(value)
    if structured is not None:   # `postgres://ana:********@db` -> type, host, user
        return {**{k: v for k, v in structured.items() if v is not None}, "secret_form": "redacted"}
    shown = parse_redacted(value)
    if shown is None:
        return None
    trimmed = trim_hint(value)
    hint = parse_redacted(trimmed)
    out = {"redacted": trimmed, "prefix": hint.prefix if hint else None, "last4": shown.last4,
           "secret_form": "redacted"}
    return {k: v for k, v in out.items() if v is not None}


def finding_objects(path: Path, body: Any, expected: str, item: str) -> Iterator[tuple[int, dict]]:
    """(n, finding) for a scanner report's JSON array of finding objects; a clear error
    naming the file otherwise (`expected` says what the file should hold, `item` what
    one element is called)."""
    if not isinstance(body, list):
        raise IngestError(path, f"expected {expected}, got {type(body).__name__}")
    for n, f in enumerate(body, 1):
        if not isinstance(f, dict):
            raise IngestError(path, f"{item} {n}: expected an object, got {type(f).__name__}")
        yield n, f
