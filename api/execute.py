"""Run one GraphQL request against the schema: the single pipeline behind both
`burnpath serve` (per HTTP request, in a worker thread) and `burnpath query`.

parse -> validate (introspection rule when it is off) -> pick the operation ->
depth and cost limits -> role check for mutations -> execute -> coded errors.
Each step answers with a GraphQL error carrying `extensions.code`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from graphql import (DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode,
                     get_operation_ast, parse, specified_rules, validate)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.types.graphql import OperationType

from engine.service import Engine

from . import limits as limits_mod
from .context import RequestContext, admin_refusal
from .errors import BAD_INPUT, FORBIDDEN, LIMIT_EXCEEDED, error, format_errors
from .limits import Limits
from .lookup_fields import inline_secret_refusal
from .schema import schema as default_schema

_INTROSPECTION_OFF_RULES = (*specified_rules, NoSchemaIntrospectionCustomRule)


@dataclass
class Outcome:
    """A response body plus what the access log and HTTP status need."""
    response: dict[str, Any]
    operation_name: Optional[str] = None
    operation_type: Optional[str] = None        # query | mutation
    codes: list[str] = field(default_factory=list)

    @property
    def forbidden(self) -> bool:
        return FORBIDDEN in self.codes


def _fail(err: GraphQLError, mask: bool, **known) -> Outcome:
    errors = format_errors([err], mask=mask)
    return Outcome(response={"data": None, "errors": errors},
                   codes=[e["extensions"]["code"] for e in errors], **known)


@lru_cache(maxsize=512)
def _parse(document: str) -> DocumentNode:
    return parse(document)


# Validation depends only on the schema, the text and the introspection switch.
@lru_cache(maxsize=512)
def _validate(gql_schema: GraphQLSchema, document: str, introspection: bool) -> tuple[GraphQLError, ...]:
    rules = specified_rules if introspection else _INTROSPECTION_OFF_RULES
    return tuple(validate(gql_schema, _parse(document), rules))


def operation_type_of(document: Any, operation_name: Any = None) -> Optional[str]:
    """query | mutation | None (unparseable), to choose a time budget before running."""
    try:
        op = get_operation_ast(_parse(document), operation_name if isinstance(operation_name, str) else None)
    except (GraphQLError, TypeError):
        return None
    return op.operation.value if op is not None else None


def _is_introspection(err: GraphQLError) -> bool:
    return "introspection" in err.message.lower()


def _validation_error(err: GraphQLError) -> GraphQLError:
    return GraphQLError(err.message, nodes=err.nodes, source=err.source, positions=err.positions,
                        extensions={"code": BAD_INPUT})


def run(engine: Engine, document: Any, variables: Optional[dict[str, Any]] = None,
        operation_name: Optional[str] = None, *, role: str = "admin", token_id: Optional[str] = None,
        limits: Optional[Limits] = None, introspection: bool = True, deadline: Optional[float] = None,
        mask: bool = True, request: Any = None, schema=None, enforce_limits: bool = True,
        queries_only: bool = False) -> Outcome:
    schema = schema or default_schema
    limits = limits or Limits()
    if not isinstance(document, str) or not document.strip():
        return _fail(error("no GraphQL document: send {\"query\": \"...\"}", BAD_INPUT), mask)
    if variables is not None and not isinstance(variables, dict):
        return _fail(error("variables must be a JSON object", BAD_INPUT), mask)
    if operation_name is not None and not isinstance(operation_name, str):
        return _fail(error("operationName must be a string", BAD_INPUT), mask)
    refusal = inline_secret_refusal(document, over_get=queries_only)   # before any cache sees it
    if refusal:
        return _fail(error(refusal, BAD_INPUT), mask)
    try:
        doc = _parse(document)
    except GraphQLError as exc:
        return _fail(GraphQLError(exc.message, source=exc.source, positions=exc.positions,
                                  extensions={"code": BAD_INPUT}), mask)
    gql_schema = schema._schema
    if enforce_limits:
        try:
            limits_mod.check_aliases(doc, limits)   # before validation: a flood is refused unread
        except GraphQLError as exc:
            return _fail(exc, mask)
    problems = _validate(gql_schema, document, introspection)
    if problems:
        if not introspection and any(_is_introspection(p) for p in problems):
            return _fail(error("introspection is disabled on this server", BAD_INPUT), mask)
        errors = format_errors([_validation_error(p) for p in problems], mask=mask)
        return Outcome(response={"data": None, "errors": errors}, codes=[BAD_INPUT] * len(errors))
    operation: OperationDefinitionNode | None = get_operation_ast(doc, operation_name)
    if operation is None:
        why = (f"no operation named {operation_name!r}" if operation_name
               else "the document has several operations: name one in operationName")
        return _fail(error(why, BAD_INPUT), mask)
    known = {"operation_name": operation.name.value if operation.name else operation_name,
             "operation_type": operation.operation.value}
    if operation.operation.value == "mutation" and queries_only:
        return _fail(error("mutations must be sent with POST", BAD_INPUT), mask, **known)
    refusal = admin_refusal(role, token_id) if operation.operation.value == "mutation" else None
    if refusal:
        return _fail(error(refusal, FORBIDDEN), mask, **known)
    if enforce_limits:
        try:
            limits_mod.check(gql_schema, doc, operation, variables, limits)
        except GraphQLError as exc:
            return _fail(exc, mask, **known)
    if deadline is not None and time.monotonic() > deadline:
        return _fail(error("the request waited past its time limit before it could run", LIMIT_EXCEEDED,
                           limit="timeout_seconds"), mask, **known)
    ctx = RequestContext(engine=engine, role=role, token_id=token_id, limits=limits,
                         deadline=deadline, request=request)
    allowed = (OperationType.QUERY,) if queries_only else (OperationType.QUERY, OperationType.MUTATION)

    def execute_once():
        return schema.execute_sync(document, variable_values=variables or {}, context_value=ctx,
                                   operation_name=operation_name, allowed_operation_types=allowed)

    if operation.operation.value == "mutation":
        result = execute_once()            # a write: no read pin (it would hold the snapshot)
    else:
        result = _one_generation(engine, execute_once)
        if result is None:
            return _fail(error(f"the data changed {READ_ATTEMPTS} times while the query ran; retry",
                               LIMIT_EXCEEDED, limit="read_attempts"), mask, **known)
    body: dict[str, Any] = {"data": result.data}
    # The last ingest did not complete: the answer may mix two snapshots (issue 13).
    from .time_fields import mixed_state_extension
    mixed = mixed_state_extension(engine)
    if mixed is not None:
        body["extensions"] = {"ingest": mixed}
    codes: list[str] = []
    if result.errors:
        body["errors"] = format_errors(result.errors, mask=mask)
        codes = [e["extensions"]["code"] for e in body["errors"]]
    return Outcome(response=body, codes=codes, **known)


# A query reads one data generation from start to end. The embedded store holds a
# read snapshot for the request, so its first attempt always is; a store that cannot
# (Neo4j) is checked afterwards and the query run again when a load committed meanwhile.
READ_ATTEMPTS = 3


def _one_generation(engine: Engine, execute_once):
    """The result of a query all of whose reads saw one generation, or None."""
    for _ in range(READ_ATTEMPTS):
        with engine.pinned() as generation:
            result = execute_once()
            if engine.consistent(generation):
                return result
    return None


def execute(engine: Engine, document: str, variables: dict[str, Any] | None = None,
            schema=None) -> dict[str, Any]:
    """`burnpath query`: the caller owns the store, so it runs as admin, without the
    serving limits, and shows unexpected errors' messages (still coded INTERNAL)."""
    return run(engine, document, variables, schema=schema, mask=False, enforce_limits=False).response
