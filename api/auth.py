"""API tokens for `burnpath serve`: created once, stored only as salted HMACs.

A token reads `bp_<id>_<secret>`. The id is public (it names the token in lists,
logs and `token revoke`); the secret is 32 random bytes shown once at creation.
The store keeps, per token, a random salt and HMAC-SHA256(salt, secret) in its
meta table under `api_tokens` (both stores have meta), never the secret.

Revoked tokens stay listed (with `revoked_at`) so that once a store has had a
token, it never silently falls back to open, unauthenticated access.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Optional

META_KEY = "api_tokens"
PREFIX = "bp"
ROLES = ("reader", "admin")


class TokenError(ValueError):
    """A token request a user got wrong (unknown id, bad role); the message says why."""


@dataclass
class TokenRecord:
    id: str
    role: str
    name: Optional[str]
    created_at: str
    salt: str
    digest: str
    revoked_at: Optional[str] = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def public(self) -> dict:
        """What may be shown: everything but the salt and digest."""
        return {"id": self.id, "role": self.role, "name": self.name,
                "created_at": self.created_at, "revoked_at": self.revoked_at}


def _digest(salt: bytes, secret: str) -> str:
    return hmac.new(salt, secret.encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def split_token(raw: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    head, sep, rest = raw.partition("_")
    if head != PREFIX or not sep:
        return None
    token_id, sep, secret = rest.partition("_")
    if not sep or not token_id or not secret:
        return None
    return token_id, secret


class TokenStore:
    """Tokens kept in a store's meta. Reads are cached on the stored text, so checking
    a request costs one small meta read, and a token made by the CLI while a server
    runs takes effect at once."""

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._raw: str | None = None
        self._records: dict[str, TokenRecord] = {}

    def records(self) -> dict[str, TokenRecord]:
        raw = self.store.get_meta(META_KEY)
        if raw != self._raw:
            parsed = {}
            for item in json.loads(raw) if raw else []:
                rec = TokenRecord(**item)
                parsed[rec.id] = rec
            self._records, self._raw = parsed, raw
        return self._records

    def _save(self, records: dict[str, TokenRecord]) -> None:
        self.store.set_meta(META_KEY, json.dumps([asdict(r) for r in records.values()],
                                                 sort_keys=True))

    def any(self) -> bool:
        """True once any token was ever created (revoked ones count)."""
        return bool(self.records())

    def list(self) -> list[TokenRecord]:
        return sorted(self.records().values(), key=lambda r: (r.created_at, r.id))

    def create(self, role: str, name: str | None = None) -> tuple[TokenRecord, str]:
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        with self._lock:
            records = dict(self.records())
            token_id = secrets.token_hex(6)
            while token_id in records:
                token_id = secrets.token_hex(6)
            secret = secrets.token_urlsafe(32)
            salt = secrets.token_bytes(16)
            rec = TokenRecord(id=token_id, role=role, name=name, created_at=_now(),
                              salt=salt.hex(), digest=_digest(salt, secret))
            records[token_id] = rec
            self._save(records)
        return rec, f"{PREFIX}_{token_id}_{secret}"

    def revoke(self, token_id: str) -> TokenRecord:
        with self._lock:
            records = dict(self.records())
            rec = records.get(token_id)
            if rec is None:
                raise TokenError(f"no token with id {token_id!r}")
            if rec.revoked_at is None:
                rec = TokenRecord(**{**asdict(rec), "revoked_at": _now()})
                records[token_id] = rec
                self._save(records)
        return rec

    def verify(self, raw: str) -> TokenRecord | None:
        """The live token this raw value is, else None (malformed, unknown, revoked)."""
        parts = split_token(raw.strip())
        if parts is None:
            return None
        rec = self.records().get(parts[0])
        if rec is None or not rec.active:
            return None
        if not hmac.compare_digest(_digest(bytes.fromhex(rec.salt), parts[1]), rec.digest):
            return None
        return rec


LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, tokens_exist: bool) -> str | None:
    """Why `serve` must not bind `host`, or None when it may. Without tokens the API
    answers anyone who can connect, so it may then only listen on loopback."""
    if tokens_exist or is_loopback(host):
        return None
    return (f"refusing to serve on {host}: this store has no API tokens, so the API would "
            f"answer anyone who can connect without authentication. Create one with "
            f"`burnpath token create --role admin` (then send it as `Authorization: Bearer "
            f"<token>`), or serve on loopback only (--host 127.0.0.1).")
