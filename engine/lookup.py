"""A responder holds a leaked key string: which credentials is it?

The value is compared, never kept: it is hashed, its vendor prefix and last four
characters taken, and it is held only in this call's locals (nothing here logs,
caches or stores it; callers must not either: api/lookup_cli.py, api/lookup_fields.py).

A credential matches, strongest way first (each credential once, by its strongest):
- `sha256`: the value's sha256 is the credential's `sha256` (or LiteLLM's
  `token`/`token_hash`, the id of `litellm:key:<hash>`);
- `key_id`: the value is an AWS access key id equal to the credential's `key_id`;
- `hint`: a redacted form the vendor shows (`redacted_value`, `partial_key_hint`,
  `hint`, `key_name`, `key_alias`, `redacted`) fits the value: its visible start
  begins the value and its last four (at least) end it;
- `prefix_last4`: the credential's stored `prefix` (a known vendor prefix, perhaps a
  few characters more) begins the value and its `last4` ends it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .secret_hints import aws_key_id, parse_redacted, sha256

HINT_KEYS = ("redacted_value", "partial_key_hint", "hint", "key_name", "key_alias", "redacted")
STRENGTH = ("sha256", "key_id", "hint", "prefix_last4")
CREDENTIAL = "Credential"
EXPOSURE = "SecretExposure"


@dataclass(frozen=True)
class SecretMatch:
    node_id: str
    matched_by: str       # one of STRENGTH


def match_view(props: dict, node_id: str, value: str, digest: str, key_id: str | None) -> str | None:
    """How a node with these properties matches the value (None: it does not)."""
    hashes = {props.get("sha256"), props.get("token"), props.get("token_hash")}
    if node_id.startswith("litellm:key:"):
        hashes.add(node_id[len("litellm:key:"):])
    if digest in hashes:
        return "sha256"
    if key_id is not None and str(props.get("key_id") or "").strip() == key_id:
        return "key_id"
    for k in HINT_KEYS:
        hint = parse_redacted(props.get(k))
        if (hint is not None and hint.last4 and len(value) > len(hint.prefix) + len(hint.last4)
                and value.startswith(hint.prefix) and value.endswith(hint.last4)):
            return "hint"
    prefix, last4 = props.get("prefix"), props.get("last4")
    if (isinstance(prefix, str) and prefix and isinstance(last4, str) and len(last4) >= 4
            and len(value) > len(prefix) + len(last4) and value.startswith(prefix) and value.endswith(last4)):
        return "prefix_last4"
    return None


def lookup_secret(engine, value: str, kinds: tuple[str, ...] = (CREDENTIAL,)) -> list[SecretMatch]:
    """The nodes of `kinds` the secret matches, strongest match first, then by id."""
    value = value.strip()
    if not value:
        return []
    digest, key_id = sha256(value), aws_key_id(value)
    found = []
    for view in _candidates(engine, value, digest, key_id, kinds):
        how = match_view(view.properties, view.id, value, digest, key_id)
        if how is not None:
            found.append(SecretMatch(view.id, how))
    found.sort(key=lambda m: (STRENGTH.index(m.matched_by), m.node_id))
    return found


def _candidates(engine, value: str, digest: str, key_id: str | None, kinds: tuple[str, ...]):
    store = engine.store
    narrow = getattr(store, "secret_candidates", None)
    if narrow is not None:          # Neo4j: the candidates come from Cypher
        for node_id in narrow(kinds, digest, key_id, value[-4:]):
            view = engine.node(node_id)
            if view is not None:
                yield view
        return
    for kind in kinds:
        total = engine.nodes(kind, 0, 0)[1]
        yield from engine.nodes(kind, 0, total)[0]
