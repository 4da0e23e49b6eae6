"""What a resolver learns about its request: the engine, the caller's role, the
limits in force and the deadline. Built by api.execute for every operation."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import FORBIDDEN, LIMIT_EXCEEDED, error
from .limits import Limits


@dataclass
class RequestContext:
    """Also readable as a dict (`info.context["engine"]`) for resolvers written that way."""
    engine: Any
    role: str = "admin"                 # local CLI use is the store's owner
    token_id: Optional[str] = None
    limits: Limits = field(default_factory=Limits)
    deadline: Optional[float] = None    # time.monotonic() value; None: no time limit
    request: Any = None

    def __getitem__(self, key: str):
        return getattr(self, key)

    def get(self, key: str, default=None):
        return getattr(self, key, default)

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise error("the query ran past its time limit and was stopped", LIMIT_EXCEEDED,
                        limit="timeout_seconds")


def context_of(info) -> RequestContext:
    ctx = info.context
    if isinstance(ctx, RequestContext):
        return ctx
    # A plain dict context (schema.execute_sync called directly): local defaults.
    return RequestContext(engine=ctx["engine"], request=ctx.get("request"))


def engine_of(info):
    return info.context["engine"]


def limits_of(info) -> Limits:
    return context_of(info).limits


def admin_refusal(role: str, token_id: Optional[str]) -> Optional[str]:
    """Why a caller may not change the store, or None when it may. No token and not
    admin: a tokenless server started without --allow-local-admin."""
    if role == "admin":
        return None
    if token_id is None:
        return ("this server has no API tokens, so it answers reads only; start it with "
                "`burnpath serve --allow-local-admin` to allow changes from loopback, or create "
                "an admin token with `burnpath token create --role admin`")
    return f"mutations need the admin role (your token's role is {role})"


def require_admin(info) -> None:
    ctx = context_of(info)
    refusal = admin_refusal(ctx.role, ctx.token_id)
    if refusal and ctx.token_id is None:
        raise error(refusal, FORBIDDEN)
    if ctx.role != "admin":
        raise error(f"this needs the admin role (your token's role is {ctx.role})", FORBIDDEN)
