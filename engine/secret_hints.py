"""Comparing secrets without holding them: what burnpath keeps of a secret.

The rule: keep only what cannot rebuild the secret.

- A vendor prefix only from the table of known vendor prefixes
  (`queries/secret_prefixes.yaml`: `sk-proj-`, `sk-ant-api03-`, `ghp_`, `xoxb-` ...).
  An unknown secret keeps no start at all: its text up to a `-` or `_` is as likely
  the secret as a key type.
- The last four characters only when at least `min_hidden` (16) characters stay
  hidden between the prefix and them (an unknown secret: 20 characters or more).
- The sha256 of the exact secret (what leak matching and `burnpath lookup` compare).
- A PEM private key, a URI or a connection string keeps only its type, host and
  user name (`postgres://ana:***@db.example.com`).

Vendors and scanners show a key as a redacted form: the visible start, a mask, and
the last few characters (`sk-ant-api03-R2D...Xk9Q`, OpenAI `sk-proj-...abcd`,
LiteLLM `sk-...Xk9Q`). Two redacted forms denote the same key when their vendor
prefixes are equal (`sk-ant-api03-` is not `sk-proj-`), their visible starts agree
(one is a prefix of the other) and their last four characters are equal. Fewer than
four visible trailing characters never match: too many keys share three.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple


@dataclass(frozen=True)
class PrefixEntry:
    prefix: str
    vendor: str
    what: str
    identifier: bool          # a key id (AWS AKIA...), not a secret
    charset: str              # the body's characters, a regex class
    body: re.Pattern          # the prefix and a token body, for free text


@dataclass(frozen=True)
class PrefixTable:
    entries: tuple[PrefixEntry, ...]      # longest prefix first
    min_hidden: int

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(e.prefix for e in self.entries)


@lru_cache(maxsize=1)
def prefix_table() -> PrefixTable:
    """queries/secret_prefixes.yaml, checked once."""
    from .rules.loader import QUERIES_DIR, RuleError, load_data
    data = load_data("secret_prefixes.yaml")
    path = QUERIES_DIR / "secret_prefixes.yaml"
    rows = data.get("prefixes") if isinstance(data, dict) else None
    if not isinstance(rows, list) or not rows:
        raise RuleError(path, "expected a 'prefixes' list")
    entries = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not isinstance(row.get("prefix"), str) or not row["prefix"]:
            raise RuleError(path, f"prefix {n}: expected a mapping with a non-empty 'prefix'")
        charset = str(row.get("charset") or "[A-Za-z0-9_-]")
        body = re.compile(re.escape(row["prefix"]) + f"{charset}{{{int(row.get('min_body', 16))},}}")
        entries.append(PrefixEntry(prefix=row["prefix"], vendor=str(row.get("vendor") or ""),
                                   what=str(row.get("what") or "key"),
                                   identifier=bool(row.get("identifier")), charset=charset, body=body))
    entries.sort(key=lambda e: len(e.prefix), reverse=True)
    return PrefixTable(entries=tuple(entries), min_hidden=int(data.get("min_hidden", 16)))


# Longest first, so `sk-ant-api03-` wins over `sk-ant-` and `sk-`.
KNOWN_PREFIXES = prefix_table().prefixes
MIN_HIDDEN = prefix_table().min_hidden

_MASK = re.compile(r"\.{3,}|…|\*{3,}|REDACTED", re.IGNORECASE)
_AWS_KEY_ID = re.compile(r"^(AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[A-Z0-9]{16}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Hint(NamedTuple):
    prefix: str          # the visible start (vendor prefix and perhaps a few more chars)
    last4: str | None    # None when fewer than four trailing characters are visible
    vendor: str          # the vendor/key-type prefix, e.g. "sk-ant-api03-"

    @property
    def redacted(self) -> str:
        return f"{self.prefix}...{self.last4 or ''}"


def prefix_entry(text: str) -> PrefixEntry | None:
    for e in prefix_table().entries:
        if text.startswith(e.prefix):
            return e
    return None


def vendor_prefix(text: str) -> str:
    """The known vendor prefix `text` starts with, else "" (never a guess)."""
    return text.startswith(KNOWN_PREFIXES) and prefix_entry(text).prefix or ""


def parse_redacted(text: object) -> Hint | None:
    """`sk-ant-api03-R2D...Xk9Q` -> Hint; None when there is no mask or nothing visible.
    A start no table prefix explains is its own key type: two such forms match only
    when they show the same start."""
    if not isinstance(text, str):
        return None
    cut = text.find("...")
    if cut >= 0:  # the common form, without a regex
        head, tail = text[:cut], text[cut + 3:]
    else:
        m = _MASK.search(text)
        if m is None:
            return None
        head, tail = text[:m.start()], text[m.end():]
    if "." in tail or "*" in tail or "\u2026" in tail or "EDACTED" in tail.upper():
        while (m := _MASK.search(tail)) is not None:
            tail = tail[m.end():]
        tail = tail.lstrip(".")
    head, tail = head.strip(), tail.strip()
    if not head:
        return None
    return Hint(prefix=head, last4=tail[-4:] if len(tail) >= 4 else None, vendor=vendor_prefix(head) or head)


def hint_from_parts(prefix: object, last4: object) -> Hint | None:
    if not isinstance(prefix, str) or not prefix or not isinstance(last4, str) or len(last4) < 4:
        return None
    return Hint(prefix=prefix, last4=last4[-4:], vendor=vendor_prefix(prefix) or prefix)


def same_key(a: Hint, b: Hint) -> bool:
    return (a.last4 is not None and a.last4 == b.last4 and bool(a.vendor) and a.vendor == b.vendor
            and (a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)))


def sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def is_masked(text: object) -> bool:
    return isinstance(text, str) and bool(_MASK.search(text))


def aws_key_id(text: object) -> str | None:
    """An AWS access key id (an identifier, not a secret) or None."""
    if isinstance(text, str) and _AWS_KEY_ID.match(text.strip()):
        return text.strip()
    return None


def is_sha256_hex(text: object) -> bool:
    return isinstance(text, str) and bool(_HEX64.match(text))


def reduce_secret(raw: str) -> tuple[Hint, str]:
    """A raw token -> (its hint: known vendor prefix, last four when at least MIN_HIDDEN
    characters stay hidden; sha256 of the exact value)."""
    raw = raw.strip()
    vendor = vendor_prefix(raw)
    last4 = raw[-4:] if len(raw) - len(vendor) - 4 >= MIN_HIDDEN else None
    return Hint(prefix=vendor, last4=last4, vendor=vendor), sha256(raw)


# --- structured secrets: PEM keys, URIs, connection strings -----------------
_PEM_HEAD = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*(?::[A-Za-z][A-Za-z0-9+.\-]*)*)://([^/?#\s]*@)?"
                  r"(\[[^\]\s]*\]|[^/?#:;,\s@]*)")
_ORACLE = re.compile(r"^(jdbc:oracle:[a-z]+):([^/@:\s]+)/[^@\s]*@/{0,2}([^/:?\s]+)")
_PARAM = re.compile(r"(?i)(?:^|[?&;])\s*([A-Za-z][A-Za-z0-9 _.\-]*?)\s*=\s*([^&;]*)")
_SECRET_PARAMS = frozenset({"password", "pwd", "passwd", "pass", "accountkey", "sharedaccesskey",
                            "sharedsecretvalue", "secret", "token", "access_token", "sig", "apikey",
                            "api_key", "private_key", "secretaccesskey", "client_secret"})
_USER_PARAMS = ("user id", "userid", "uid", "user", "username", "user name", "accountname", "login")
_HOST_PARAMS = ("server", "data source", "host", "hostname", "address", "addr", "network address",
                "endpoint", "blobendpoint", "accountname", "datasource")
MASKED_PASSWORD = "***"


def _host_of(text: str) -> str:
    text = text.strip()
    for scheme in ("tcp:", "np:", "lpc:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
    m = re.match(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?([^/:,;?\s]*)", text)
    return m.group(1) if m else ""


def structured_secret(raw: str) -> dict[str, Any] | None:
    """A PEM key, URI or connection string -> its type, host and user name (and a
    redacted form built from only those); None for anything else."""
    text = raw.strip()
    m = _PEM_HEAD.search(text)
    if m:
        label = m.group(1).strip()
        return {"secret_type": "pem " + label.lower(), "redacted": f"-----BEGIN {label}-----..."}
    m = _ORACLE.match(text)
    if m:
        scheme, user, host = m.groups()
        return {"secret_type": "uri", "scheme": scheme, "user": user, "host": host,
                "redacted": f"{scheme}:{user}/{MASKED_PASSWORD}@{host}"}
    m = _URI.match(text)
    if m and "://" in text:
        scheme, userinfo, host = m.group(1), m.group(2), m.group(3)
        params = _params(text[m.end():])
        user = None
        if userinfo:
            name, colon, _ = userinfo[:-1].partition(":")
            user = name if colon or not _token_like(name) else None
        user = user or next((params[k] for k in _USER_PARAMS if params.get(k)), None)
        out = {"secret_type": "uri", "scheme": scheme, "host": host or None, "user": user or None}
        out["redacted"] = f"{scheme}://" + (f"{user}:" if user else "") + f"{MASKED_PASSWORD}@{host}"
        return out
    params = _params(text)
    if len(params) >= 2 and _SECRET_PARAMS & params.keys():
        host = next((_host_of(params[k]) for k in _HOST_PARAMS if params.get(k)), None)
        user = next((params[k] for k in _USER_PARAMS if params.get(k)), None)
        parts = [f"host={host}"] if host else []
        parts += [f"user={user}"] if user else []
        return {"secret_type": "connection string", "host": host or None, "user": user or None,
                "redacted": "connection string(" + ", ".join(parts) + f"; password={MASKED_PASSWORD})"}
    return None


def _params(text: str) -> dict[str, str]:
    return {k.strip().lower(): v.strip() for k, v in _PARAM.findall(text)}


def _token_like(text: str) -> bool:
    """A URI's lone user part that is a token (`https://ghp_...@github.com`)."""
    return bool(vendor_prefix(text)) or len(text) >= 16


