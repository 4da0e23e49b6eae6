"""State that no single source states: "now", person status, effective activity.

Both stores apply exactly these rules (the Neo4j store via engine.store.neo4j, which
calls the same functions on the rows it reads), so answers agree across stores.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from typing import Any, Iterable

from .ids import IDENTITY_PROVIDERS, source_of

# Property names that carry timestamps; "now" is the latest of them in the data.
# Not `expires_at`: an expiry is a date in the future, not something observed, and
# would move "now" past every key's real last use.
TIMESTAMP_KEYS = ("created_at", "last_used_at", "deactivated_at", "updated_at",
                  "last_login_at", "last_activity_at", "date", "removed_at_vendor")
INACTIVE_PROJECT_STATES = {"archived", "deleted", "disabled", "inactive"}


# Values vendors and scanners print for "no time": compared lower-cased.
PLACEHOLDERS = frozenset({"n/a", "na", "no_information", "not_supported", "null", "none", "never",
                          "nil", "unknown", "-", "--", "0", "false"})
# Go's `time.Time.String()`: `2022-06-16 10:17:40.123 -0700 PDT` (the zone name is the
# offset again, `-0700 -0700`, when Go knows no abbreviation), maybe with a monotonic
# clock reading `m=+0.0001` after it.
_GO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?\s+([+-]\d{2}):?(\d{2})"
                      r"(?:\s+[A-Za-z0-9+-]{1,6})?(?:\s+m=[+-][0-9.]+)?")
# gitleaks v7 `Date`: month-day-year, maybe with a time after it.
_MDY = re.compile(r"(\d{2})-(\d{2})-(\d{4})(?:[ T](\d{2}:\d{2}(?::\d{2})?))?")
# ISO with more fractional digits than Python takes (Go and .NET print up to 9).
_LONG_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2}\.\d{6})\d+")
_DIGITS = re.compile(r"[0-9]{9,13}(?:\.[0-9]+)?")


def _from_epoch(value: float) -> datetime | None:
    if not value > 0:          # also nan
        return None
    if value > 1e11:  # milliseconds
        value = value / 1000.0
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):    # inf, past year 9999
        return None


def _no_value(dt: datetime) -> datetime | None:
    """Go's zero time (`0001-01-01T00:00:00Z`, .NET's DateTime.MinValue alike) and the
    unix epoch itself are what a tool prints for "never": no value."""
    if dt.year <= 1:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return None if dt == _EPOCH else dt


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_ts(value: Any) -> datetime | None:
    """A vendor timestamp to an aware UTC datetime; placeholders and junk to None.

    Takes ISO 8601 (`Z` or offsets, up to nine fractional digits), dates, unix seconds
    or milliseconds (numbers or digit strings), Go's `time.String()` form
    (`2022-06-16 10:17:40 -0700 PDT`) and gitleaks v7's `MM-DD-YYYY`. Go's zero time,
    the epoch and placeholders (`N/A`, `no_information`, `not_supported`, ``) are None."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _no_value(value)
    if isinstance(value, date):
        return _no_value(datetime.combine(value, time(0), tzinfo=timezone.utc))
    if isinstance(value, (int, float)):
        return _from_epoch(value)
    text = str(value).strip()
    if not text or text.lower() in PLACEHOLDERS:
        return None
    try:
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    except ValueError:
        dt = _other_forms(text)
        if dt is None:
            return None
    return _no_value(dt)


def _other_forms(text: str) -> datetime | None:
    m = _GO_TIME.fullmatch(text)
    if m:
        day, clock, frac, oh, om = m.groups()
        frac = (frac or "")[:7]
        try:
            return datetime.fromisoformat(f"{day}T{clock}{frac}{oh}:{om}")
        except ValueError:
            return None
    m = _MDY.fullmatch(text)
    if m:
        mo, d, y, clock = m.groups()
        try:
            return datetime.fromisoformat(f"{y}-{mo}-{d}T{clock or '00:00'}+00:00")
        except ValueError:
            return None
    if _DIGITS.fullmatch(text):
        return _from_epoch(float(text))
    m = _LONG_FRACTION.search(text)
    if m:
        try:
            return datetime.fromisoformat(text[:m.end(1)] + text[m.end():])
        except ValueError:
            return None
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
    # An account whose status the source did not give (`status_known: false`) or that
    # has not activated yet (`activated: false`, Okta STAGED/PROVISIONED) says nothing
    # about whether the person is here: it neither verifies nor departs them.
    idp = [(a, act, p) for a, act, p in accounts if source_of(a) in IDENTITY_PROVIDERS
           and p.get("status_known") is not False and p.get("activated") is not False]
    if not idp:
        return "unverified", None
    if any(act for _, act, _ in idp):
        return "active", None
    stamps = [parse_ts(p.get("deactivated_at")) for _, _, p in idp]
    stamps = [s for s in stamps if s is not None]
    return "inactive", iso(max(stamps)) if stamps else None
