"""The store's last gate: secret-shaped text in any stored string is reduced before
it is written (engine.secret_hints has the rule of what may be kept).

Ingesters reduce the fields they know hold secrets (a scanner's `Secret`, a vendor's
redacted key); this catches what a source carries in a field nobody mapped (a key
pasted into an Okta profile attribute, a connection string in an inventory note):

- PEM private key blocks -> `-----BEGIN RSA PRIVATE KEY-----...`;
- URIs with credentials -> `scheme://user:***@host` (a lone token user part:
  `scheme://***@host`);
- `password=`, `token: `, `"api_key": "`, `Bearer ...` and similar pairs -> the name
  and `***` (a `:` counts only before a space or quote: `aws:access_key:ci:1` is an id);
- tokens that start with a known vendor prefix (queries/secret_prefixes.yaml) and
  look random -> `<prefix>...<last4>`;
- a value under a secret-named key (`password`, `client_secret`, `api_key`,
  `private_key`, `access_token` ...) -> its redacted form;
- on credentials and exposures, the redacted forms themselves (`redacted_value`,
  `partial_key_hint`, `hint`, `key_name`, `redacted`, `prefix`, `last4`) are cut back
  to what the rule allows (engine.secret_hints.trim_hint).

Ordinary ids (Okta ids, client ids, emails, long hex usage ids, UUIDs) are left as
they are: only a known prefix, a PEM header, a URI's user part or a secret's name
triggers a change. Scrubbing is idempotent: its output scrubs to itself.
"""
from __future__ import annotations

import re
from typing import Any

from .secret_hints import (MASKED_PASSWORD, is_masked, is_sha256_hex, prefix_table, reduce_secret,
                           secret_facts, trim_hint, vendor_prefix)

_PEM = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----(?!\.\.\.)[\s\S]*?"
                  r"(?:-----END [A-Z0-9 ]*-----|\Z)")
_URI = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*(?::[A-Za-z][A-Za-z0-9+.\-]*)*)://"
                  r"([^\s/?#@\"'<>\\]+)@(?=[^\s@])")
_ORACLE = re.compile(r"(jdbc:oracle:[a-z]+):([^/@:\s\"']+)/([^@\s\"']+)@")
_PAIR_WORDS = ("pass", "pwd", "secret", "token", "key", "bearer", "basic", "sig")
_PAIR = re.compile(
    r"(?i)(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_\-.])*(?:password|passwd|pwd|secret|client[_\-]?secret|"
    r"api[_\-]?key|apikey|access[_\-]?key|secret[_\-]?access[_\-]?key|account[_\-]?key|"
    r"shared[_\-]?access[_\-]?key|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|"
    r"session[_\-]?token|id[_\-]?token|token|private[_\-]?key|sig|signature))"
    r"(\s*[\"']?\s*(?:=|:(?=[\s\"'])|:$)\s*[\"']?)([^\s\"';&,<>)\]}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+)([A-Za-z0-9._~+/=\-]{12,})")
# Runs of token characters; a run that starts with a known prefix is checked closely.
_RUN = re.compile(r"[A-Za-z0-9_\-.]{14,}")
_PREFIXES = prefix_table().prefixes
_STARTS = frozenset(p[:2] for p in _PREFIXES)     # a cheap test before startswith(_PREFIXES)
# `$VAR`, `${VAR}`, `{{ secret }}`, `%VAR%`: a reference to a secret, not one
_PLACEHOLDER = re.compile(r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?|\{\{[^{}]*\}\}|%[A-Za-z_][A-Za-z0-9_]*%)$")
_NOT_VALUES = frozenset({"true", "false", "null", "none", "nil", "undefined", "required", "optional",
                         "string", "redacted", "hidden", "masked", "unset", "empty"})
# Keys whose value is a secret whatever its shape (compared lower-cased, `-`/` ` as `_`).
_SECRET_KEY = re.compile(
    r"(?:^|_)(password|passwd|pwd|secret|client_?secret|private_?key|api_?key|apikey|access_?token|"
    r"refresh_?token|id_?token|auth_?token|session_?token|bearer_?token|secret_?access_?key|"
    r"account_?key|connection_?string|conn_?str|dsn|token|raw|raw_?v2|secret_?value|secret_?text|"
    r"credential_?value|client_?key|signing_?key|webhook_?secret|pat)$")
