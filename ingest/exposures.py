"""What a secret-scanner finding may keep of the secret it found: never the value.

A raw secret becomes its redacted form (vendor prefix + a few characters + '...' +
last four) and its sha256; an already-redacted one is kept as shown (parsed into
prefix and last four); an AWS access key id is an identifier, kept whole as `key_id`.
"""
from __future__ import annotations

from typing import Any

from engine.secret_hints import aws_key_id, is_masked, parse_redacted, reduce_secret


def secret_properties(*candidates: Any) -> dict[str, Any]:
    """The first usable candidate (scanner fields in order of preference) reduced to
    storable properties: redacted, prefix, last4, sha256, key_id, secret_form."""
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
            hint = parse_redacted(value)
            if hint is None:
                continue
            return {k: v for k, v in {"redacted": hint.redacted, "prefix": hint.prefix,
                                      "last4": hint.last4, "secret_form": "redacted"}.items()
                    if v is not None}
        hint, digest = reduce_secret(value)
        return {k: v for k, v in {"redacted": hint.redacted, "prefix": hint.prefix or None,
                                  "last4": hint.last4, "sha256": digest,
                                  "secret_form": "hashed"}.items() if v is not None}
    return {"secret_form": "hidden"}
