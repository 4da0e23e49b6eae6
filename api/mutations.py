"""Mutations: what only the admin role may do (ingest on the server, manage tokens)."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from .auth import ROLES, TokenError, TokenRecord, TokenStore
from .context import engine_of, require_admin
from .errors import BAD_INPUT, LIMIT_EXCEEDED, NOT_FOUND, error
from .redact import redact_text


@strawberry.enum(name="Role", description="What an API token may do.")
class RoleEnum(Enum):
    reader = strawberry.enum_value("reader", description="Reads the graph, findings, spend and traces.")
    admin = strawberry.enum_value("admin", description="Also runs ingests and manages tokens.")


@strawberry.type(description="How many records of one kind a load wrote or marked removed.")
class Count:
    name: str = strawberry.field(description="Record kind: nodes, edges, usage, costs, activity, settings...")
    count: int = strawberry.field(description="How many.")


@strawberry.type(description="One source's load, committed in one transaction.")
class IngestRun:
    source: str = strawberry.field(description="Snapshot source directory name (openai, okta, inventory...).")
    run_id: strawberry.ID = strawberry.field(description="The load's id in the store's run log.")
    complete: bool = strawberry.field(description="A whole-source re-sync (what vanished was marked removed), "
                                                  "else a partial load of some files.")
    counts: list[Count] = strawberry.field(description="Records written, by kind.")
    removed: list[Count] = strawberry.field(description="Records marked removed, by kind.")
    warnings: list[str] = strawberry.field(description="Rows kept but doubted.")


@strawberry.type(description="An API token as listed: never its secret.")
class ApiToken:
    rec: strawberry.Private[TokenRecord]

    @strawberry.field(description="Public id, the part after `bp_`; used by `revokeToken`.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.rec.id)

    @strawberry.field(description="What the token may do.")
    def role(self) -> RoleEnum:
        return RoleEnum(self.rec.role)

    @strawberry.field(description="Label given at creation.")
    def name(self) -> Optional[str]:
        return self.rec.name

    @strawberry.field(description="When it was created (server clock).")
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.rec.created_at)

    @strawberry.field(description="When it was revoked; null while it is live.")
    def revoked_at(self) -> Optional[datetime]:
        return datetime.fromisoformat(self.rec.revoked_at) if self.rec.revoked_at else None


@strawberry.type(description="A new API token. `token` is shown this once; the server keeps only a salted hash.")
class CreatedToken:
    token: str = strawberry.field(description="The bearer token: send as `Authorization: Bearer <token>`.")
    info: ApiToken = strawberry.field(description="The token as it will be listed.")


def _counts(values: dict[str, int]) -> list[Count]:
    return [Count(name=k, count=v) for k, v in values.items()]


@strawberry.type(description="Changes to the store. Every field needs the admin role.")
class Mutation:
    @strawberry.mutation(description="Load snapshot directories or files that are on the server; each source "
                                     "is one transaction, and nothing is written unless every file parses.")
    def ingest(self, info: Info,
               paths: Annotated[list[str], strawberry.argument(description="Paths on the server: snapshot "
                                                                           "directories or files inside one.")],
               ) -> list[IngestRun]:
        from engine.store.ingest_lock import IngestLocked
        from ingest.errors import IngestError
        require_admin(info)
        if not paths:
            raise error("paths is empty: name at least one snapshot directory or file", BAD_INPUT)
        try:
            results = engine_of(info).ingest(paths)
        except IngestError as exc:
            raise error(f"{exc.path}: {exc.problem}; nothing was written", BAD_INPUT, path=exc.path) from exc
        except IngestLocked as exc:
            # Busy, not bad input: the same request succeeds once the other ingest ends.
            raise error(f"{exc}; nothing was written", LIMIT_EXCEEDED) from exc
        return [IngestRun(source=r.source, run_id=strawberry.ID(r.run_id), complete=r.complete,
                          counts=_counts(r.counts), removed=_counts(r.removed), warnings=[redact_text(w) for w in r.warnings])
                for r in results]

    @strawberry.mutation(description="Create an API token; the response is the only time its secret is shown.")
    def create_token(self, info: Info,
                     role: Annotated[RoleEnum, strawberry.argument(description="reader or admin.")],
                     name: Annotated[Optional[str], strawberry.argument(description="A label for lists and logs.")] = None,
                     ) -> CreatedToken:
        require_admin(info)
        try:
            rec, raw = TokenStore(engine_of(info).store).create(role.value, name)
        except TokenError as exc:
            raise error(str(exc), BAD_INPUT) from exc
        return CreatedToken(token=raw, info=ApiToken(rec=rec))

    @strawberry.mutation(description="Revoke an API token by id; it stops working at once and stays listed.")
    def revoke_token(self, info: Info,
                     id: Annotated[strawberry.ID, strawberry.argument(description="The token's public id.")],
                     ) -> ApiToken:
        require_admin(info)
        try:
            rec = TokenStore(engine_of(info).store).revoke(str(id))
        except TokenError as exc:
            raise error(str(exc), NOT_FOUND) from exc
        return ApiToken(rec=rec)


assert set(ROLES) == {r.value for r in RoleEnum}


def api_tokens(info: Info) -> list[ApiToken]:
    require_admin(info)
    return [ApiToken(rec=r) for r in TokenStore(engine_of(info).store).list()]
