"""Extension GraphQL fields beside `spend` (issue 3): invoice-level costs reconciled
with measured spend, and Claude Code activity per person; on each SpendRow (issue 18)
whether its requests are known, its unpriced models, and a credential's callers.
Resolvers stay thin: the answers come from engine.spend."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from .context import engine_of
from .errors import BAD_INPUT, error
from .redact import redact_text
from .scalars import BigInt


@strawberry.type(description="Invoice-level cost (OpenAI costs, Anthropic cost_report) beside the measured "
                             "spend of the same source and scope; never added to spend.")
class SpendReconciliationRow:
    source: str = strawberry.field(description="Snapshot source: openai or anthropic.")
    scope: Optional[str] = strawberry.field(description="Project or workspace node id; null: the organization.")
    invoice_usd: float = strawberry.field(description="What the invoice-level report states, in US dollars.")
    measured_usd: float = strawberry.field(description="Measured spend (usage priced) for the same source and scope.")
    difference_usd: float = strawberry.field(description="Invoice minus measured: spend no measured usage explains.")
    unpriced_requests: int = strawberry.field(description="Measured requests on models with no known price.")


@strawberry.type(description="One actor's Claude Code activity on one day (activity, not spend).")
class ActivityDay:
    day: date = strawberry.field(description="The UTC day.")
    actor: strawberry.ID = strawberry.field(description="person:<email>, else the Anthropic user or API key.")
    kind: str = strawberry.field(description="Activity kind as the source names it.")
    sessions: int = strawberry.field(description="Claude Code sessions that day.")
    lines_added: int = strawberry.field(description="Lines of code added.")
    lines_removed: int = strawberry.field(description="Lines of code removed.")
    commits: int = strawberry.field(description="Commits made with Claude Code.")
    pull_requests: int = strawberry.field(description="Pull requests made with Claude Code.")
    tool_actions_accepted: int = strawberry.field(description="Tool actions (edits, commands) accepted.")
    tool_actions_rejected: int = strawberry.field(description="Tool actions rejected.")
    estimated_cost_usd: float = strawberry.field(description="The vendor's estimate, shown for context; not spend.")
    properties: JSON = strawberry.field(description="Every field the report states for the day.")


@strawberry.type(description="One caller of a credential (groupBy credential): who actually made the calls, "
                             "beside the owner its spend is attributed to.")
class SpendCaller:
    caller: Optional[strawberry.ID] = strawberry.field(
        description="The account the usage rows name (LiteLLM end_user, OpenAI user...); null: none named.")
    person: Optional[strawberry.ID] = strawberry.field(description="The person that account resolves to, if any.")
    usd: float = strawberry.field(description="Measured spend of this caller's calls, in US dollars.")
    input_tokens: BigInt = strawberry.field(description="Input tokens.")
    output_tokens: BigInt = strawberry.field(description="Output tokens.")
    requests: BigInt = strawberry.field(description="Requests (a floor when requestsKnown is false).")
    requests_known: bool = strawberry.field(description="False when some of these usage rows state no request count.")


@strawberry.type(description="SpendRow fields added in issue 18 (inherited by SpendRow).")
class SpendRowExtras:
    requests_known: bool = strawberry.field(
        description="False when some usage rows of the group state no request count (Anthropic's messages "
                    "usage report): `requests` then counts only the others, not 0 for those.")
    requests_unknown_rows: BigInt = strawberry.field(
        description="Usage rows (day x key x model) whose vendor states no request count.")
    unpriced_models: list[str] = strawberry.field(
        description="Models with no known price in this group: their tokens are in unpricedTokens, never $0.")
    callers: Optional[list[SpendCaller]] = strawberry.field(
        description="groupBy credential: spend per caller (who actually called), most first; null otherwise.")


def extras_of(row) -> dict:
    """SpendRowExtras' values of an engine.spend.SpendRow."""
    callers = None
    if row.callers is not None:
        callers = [SpendCaller(caller=strawberry.ID(redact_text(c["caller"])) if c["caller"] else None,
                               person=strawberry.ID(c["person"]) if c["person"] else None,
                               usd=c["usd"], input_tokens=c["input_tokens"], output_tokens=c["output_tokens"],
                               requests=c["requests"], requests_known=not c["requests_unknown_rows"])
                   for c in row.callers]
    return {"requests_known": row.requests_known, "requests_unknown_rows": row.requests_unknown_rows,
            "unpriced_models": list(row.unpriced_models), "callers": callers}


FromArg = Annotated[Optional[date], strawberry.argument(name="from", description="First day included (UTC).")]
ToArg = Annotated[Optional[date], strawberry.argument(description="Last day included (UTC).")]


def check_window(from_: Optional[date], to: Optional[date]) -> None:
    if from_ and to and from_ > to:
        raise error("from is after to", BAD_INPUT)


def spend_reconciliation(info: Info, from_: FromArg = None, to: ToArg = None) -> list[SpendReconciliationRow]:
    from engine.spend import reconcile
    check_window(from_, to)
    return [SpendReconciliationRow(source=r.source, scope=r.scope, invoice_usd=r.invoice_usd,
                                   measured_usd=r.measured_usd, difference_usd=r.difference_usd,
                                   unpriced_requests=r.unpriced_requests)
            for r in reconcile(engine_of(info), from_, to)]


def claude_code_activity(info: Info, from_: FromArg = None, to: ToArg = None,
                         actor: Annotated[Optional[strawberry.ID], strawberry.argument(
                             description="Only this actor (e.g. person:ana@example.com).")] = None,
                         ) -> list[ActivityDay]:
    from engine.spend import activity
    check_window(from_, to)
    out = []
    for a in activity(engine_of(info), from_, to, str(actor) if actor else None, "claude_code"):
        p = a.properties
        out.append(ActivityDay(
            day=a.day, actor=strawberry.ID(a.actor_id), kind=a.kind,
            sessions=int(p.get("sessions", 0)), lines_added=int(p.get("lines_added", 0)),
            lines_removed=int(p.get("lines_removed", 0)), commits=int(p.get("commits", 0)),
            pull_requests=int(p.get("pull_requests", 0)),
            tool_actions_accepted=int(p.get("tool_actions_accepted", 0)),
            tool_actions_rejected=int(p.get("tool_actions_rejected", 0)),
            estimated_cost_usd=float(p.get("estimated_cost_usd", 0.0)), properties=p))
    return out
