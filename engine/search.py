"""Node search: case-insensitive substring match on what a person types to find an
identity — its id, name, email, login, key hint (prefix...last four), last four,
redacted value, aliases and LiteLLM key alias.

The fields are named once here; the embedded store matches them over the in-memory
graph (a lower-cased text per live node, built once per graph generation), Neo4j
in Cypher (engine.store.neo4j.Neo4jStore.search_nodes) over the same fields with
the same rules, so both stores answer the same page for the same query:

- a string value matches when it contains the query; a list matches when one of
  its (string or number) elements does; other values never match;
- results are live nodes (optionally of one kind) ordered by id; a page starts
  after a node id (the cursor) and holds up to `limit` nodes; the total counts all
  matches.
"""
from __future__ import annotations

import bisect
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import MemoryGraph
    from .store.base import NodeView

# Properties searched besides the node's id and name. Secret values are never
# stored, so none of these can hold one (hints and last fours are what vendors show).
SEARCH_PROPERTIES = ("email", "login", "hint", "last4", "redacted_value", "aliases", "key_alias")

_TEXTS: "weakref.WeakKeyDictionary[MemoryGraph, tuple[list[str], list[str]]]" = weakref.WeakKeyDictionary()


def normalise(text: str) -> str:
    """The query as matched: trimmed and lower-cased ('' matches every node)."""
    return text.strip().lower()


def _values(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        # As Neo4j keeps it: a list of one scalar type is a list, anything else a JSON text.
        kinds = {type(v) for v in value}
        if len(kinds) == 1 and kinds <= {str, int, float}:
            return [str(v) for v in value]
    return []


def search_text(view: "NodeView") -> str:
    """The lower-cased text a query is looked for in (fields joined by a separator
    no query contains, so a match never spans two fields)."""
    parts = [view.id]
    if view.name:
        parts.append(view.name)
    props = view.properties or {}
    for key in SEARCH_PROPERTIES:
        parts.extend(_values(props.get(key)))
    return "\x00".join(parts).lower()


def _texts(graph: "MemoryGraph") -> tuple[list[str], list[str]]:
    """(ids in id order, their search texts) of the graph's live nodes."""
    found = _TEXTS.get(graph)
    if found is None:
        ids = list(graph.ids)
        found = (ids, [search_text(graph.views[graph.index[i]]) for i in ids])
        _TEXTS[graph] = found
    return found


def search_graph(graph: "MemoryGraph", query: str, kind: str | None, after_id: str | None,
                 limit: int) -> tuple[list["NodeView"], int]:
    """(one page of matching node views, the number of matches) over the in-memory graph."""
    q = normalise(query)
    ids, texts = _texts(graph)
    index, views = graph.index, graph.views
    matches = [i for i, t in zip(ids, texts) if q in t
               and (kind is None or views[index[i]].kind == kind)]
    start = bisect.bisect_right(matches, after_id) if after_id else 0
    return [views[index[i]] for i in matches[start:start + max(limit, 0)]], len(matches)
