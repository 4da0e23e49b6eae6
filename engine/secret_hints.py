"""Comparing secrets without holding them.

Vendors and scanners show a key as a redacted form: the visible start, a mask,
and the last few characters (`sk-ant-api03-R2D...Xk9Q`, OpenAI `sk-proj-...abcd`,
LiteLLM `sk-...Xk9Q`). Two redacted forms denote the same key when their vendor
prefixes are equal (`sk-ant-api03-` is not `sk-proj-`), their visible starts agree
(one is a prefix of the other) and their last four characters are equal. Fewer than
four visible trailing characters never match: too many keys share three.

A raw secret is reduced here to (redacted form, sha256) and then dropped by the caller.
"""
from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

# Longest first, so `sk-ant-api03-` wins over `sk-ant-` and `sk-`.
KNOWN_PREFIXES = tuple(sorted((
    "sk-ant-admin01-", "sk-ant-api03-", "sk-ant-oat01-", "sk-ant-", "sk-proj-", "sk-svcacct-",
    "sk-admin-", "sk-None-", "sk-or-v1-", "sk-", "AKIA", "ASIA", "ABIA", "ACCA", "github_pat_",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "AIza", "hf_",
    "r8_", "gsk_", "pplx-", "xai-", "SG.", "shpat_", "npm_", "pypi-",
), key=len, reverse=True))

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


_KNOWN = re.compile("|".join(re.escape(p) for p in KNOWN_PREFIXES))


def vendor_prefix(text: str) -> str:
    m = _KNOWN.match(text)  # alternation in longest-first order
    if m:
        return m.group(0)
    # Unknown vendors: everything up to the last separator names the key type.
    cut = max(text.rfind("-"), text.rfind("_"))
    return text[:cut + 1] if cut > 0 else text[:3]


def parse_redacted(text: object) -> Hint | None:
    """`sk-ant-api03-R2D...Xk9Q` -> Hint; None when there is no mask or nothing visible."""
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
    return Hint(prefix=head, last4=tail[-4:] if len(tail) >= 4 else None, vendor=vendor_prefix(head))


def hint_from_parts(prefix: object, last4: object) -> Hint | None:
    if not isinstance(prefix, str) or not prefix or not isinstance(last4, str) or len(last4) < 4:
        return None
    return Hint(prefix=prefix, last4=last4[-4:], vendor=vendor_prefix(prefix))


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
    """A raw secret -> (its redacted hint, sha256). Shows the vendor prefix plus up to
    three more characters, and the last four only when at least eight stay hidden."""
    raw = raw.strip()
    vendor = vendor_prefix(raw)
    if vendor == raw[:3] and vendor not in KNOWN_PREFIXES:
        vendor = ""  # no recognisable key type: show nothing of the start
    shown = vendor + raw[len(vendor):len(vendor) + 3] if len(raw) - len(vendor) > 15 else vendor
    last4 = raw[-4:] if len(raw) - len(shown) - 4 >= 8 else None
    return Hint(prefix=shown, last4=last4, vendor=vendor), sha256(raw)
