"""Activity on an identity, from every signal the sources give, each named by where
it comes from.

A key can look unused in usage reports and still be in use: AWS's credential report
states `access_key_N_last_used_date` (and the service), OpenAI and Anthropic state a
key's `last_used_at`, an identity provider states a user's last sign-in, and Claude
Code's report names the key or person behind each day of sessions. The compromise
trace and the departure rules read all of them through `activity_after`, so "used
after the leak" or "used after they left" never rests on one signal alone.

Each signal is an `ActivitySignal(at, kind, source, detail, day)`: `day` is True when
the source only gives a UTC day (usage and Claude Code buckets), whose midnight `at`
is; such a day counts as after a moment only when it starts after that moment's day
(the day bucket of a departure or a leak may hold use from before it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from .derive import parse_ts
from .ids import source_of

# Node properties that state a last use, with what they mean. The vendors' own fields
# are kept under these names by the ingesters (see docs/ARCHITECTURE.md).
LAST_USE_FIELDS = (
    ("last_used_at", "last used"),
    ("last_activity_at", "last activity"),
    ("last_login_at", "last sign-in"),
    ("password_last_used_at", "last console sign-in"),
)

# What each source's last-use field is called where it comes from, for the timeline.
SOURCE_NAMES = {
    "aws": "AWS IAM credential report",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "litellm": "LiteLLM",
    "github": "GitHub",
    "okta": "Okta",
    "msgraph": "Microsoft Entra ID",
    "google": "Google Workspace",
    "scim": "SCIM",
}

USAGE_SOURCE_NAMES = {
    "openai": "OpenAI usage report",
    "anthropic": "Anthropic usage report",
    "litellm": "LiteLLM spend logs",
    "aws": "AWS Bedrock invocation logs",
}


@dataclass(frozen=True)
class ActivitySignal:
    at: datetime
    kind: str            # usage | last-used | claude-code
    source: str          # where the signal comes from (a vendor report or list)
    detail: str
    day: bool = False    # True when only the UTC day is known
    usd: float | None = None

    def after(self, moment: datetime) -> bool:
        if self.day:
            return self.at.date() > moment.date()
        return self.at > moment


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def describe_source(node_source: str) -> str:
    return SOURCE_NAMES.get(node_source, node_source)


def stated_last_use(view) -> list[ActivitySignal]:
    """The last-use times a node's own source states (vendor last-used, last sign-in)."""
    out = []
    props = view.properties or {}
    # The node id names the vendor that states it (inventory only enriches).
    src = source_of(view.id)
    for name, label in LAST_USE_FIELDS:
        ts = parse_ts(props.get(name))
        if ts is None:
            continue
        extra = []
        if name == "last_used_at" and props.get("last_used_service"):
            extra.append(f"service {props['last_used_service']}")
        if name == "last_used_at" and props.get("last_used_region"):
            extra.append(f"region {props['last_used_region']}")
        detail = f"{label} {ts.isoformat().replace('+00:00', 'Z')}" + (f" ({', '.join(extra)})" if extra else "")
        out.append(ActivitySignal(at=ts, kind="last-used", source=f"{describe_source(src)} ({name})",
                                  detail=detail))
    return out


def _claude_code_by_actor(engine) -> dict[str, list]:
    def build():
        end = engine.as_of.date() if engine.as_of is not None else None
        out: dict[str, list] = {}
        for a in engine.store.activity(None, end):
            if a.kind == "claude_code":
                out.setdefault(a.actor_id, []).append(a)
        return out
    return engine.cached(f"claude-code-by-actor@{engine.as_of}", build)


def claude_code_days(engine, actor_id: str) -> list[ActivitySignal]:
    out = []
    for a in sorted(_claude_code_by_actor(engine).get(actor_id, []), key=lambda a: a.day):
        p = a.properties or {}
        bits = [f"{p[k]} {label}" for k, label in (("num_sessions", "sessions"), ("sessions", "sessions"),
                                                    ("lines_added", "lines added"))
                if isinstance(p.get(k), (int, float))]
        out.append(ActivitySignal(at=midnight(a.day), kind="claude-code", source="Anthropic Claude Code report",
                                  detail="Claude Code activity" + (f": {', '.join(bits)}" if bits else ""),
                                  day=True))
    return out


def usage_days(facts, node_id: str, by_account: bool = False) -> list[ActivitySignal]:
    """One signal per day with usage rows on the node (a credential's rows, or for an
    account the rows a vendor attributes to it), with that day's dollars."""
    rows = facts.usage_rows_naming(node_id) if by_account else facts.usage_by_credential.get(node_id, [])
    per_day: dict[tuple[date, str], list] = {}
    for r in rows:
        per_day.setdefault((r.day, r.source), []).append(r)
    out = []
    for (day, src), rs in sorted(per_day.items()):
        usd = sum(facts.row_usd(r) or 0.0 for r in rs)
        reqs = sum(r.requests for r in rs)
        models = sorted({r.model for r in rs})
        out.append(ActivitySignal(at=midnight(day), kind="usage", source=USAGE_SOURCE_NAMES.get(src, f"{src} usage"),
                                  detail=(f"{reqs:,} requests, " if reqs else "") + f"${usd:,.2f} on {', '.join(models)}",
                                  day=True, usd=round(usd, 4)))
    return out


def signals_of(engine, facts, view) -> list[ActivitySignal]:
    """Every activity signal on a credential or account, oldest first."""
    from .model import NodeKind
    is_account = view.kind == NodeKind.Account.value
    out = usage_days(facts, view.id, by_account=is_account)
    out += stated_last_use(view)
    out += claude_code_days(engine, view.id)
    out.sort(key=lambda s: (s.at, s.kind, s.source))
    return out


def activity_after(engine, facts, view, moment: datetime) -> list[ActivitySignal]:
    return [s for s in signals_of(engine, facts, view) if s.after(moment)]


def signal_dict(s: ActivitySignal) -> dict[str, Any]:
    return {"at": s.at.isoformat().replace("+00:00", "Z"), "kind": s.kind, "source": s.source,
            "detail": s.detail, **({"usd": s.usd} if s.usd is not None else {})}
