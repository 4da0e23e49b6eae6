"""What every identity source emits for an account: the account node, and when it
carries an email, the person it belongs to (`person:<lower email>`) and HAS_ACCOUNT."""
from __future__ import annotations

from typing import Any

from engine.derive import iso, parse_ts
from engine.ids import looks_like_email, person_id
from engine.model import EdgeKind, NodeKind, Records, trusted_edge, trusted_node

# Timestamp text -> normalised text. The same user object (and its timestamps) recurs in
# every group and app listing; a plain dict beats lru_cache's wrapper at this rate.
_TS: dict[str, str | None] = {}
_TS_MAX = 1 << 18


def ts(value: Any) -> str | None:
    """A vendor timestamp as ISO 8601 UTC (`...Z`); placeholders and junk to None."""
    if type(value) is not str:
        return None if value is None else iso(parse_ts(value))
    try:
        return _TS[value]
    except KeyError:
        out = iso(parse_ts(value))
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
