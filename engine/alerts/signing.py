"""Signing webhook bodies so a receiver can tell burnpath sent them, unaltered and recently.

The signature is HMAC-SHA256, keyed with the shared secret, over the bytes
`<timestamp>.<body>` where <timestamp> is the X-Burnpath-Timestamp header (Unix
seconds) and <body> the raw request body. X-Burnpath-Signature carries
`sha256=<hex digest>`. A receiver recomputes it, compares in constant time and
rejects timestamps far from its clock (replays). docs/ALERTS.md has the recipe.
"""
from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Burnpath-Timestamp"
SIGNATURE_HEADER = "X-Burnpath-Signature"
DELIVERY_HEADER = "X-Burnpath-Delivery"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, headers, body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE_SECONDS) -> bool:
    """The receiver's check (what docs/ALERTS.md shows): right signature, fresh timestamp."""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    if age > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)
