"""Statements over time: what one source stated about one node or edge, in force
from `valid_from` until `valid_to` (its removal, or the next version's start).

Each store hands over the same two kinds of rows: its current statements (in force
from `since` until `removed_at`) and the superseded versions it kept. From those
alone the graph as it stood at any time is rebuilt with the stores' own merge
(engine.store.sqlite.merge_contributions), so both stores answer alike.

Times are ISO 8601 UTC text with microseconds (`stamp`), compared as text; None
for `valid_from` means "since before history was kept".
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from ..store.base import EdgeView, NodeView


def stamp(value: datetime | str | None = None) -> str:
    """A time as history stores it (now when None)."""
    if value is None:
        value = datetime.now(timezone.utc)
    if isinstance(value, str):
        from ..derive import parse_ts
        parsed = parse_ts(value)
        if parsed is None:
            raise ValueError(f"{value!r} is not an ISO date or timestamp")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class NodeStatement:
    id: str
    source: str
    kind: str
    name: str | None
    active: int | None
    properties: Any            # dict, or its JSON text
    enrichment: int
    valid_from: str | None
    valid_to: str | None

    def in_force(self, at: str) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)

    def row(self) -> tuple:
        """The row engine.store.sqlite.merge_contributions takes (live at its time)."""
        props = self.properties if isinstance(self.properties, str) else _dumps(self.properties)
        return (self.id, self.source, self.kind, self.name, self.active, props, None, self.enrichment)


@dataclass(frozen=True)
class EdgeStatement:
    src: str
    kind: str
    dst: str
    source: str
    properties: Any
    valid_from: str | None
    valid_to: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.src, self.kind, self.dst)

    def in_force(self, at: str) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (self.valid_to is None or at < self.valid_to)


def _dumps(value) -> str:
    from ..store.sqlite import dumps_json
    return dumps_json(value)


def _loads(text) -> dict:
    if not isinstance(text, str):
        return dict(text or {})
    from ..store.sqlite import loads_json
    return loads_json(text)


def node_views_at(statements: Iterable[NodeStatement], at: str) -> list[NodeView]:
    """The merged node views in force at `at`, sorted by id."""
    from ..store.sqlite import merge_contributions
    by_id: dict[str, list[tuple]] = {}
    for s in statements:
        if s.in_force(at):
            by_id.setdefault(s.id, []).append(s.row())
    return [merge_contributions(sorted(by_id[i], key=lambda r: r[1])) for i in sorted(by_id)]


def edge_views_at(statements: Iterable[EdgeStatement], at: str) -> list[EdgeView]:
    """The merged edge views in force at `at`, in key order (sources in name order,
    later ones' properties over earlier ones', as the stores merge them)."""
    by_key: dict[tuple, list[EdgeStatement]] = {}
    for s in statements:
        if s.in_force(at):
            by_key.setdefault(s.key, []).append(s)
    out = []
    for key in sorted(by_key):
        rows = sorted(by_key[key], key=lambda s: s.source)
        props: dict = {}
        for s in rows:
            props.update(_loads(s.properties))
        out.append(EdgeView(src=key[0], kind=key[1], dst=key[2], properties=props,
                            sources=[s.source for s in rows]))
    return out


def touched_between(statements: Iterable, start: str | None, end: str) -> set:
    """Keys (node ids / edge keys) some statement of which began or ended in
    (start, end]."""
    out = set()
    for s in statements:
        for t in (s.valid_from, s.valid_to):
            if t is not None and t <= end and (start is None or t > start):
                out.add(s.id if isinstance(s, NodeStatement) else s.key)
                break
    return out