# Keys whose value is a hash, an id or burnpath's own bookkeeping, never a secret.
_SAFE_KEYS = frozenset({"sha256", "token_hash", "key_id", "secret_form", "secret_type", "secret_vendor",
                        "stores_secrets", "secret_id", "token_id", "api_key_id"})
# On credentials and exposures: redacted forms, cut back to what the rule allows.
HINT_KEYS = frozenset({"redacted_value", "partial_key_hint", "hint", "key_name", "redacted"})
HINTED_KINDS = frozenset({"Credential", "SecretExposure"})
# A hint or last4 this short holds no secret worth the name: kept as the source states it.
MAX_PLAIN_HINT = 12

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_key_cache: dict[str, bool] = {}


def _secret_key(key: str) -> bool:
    hit = _key_cache.get(key)
    if hit is None:
        norm = _CAMEL.sub("_", key).lower().replace("-", "_").replace(" ", "_")
        hit = norm not in _SAFE_KEYS and bool(_SECRET_KEY.search(norm))
        if len(_key_cache) < 100_000:
            _key_cache[key] = hit
    return hit


def _looks_random(body: str) -> bool:
    """A token body, not a word: three character classes, or two with a long run
    (hex, lower-case base32) between separators."""
    classes = (any(c.isupper() for c in body) + any(c.islower() for c in body)
               + any(c.isdigit() for c in body))
    if classes >= 3:
        return True
    if classes == 2:
        return max(map(len, re.split(r"[_\-.]", body))) >= 16
    return False


_INNER = re.compile(r"[-_.](?=[A-Za-z0-9])")


def _token(m: re.Match) -> str:
    return _reduce_run(m.group(0))


def _reduce_run(text: str) -> str:
    """A run of token characters with the token in it reduced: at its start, else at an
    inner boundary (`-`, `_`, `.`) where a known prefix starts."""
    if text[:2] in _STARTS and text.startswith(_PREFIXES):
        for e in prefix_table().entries:
            if not text.startswith(e.prefix):
                continue
            if e.identifier:
                return text
            t = e.body.match(text)
            if t is None or not _looks_random(t.group(0)[len(e.prefix):]):
                continue    # a shorter prefix may still fit (`sk-` after `sk-proj-`)
            hint, _ = reduce_secret(t.group(0))
            return hint.redacted + text[t.end():]
    for b in _INNER.finditer(text):
        j = b.end()
        if text[j:j + 2] in _STARTS and text[j:].startswith(_PREFIXES):
            rest = _reduce_run(text[j:])
            if rest != text[j:]:
                return text[:j] + rest
    return text


def _uri(m: re.Match) -> str:
    scheme, userinfo = m.group(1), m.group(2)
    user, colon, password = userinfo.partition(":")
    if colon:
        if not password or is_masked(password) or set(password) <= {"*", "x", "X"}:
            return m.group(0)
        return f"{scheme}://{user}:{MASKED_PASSWORD}@"
    if is_masked(userinfo) or not (vendor_prefix(userinfo) or len(userinfo) >= 16):
        return m.group(0)     # `ssh://git@host`: a user name, not a token
    return f"{scheme}://{MASKED_PASSWORD}@"


def _pair(m: re.Match) -> str:
    value = m.group(3)
    if (len(value) < 4 or value.lower() in _NOT_VALUES or is_masked(value)
            or set(value) <= {"*", "x", "X", "."} or _PLACEHOLDER.match(value)):
        return m.group(0)
    return m.group(1) + m.group(2) + MASKED_PASSWORD


def _bearer(m: re.Match) -> str:
    value = m.group(3)
    if is_masked(value) or not _looks_random(value):
        return m.group(0)
    return m.group(1) + m.group(2) + MASKED_PASSWORD


