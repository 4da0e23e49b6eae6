"""Abuse limits for the GraphQL API, and the static checks (depth, cost) they drive.

Every limit has a default for local use, an environment variable and a `serve` flag
(flag beats variable beats default). A request over a limit is answered with a
GraphQL error whose `extensions.code` is LIMIT_EXCEEDED, before any resolver runs
where the limit can be judged from the document alone.

Cost model (documented in docs/API.md and `burnpath serve --help`): every selected
field costs 1, aliases and introspection fields included. A field taking `first` is
a connection: its `nodes` / `edges` children are multiplied by `first` (or the
default page size when omitted). Any other list-valued field multiplies its children
by LIST_ESTIMATE, a fixed guess at its length. Introspection reads the schema, whose
size is fixed and small: under `__schema` / `__type` each field costs 1 unmultiplied,
and each of those two adds SCHEMA_WALK_COST for the walk over the schema, so a full
GraphiQL introspection fits and hundreds of aliased copies of it do not. The cost of
a document is the cost of the operation that runs.

Aliases: one field may be asked under at most `max_aliases_per_field` response names
in one selection set, and a document may hold at most `max_aliases` aliases. Both
are counted on the parsed text, before validation, so a flood of aliases is refused
before anything else looks at it.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields, replace
from typing import Any

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLList,
                     GraphQLNonNull, GraphQLObjectType, GraphQLSchema, InlineFragmentNode,
                     OperationDefinitionNode, SelectionSetNode, VariableNode, IntValueNode)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from .errors import LIMIT_EXCEEDED, error

LIST_ESTIMATE = 10
CONNECTION_CHILDREN = ("nodes", "edges")
SCHEMA_WALK_COST = 200
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef, "__typename": TypeNameMetaFieldDef}


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12             # nesting of fields in one document
    max_cost: int = 20_000          # see the cost model above
    max_body_bytes: int = 100_000   # HTTP request body
    max_page_size: int = 500        # `first` on any connection
    default_page_size: int = 50     # `first` when omitted
    max_traversal_depth: int = 16   # `maxDepth` on blastRadius / whoCanReach / connections
    timeout_seconds: float = 10.0   # wall time for one query
    mutation_timeout_seconds: float = 600.0  # wall time for one mutation (ingest)
    workers: int = 8                # threads executing GraphQL (each request holds one)
    max_aliases_per_field: int = 100  # response names for one field in one selection set
    max_aliases: int = 500          # aliases in one document
    max_concurrent_per_client: int = 4   # requests executing at once per token (or per address without one)
    header_timeout_seconds: float = 10.0  # to receive a request's line and headers (also idle keep-alive)
    body_timeout_seconds: float = 30.0    # to receive a request's body
    max_connections: int = 512      # open connections (capped below the descriptor limit)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Limits":
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_NAMES[f.name])
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f"${ENV_NAMES[f.name]}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        limits = cls(**values)
        if limits.default_page_size > limits.max_page_size:
            # A lowered cap lowers the default with it, unless that was set too.
            if "default_page_size" in values:
                raise ValueError("default-page-size exceeds max-page-size")
            limits = replace(limits, default_page_size=limits.max_page_size)
        limits.validate()
        return limits

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Limits":
        return cls.from_env(**{f.name: getattr(args, f.name, None) for f in fields(cls)})

    def validate(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"{f.name.replace('_', '-')} must be above 0")


ENV_NAMES = {f.name: "BURNPATH_" + f.name.upper() for f in fields(Limits)}

HELP = {
    "max_depth": "maximum nesting depth of a GraphQL document",
    "max_cost": "maximum query cost (fields, aliases counted; `first` multiplies nested fields)",
    "max_body_bytes": "maximum HTTP request body in bytes",
    "max_page_size": "maximum `first` on connections",
    "default_page_size": "`first` when a connection is asked without it",
    "max_traversal_depth": "maximum `maxDepth` on traversals",
    "timeout_seconds": "wall-time limit for one query, in seconds",
    "mutation_timeout_seconds": "wall-time limit for one mutation (ingest), in seconds",
    "workers": "threads executing GraphQL requests",
    "max_aliases_per_field": "maximum response names (aliases) for one field in one selection set",
    "max_aliases": "maximum aliases in one GraphQL document",
    "max_concurrent_per_client": "requests one API token (or one client address, without a token) "
                                 "may have executing at once; more wait their turn",
    "header_timeout_seconds": "seconds a connection may take to send a request's line and headers "
                              "(or stay idle between requests) before it is closed",
    "body_timeout_seconds": "seconds a client may take to send a request body (then HTTP 408)",
    "max_connections": "open connections; at the cap a new one displaces the oldest that has not "
                       "sent a complete request head, else it is closed",
}


def _parse(name: str, raw: str, where: str):
    kind = float if name.endswith("seconds") else int
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"{where}={raw!r} is not a number") from exc


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """`serve` flags, one per limit; each defaults to its environment variable."""
    defaults = Limits()
    group = parser.add_argument_group("limits (each also settable by its environment variable)")
    for f in fields(Limits):
        kind = float if f.name.endswith("seconds") else int
        flag = "--" + f.name.replace("_", "-")
        group.add_argument(flag, dest=f.name, type=kind, default=None, metavar="N",
                           help=f"{HELP[f.name]} (default {getattr(defaults, f.name)}; "
                                f"${ENV_NAMES[f.name]})")


# --- static checks on a parsed, validated document -----------------------------

def _named_type(t):
    while isinstance(t, (GraphQLNonNull, GraphQLList)):
        t = t.of_type
    return t


def _is_list(t) -> bool:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return isinstance(t, GraphQLList)


class _Walker:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], limits: Limits):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables or {}
        self.limits = limits

    def _fields(self, selection_set: SelectionSetNode | None, parent, seen: frozenset = frozenset()):
        """(field node, its definition) for every field in a selection set, through
        fragments (validation already rejected fragment cycles; `seen` is a guard)."""
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name.startswith("__"):
                    meta = META_FIELDS.get(name)
                    yield sel, meta if meta is not None else (getattr(parent, "fields", {}) or {}).get(name)
                    continue
                fields_map = getattr(parent, "fields", {}) or {}
                yield sel, fields_map.get(name)
            elif isinstance(sel, InlineFragmentNode):
                cond = (self.schema.get_type(sel.type_condition.name.value)
                        if sel.type_condition else parent)
                yield from self._fields(sel.selection_set, cond or parent, seen)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                frag = self.fragments.get(name)
                if frag is None or name in seen:
                    continue
                cond = self.schema.get_type(frag.type_condition.name.value) or parent
                yield from self._fields(frag.selection_set, cond, seen | {name})

    def depth(self, selection_set, parent) -> int:
        """Nesting of the data fields (introspection's nesting is the schema's own:
        GraphiQL's introspection query is deeper than any data query needs)."""
        best = 0
        for node, definition in self._fields(selection_set, parent):
            if node.name.value.startswith("__"):
                continue
            child = _named_type(definition.type) if definition else None
            best = max(best, 1 + self.depth(node.selection_set, child))
        return best

    def flat_cost(self, selection_set, parent) -> int:
        """Every field costs 1, lists unmultiplied (inside introspection)."""
        total = 0
        for node, definition in self._fields(selection_set, parent):
            child_type = _named_type(definition.type) if definition else None
            total += 1 + (self.flat_cost(node.selection_set, child_type) if node.selection_set else 0)
        return total

    def _first(self, node: FieldNode) -> int | None:
        for arg in node.arguments or ():
            if arg.name.value != "first":
                continue
            value = arg.value
            if isinstance(value, VariableNode):
                value = self.variables.get(value.name.value)
            elif isinstance(value, IntValueNode):
                value = int(value.value)
            else:
                value = None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            return self.limits.default_page_size
        return None

    def cost(self, selection_set, parent, page: int | None = None) -> int:
        total = 0
        for node, definition in self._fields(selection_set, parent):
            child_type = _named_type(definition.type) if definition else None
            if node.name.value in ("__schema", "__type"):
                total += 1 + SCHEMA_WALK_COST + self.flat_cost(node.selection_set, child_type)
                continue
            first = None
            if definition is not None and "first" in definition.args:
                first = self._first(node)
                if first is None:
                    first = self.limits.default_page_size
            if page is not None and node.name.value in CONNECTION_CHILDREN:
                factor = page
            elif definition is not None and _is_list(definition.type):
                factor = LIST_ESTIMATE
            else:
                factor = 1
            inner = self.cost(node.selection_set, child_type, first) if node.selection_set else 0
            total += 1 + factor * inner
        return total


def root_type(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    return {"query": schema.query_type, "mutation": schema.mutation_type,
            "subscription": schema.subscription_type}[operation.operation.value]


def measure(schema: GraphQLSchema, document, operation: OperationDefinitionNode,
            variables: dict[str, Any] | None, limits: Limits) -> tuple[int, int]:
    """(depth, cost) of the operation that runs."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    walker = _Walker(schema, fragments, variables or {}, limits)
    root = root_type(schema, operation)
    return walker.depth(operation.selection_set, root), walker.cost(operation.selection_set, root)


def check(schema: GraphQLSchema, document, operation: OperationDefinitionNode,
          variables: dict[str, Any] | None, limits: Limits) -> None:
    depth, cost = measure(schema, document, operation, variables, limits)
    if depth > limits.max_depth:
        raise error(f"query depth {depth} exceeds the limit of {limits.max_depth}", LIMIT_EXCEEDED,
                    limit="max_depth", value=depth, maximum=limits.max_depth)
    if cost > limits.max_cost:
        raise error(f"query cost {cost} exceeds the limit of {limits.max_cost} (each field costs 1, "
                    f"aliases and introspection included; `first` multiplies what is nested under it)",
                    LIMIT_EXCEEDED,
                    limit="max_cost", value=cost, maximum=limits.max_cost)


# --- aliases, counted on the parsed text before validation -----------------------

def _flat_fields(selection_set: SelectionSetNode | None, fragments: dict, seen: set):
    """The fields one selection set asks for, through inline fragments and each named
    fragment once (a fragment spread twice adds no response names)."""
    if selection_set is None:
        return
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            yield sel
        elif isinstance(sel, InlineFragmentNode):
            yield from _flat_fields(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            seen.add(sel.name.value)
            frag = fragments.get(sel.name.value)
            if frag is not None:
                yield from _flat_fields(frag.selection_set, fragments, seen)


def _selection_sets(node):
    """Every selection set written in the document, once each."""
    stack = [node]
    while stack:
        sel_set = stack.pop()
        if sel_set is None:
            continue
        yield sel_set
        for sel in sel_set.selections:
            stack.append(getattr(sel, "selection_set", None))


def check_aliases(document, limits: Limits) -> None:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    aliases = 0
    for definition in document.definitions:
        for sel_set in _selection_sets(getattr(definition, "selection_set", None)):
            names: dict[str, set[str]] = {}
            for f in _flat_fields(sel_set, fragments, set()):
                names.setdefault(f.name.value, set()).add(f.alias.value if f.alias else f.name.value)
            for field_name, response_names in names.items():
                if len(response_names) > limits.max_aliases_per_field:
                    raise error(f"`{field_name}` is asked under {len(response_names)} aliases in one "
                                f"selection set; the limit is {limits.max_aliases_per_field}",
                                LIMIT_EXCEEDED, limit="max_aliases_per_field", value=len(response_names),
                                maximum=limits.max_aliases_per_field)
            aliases += sum(1 for sel in sel_set.selections if isinstance(sel, FieldNode) and sel.alias)
    if aliases > limits.max_aliases:
        raise error(f"the document holds {aliases} aliases; the limit is {limits.max_aliases}",
                    LIMIT_EXCEEDED, limit="max_aliases", value=aliases, maximum=limits.max_aliases)
