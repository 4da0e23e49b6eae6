"""GraphQL errors with stable codes, and how unexpected failures are hidden from clients.

Every error a client sees carries `extensions.code`, one of `CODES`. Anything that is
not one of our own coded errors is masked as INTERNAL with a reference the server
logs beside the traceback, so operators can correlate without leaking internals.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Iterable

from graphql import GraphQLError

NOT_FOUND = "NOT_FOUND"
BAD_INPUT = "BAD_INPUT"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
INTERNAL = "INTERNAL"
CODES = (NOT_FOUND, BAD_INPUT, FORBIDDEN, UNAUTHENTICATED, LIMIT_EXCEEDED, INTERNAL)

log = logging.getLogger("burnpath.api")


def error(message: str, code: str, **extensions: Any) -> GraphQLError:
    """A client-facing error: the message is shown as is, so it must hold no secrets."""
    return GraphQLError(message, extensions={"code": code, **extensions})


def error_body(message: str, code: str) -> dict[str, Any]:
    """A whole GraphQL response holding one request-level error (no data)."""
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


def _original(err: GraphQLError) -> BaseException | None:
    # graphql-core wraps resolver exceptions; a GraphQLError raised in a resolver
    # arrives as the original_error of the located copy.
    orig = err.original_error
    while isinstance(orig, GraphQLError) and orig.original_error is not None:
        orig = orig.original_error
    return orig


def code_of(err: GraphQLError) -> str:
    code = (err.extensions or {}).get("code")
    if code in CODES:
        return code
    orig = _original(err)
    if isinstance(orig, GraphQLError):
        code = (orig.extensions or {}).get("code")
        if code in CODES:
            return code
    if orig is None:
        return BAD_INPUT  # graphql-core's own: syntax, validation
    if isinstance(orig, GraphQLError) and not err.path:
        return BAD_INPUT  # raised before execution: variable coercion
    # A failure while resolving or serialising a field (e.g. a value its type cannot
    # represent) is the server's, whatever raised it.
    return INTERNAL


def format_errors(errors: Iterable[GraphQLError], mask: bool = True) -> list[dict[str, Any]]:
    """Client-facing error dicts. Unexpected exceptions become INTERNAL; with `mask`
    their message is replaced by a generic one and the detail is logged here."""
    out = []
    for err in errors:
        code = code_of(err)
        item = err.formatted
        extensions = {k: v for k, v in (item.get("extensions") or {}).items()
                      if k != "code" and code != INTERNAL}
        if code == INTERNAL:
            ref = uuid.uuid4().hex[:12]
            orig = _original(err) or err
            log.error("internal error ref=%s path=%s: %r", ref, item.get("path"), orig,
                      exc_info=(type(orig), orig, orig.__traceback__))
            if mask:
                item["message"] = f"internal error (ref {ref}); the server log has the details"
            extensions["ref"] = ref
        item["extensions"] = {"code": code, **extensions}
        out.append(item)
    return out
