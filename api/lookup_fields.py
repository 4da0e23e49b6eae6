"""`lookupSecret(value:)`: which credentials a leaked key string is (engine.lookup).

The value is the one secret the API ever receives, so it goes only where it must:
- it must come in a variable (`lookupSecret(value: $secret)`): a document holding it
  inline is refused before it is parsed into any cache (api.execute asks
  `inline_secret_refusal` first), since documents are cached and may be logged;
- over HTTP it must come in a POST body: a GET puts it in the URL (refused likewise);
- no error message, log line or cache entry holds it (errors here are fixed text).
"""
from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql import FieldNode, GraphQLError, VariableNode, parse, visit
from graphql.language import Visitor
from strawberry.types import Info

from .errors import INTERNAL, error

if TYPE_CHECKING:
    from .schema import Node

FIELD = "lookupSecret"


@strawberry.enum(description="How a secret matched a node.")
class SecretMatchedBy(Enum):
    sha256 = strawberry.enum_value("sha256", description="The secret's sha256 equals the node's stored hash.")
    prefix_last4 = strawberry.enum_value(
        "prefix_last4", description="The node's stored vendor prefix begins the secret and its last four end it.")
    hint = strawberry.enum_value(
        "hint", description="The vendor's redacted form of the key (visible start ... last four) fits the secret.")
    key_id = strawberry.enum_value("key_id", description="The value is an AWS access key id equal to the node's key_id.")


@strawberry.type(description="A node a looked-up secret matches, and how.")
class SecretMatch:
    matched_by: SecretMatchedBy = strawberry.field(description="How it matched (strongest first in the list).")
    node_id: strawberry.Private[str]
    eng: strawberry.Private[object]

    @strawberry.field(description="The matching credential (or exposure, with includeExposures).")
    def node(self) -> Annotated["Node", strawberry.lazy("api.schema")]:
        from .schema import node_of
        return node_of(self.eng, self.node_id)


def lookup_secret(
        info: Info,
        value: Annotated[str, strawberry.argument(
            description="The secret, in a variable (never inline in the document). Hashed and compared; "
                        "never stored, logged or echoed.")],
        include_exposures: Annotated[bool, strawberry.argument(
            description="Also list the secret-scanner findings (SecretExposure) it matches.")] = False,
) -> list[SecretMatch]:
    from engine.lookup import CREDENTIAL, EXPOSURE, lookup_secret as lookup
    from .schema import engine_at
    eng = engine_at(info)
    kinds = (CREDENTIAL, EXPOSURE) if include_exposures else (CREDENTIAL,)
    try:
        found = lookup(eng, value, kinds)
    except GraphQLError:
        raise
    except Exception:   # noqa: BLE001 - the message could quote the value: a fixed one instead
        raise error("the lookup failed", INTERNAL) from None
    return [SecretMatch(matched_by=SecretMatchedBy(m.matched_by), node_id=m.node_id, eng=eng) for m in found]


def _lookups(ast):
    found = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_):
            if node.name.value == FIELD:
                found.append(node)
    visit(ast, Collect())
    return found


def inline_secret_refusal(document: str, over_get: bool = False) -> str | None:
    """Why a document that looks up a secret is refused: written inline, or sent in a
    GET request's URL (None: it passes it in a variable of a POST body, or does not
    look one up)."""
    if FIELD not in document:
        return None
    try:
        ast = parse(document)
    except GraphQLError:
        return None     # the caller's parse reports it (a syntax error quotes no source)
    lookups = _lookups(ast)
    if not lookups:
        return None
    if over_get:
        return "lookupSecret needs a POST request: a GET would put the secret in the URL"
    if any(arg.name.value == "value" and not isinstance(arg.value, VariableNode)
           for node in lookups for arg in node.arguments or ()):
        return ("lookupSecret: pass the secret in a variable (lookupSecret(value: $secret)), never inline "
                "in the document: documents are cached and may be logged")
    return None
