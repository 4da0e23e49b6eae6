"""GraphQL types the compromise trace gained (issue 15): its timeline, the authors of
its exposures linked to people, and every activity signal since the compromise.
api/schema.py adds the fields that return them; the answers come from engine.trace."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry

from .redact import redact_text


@strawberry.type(description="One event in a compromised key's history, with the source that states it.")
class TimelineEvent:
    at: Optional[datetime] = strawberry.field(
        description="When; null when no source states a time (a key listed as inactive, no date).")
    kind: str = strawberry.field(
        description="created, exposed, author-departed, owner-departed, holder-departed, first-use, last-use, "
                    "anomaly, revoked, expired or removed.")
    source: str = strawberry.field(
        description="Where the event comes from: a usage report, the vendor's key list and the field "
                    "(e.g. `AWS IAM credential report (last_used_at)`), a scanner report, identity providers.")
    detail: str = strawberry.field(description="What happened, in words (who committed it, the service used...).")
    node: Optional[strawberry.ID] = strawberry.field(
        description="The node the event is about when it is not the subject (an exposure, a person, "
                    "another credential of a traced tool).")


@strawberry.type(description="Who committed an exposed secret, linked to a person when the graph has them.")
class ExposureAuthor:
    exposure: strawberry.ID = strawberry.field(description="The secret-scanner finding.")
    name: Optional[str] = strawberry.field(description="The committer's name, as the scanner reports it.")
    email: Optional[str] = strawberry.field(description="The committer's email (lower-cased).")
    person: Optional[strawberry.ID] = strawberry.field(description="`person:<email>` when that person is known.")
    status: Optional[str] = strawberry.field(description="The person's status: active, inactive (departed) "
                                                         "or unverified.")
    departed: bool = strawberry.field(description="True when the author has left (called out in the timeline).")
    departed_at: Optional[datetime] = strawberry.field(description="When they left, when known.")


@strawberry.type(description="One activity signal on a traced credential since the compromise.")
class ActivitySignal:
    credential: strawberry.ID = strawberry.field(description="The credential it is on.")
    at: datetime = strawberry.field(description="When (midnight UTC for a day-bucketed source).")
    day_only: bool = strawberry.field(description="True when the source states only the UTC day.")
    kind: str = strawberry.field(description="usage, last-used or claude-code.")
    source: str = strawberry.field(description="The report or field it comes from.")
    detail: str = strawberry.field(description="What it says.")
    usd: Optional[float] = strawberry.field(description="That day's spend, for a usage signal.")


def timeline_of(trace) -> list[TimelineEvent]:
    return [TimelineEvent(at=e.at, kind=e.kind, source=e.source, detail=redact_text(e.detail),
                          node=strawberry.ID(e.node_id) if e.node_id else None) for e in trace.timeline]


def authors_of(trace) -> list[ExposureAuthor]:
    from engine.derive import parse_ts
    return [ExposureAuthor(exposure=strawberry.ID(a.exposure_id), name=a.name, email=a.email,
                           person=strawberry.ID(a.person_id) if a.person_id else None, status=a.status,
                           departed=a.status == "inactive", departed_at=parse_ts(a.departed_at))
            for a in trace.exposure_authors]


def signals_of(trace) -> list[ActivitySignal]:
    return [ActivitySignal(credential=strawberry.ID(cid), at=s.at, day_only=s.day, kind=s.kind, source=s.source,
                           detail=redact_text(s.detail), usd=s.usd) for cid, s in trace.activity]
