"""What every identity source emits for an account: the account node, and when it
carries an email, the person it belongs to (`person:<lower email>`) and HAS_ACCOUNT."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from engine.derive import iso, parse_ts
from engine.ids import looks_like_email, person_id
from engine.model import EdgeKind, NodeKind, Records, trusted_edge, trusted_node

# Timestamp text -> normalised text. The same user object (and its timestamps) recurs in
# every group and app listing; a plain dict beats lru_cache's wrapper at this rate.
_TS: dict[str, str | None] = {}
_TS_MAX = 1 << 18


# The shape nearly every vendor timestamp has: UTC, seconds, optional fraction.
_UTC_TEXT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})"
                       r"(?:\.([0-9]{1,6}))?(?:Z|\+00:00)").fullmatch
_fromisoformat = datetime.fromisoformat


def _iso_text(value: str) -> str | None:
    """iso(parse_ts(value)) for a string, without building a datetime for the usual
    shape: a valid `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+00:00)` comes back as is, with the
    fraction as isoformat spells it (six digits, none when zero) and `Z`."""
    m = _UTC_TEXT(value)
    if m is None:
        return iso(parse_ts(value))
    head, frac = m.groups()
    if head.startswith("0001-") or (head == "1970-01-01T00:00:00" and (frac is None or not frac.strip("0"))):
        return None                 # Go's zero time, the epoch: "never" (as parse_ts says)
    try:
        _fromisoformat(head)        # a real date and time (else parse_ts says None)
    except ValueError:
        return None
    if frac is None or not frac.strip("0"):
        return head + "Z"
    return f"{head}.{frac.ljust(6, '0')}Z"


def ts(value: Any) -> str | None:
    """A vendor timestamp as ISO 8601 UTC (`...Z`); placeholders and junk to None."""
    if type(value) is not str:
        return None if value is None else iso(parse_ts(value))
    try:
        return _TS[value]
    except KeyError:
        out = _iso_text(value)
        if len(_TS) >= _TS_MAX:
            _TS.clear()
        _TS[value] = out
        return out


def clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


def add_account(rec: Records, node_id: str, name: str | None, active: bool | None,
                props: dict[str, Any], email: str | None) -> None:
    # Ids are formatted here and by the callers, kinds are ours, `active` a bool or None:
    # the records are built without re-validation (engine.model.trusted_node).
    props = clean(props)
    if looks_like_email(email):
        props["email"] = email.strip().lower()
        pid = person_id(email)
        rec.nodes.append(trusted_node(pid, NodeKind.Person, None, None,
                                      {"email": pid[len("person:"):]}))
        rec.edges.append(trusted_edge(pid, node_id, EdgeKind.HAS_ACCOUNT, {"via": "email"}))
    rec.nodes.append(trusted_node(node_id, NodeKind.Account, name, active, props))


def edge(rec: Records, src: str, dst: str, kind: EdgeKind, **props: Any) -> None:
    rec.edges.append(trusted_edge(src, dst, kind, clean(props) if props else {}))
