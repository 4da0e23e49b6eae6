"""Extension GraphQL fields beside `spend` (issue 3): invoice-level costs reconciled
with measured spend, and Claude Code activity per person. Resolvers stay thin: the
answers come from engine.spend."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from .context import engine_of
from .errors import BAD_INPUT, error


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


FromArg = Annotated[Optional[date], strawberry.argument(name="from", description="First day included (UTC).")]
ToArg = Annotated[Optional[date], strawberry.argument(description="Last day included (UTC).")]


def _window(from_: Optional[date], to: Optional[date]) -> None:
    if from_ and to and from_ > to:
        raise error("from is after to", BAD_INPUT)


def spend_reconciliation(info: Info, from_: FromArg = None, to: ToArg = None) -> list[SpendReconciliationRow]:
    from engine.spend import reconcile
    _window(from_, to)
    return [SpendReconciliationRow(source=r.source, scope=r.scope, invoice_usd=r.invoice_usd,
                                   measured_usd=r.measured_usd, difference_usd=r.difference_usd,
                                   unpriced_requests=r.unpriced_requests)
            for r in reconcile(engine_of(info), from_, to)]


def claude_code_activity(info: Info, from_: FromArg = None, to: ToArg = None,
                         actor: Annotated[Optional[strawberry.ID], strawberry.argument(
                             description="Only this actor (e.g. person:ana@example.com).")] = None,
                         ) -> list[ActivityDay]:
    from engine.spend import activity
    _window(from_, to)
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