def _has_pair_word(text: str) -> bool:
    low = text.lower()
    for w in _PAIR_WORDS:
        if w in low:
            return True
    return False


_NON_RUN = re.compile(r"[^A-Za-z0-9_\-.]")    # text with any of these may hold a run after it


def scrub_text(text: str) -> str:
    """`text` with every secret-shaped part reduced (see the module doc). The checks
    that clear an ordinary value come first and cost a few substring tests."""
    n = len(text)
    if n < 12:
        return text
    if n <= 35 and text[4:5] == "-" and text[:4].isdigit() and " " not in text:
        return text     # an ISO date or timestamp (the most common long value)
    out = text
    if "-----BEGIN" in out:
        out = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----...", out)
    if "://" in out and "@" in out:
        out = _URI.sub(_uri, out)
    if "jdbc:oracle" in out:
        out = _ORACLE.sub(lambda m: f"{m.group(1)}:{m.group(2)}/{MASKED_PASSWORD}@"
                          if not is_masked(m.group(3)) and m.group(3) != MASKED_PASSWORD else m.group(0), out)
    separated = _NON_RUN.search(out) is not None
    if separated and _has_pair_word(out):
        out = _PAIR.sub(_pair, out)
        out = _BEARER.sub(_bearer, out)
    # A token: the whole value, or (in text with separators) a run inside it.
    if out[:2] in _STARTS or separated:
        for m in _RUN.finditer(out):
            run = m.group(0)
            if run[:2] in _STARTS and run.startswith(_PREFIXES):
                return out[:m.start()] + _RUN.sub(_token, out[m.start():])
    return out


def reduce_value(value: str) -> str:
    """A value a secret-named field holds: its redacted form (or `***`)."""
    if (not value.strip() or value.lower() in _NOT_VALUES or is_masked(value) or is_sha256_hex(value)
            or value == MASKED_PASSWORD or _PLACEHOLDER.match(value)):
        return value
    return secret_facts(value).get("redacted") or MASKED_PASSWORD


# Long values found clean, so a value repeated across rows (an email on every account
# edge, an OAuth scope URL on every grant) is looked at once. Bounded: cleared when full.
_CLEAN: set[str] = set()
_CLEAN_MAX = 500_000


def _clean_text(v: str) -> str:
    """scrub_text with the memo of clean values."""
    if v in _CLEAN:
        return v
    nv = scrub_text(v)
    if nv is v:
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN.add(v)
    return nv


def _plain(v: str) -> bool:
    """Too short to hold a secret, or an ISO date/timestamp."""
    n = len(v)
    return n < 12 or (n <= 35 and v[4:5] == "-" and v[:4].isdigit() and " " not in v)


def scrub_value(value: Any, key: str | None = None, hinted: bool = False) -> Any:
    """A JSON-like value with secrets reduced; the very object when nothing changed.
    `key`: the name it is stored under; `hinted`: it belongs to a credential or exposure."""
    t = type(value)
    if t is str:
        if key is not None:
            if hinted and key in ("prefix", "last4"):
                return _trim_part(key, value)
            if hinted and key in HINT_KEYS:
                return trim_hint(value) if len(value) > MAX_PLAIN_HINT else value
            if _secret_key(key):
                return reduce_value(value)
        return value if _plain(value) else _clean_text(value)
    if t is dict:
        new = scrub_props(value, hinted)
        return value if new is None else new
    if t is list or t is tuple:
        out = None
        for i, v in enumerate(value):
            if type(v) is str and key is not None and not hinted and not _secret_key(key):
                nv = v if (_plain(v) or v in _CLEAN) else _clean_text(v)
            else:
                nv = scrub_value(v, key, hinted)
            if nv is not v and nv != v:
                if out is None:
                    out = list(value)
                out[i] = nv
        return value if out is None else out
    return value


# key tuple of a properties dict -> the keys among them that name a secret. Records of
# one source share a handful of shapes, so this is decided once per shape.
_SHAPES: dict[tuple, frozenset] = {}


