"""Node id conventions (contract): `<source>:<type>:<native id>`, and the canonical
cross-source ids `person:<email>`, `team:<id>`, `tool:<id>`, `saas:<id>`, `data:<id>`."""
from __future__ import annotations

import hashlib

from .model import NodeKind

CANONICAL_PREFIXES = {
    "person": NodeKind.Person, "team": NodeKind.Team, "tool": NodeKind.AITool,
    "saas": NodeKind.SaaSApp, "data": NodeKind.DataSource,
}

# Sources whose accounts decide whether a person is still employed.
IDENTITY_PROVIDERS = frozenset({"okta", "msgraph", "google", "scim"})


def person_id(email: str) -> str:
    return f"person:{email.strip().lower()}"


def looks_like_email(value: object) -> bool:
    return isinstance(value, str) and "@" in value and " " not in value.strip()


def canonical(prefix: str, native: str) -> str:
    """`team:x` from either `x` or an already-prefixed `team:x`."""
    native = str(native).strip()
    return native if native.startswith(prefix + ":") else f"{prefix}:{native}"


def source_of(node_id: str) -> str:
    return node_id.split(":", 1)[0]


def short_hash(*parts: str, length: int = 16) -> str:
    h = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return h[:length]
