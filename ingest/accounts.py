"""What every identity source emits for an account: the account node, and when it
carries an email, the person it belongs to (`person:<lower email>`) and HAS_ACCOUNT."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from engine.derive import iso, parse_ts
from engine.ids import looks_like_email, person_id
from engine.model import Edge, EdgeKind, Node, NodeKind, Records


def ts(value: Any) -> str | None:
    """A vendor timestamp as ISO 8601 UTC (`...Z`); placeholders and junk to None."""
    try:
        return _ts_memo(value)
    except TypeError:       # unhashable junk
        return iso(parse_ts(value))


@lru_cache(maxsize=1 << 17, typed=True)
def _ts_memo(value: Any) -> str | None:
    # The same user object (and its timestamps) recurs in every group and app listing.
    return iso(parse_ts(value))


def clean(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


def add_account(rec: Records, node_id: str, name: str | None, active: bool | None,
                props: dict[str, Any], email: str | None) -> None:
    props = clean(props)
    if looks_like_email(email):
        props["email"] = email.strip().lower()
        pid = person_id(email)
        rec.nodes.append(Node(id=pid, kind=NodeKind.Person,
                              properties={"email": pid[len("person:"):]}))
        rec.edges.append(Edge(src=pid, dst=node_id, kind=EdgeKind.HAS_ACCOUNT,
                              properties={"via": "email"}))
    rec.nodes.append(Node(id=node_id, kind=NodeKind.Account, name=name, active=active,
                          properties=props))


def edge(rec: Records, src: str, dst: str, kind: EdgeKind, **props: Any) -> None:
    rec.edges.append(Edge(src=src, dst=dst, kind=kind, properties=clean(props)))
