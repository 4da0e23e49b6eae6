"""GraphQL types for ranking by risk (issue 15): the `orderBy` enum of `nodes`. The
`riskiest` field and the `orderBy` argument live in api/schema.py; the ranking comes
from engine.risk.ranking (computed once per data generation)."""
from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="How `nodes` orders its list.")
class NodeOrder(Enum):
    ID = strawberry.enum_value("ID", description="By node id (the default).")
    RISK = strawberry.enum_value("RISK", description="By risk score, highest first (ties by id); nodes that are "
                                                     "not scored (teams, data sources...) follow, by id.")