def _secret_keys(keys: tuple) -> frozenset:
    found = _SHAPES.get(keys)
    if found is None:
        found = frozenset(k for k in keys if type(k) is str and _secret_key(k))
        if len(_SHAPES) >= 50_000:
            _SHAPES.clear()
        _SHAPES[keys] = found
    return found


def scrub_props(props: dict, hinted: bool = False) -> dict | None:
    """A copy of `props` with secrets reduced, or None when nothing needed it (the
    common case: no copy made, and few calls: this runs on every stored row)."""
    out = None
    clean = _CLEAN
    named = _secret_keys(tuple(props)) if not hinted else None
    for k, v in props.items():
        t = type(v)
        if t is str:
            if hinted or k in named:
                nv = scrub_value(v, k, hinted)
            else:
                n = len(v)
                if n < 12 or v in clean or (n <= 35 and v[4:5] == "-" and v[:4].isdigit() and " " not in v):
                    continue
                nv = _clean_text(v)
        elif t is int or t is float or t is bool or v is None:
            continue
        else:
            nv = scrub_value(v, k if type(k) is str else None, hinted)
        if nv is not v and nv != v:
            if out is None:
                out = dict(props)
            out[k] = nv
    return out


def _trim_part(key: str, value: str) -> str:
    """A stored `prefix` or `last4` of a credential or exposure: the known vendor prefix
    and at most four characters after it; four characters at most."""
    if key == "last4":
        return value if len(value) <= MAX_PLAIN_HINT else value[-4:]
    vendor = vendor_prefix(value)
    if not vendor:
        return value if len(value) <= 4 else ""
    return value[:len(vendor) + 4]


def scrub_records(records) -> int:
    """Reduce secrets in a source's records in place (node names and properties, edge,
    usage, cost and activity properties, settings, warnings). Returns how many values
    changed."""
    changed = 0
    # (id, hinted) -> (the dict, its result): sources repeat one dict object for many
    # records (a user in every group listing); the dict is held so its id stays its own.
    done: dict[tuple, tuple] = {}

    def scrubbed(p: dict, hinted: bool = False) -> dict | None:
        key = (id(p), hinted)
        hit = done.get(key)
        if hit is None:
            hit = done[key] = (p, scrub_props(p, hinted))
        return hit[1]

    for n in records.nodes:
        kind = n.kind if type(n.kind) is str else n.kind._value_
        props = scrubbed(n.properties, kind in HINTED_KINDS) if n.properties else None
        if props is not None:
            _set(n, "properties", props)
            changed += 1
        if n.name and len(n.name) >= 8:
            name = scrub_text(n.name)
            if name != n.name:
                _set(n, "name", name)
                changed += 1
    for rows in (records.edges, records.usage, records.costs, records.activity):
        for r in rows:
            if r.properties:
                props = scrubbed(r.properties)
                if props is not None:
                    _set(r, "properties", props)
                    changed += 1
    if records.settings:
        settings = scrub_props(records.settings)
        if settings is not None:
            records.settings = settings
            changed += 1
    records.warnings = [scrub_text(w) for w in records.warnings]
    return changed


def _set(obj, name: str, value) -> None:
    setattr(obj, name, value)     # (records are not validated on assignment)


# --- stores written before this rule -------------------------------------------
# Stores remember which version of this rule their rows passed (meta key
# `secret_reduction`); a load into a store at an older one scrubs every stored row
# again first, in the load's own transaction.
SCRUB_META_KEY = "secret_reduction"
SCRUB_VERSION = "2"


def rescrub_json(text: str, hinted: bool = False) -> dict | None:
    """A stored properties JSON text scrubbed again: the new properties, or None when
    nothing changes."""
    import orjson
    if len(text) < 12:
        return None
    try:
        props = orjson.loads(text)
    except orjson.JSONDecodeError:
        import json
        props = json.loads(text)
    if not isinstance(props, dict):
        return None
    return scrub_props(props, hinted)


def rescrub_name(name: str | None) -> str | None:
    """A stored name scrubbed again: the new name, or None when nothing changes."""
    if not name:
        return None
    new = scrub_text(name)
    return new if new != name else None