def secret_facts(raw: str) -> dict[str, Any]:
    """Everything burnpath may keep of a raw secret: secret_type, secret_vendor, prefix,
    last4, redacted, sha256 (PEM keys, URIs, connection strings: their type, host and
    user instead of prefix and last four). Absent facts are left out."""
    raw = raw.strip()
    digest = sha256(raw)
    structured = structured_secret(raw)
    if structured is not None:
        return {**{k: v for k, v in structured.items() if v is not None}, "sha256": digest}
    hint, _ = reduce_secret(raw)
    entry = prefix_entry(raw) if hint.vendor else None
    out = {"secret_type": entry.what if entry else "unknown",
           "secret_vendor": entry.vendor if entry else None,
           "prefix": hint.prefix or None, "last4": hint.last4,
           "redacted": hint.redacted if (hint.prefix or hint.last4) else None, "sha256": digest}
    return {k: v for k, v in out.items() if v is not None}


MAX_SHOWN_AFTER_PREFIX = 4     # what a vendor's own mask may show past its key-type prefix


def trim_hint(text: str) -> str:
    """A vendor's or scanner's redacted form, kept as shown when it shows no more than
    the known vendor prefix, up to four characters after it and the last four
    (`sk-ant-api03-R2D...Xk9Q`); otherwise cut back to prefix, mask and last four. A
    form with no mask at all is a raw secret: its redacted form replaces it."""
    hint = parse_redacted(text)
    if hint is None:
        if is_masked(text) or not text.strip() or aws_key_id(text):
            return text
        return secret_facts(text).get("redacted") or MASKED_PASSWORD
    vendor = vendor_prefix(hint.prefix)
    visible_tail = _MASK.split(text)[-1].strip(" .*\u2026")
    if len(hint.prefix) - len(vendor) <= MAX_SHOWN_AFTER_PREFIX and len(visible_tail) <= 4:
        return text
    return f"{vendor}...{hint.last4 or ''}"
