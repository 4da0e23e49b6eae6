"""Custom GraphQL scalars, shared by the schema modules (api.schema, api.spend_fields)."""
from __future__ import annotations

from typing import NewType

import strawberry

BigInt = NewType("BigInt", int)
SCALARS = {BigInt: strawberry.scalar(
    name="BigInt", serialize=int, parse_value=int,
    description="An integer that may exceed 32 bits (token and request counts), sent as a JSON number.")}
