"""State that no single source states: "now", person status, effective activity.

Both stores apply exactly these rules (the Neo4j store via engine.store.neo4j, which
calls the same functions on the rows it reads), so answers agree across stores.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any, Iterable

from .ids import IDENTITY_PROVIDERS, source_of

# Property names that carry timestamps; "now" is the latest of them in the data.
# Not `expires_at`: an expiry is a date in the future, not something observed, and
# would move "now" past every key's real last use.
TIMESTAMP_KEYS = ("created_at", "last_used_at", "deactivated_at", "updated_at",
                  "last_login_at", "last_activity_at", "date", "removed_at_vendor")
INACTIVE_PROJECT_STATES = {"archived", "deleted", "disabled", "inactive"}


def parse_ts(value: Any) -> datetime | None:
    """ISO 8601 strings, dates, or unix seconds to an aware UTC datetime; junk to None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        if value <= 0:
            return None
        if value > 1e11:  # milliseconds
            value = value / 1000.0
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (ValueError, OverflowError, OSError):    # nan, inf, past year 9999
            return None
    text = str(value).strip()
    if not text or text.lower() in {"n/a", "no_information", "not_supported", "null", "none", "never"}:
        return None
    try:
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    except ValueError:
        dt = _month_first_date(text)
        if dt is None:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _month_first_date(text: str) -> datetime | None:
    """`10-19-2003` (MM-DD-YYYY, as gitleaks v7 reports print a commit's date)."""
    if len(text) != 10 or text[2] != "-" or text[5] != "-":
        return None
    try:
        return datetime.strptime(text, "%m-%d-%Y")
    except ValueError:
        return None


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def latest_timestamp(props_iter: Iterable[dict[str, Any]], usage_days: Iterable[date] = ()) -> datetime | None:
    best: datetime | None = None
    for props in props_iter:
        for key in TIMESTAMP_KEYS:
            if key in props:
                ts = parse_ts(props[key])
                if ts is not None and (best is None or ts > best):
                    best = ts
    for d in usage_days:
        ts = datetime.combine(d, time(0), tzinfo=timezone.utc)
        if best is None or ts > best:
            best = ts
    return best


def credential_inactive_reason(props: dict[str, Any], as_of: datetime | None) -> str | None:
    exp = parse_ts(props.get("expires_at"))
    if exp is not None and as_of is not None and exp <= as_of:
        return "expired"
    return None


def person_status(accounts: list[tuple[str, bool, dict[str, Any]]]) -> tuple[str, str | None]:
    """accounts: (account id, active, properties) for every HAS_ACCOUNT of a person.
    Returns (status, deactivated_at) following the contract: active when any
    identity-provider account is active; inactive when all of them are inactive;
    unverified when no identity provider knows the person."""
    idp = [(a, act, p) for a, act, p in accounts if source_of(a) in IDENTITY_PROVIDERS]
    if not idp:
        return "unverified", None
    if any(act for _, act, _ in idp):
        return "active", None
    stamps = [parse_ts(p.get("deactivated_at")) for _, _, p in idp]
    stamps = [s for s in stamps if s is not None]
    return "inactive", iso(max(stamps)) if stamps else None
